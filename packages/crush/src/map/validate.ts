/**
 * `validateCrushMap`: everything the text compiler guarantees, checked on a map built any other
 * way (a hand-edited JSON file, programmatic edits), so the mapper and the printer can trust any
 * map that passed: ids and names unique and in range, every reference resolves, weights fit their
 * types and Ceph's limits, no bucket cycles, and shadow buckets are exactly the clones Ceph would
 * have built from their real bucket (see shadow-trees.ts). Throws CrushError naming the first
 * problem.
 */
import {
  BUCKET_ALG_ID, CRUSH_MAX_BUCKET_WEIGHT, CRUSH_MAX_DEVICE_WEIGHT, CrushError, StepOp, type Bucket, type CrushMap,
  type Rule, type Tunables,
} from '../model.js';
import { NAME_RE } from '../text/syntax.js';
import { LIMITS } from './limits.js';
import { shadowName } from './shadow-trees.js';

const TUNABLE_MAX: Readonly<Record<keyof Tunables, number>> = {
  chooseLocalTries: LIMITS.int32Max,
  chooseLocalFallbackTries: LIMITS.int32Max,
  chooseTotalTries: LIMITS.int32Max,
  chooseleafDescendOnce: LIMITS.u8Max,
  chooseleafVaryR: LIMITS.u8Max,
  chooseleafStable: LIMITS.u8Max,
  strawCalcVersion: LIMITS.u8Max,
  allowedBucketAlgs: LIMITS.u32Max,
};

const CHOOSE_OPS: ReadonlySet<StepOp> = new Set([StepOp.ChooseFirstn, StepOp.ChooseIndep, StepOp.ChooseleafFirstn, StepOp.ChooseleafIndep]);
const SET_OPS: ReadonlySet<StepOp> = new Set([
  StepOp.SetChooseTries, StepOp.SetChooseleafTries, StepOp.SetChooseLocalTries, StepOp.SetChooseLocalFallbackTries,
  StepOp.SetChooseleafVaryR, StepOp.SetChooseleafStable,
]);

function check(cond: boolean, message: string | (() => string)): asserts cond {
  if (!cond) throw new CrushError(typeof message === 'function' ? message() : message);
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

export function validateCrushMap(map: CrushMap): void {
  for (const [field, max] of Object.entries(TUNABLE_MAX) as [keyof Tunables, number][]) {
    check(isIntIn(map.tunables[field], 0, max), `tunable ${field} = ${map.tunables[field]} is out of range [0, ${max}]`);
  }
  const names = new Set<string>();
  for (const [key, d] of map.devices) {
    check(key === d.id && isIntIn(d.id, 0, LIMITS.deviceIdMax), `device id ${d.id} is invalid (0..${LIMITS.deviceIdMax}, keyed by its id)`);
    check(NAME_RE.test(d.name), `device ${d.id}: invalid name '${d.name}'`);
    check(!names.has(d.name), `duplicate name '${d.name}'`);
    names.add(d.name);
    check(d.deviceClass === undefined || NAME_RE.test(d.deviceClass), `device '${d.name}': invalid class name '${d.deviceClass}'`);
  }
  const typeNames = new Set<string>();
  for (const [key, t] of map.types) {
    check(key === t.id && isIntIn(t.id, 0, LIMITS.typeIdMax), `type id ${t.id} is invalid (0..${LIMITS.typeIdMax}, keyed by its id)`);
    check(NAME_RE.test(t.name), `type ${t.id}: invalid name '${t.name}'`);
    check(!typeNames.has(t.name), `duplicate type name '${t.name}'`);
    typeNames.add(t.name);
  }
  for (const [key, b] of map.buckets) {
    check(key === b.id && isIntIn(b.id, LIMITS.bucketIdMin, -1), `bucket id ${b.id} is invalid (${LIMITS.bucketIdMin}..-1, keyed by its id)`);
    check(!names.has(b.name), `duplicate name '${b.name}'`);
    names.add(b.name);
  }
  for (const b of map.buckets.values()) checkBucket(map, b);
  checkAcyclic(map);
  for (const b of map.buckets.values()) if (b.shadowOf) checkShadow(map, b);
  const ruleNames = new Set<string>();
  for (const [key, r] of map.rules) {
    checkRule(map, r, key);
    if (r.name !== '') {
      check(!ruleNames.has(r.name), `duplicate rule name '${r.name}'`);
      ruleNames.add(r.name);
    }
  }
  checkChooseArgs(map);
}

function checkBucket(map: CrushMap, b: Bucket): void {
  const where = `bucket '${b.name}' (${b.id})`;
  check(map.types.has(b.type), `${where}: unknown type ${b.type}`);
  check(Object.hasOwn(BUCKET_ALG_ID, b.alg), `${where}: unknown algorithm '${b.alg}'`);
  check(b.hash === 0, `${where}: unknown hash ${b.hash} (only 0 = rjenkins1 exists)`);
  check(b.items.length === b.itemWeights.length, `${where}: ${b.items.length} items but ${b.itemWeights.length} weights`);
  const seen = new Set<number>();
  let sum = 0;
  b.items.forEach((item, i) => {
    const w = b.itemWeights[i]!;
    check(Number.isInteger(item), `${where}: item ${item} is not an integer id`);
    // A hole Ceph leaves in a tree bucket when an item is removed: item 0 at weight 0.
    if (b.alg === 'tree' && item === 0 && w === 0) return;
    check(item >= 0 ? map.devices.has(item) : map.buckets.has(item), `${where}: unknown item ${item}`);
    check(!seen.has(item), `${where}: item ${item} appears twice`);
    seen.add(item);
    check(isIntIn(w, 0, LIMITS.u32Max), `${where}: weight ${w} of item ${item} is not a 16.16 unsigned weight`);
    sum += w;
    if (b.shadowOf) return;
    check(item >= 0 || !map.buckets.get(item)!.shadowOf, `${where}: contains shadow bucket ${item}`);
    check(item < 0 || w <= CRUSH_MAX_DEVICE_WEIGHT, `${where}: device weight of item ${item} is above the limit of 100`);
    check(item >= 0 || w <= CRUSH_MAX_BUCKET_WEIGHT, `${where}: bucket weight of item ${item} is above the limit of 65535`);
  });
  check(sum <= LIMITS.u32Max, `${where}: weights overflow 32 bits`);
  // (A uniform bucket of weight-0 items is valid — Ceph gets one by removing an item from it — even
  // though crushtool cannot compile one from text.)
  if (b.alg === 'uniform') check(b.itemWeights.every((w) => w === b.itemWeights[0]), `${where}: uniform bucket items must all weigh the same`);
  if (!b.shadowOf) checkClassIds(map, b, where);
}

function checkClassIds(map: CrushMap, b: Bucket, where: string): void {
  check(NAME_RE.test(b.name), `${where}: invalid name`);
  for (const [cls, id] of b.classIds) {
    check(NAME_RE.test(cls), `${where}: invalid class name '${cls}'`);
    const s = map.buckets.get(id);
    check(s !== undefined && s.shadowOf?.bucketId === b.id && s.shadowOf.deviceClass === cls,
      `${where}: class '${cls}' names ${id}, which is not its shadow bucket`);
  }
}

/** A shadow bucket must be exactly the clone Ceph builds from its real bucket. */
function checkShadow(map: CrushMap, s: Bucket): void {
  const where = `shadow bucket '${s.name}' (${s.id})`;
  const { bucketId, deviceClass: cls } = s.shadowOf!;
  const orig = map.buckets.get(bucketId);
  check(orig !== undefined && !orig.shadowOf, `${where}: shadows unknown bucket ${bucketId}`);
  check(orig.classIds.get(cls) === s.id, `${where}: bucket '${orig.name}' does not list it as its '${cls}' shadow`);
  check(s.name === shadowName(orig.name, cls), `${where}: should be named '${shadowName(orig.name, cls)}'`);
  check(s.classIds.size === 0, `${where}: a shadow bucket has no class ids of its own`);
  check(s.type === orig.type && s.alg === orig.alg && s.hash === orig.hash, `${where}: type, alg and hash must be those of '${orig.name}'`);
  const items: number[] = [];
  const weights: number[] = [];
  orig.items.forEach((item, i) => {
    if (item >= 0) {
      if (map.devices.get(item)?.deviceClass !== cls) return;
      items.push(item);
      weights.push(orig.itemWeights[i]!);
    } else {
      const childBucket = map.buckets.get(item)!;
      const child = childBucket.classIds.get(cls);
      check(child !== undefined && !childBucket.shadowOf, `${where}: '${childBucket.name}' has no '${cls}' shadow`);
      items.push(child);
      weights.push(map.buckets.get(child)!.itemWeights.reduce((a, w) => (a + w) >>> 0, 0));
    }
  });
  check(JSON.stringify(items) === JSON.stringify(s.items) && JSON.stringify(weights) === JSON.stringify(s.itemWeights),
    () => `${where}: items ${JSON.stringify(s.items)} / weights ${JSON.stringify(s.itemWeights)} do not match '${orig.name}' (expected ${JSON.stringify(items)} / ${JSON.stringify(weights)}); rebuild the shadow trees`);
}

/** Iterative DFS (no recursion on hand-made depths), also bounding the nesting depth. */
function checkAcyclic(map: CrushMap): void {
  const state = new Map<number, 'active' | 'done'>();
  for (const root of map.buckets.keys()) {
    if (state.has(root)) continue;
    const stack: { id: number; next: number }[] = [{ id: root, next: 0 }];
    state.set(root, 'active');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const items = map.buckets.get(top.id)!.items;
      if (top.next >= items.length) {
        state.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const child = items[top.next++]!;
      if (child >= 0) continue;
      const st = state.get(child);
      check(st !== 'active', () => `bucket cycle: ${[...stack.map((f) => map.buckets.get(f.id)!.name), map.buckets.get(child)!.name].join(' -> ')}`);
      if (st === 'done') continue;
      check(stack.length < LIMITS.bucketDepthMax, `buckets are nested more than ${LIMITS.bucketDepthMax} deep`);
      state.set(child, 'active');
      stack.push({ id: child, next: 0 });
    }
  }
}

function checkRule(map: CrushMap, r: Rule, key: number): void {
  const where = `rule '${r.name}' (${r.id})`;
  check(key === r.id && isIntIn(r.id, 0, LIMITS.ruleIdMax), `rule id ${r.id} is invalid (0..${LIMITS.ruleIdMax}, keyed by its id)`);
  check(r.name === '' || NAME_RE.test(r.name), `${where}: invalid name`);
  check(isIntIn(r.type, 0, LIMITS.u8Max), `${where}: type ${r.type} is out of range`);
  check(isIntIn(r.minSize, 0, LIMITS.u8Max) && isIntIn(r.maxSize, 0, LIMITS.u8Max), `${where}: min_size/max_size out of range`);
  check(r.steps.length > 0, `${where}: has no steps`);
  for (const s of r.steps) {
    check(isIntIn(s.arg1, LIMITS.int32Min, LIMITS.int32Max) && isIntIn(s.arg2, LIMITS.int32Min, LIMITS.int32Max), `${where}: step arguments must be 32-bit integers`);
    if (s.op === StepOp.Take) {
      check(s.arg1 >= 0 ? map.devices.has(s.arg1) : map.buckets.has(s.arg1), `${where}: take of unknown item ${s.arg1}`);
    } else if (CHOOSE_OPS.has(s.op)) {
      check(map.types.has(s.arg2), `${where}: choose of unknown type ${s.arg2}`);
    } else if (SET_OPS.has(s.op)) {
      check(s.arg1 >= 0, `${where}: negative value ${s.arg1} in a set_* step`);
    } else {
      check(s.op === StepOp.Emit || s.op === StepOp.Noop, `${where}: unknown step op ${s.op}`);
    }
  }
}

function checkChooseArgs(map: CrushMap): void {
  for (const [index, args] of map.chooseArgs) {
    check(BigInt.asIntN(64, index) === index, `choose_args index ${index} is not a signed 64-bit integer`);
    const seen = new Set<number>();
    for (const a of args) {
      const where = `choose_args ${index} bucket ${a.bucketId}`;
      const b = map.buckets.get(a.bucketId);
      check(b !== undefined, `${where}: unknown bucket`);
      check(b.alg === 'straw2', `${where}: choose_args only apply to straw2 buckets`);
      check(!seen.has(a.bucketId), `${where}: duplicate entry`);
      seen.add(a.bucketId);
      // One canonical form: an empty weight set or id list is written by leaving it out.
      check(a.weightSet === undefined || a.weightSet.length > 0, `${where}: an empty weight_set must be omitted`);
      check(a.ids === undefined || a.ids.length > 0, `${where}: empty ids must be omitted`);
      check(a.weightSet !== undefined || a.ids !== undefined, `${where}: has neither a weight_set nor ids`);
      for (const row of a.weightSet ?? []) {
        check(row.length === b.items.length, `${where}: a weight_set row has ${row.length} weights, the bucket has ${b.items.length} items`);
        check(row.every((w) => isIntIn(w, 0, LIMITS.u32Max)), `${where}: weight_set weights must be 16.16 unsigned weights`);
      }
      if (a.ids) {
        check(a.ids.length === b.items.length, `${where}: ${a.ids.length} ids, the bucket has ${b.items.length} items`);
        check(a.ids.every((id) => isIntIn(id, LIMITS.int32Min, LIMITS.int32Max)), `${where}: ids must be 32-bit integers`);
      }
    }
  }
}
