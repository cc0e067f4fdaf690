/**
 * Small, pure CRUSH map edits for what-if analysis — the operations an operator runs with
 * `ceph osd crush add / add-bucket / reweight / remove`. Each returns a new, validated map and
 * never changes its argument; a bad request is a CrushError and nothing is returned.
 *
 * What matches Ceph's monitor (CrushWrapper):
 * - A new item is appended to its parent's items. A new device gets the lowest unused device id,
 *   a new bucket the first free bucket id from -1 down (shadow buckets count as used), unless
 *   given. In a uniform bucket all items must weigh the same (Ceph's builder refuses otherwise).
 * - A weight change is written wherever the item is listed (shadow buckets included; in a uniform
 *   bucket it changes every item, as Ceph's uniform buckets hold one weight), then each changed
 *   bucket's new total is written into its own parents, up to the roots.
 * - Structural edits (add, remove) rebuild the shadow trees like rebuild_roots_with_classes (same
 *   shadow ids kept, new shadows get fresh ids, dead classes dropped); a reweight only changes
 *   weights, so it updates shadow buckets in place, as Ceph's adjust_item_weight does.
 * - Checked against crushtool's --add-item / --add-bucket / --reweight-item / --remove-item on the
 *   vector maps without choose_args (crushtool-differential.ts `edits`).
 *
 * Not reproduced: Ceph's updates of choose_args weight sets on these edits (a reweight there even
 * creates weight sets for buckets that had none). Here weight sets only stay aligned with the
 * items — an added item gets its CRUSH weight in every row of its parent's weight set (and its id
 * in `ids`), a removed item's column is dropped — and otherwise keep their values.
 * - Removing an item first weighs it down to 0 where it is listed (so in a uniform bucket all the
 *   remaining items end up at weight 0, as in Ceph); a tree bucket keeps a hole (see unlinkFromTree). Removing a bucket requires it to be empty and
 *   not taken by a rule (directly or through one of its shadow buckets), as Ceph requires.
 */
import {
  BUCKET_ALG_ID, CrushError, StepOp, cloneMap, type Bucket, type BucketAlg, type CrushMap,
} from '../model.js';
import { sortMapInPlace } from './canonical-order.js';
import { LIMITS } from './limits.js';
import { rebuildShadowTrees } from './shadow-trees.js';
import { validateCrushMap } from './validate.js';

export interface AddDeviceOptions {
  /** Device id; default: the lowest id that is neither a device nor a bucket item. */
  id?: number;
  /** Default `osd.ID`. */
  name?: string;
  deviceClass?: string;
  /** CRUSH weight, 16.16 fixed point (0x10000 = 1.0; see weightFromFloat). */
  weight: number;
  /** Name of the (real) bucket to put the device in, usually a host. */
  parent: string;
}

export interface AddBucketOptions {
  /** Bucket id; default: the first free id from -1 down. */
  id?: number;
  name: string;
  /** Type name (e.g. 'host') or id. */
  type: string | number;
  /** Bucket to link the new (empty, weight 0) bucket under; default: none (a new root). */
  parent?: string;
  /** Default: Ceph's default — the first of straw2, straw, tree, list, uniform that the map's allowed_bucket_algs allows. */
  alg?: BucketAlg;
}

/** An item by name, or by id (devices ≥ 0, buckets < 0). */
export type ItemRef = string | number;

export function addDevice(map: CrushMap, opts: AddDeviceOptions): CrushMap {
  const out = cloneMap(map);
  const id = opts.id ?? lowestFreeDeviceId(out);
  if (!Number.isInteger(id) || id < 0 || id > LIMITS.deviceIdMax) throw new CrushError(`invalid device id ${id}`);
  if (out.devices.has(id)) throw new CrushError(`device ${id} ('${out.devices.get(id)!.name}') already exists`);
  const name = opts.name ?? `osd.${id}`;
  if (findByName(out, name) !== undefined) throw new CrushError(`name '${name}' is already used`);
  out.devices.set(id, opts.deviceClass === undefined ? { id, name } : { id, name, deviceClass: opts.deviceClass });
  const parent = realBucket(out, opts.parent);
  appendItem(out, parent, id, opts.weight);
  return finishStructural(out);
}

export function addBucket(map: CrushMap, opts: AddBucketOptions): CrushMap {
  const out = cloneMap(map);
  const type = typeof opts.type === 'number' ? opts.type : [...out.types.values()].find((t) => t.name === opts.type)?.id;
  if (type === undefined || !out.types.has(type)) throw new CrushError(`unknown type '${opts.type}'`);
  const id = opts.id ?? firstFreeBucketId(out);
  if (out.buckets.has(id)) throw new CrushError(`bucket id ${id} is already used by '${out.buckets.get(id)!.name}'`);
  if (findByName(out, opts.name) !== undefined) throw new CrushError(`name '${opts.name}' is already used`);
  const alg = opts.alg ?? defaultBucketAlg(out);
  out.buckets.set(id, { id, name: opts.name, type, alg, hash: 0, items: [], itemWeights: [], classIds: new Map() });
  if (opts.parent !== undefined) appendItem(out, realBucket(out, opts.parent), id, 0);
  return finishStructural(out);
}

/**
 * `ceph osd crush reweight`: a device's weight (16.16) everywhere it is listed, totals up to the
 * roots. Devices only: a bucket's weight is the sum of its items.
 */
export function setItemWeight(map: CrushMap, item: ItemRef, weight: number): CrushMap {
  const out = cloneMap(map);
  const id = resolveItem(out, item);
  if (id < 0) throw new CrushError(`${describeItem(out, id)} is a bucket; reweight its devices instead`);
  if (!Number.isInteger(weight) || weight < 0 || weight > LIMITS.u32Max) throw new CrushError(`invalid weight ${weight}`);
  const parents = [...out.buckets.values()].filter((b) => b.items.includes(id));
  if (parents.length === 0) throw new CrushError(`item ${describeItem(out, id)} is in no bucket`);
  for (const p of parents) {
    setWeightIn(p, id, weight);
    propagate(out, p.id, true);
  }
  validateCrushMap(out);
  return out;
}

/** `ceph osd crush remove`: a device leaves every bucket and the map; a bucket must be empty. */
export function removeItem(map: CrushMap, item: ItemRef): CrushMap {
  const out = cloneMap(map);
  const id = resolveItem(out, item);
  if (id < 0) {
    const b = out.buckets.get(id)!;
    if (b.shadowOf) throw new CrushError(`'${b.name}' is a shadow bucket; remove items from '${out.buckets.get(b.shadowOf.bucketId)?.name}' instead`);
    if (b.items.length > 0) throw new CrushError(`bucket '${b.name}' is not empty`);
    const taken = new Set([id, ...b.classIds.values()]);
    for (const r of out.rules.values()) {
      if (r.steps.some((s) => s.op === StepOp.Take && taken.has(s.arg1))) throw new CrushError(`bucket '${b.name}' is used by rule '${r.name}'`);
    }
  }
  for (const p of [...out.buckets.values()].filter((b) => !b.shadowOf && b.items.includes(id))) {
    // Ceph weighs the item down to 0 before unlinking it; in a uniform bucket that zeroes every item.
    setWeightIn(p, id, 0);
    if (p.alg === 'tree') unlinkFromTree(out, p, id);
    else unlinkAt(out, p, p.items.indexOf(id));
    propagate(out, p.id, false);
  }
  if (id >= 0) {
    out.devices.delete(id);
  } else {
    out.buckets.delete(id);
    for (const [index, args] of out.chooseArgs) out.chooseArgs.set(index, args.filter((a) => a.bucketId !== id));
  }
  return finishStructural(out);
}

/** Removes position `i` from a bucket and from its choose_args columns. */
function unlinkAt(map: CrushMap, b: Bucket, i: number): void {
  b.items.splice(i, 1);
  b.itemWeights.splice(i, 1);
  for (const args of map.chooseArgs.values()) {
    const a = args.find((x) => x.bucketId === b.id);
    a?.weightSet?.forEach((row) => row.splice(i, 1));
    a?.ids?.splice(i, 1);
  }
}

/**
 * Ceph's tree buckets keep their leaf positions (they decide the hashing path): the removed item
 * leaves a hole — item 0 with weight 0 — and only trailing zero-weight leaves are cut off (any
 * zero-weight item at the end goes too, as in Ceph).
 */
function unlinkFromTree(map: CrushMap, b: Bucket, id: number): void {
  const i = b.items.indexOf(id);
  b.items[i] = 0;
  b.itemWeights[i] = 0;
  while (b.items.length > 0 && b.itemWeights[b.items.length - 1] === 0) unlinkAt(map, b, b.items.length - 1);
}

function finishStructural(map: CrushMap): CrushMap {
  const rebuilt = rebuildShadowTrees(map);
  sortMapInPlace(rebuilt);
  validateCrushMap(rebuilt);
  return rebuilt;
}

function appendItem(map: CrushMap, parent: Bucket, item: number, weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > LIMITS.u32Max) throw new CrushError(`invalid weight ${weight}`);
  if (parent.alg === 'uniform' && parent.items.length > 0 && parent.itemWeights[0] !== weight) {
    throw new CrushError(`uniform bucket '${parent.name}' holds items of weight ${parent.itemWeights[0]}, not ${weight}`);
  }
  parent.items.push(item);
  parent.itemWeights.push(weight);
  for (const args of map.chooseArgs.values()) {
    const a = args.find((x) => x.bucketId === parent.id);
    a?.weightSet?.forEach((row) => row.push(weight));
    a?.ids?.push(item);
  }
  propagate(map, parent.id, false);
}

/** Writes bucket `id`'s total into every parent, recursively (Ceph's adjust_item_weight on the chain). */
function propagate(map: CrushMap, id: number, includeShadows: boolean): void {
  const pending = [id];
  let guard = 0;
  while (pending.length > 0) {
    if (++guard > LIMITS.bucketDepthMax * Math.max(1, map.buckets.size)) throw new CrushError('bucket hierarchy too deep or cyclic');
    const child = pending.pop()!;
    const total = map.buckets.get(child)!.itemWeights.reduce((s, w) => (s + w) >>> 0, 0);
    for (const p of map.buckets.values()) {
      if ((!includeShadows && p.shadowOf) || !p.items.includes(child)) continue;
      setWeightIn(p, child, total);
      pending.push(p.id);
    }
  }
}

function setWeightIn(b: Bucket, item: number, weight: number): void {
  // A uniform bucket stores one weight for all its items.
  if (b.alg === 'uniform') b.itemWeights.fill(weight);
  else b.itemWeights[b.items.indexOf(item)] = weight;
}

const ALG_PREFERENCE: readonly BucketAlg[] = ['straw2', 'straw', 'tree', 'list', 'uniform'];

function defaultBucketAlg(map: CrushMap): BucketAlg {
  const alg = ALG_PREFERENCE.find((a) => (map.tunables.allowedBucketAlgs & (1 << BUCKET_ALG_ID[a])) !== 0);
  if (!alg) throw new CrushError(`allowed_bucket_algs ${map.tunables.allowedBucketAlgs} allows no bucket algorithm`);
  return alg;
}

function lowestFreeDeviceId(map: CrushMap): number {
  const used = new Set<number>(map.devices.keys());
  for (const b of map.buckets.values()) for (const it of b.items) if (it >= 0) used.add(it);
  let id = 0;
  while (used.has(id)) id++;
  return id;
}

function firstFreeBucketId(map: CrushMap): number {
  let id = -1;
  while (map.buckets.has(id)) id--;
  return id;
}

function findByName(map: CrushMap, name: string): number | undefined {
  for (const d of map.devices.values()) if (d.name === name) return d.id;
  for (const b of map.buckets.values()) if (b.name === name) return b.id;
  return undefined;
}

function resolveItem(map: CrushMap, item: ItemRef): number {
  const id = typeof item === 'number' ? item : findByName(map, item);
  const exists = id !== undefined && (id >= 0 ? map.devices.has(id) : map.buckets.has(id));
  if (!exists) throw new CrushError(`unknown item '${item}'`);
  return id;
}

function realBucket(map: CrushMap, name: string): Bucket {
  const id = findByName(map, name);
  const b = id === undefined ? undefined : map.buckets.get(id);
  if (!b || b.shadowOf) throw new CrushError(`unknown bucket '${name}'`);
  return b;
}

function describeItem(map: CrushMap, id: number): string {
  return `'${(id >= 0 ? map.devices.get(id)?.name : map.buckets.get(id)?.name) ?? id}'`;
}
