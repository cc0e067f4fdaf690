/**
 * `ceph_stable_mod`: map x into [0, b) so that growing b moves only the values whose newly used
 * bit selects a new bucket (a PG split stays local). `bmask` is `(1 << bits(b - 1)) - 1`.
 */
export function cephStableMod(x: number, b: number, bmask: number): number {
  const low = (x & bmask) >>> 0;
  return low < b ? low : (x & (bmask >>> 1)) >>> 0;
}

/** The mask Ceph keeps next to pg_num / pgp_num: `(1 << cbits(n - 1)) - 1`. */
export function pgMask(n: number): number {
  const bits = n <= 1 ? 0 : 32 - Math.clz32(n - 1);
  return bits >= 32 ? 0xffffffff : ((1 << bits) - 1) >>> 0;
}
