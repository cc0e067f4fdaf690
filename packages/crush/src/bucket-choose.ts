/**
 * The five bucket algorithms: given input x and replica rank r, pick one item of a bucket.
 * Bit-exact with Ceph's mapper.c. 64-bit products are split so they stay exact in float64.
 *
 * straw2 (the default): each item draws ln(U)/w with U from a hash of (x, item, r); the longest
 * draw wins. A draw depends only on that item, so changing one item's weight moves data only to
 * or from that item — the property that makes straw2 optimal for additions and removals.
 */
import { ALG_LIST, ALG_STRAW, ALG_STRAW2, ALG_TREE, ALG_UNIFORM, treeHeight, type CompiledBucket, type CompiledChooseArg } from './compiled.js';
import { NEG_LN_TABLE } from './crush-ln.js';
import { crushHash32_3, crushHash32_4 } from './hash.js';

/**
 * Per-call permutation state for uniform buckets and the legacy local-fallback scan (Ceph's
 * `crush_work_bucket`). A generation counter stands for "fresh workspace" without clearing arrays.
 */
export interface PermWork {
  generation: number;
  entries: (PermEntry | undefined)[];
}

interface PermEntry {
  generation: number;
  permX: number;
  permN: number;
  perm: Uint32Array;
}

export function newPermWork(maxBuckets: number): PermWork {
  return { generation: 0, entries: new Array(maxBuckets).fill(undefined) };
}

export function bucketChoose(
  b: CompiledBucket, work: PermWork, x: number, r: number, arg: CompiledChooseArg | undefined, position: number,
): number {
  switch (b.alg) {
    case ALG_STRAW2: return straw2Choose(b, x, r, arg, position);
    case ALG_UNIFORM: return bucketPermChoose(b, work, x, r);
    case ALG_LIST: return listChoose(b, x, r);
    case ALG_TREE: return treeChoose(b, x, r);
    case ALG_STRAW: return strawChoose(b, x, r);
    default: return b.items[0]!;
  }
}

/** Hash types other than rjenkins1 (0) hash to 0 in Ceph. */
function hash3(b: CompiledBucket, x: number, y: number, z: number): number {
  return b.hash === 0 ? crushHash32_3(x, y, z) : 0;
}

function hash4(b: CompiledBucket, x: number, y: number, z: number, w: number): number {
  return b.hash === 0 ? crushHash32_4(x, y, z, w) : 0;
}

function straw2Choose(b: CompiledBucket, x: number, r: number, arg: CompiledChooseArg | undefined, position: number): number {
  let weights: Float64Array = b.itemWeights;
  let inverse: Float64Array = b.inverseWeights;
  let ids: Int32Array = b.items;
  if (arg !== undefined) {
    if (arg.weightSet !== undefined) {
      const row = Math.min(position, arg.weightSet.length - 1);
      weights = arg.weightSet[row]!;
      inverse = arg.inverseWeightSet![row]!;
    }
    if (arg.ids !== undefined) ids = arg.ids;
  }
  let high = 0;
  let highDraw = 0;
  for (let i = 0; i < b.size; i++) {
    const w = weights[i]!;
    let draw: number;
    if (w !== 0) {
      const u = (b.hash === 0 ? crushHash32_3(x, ids[i]!, r) : 0) & 0xffff;
      // draw = trunc((crush_ln(u) - 2^48) / w) = -floor(a / w) with a = 2^48 - crush_ln(u) in
      // [2^28, 2^48]. a·(1/w) is within one of the true quotient (a < 2^49); fix it exactly with
      // the remainder, which is an exact integer below 2^53.
      const a = NEG_LN_TABLE[u]!;
      let q = Math.floor(a * inverse[i]!);
      const rem = a - q * w;
      if (rem < 0) q--;
      else if (rem >= w) q++;
      draw = -q;
    } else {
      draw = -Infinity; // S64_MIN: never chosen over a weighted item
    }
    if (i === 0 || draw > highDraw) {
      high = i;
      highDraw = draw;
    }
  }
  return b.items[high]!;
}

function strawChoose(b: CompiledBucket, x: number, r: number): number {
  let high = 0;
  let highDraw = 0;
  for (let i = 0; i < b.size; i++) {
    const draw = (hash3(b, x, b.items[i]!, r) & 0xffff) * b.straws[i]!; // < 2^48: exact
    if (i === 0 || draw > highDraw) {
      high = i;
      highDraw = draw;
    }
  }
  return b.items[high]!;
}

function listChoose(b: CompiledBucket, x: number, r: number): number {
  for (let i = b.size - 1; i >= 0; i--) {
    const h = hash4(b, x, b.items[i]!, r, b.id) & 0xffff;
    const w = Math.floor((h * b.sumWeights[i]!) / 0x10000); // (u64)h * sum >> 16, exact below 2^48
    if (w < b.itemWeights[i]!) return b.items[i]!;
  }
  return b.items[0]!;
}

function treeChoose(b: CompiledBucket, x: number, r: number): number {
  let n = b.numNodes >> 1;
  while ((n & 1) === 0) {
    const w = b.nodeWeights[n]!;
    const t = mulHigh32(hash4(b, x, n, r, b.id), w);
    const h = treeHeight(n);
    const left = n - (1 << (h - 1));
    n = t < b.nodeWeights[left]! ? left : n + (1 << (h - 1));
  }
  return b.items[n >> 1]!;
}

/** floor(a · b / 2^32) for unsigned 32-bit a, b, exactly (the product may reach 2^64). */
function mulHigh32(a: number, b: number): number {
  const p = (a >>> 16) * b; // < 2^48
  const q = (a & 0xffff) * b; // < 2^48
  return Math.floor((p + Math.floor(q / 0x10000)) / 0x10000);
}

/**
 * Choose by a pseudo-random permutation of the bucket's items, computed lazily up to position
 * r mod size, with the r = 0 case short-circuited (Ceph's bucket_perm_choose).
 */
export function bucketPermChoose(b: CompiledBucket, work: PermWork, x: number, r: number): number {
  const size = b.size;
  const pr = (r >>> 0) % size;
  const index = -1 - b.id;
  let e = work.entries[index];
  if (e === undefined || e.perm.length < size) {
    e = { generation: -1, permX: 0, permN: 0, perm: new Uint32Array(size) };
    work.entries[index] = e;
  }
  if (e.generation !== work.generation) {
    e.generation = work.generation;
    e.permX = 0;
    e.permN = 0;
  }
  const perm = e.perm;
  const xu = x >>> 0;
  if (e.permX !== xu || e.permN === 0) {
    e.permX = xu;
    if (pr === 0) {
      const s = hash3(b, x, b.id, 0) % size;
      perm[0] = s;
      e.permN = 0xffff; // only perm[0] is valid
      return b.items[s]!;
    }
    for (let i = 0; i < size; i++) perm[i] = i;
    e.permN = 0;
  } else if (e.permN === 0xffff) {
    // expand the r = 0 shortcut into a real prefix of the permutation
    for (let i = 1; i < size; i++) perm[i] = i;
    perm[perm[0]!] = 0;
    e.permN = 1;
  }
  while (e.permN <= pr) {
    const p = e.permN;
    if (p < size - 1) {
      const i = hash3(b, x, b.id, p) % (size - p);
      if (i !== 0) {
        const t = perm[p + i]!;
        perm[p + i] = perm[p]!;
        perm[p] = t;
      }
    }
    e.permN++;
  }
  return b.items[perm[pr]!]!;
}
