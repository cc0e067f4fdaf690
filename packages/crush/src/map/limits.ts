/**
 * Bounds on every number a CRUSH map may hold. Most are the C types Ceph stores them in (a value
 * outside would be silently truncated by crushtool); the id bounds are Nacre's, because the mapper
 * keeps buckets and device weights in dense arrays indexed by id, and a hand-written id of
 * -2000000000 must not make it allocate gigabytes. Real maps are far inside them.
 */
export const LIMITS = {
  int32Min: -(2 ** 31),
  int32Max: 2 ** 31 - 1,
  u8Max: 255,
  u32Max: 2 ** 32 - 1,
  u64Max: 2n ** 64n - 1n,
  /** Largest device id (Nacre bound; Ceph's OSD ids are far smaller). */
  deviceIdMax: 2 ** 20 - 1,
  /** Smallest bucket id (Nacre bound). */
  bucketIdMin: -(2 ** 20),
  /** Bucket type ids are stored in 16 bits by Ceph. */
  typeIdMax: 65535,
  /** Rule ids are stored in 8 bits (the legacy ruleset byte must equal the id). */
  ruleIdMax: 255,
  /** Deepest bucket nesting accepted (Nacre bound; Ceph's mapper descends at most 10 levels anyway). */
  bucketDepthMax: 1000,
} as const;
