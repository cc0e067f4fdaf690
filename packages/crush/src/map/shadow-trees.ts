/**
 * Device-class shadow trees, built exactly as Ceph 16 builds them (CrushWrapper::populate_classes
 * and device_class_clone), because the shadow buckets' ids, item order and weights all feed the
 * mapper: `step take default class ssd` walks `default~ssd`.
 *
 * What Ceph does, and therefore what this does:
 * - Roots are the real buckets that are no bucket's item, visited in ascending id order (the most
 *   negative first, as a std::set<int> iterates); for each root, every class in class-id order
 *   (the order classes were first seen); for each (root, class) a depth-first clone.
 * - The clone of bucket B for class C is named `B~C`, has B's type, alg and hash, and B's items in
 *   order, keeping devices of class C (with their weight in B, zero weights included) and every
 *   child bucket's clone (even an empty one, with its weight = the sum of its items). A clone that
 *   already exists by name (a bucket reachable twice) is reused.
 * - Children are cloned before their parent, so children get ids first. A clone's id is the one
 *   recorded for (B, C) before (`id -9 class ssd` in the text, or the previous shadow when
 *   rebuilding); otherwise the highest id ≤ -1 that is neither a bucket now nor any recorded shadow id.
 * - Ceph's builder refuses to add an item whose weight differs from a uniform bucket's item weight,
 *   and an empty uniform clone has item weight 0: cloning a uniform bucket with a non-zero-weight
 *   item of the class fails, and Ceph then stops populating (the rest of that clone chain, the
 *   remaining classes and roots get no shadows). That partial state is reproduced and reported.
 * - For every choose_args set, a new clone gets a weight_set with as many positions as the original
 *   bucket's: device columns copied from the original, bucket columns from the child clone's
 *   recorded sums. Ceph records, per clone, a vector in which only the *last* position holds the
 *   sum (the vector is re-created for every position) — reproduced, since it changes placements.
 */
import { cloneMap, CrushError, StepOp, type Bucket, type ChooseArg, type CrushMap } from '../model.js';

/** Shadow ids per real bucket and class: what `id N class C` lines declare. */
export type ClassIdTable = Map<number, Map<string, number>>;

export interface PopulateFailure {
  /** The real bucket whose clone could not be built. */
  bucketId: number;
  deviceClass: string;
  reason: 'uniform-weight' | 'weight-overflow';
}

/** A recorded shadow id that is already taken by another bucket (Ceph: EEXIST, silently ignored). */
export class ShadowIdCollision extends CrushError {
  constructor(readonly bucketId: number, readonly deviceClass: string, readonly shadowId: number, takenBy: string) {
    super(`shadow bucket id ${shadowId} for class '${deviceClass}' of bucket ${bucketId} is already used by '${takenBy}'`);
    this.name = 'ShadowIdCollision';
  }
}

export function shadowName(bucketName: string, deviceClass: string): string {
  return `${bucketName}~${deviceClass}`;
}

export function isShadowBucket(b: Bucket): boolean {
  return b.shadowOf !== undefined;
}

/** Real buckets that are no bucket's item, ascending id (Ceph's find_nonshadow_roots). */
export function nonShadowRoots(map: CrushMap): number[] {
  const contained = new Set<number>();
  for (const b of map.buckets.values()) for (const it of b.items) if (it < 0) contained.add(it);
  const roots: number[] = [];
  for (const b of map.buckets.values()) if (!b.shadowOf && !contained.has(b.id)) roots.push(b.id);
  return roots.sort((a, b) => a - b);
}

/**
 * Adds shadow buckets to `map` (mutated; no shadows may exist yet) and sets the real buckets'
 * `classIds`. Returns the failure that stopped population early, if any (see header).
 * Throws ShadowIdCollision if a recorded id is taken.
 */
export function populateShadowTrees(
  map: CrushMap, classOrder: readonly string[], recorded: ClassIdTable, usedIds: ReadonlySet<number>,
): PopulateFailure | undefined {
  const cloner = new Cloner(map, recorded, usedIds);
  let failure: PopulateFailure | undefined;
  outer: for (const root of nonShadowRoots(map)) {
    for (const cls of classOrder) {
      const r = cloner.clone(root, cls);
      if (typeof r !== 'number') {
        failure = r;
        break outer;
      }
    }
  }
  sortClassIds(map, classOrder);
  cloner.finishChooseArgs();
  return failure;
}

function sortClassIds(map: CrushMap, classOrder: readonly string[]): void {
  const rank = new Map(classOrder.map((c, i) => [c, i]));
  for (const b of map.buckets.values()) {
    if (b.classIds.size < 2) continue;
    b.classIds = new Map([...b.classIds].sort((x, y) => (rank.get(x[0]) ?? Infinity) - (rank.get(y[0]) ?? Infinity)));
  }
}

class Cloner {
  private readonly byName = new Map<string, number>();
  /** choose_args index → shadow id → per-position sums (Ceph's cmap_item_weight). */
  private readonly positionSums = new Map<bigint, Map<number, number[]>>();
  /** choose_args index → bucket id → entry (fast lookup while cloning). */
  private readonly argsByBucket = new Map<bigint, Map<number, ChooseArg>>();

  constructor(private readonly map: CrushMap, private readonly recorded: ClassIdTable, private readonly usedIds: ReadonlySet<number>) {
    for (const b of map.buckets.values()) this.byName.set(b.name, b.id);
    for (const [index, args] of map.chooseArgs) this.argsByBucket.set(index, new Map(args.map((a) => [a.bucketId, a])));
  }

  clone(origId: number, cls: string): number | PopulateFailure {
    const orig = this.map.buckets.get(origId)!;
    const name = shadowName(orig.name, cls);
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;

    const items: number[] = [];
    const itemWeights: number[] = [];
    const origPos: number[] = [];
    let sum = 0;
    for (let i = 0; i < orig.items.length; i++) {
      const item = orig.items[i]!;
      let weight: number;
      let added: number;
      if (item >= 0) {
        if (this.map.devices.get(item)?.deviceClass !== cls) continue;
        added = item;
        weight = orig.itemWeights[i]!;
      } else {
        const child = this.clone(item, cls);
        if (typeof child !== 'number') return child;
        added = child;
        weight = sumWeights(this.map.buckets.get(child)!.itemWeights);
      }
      // An empty uniform bucket has item weight 0 and Ceph's builder rejects any other weight.
      if (orig.alg === 'uniform' && weight !== 0) return { bucketId: origId, deviceClass: cls, reason: 'uniform-weight' };
      if (sum + weight > 0xffffffff) return { bucketId: origId, deviceClass: cls, reason: 'weight-overflow' };
      sum += weight;
      items.push(added);
      itemWeights.push(weight);
      origPos.push(i);
    }

    const id = this.pickId(origId, cls);
    const taken = this.map.buckets.get(id);
    if (taken) throw new ShadowIdCollision(origId, cls, id, taken.name);
    this.map.buckets.set(id, {
      id, name, type: orig.type, alg: orig.alg, hash: orig.hash, items, itemWeights,
      classIds: new Map(), shadowOf: { bucketId: origId, deviceClass: cls },
    });
    this.byName.set(name, id);
    orig.classIds.set(cls, id);
    this.cloneChooseArgs(origId, id, items, origPos);
    return id;
  }

  private pickId(origId: number, cls: string): number {
    const recorded = this.recorded.get(origId)?.get(cls);
    if (recorded !== undefined) return recorded;
    let id = -1;
    while (this.map.buckets.has(id) || this.usedIds.has(id)) id--;
    return id;
  }

  private cloneChooseArgs(origId: number, id: number, items: readonly number[], origPos: readonly number[]): void {
    for (const [index, byBucket] of this.argsByBucket) {
      const positions = byBucket.get(origId)?.weightSet?.length ?? 0;
      if (positions === 0) continue;
      const o = byBucket.get(origId)!.weightSet!;
      const childSums = this.positionSums.get(index) ?? new Map<number, number[]>();
      this.positionSums.set(index, childSums);
      const rows: number[][] = [];
      let recordedSums: number[] = [];
      for (let s = 0; s < positions; s++) {
        const row = items.map((item, i) => (item >= 0 ? o[s]![origPos[i]!]! : childSums.get(item)?.[s] ?? 0));
        rows.push(row);
        // Ceph re-creates the sums vector for every position, so only the last one survives.
        recordedSums = new Array<number>(positions).fill(0);
        recordedSums[s] = sumWeights(row);
      }
      childSums.set(id, recordedSums);
      byBucket.set(id, { bucketId: id, weightSet: rows });
    }
  }

  /** Writes the choose_args entries (including new shadow ones) back in Ceph's bucket-index order. */
  finishChooseArgs(): void {
    for (const [index, byBucket] of this.argsByBucket) {
      this.map.chooseArgs.set(index, [...byBucket.values()].sort((a, b) => b.bucketId - a.bucketId));
    }
  }
}

/** u32 sum (Ceph's bucket weight arithmetic; overflow is prevented where buckets are built). */
function sumWeights(weights: readonly number[]): number {
  let s = 0;
  for (const w of weights) s = (s + w) >>> 0;
  return s;
}

/**
 * The class order of a map: the order of the real buckets' `classIds` (merged, buckets visited from
 * id -1 down), then classes only devices have, by ascending device id. This is the order Ceph's
 * class ids have when the map was compiled from its canonical text, and new classes go last as
 * Ceph gives them the next class id.
 */
export function classOrderOf(map: CrushMap): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const add = (c: string): void => {
    if (!seen.has(c)) {
      seen.add(c);
      order.push(c);
    }
  };
  const real = [...map.buckets.values()].filter((b) => !b.shadowOf).sort((a, b) => b.id - a.id);
  for (const b of real) for (const c of b.classIds.keys()) add(c);
  for (const b of [...map.buckets.values()].filter((x) => x.shadowOf).sort((a, b) => b.id - a.id)) add(b.shadowOf!.deviceClass);
  for (const id of [...map.devices.keys()].sort((a, b) => a - b)) {
    const c = map.devices.get(id)!.deviceClass;
    if (c !== undefined) add(c);
  }
  return order;
}

/**
 * Rebuilds every shadow tree from the real buckets, as Ceph's monitor does after each CRUSH edit
 * (rebuild_roots_with_classes): classes that no device has and no rule takes are dropped, all
 * shadow buckets (and their choose_args entries) are removed, and the trees are cloned again,
 * reusing each (bucket, class)'s previous shadow id and giving new clones ids that no previous
 * shadow had. Pure: returns a new map. Throws CrushError where Ceph's rebuild fails (a uniform
 * bucket with non-zero-weight items of a class), so a caller never sees half-built trees.
 */
export function rebuildShadowTrees(map: CrushMap): CrushMap {
  const out = cloneMap(map);
  const recorded: ClassIdTable = new Map();
  const usedIds = new Set<number>();
  for (const b of out.buckets.values()) {
    if (b.shadowOf || b.classIds.size === 0) continue;
    recorded.set(b.id, new Map(b.classIds));
    for (const id of b.classIds.values()) usedIds.add(id);
  }
  const order = classOrderOf(out).filter((c) => classIsLive(out, c));
  for (const b of [...out.buckets.values()]) {
    if (b.shadowOf) out.buckets.delete(b.id);
    else b.classIds = new Map();
  }
  for (const [index, args] of out.chooseArgs) out.chooseArgs.set(index, args.filter((a) => out.buckets.has(a.bucketId)));
  const failure = populateShadowTrees(out, order, recorded, usedIds);
  if (failure) throw new CrushError(describePopulateFailure(out, failure));
  return out;
}

/** Ceph keeps a class while a device has it or a rule takes one of its shadow buckets. */
function classIsLive(map: CrushMap, cls: string): boolean {
  for (const d of map.devices.values()) if (d.deviceClass === cls) return true;
  for (const r of map.rules.values()) {
    for (const s of r.steps) {
      if (s.op !== StepOp.Take) continue;
      if (map.buckets.get(s.arg1)?.shadowOf?.deviceClass === cls) return true;
    }
  }
  return false;
}

export function describePopulateFailure(map: CrushMap, f: PopulateFailure): string {
  const name = map.buckets.get(f.bucketId)?.name ?? String(f.bucketId);
  return f.reason === 'uniform-weight'
    ? `cannot build the '${f.deviceClass}' shadow of uniform bucket '${name}': Ceph's builder only accepts items of weight 0 in it`
    : `cannot build the '${f.deviceClass}' shadow of bucket '${name}': weights overflow 32 bits`;
}
