/**
 * The compiled, read-only form of a CrushMap that the mapper walks: buckets in a dense array
 * indexed by `-1 - id` (like Ceph's `crush_map.buckets`), typed arrays for items and weights, and the
 * per-algorithm derived data (list sums, tree node weights, straw lengths) computed once.
 * Compiling is O(map size); mapping never allocates per bucket.
 */
import { calcStraws } from './straw-calc.js';
import {
  CrushError, maxDevices, type Bucket, type BucketAlg, type ChooseArg, type CrushMap, type Rule,
} from './model.js';

export const ALG_UNIFORM = 1;
export const ALG_LIST = 2;
export const ALG_TREE = 3;
export const ALG_STRAW = 4;
export const ALG_STRAW2 = 5;

const ALG_NUM: Readonly<Record<BucketAlg, number>> = {
  uniform: ALG_UNIFORM, list: ALG_LIST, tree: ALG_TREE, straw: ALG_STRAW, straw2: ALG_STRAW2,
};

export interface CompiledBucket {
  id: number;
  type: number;
  alg: number;
  hash: number;
  size: number;
  items: Int32Array;
  itemWeights: Float64Array;
  /** 1 / itemWeights[i] (0 for zero weights): straw2 multiplies instead of dividing. */
  inverseWeights: Float64Array;
  /** list: running sums of item weights. */
  sumWeights: Float64Array;
  /** tree: node weights of the implicit binary tree (num_nodes entries). */
  nodeWeights: Float64Array;
  numNodes: number;
  /** straw (v1): straw lengths. */
  straws: Float64Array;
}

/** choose_args for one bucket, compiled. */
export interface CompiledChooseArg {
  /** weightSet[position][i]; undefined = use the bucket's item weights. */
  weightSet: Float64Array[] | undefined;
  /** Reciprocals of weightSet, row by row. */
  inverseWeightSet: Float64Array[] | undefined;
  /** Replacement ids for hashing; undefined = the bucket's items. */
  ids: Int32Array | undefined;
}

export interface CompiledMap {
  buckets: (CompiledBucket | undefined)[];
  maxBuckets: number;
  maxDevices: number;
  rules: (Rule | undefined)[];
  chooseTotalTries: number;
  chooseLocalTries: number;
  chooseLocalFallbackTries: number;
  chooseleafDescendOnce: number;
  chooseleafVaryR: number;
  chooseleafStable: number;
  /** choose_args sets, each indexed by `-1 - bucketId`. */
  chooseArgs: Map<bigint, (CompiledChooseArg | undefined)[]>;
}

export function compileMap(map: CrushMap): CompiledMap {
  let maxBuckets = 0;
  for (const id of map.buckets.keys()) maxBuckets = Math.max(maxBuckets, -1 - id + 1);
  const buckets: (CompiledBucket | undefined)[] = new Array(maxBuckets).fill(undefined);
  for (const b of map.buckets.values()) buckets[-1 - b.id] = compileBucket(b, map.tunables.strawCalcVersion);

  let maxRule = -1;
  for (const id of map.rules.keys()) maxRule = Math.max(maxRule, id);
  const rules: (Rule | undefined)[] = new Array(maxRule + 1).fill(undefined);
  for (const r of map.rules.values()) rules[r.id] = r;

  const chooseArgs = new Map<bigint, (CompiledChooseArg | undefined)[]>();
  for (const [index, args] of map.chooseArgs) chooseArgs.set(index, compileChooseArgs(args, maxBuckets, map));

  const t = map.tunables;
  return {
    buckets,
    maxBuckets,
    maxDevices: maxDevices(map),
    rules,
    chooseTotalTries: t.chooseTotalTries,
    chooseLocalTries: t.chooseLocalTries,
    chooseLocalFallbackTries: t.chooseLocalFallbackTries,
    chooseleafDescendOnce: t.chooseleafDescendOnce,
    chooseleafVaryR: t.chooseleafVaryR,
    chooseleafStable: t.chooseleafStable,
    chooseArgs,
  };
}

export function compileBucket(b: Bucket, strawCalcVersion: number): CompiledBucket {
  const size = b.items.length;
  const alg = ALG_NUM[b.alg];
  const items = Int32Array.from(b.items);
  const itemWeights = Float64Array.from(b.itemWeights);
  let sumWeights: Float64Array = new Float64Array(0);
  let nodeWeights: Float64Array = new Float64Array(0);
  let numNodes = 0;
  let straws: Float64Array = new Float64Array(0);
  if (alg === ALG_LIST) {
    sumWeights = new Float64Array(size);
    let sum = 0;
    for (let i = 0; i < size; i++) {
      sum = (sum + b.itemWeights[i]!) >>> 0;
      sumWeights[i] = sum;
    }
  } else if (alg === ALG_TREE) {
    ({ nodeWeights, numNodes } = treeNodeWeights(b.itemWeights));
  } else if (alg === ALG_STRAW) {
    straws = Float64Array.from(calcStraws(b.itemWeights, strawCalcVersion));
  }
  return {
    id: b.id, type: b.type, alg, hash: b.hash, size, items, itemWeights, inverseWeights: reciprocals(itemWeights),
    sumWeights, nodeWeights, numNodes, straws,
  };
}

function reciprocals(weights: Float64Array): Float64Array {
  return weights.map((w) => (w === 0 ? 0 : 1 / w));
}

/**
 * Tree buckets keep item weights in an implicit binary tree: item i lives at odd node 2i+1, and an
 * inner node at height h holds the sum of its subtree. `num_nodes = 2^depth`.
 */
function treeNodeWeights(weights: readonly number[]): { nodeWeights: Float64Array; numNodes: number } {
  const size = weights.length;
  if (size === 0) return { nodeWeights: new Float64Array(0), numNodes: 0 };
  let depth = 1;
  for (let t = size - 1; t > 0; t >>= 1) depth++;
  const numNodes = 1 << depth;
  const nodeWeights = new Float64Array(numNodes);
  for (let i = 0; i < size; i++) {
    let node = ((i + 1) << 1) - 1;
    nodeWeights[node] = weights[i]!;
    for (let j = 1; j < depth; j++) {
      node = treeParent(node);
      nodeWeights[node] = (nodeWeights[node]! + weights[i]!) >>> 0;
    }
  }
  return { nodeWeights, numNodes };
}

export function treeHeight(n: number): number {
  let h = 0;
  while ((n & 1) === 0) {
    h++;
    n >>= 1;
  }
  return h;
}

function treeParent(n: number): number {
  const h = treeHeight(n);
  return (n & (1 << (h + 1))) !== 0 ? n - (1 << h) : n + (1 << h);
}

function compileChooseArgs(args: readonly ChooseArg[], maxBuckets: number, map: CrushMap): (CompiledChooseArg | undefined)[] {
  const out: (CompiledChooseArg | undefined)[] = new Array(maxBuckets).fill(undefined);
  for (const a of args) {
    const b = map.buckets.get(a.bucketId);
    if (b === undefined) throw new CrushError(`choose_args refers to unknown bucket ${a.bucketId}`);
    const size = b.items.length;
    if (a.ids && a.ids.length !== size) {
      throw new CrushError(`choose_args ids for bucket ${a.bucketId} have ${a.ids.length} entries, bucket has ${size} items`);
    }
    for (const row of a.weightSet ?? []) {
      if (row.length !== size) {
        throw new CrushError(`choose_args weight_set for bucket ${a.bucketId} has ${row.length} entries, bucket has ${size} items`);
      }
    }
    const weightSet = a.weightSet && a.weightSet.length > 0 ? a.weightSet.map((row) => Float64Array.from(row)) : undefined;
    out[-1 - a.bucketId] = {
      weightSet,
      inverseWeightSet: weightSet?.map(reciprocals),
      ids: a.ids ? Int32Array.from(a.ids) : undefined,
    };
  }
  return out;
}
