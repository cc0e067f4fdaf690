/**
 * The CRUSH map model: devices (with classes), bucket types, buckets, rules, tunables and
 * choose_args — the same information Ceph's `crush_map` + `CrushWrapper` hold, in plain objects.
 *
 * Conventions (Ceph's, so maps round-trip and place identically):
 * - Devices have ids ≥ 0, buckets ids < 0. Type 0 is the device type.
 * - Weights are 16.16 fixed point unsigned integers: 0x10000 = 1.0.
 * - A bucket with device classes has one "shadow" bucket per class (named `NAME~CLASS`) holding only
 *   devices of that class; `step take NAME class C` takes the shadow bucket. Shadow buckets are
 *   ordinary entries of `buckets` with `shadowOf` set.
 * - choose_args are keyed by a signed 64-bit index (the pool id, or -1 for the default set;
 *   crushtool prints -1 as 18446744073709551615).
 */

export const CRUSH_ITEM_UNDEF = 0x7ffffffe;
export const CRUSH_ITEM_NONE = 0x7fffffff;
export const CRUSH_HASH_RJENKINS1 = 0;
/** Largest device weight Ceph accepts (100.0). */
export const CRUSH_MAX_DEVICE_WEIGHT = 100 * 0x10000;
/** Largest bucket weight Ceph accepts (65535.0). */
export const CRUSH_MAX_BUCKET_WEIGHT = 65535 * 0x10000;

export type BucketAlg = 'uniform' | 'list' | 'tree' | 'straw' | 'straw2';

/** Ceph's numeric bucket algorithm ids (CRUSH_BUCKET_*), used by `allowed_bucket_algs` bits. */
export const BUCKET_ALG_ID: Readonly<Record<BucketAlg, number>> = {
  uniform: 1, list: 2, tree: 3, straw: 4, straw2: 5,
};

export interface Tunables {
  chooseLocalTries: number;
  chooseLocalFallbackTries: number;
  chooseTotalTries: number;
  chooseleafDescendOnce: number;
  chooseleafVaryR: number;
  chooseleafStable: number;
  strawCalcVersion: number;
  allowedBucketAlgs: number;
}

/** argonaut: what a map without tunable lines means (crushtool's starting point). */
export const LEGACY_TUNABLES: Readonly<Tunables> = Object.freeze({
  chooseLocalTries: 2,
  chooseLocalFallbackTries: 5,
  chooseTotalTries: 19,
  chooseleafDescendOnce: 0,
  chooseleafVaryR: 0,
  chooseleafStable: 0,
  strawCalcVersion: 0,
  allowedBucketAlgs: 22,
});

/** jewel = optimal: what Nacre's own new maps use (straw2 allowed). */
export const OPTIMAL_TUNABLES: Readonly<Tunables> = Object.freeze({
  chooseLocalTries: 0,
  chooseLocalFallbackTries: 0,
  chooseTotalTries: 50,
  chooseleafDescendOnce: 1,
  chooseleafVaryR: 1,
  chooseleafStable: 1,
  strawCalcVersion: 1,
  allowedBucketAlgs: 54,
});

export interface Device {
  id: number;
  name: string;
  /** Device class (e.g. 'hdd', 'ssd'), if any. */
  deviceClass?: string;
}

export interface BucketType {
  id: number;
  name: string;
}

export interface Bucket {
  id: number;
  name: string;
  /** Bucket type id (see CrushMap.types). */
  type: number;
  alg: BucketAlg;
  /** Hash function id; only 0 (rjenkins1) exists. */
  hash: number;
  /** Child item ids (devices ≥ 0, buckets < 0), in order. */
  items: number[];
  /** 16.16 weight of each item, parallel to `items`. */
  itemWeights: number[];
  /**
   * Shadow bucket ids declared for this bucket, per class (`id -7 class hdd`). Only on real
   * (non-shadow) buckets.
   */
  classIds: Map<string, number>;
  /** Set on shadow buckets: the real bucket it mirrors and the class it keeps. */
  shadowOf?: { bucketId: number; deviceClass: string };
}

/** Rule step opcodes, numbered as Ceph's CRUSH_RULE_* so they can be compared with dumps. */
export enum StepOp {
  Noop = 0,
  Take = 1,
  ChooseFirstn = 2,
  ChooseIndep = 3,
  Emit = 4,
  ChooseleafFirstn = 6,
  ChooseleafIndep = 7,
  SetChooseTries = 8,
  SetChooseleafTries = 9,
  SetChooseLocalTries = 10,
  SetChooseLocalFallbackTries = 11,
  SetChooseleafVaryR = 12,
  SetChooseleafStable = 13,
}

export interface RuleStep {
  op: StepOp;
  /** take: item id; choose*: number of replicas (≤ 0 is relative to result_max); set_*: value. */
  arg1: number;
  /** choose*: bucket type id to choose. */
  arg2: number;
}

/** Rule types as Ceph numbers them (pg_pool_t types). */
export const RULE_TYPE_REPLICATED = 1;
export const RULE_TYPE_ERASURE = 3;

export interface Rule {
  id: number;
  name: string;
  /** 1 = replicated, 3 = erasure (others are kept and printed as numbers). */
  type: number;
  minSize: number;
  maxSize: number;
  steps: RuleStep[];
}

export interface ChooseArg {
  bucketId: number;
  /** Per-position 16.16 item weights; row i is used for replica position i (last row reused). */
  weightSet?: number[][];
  /** Replacement ids used for hashing in straw2. */
  ids?: number[];
}

export interface CrushMap {
  tunables: Tunables;
  /** Devices by id. */
  devices: Map<number, Device>;
  /** Bucket types by id (type 0 = device). */
  types: Map<number, BucketType>;
  /** Buckets (real and shadow) by id. */
  buckets: Map<number, Bucket>;
  /** Rules by id. */
  rules: Map<number, Rule>;
  /** choose_args sets by signed 64-bit index. */
  chooseArgs: Map<bigint, ChooseArg[]>;
}

/** One past the largest device id referenced by a device line or a bucket item (crush max_devices). */
export function maxDevices(map: CrushMap): number {
  let max = -1;
  for (const id of map.devices.keys()) if (id > max) max = id;
  for (const b of map.buckets.values()) for (const it of b.items) if (it > max) max = it;
  return max + 1;
}

/** Sum of item weights, as Ceph's builder computes a bucket's weight (u32 arithmetic). */
export function bucketWeight(b: Bucket): number {
  let sum = 0;
  for (const w of b.itemWeights) sum = (sum + w) >>> 0;
  return sum;
}

/** Weight of `itemId` as an item of its parent, or of a bucket itself: the summed weight. */
export function itemWeight(map: CrushMap, itemId: number): number {
  if (itemId < 0) {
    const b = map.buckets.get(itemId);
    return b === undefined ? 0 : bucketWeight(b);
  }
  for (const b of map.buckets.values()) {
    if (b.shadowOf) continue;
    const i = b.items.indexOf(itemId);
    if (i >= 0) return b.itemWeights[i]!;
  }
  return 0;
}

export function emptyMap(tunables: Tunables = OPTIMAL_TUNABLES): CrushMap {
  return {
    tunables: { ...tunables },
    devices: new Map(),
    types: new Map(),
    buckets: new Map(),
    rules: new Map(),
    chooseArgs: new Map(),
  };
}

/** Deep copy (maps are values; edits for what-if analysis work on a copy). */
export function cloneMap(map: CrushMap): CrushMap {
  return {
    tunables: { ...map.tunables },
    devices: new Map([...map.devices].map(([k, d]) => [k, { ...d }])),
    types: new Map([...map.types].map(([k, t]) => [k, { ...t }])),
    buckets: new Map([...map.buckets].map(([k, b]) => [k, {
      ...b,
      items: [...b.items],
      itemWeights: [...b.itemWeights],
      classIds: new Map(b.classIds),
      ...(b.shadowOf ? { shadowOf: { ...b.shadowOf } } : {}),
    }])),
    rules: new Map([...map.rules].map(([k, r]) => [k, { ...r, steps: r.steps.map((s) => ({ ...s })) }])),
    chooseArgs: new Map([...map.chooseArgs].map(([k, args]) => [k, args.map((a) => ({
      bucketId: a.bucketId,
      ...(a.weightSet ? { weightSet: a.weightSet.map((row) => [...row]) } : {}),
      ...(a.ids ? { ids: [...a.ids] } : {}),
    }))])),
  };
}

export class CrushError extends Error {
  readonly code = 'EINVAL' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CrushError';
  }
}
