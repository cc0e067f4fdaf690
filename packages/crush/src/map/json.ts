/**
 * The JSON form of a CrushMap (`nacre crush compile -o MAP.json`), format `nacre-crush-map/v1`:
 *
 *   {
 *     "format": "nacre-crush-map/v1",
 *     "tunables": { "chooseLocalTries": 0, "chooseLocalFallbackTries": 0, "chooseTotalTries": 50,
 *                   "chooseleafDescendOnce": 1, "chooseleafVaryR": 1, "chooseleafStable": 1,
 *                   "strawCalcVersion": 1, "allowedBucketAlgs": 54 },
 *     "devices": [ { "id": 0, "name": "osd.0", "class": "hdd" } ],            // ascending id
 *     "types":   [ { "id": 0, "name": "osd" } ],                             // ascending id
 *     "buckets": [ { "id": -1, "name": "default", "type": 3, "alg": "straw2", "hash": 0,
 *                    "items": [ { "id": -2, "weight": 163840 } ],            // 16.16 integers, in order
 *                    "classIds": [ { "class": "hdd", "id": -7 } ] },          // real buckets, class order
 *                  { "id": -7, "name": "default~hdd", …, "shadowOf": { "bucketId": -1, "class": "hdd" } } ],
 *     "rules":   [ { "id": 0, "name": "r", "type": 1, "minSize": 1, "maxSize": 10,
 *                    "steps": [ { "op": "take", "item": -1 }, { "op": "chooseleaf_firstn", "num": 0, "type": 1 },
 *                               { "op": "set_choose_tries", "value": 100 }, { "op": "emit" } ] } ],
 *     "chooseArgs": [ { "index": "-1",                                        // signed 64-bit, decimal string
 *                       "buckets": [ { "bucketId": -1, "weightSet": [[65536, 32768]], "ids": [-100, -101] } ] } ]
 *   }
 *
 * Buckets are listed from id -1 down and include the shadow buckets, so the file is the whole map
 * the mapper uses. Weights are exact 16.16 integers (0x10000 = 1.0), never decimals.
 * `crushMapFromJson` rejects anything malformed (unknown keys included, so a typo is not silently
 * ignored) and then runs validateCrushMap, so a hand-edited file cannot crash the mapper. Shadow
 * buckets that are present must be exactly what Ceph would build; if a file has none, they are
 * built as crushtool would when compiling the equivalent text (only if the map has rules; class
 * order: device classes by ascending device id, then classes only named in `classIds`).
 */
import {
  CrushError, StepOp, emptyMap, type Bucket, type BucketAlg, type ChooseArg, type CrushMap, type Rule, type RuleStep,
  type Tunables,
} from '../model.js';
import { sortMapInPlace } from './canonical-order.js';
import { describePopulateFailure, populateShadowTrees, type ClassIdTable } from './shadow-trees.js';
import { validateCrushMap } from './validate.js';

export const CRUSH_MAP_JSON_FORMAT = 'nacre-crush-map/v1';

export type StepJson =
  | { op: 'take'; item: number }
  | { op: 'choose_firstn' | 'choose_indep' | 'chooseleaf_firstn' | 'chooseleaf_indep'; num: number; type: number }
  | { op: SetStepOpName; value: number }
  | { op: 'emit' | 'noop' };
export type SetStepOpName =
  | 'set_choose_tries' | 'set_chooseleaf_tries' | 'set_choose_local_tries' | 'set_choose_local_fallback_tries'
  | 'set_chooseleaf_vary_r' | 'set_chooseleaf_stable';

export interface CrushMapJson {
  format: typeof CRUSH_MAP_JSON_FORMAT;
  tunables: Tunables;
  devices: { id: number; name: string; class?: string }[];
  types: { id: number; name: string }[];
  buckets: {
    id: number; name: string; type: number; alg: BucketAlg; hash: number;
    items: { id: number; weight: number }[];
    classIds?: { class: string; id: number }[];
    shadowOf?: { bucketId: number; class: string };
  }[];
  rules: { id: number; name: string; type: number; minSize: number; maxSize: number; steps: StepJson[] }[];
  chooseArgs: { index: string; buckets: { bucketId: number; weightSet?: number[][]; ids?: number[] }[] }[];
}

const CHOOSE_OP_NAMES: readonly [StepOp, StepJson['op']][] = [
  [StepOp.ChooseFirstn, 'choose_firstn'], [StepOp.ChooseIndep, 'choose_indep'],
  [StepOp.ChooseleafFirstn, 'chooseleaf_firstn'], [StepOp.ChooseleafIndep, 'chooseleaf_indep'],
];
const SET_OP_NAMES: readonly [StepOp, SetStepOpName][] = [
  [StepOp.SetChooseTries, 'set_choose_tries'], [StepOp.SetChooseleafTries, 'set_chooseleaf_tries'],
  [StepOp.SetChooseLocalTries, 'set_choose_local_tries'], [StepOp.SetChooseLocalFallbackTries, 'set_choose_local_fallback_tries'],
  [StepOp.SetChooseleafVaryR, 'set_chooseleaf_vary_r'], [StepOp.SetChooseleafStable, 'set_chooseleaf_stable'],
];
const TUNABLE_KEYS: readonly (keyof Tunables)[] = [
  'chooseLocalTries', 'chooseLocalFallbackTries', 'chooseTotalTries', 'chooseleafDescendOnce',
  'chooseleafVaryR', 'chooseleafStable', 'strawCalcVersion', 'allowedBucketAlgs',
];

export function crushMapToJson(map: CrushMap): CrushMapJson {
  const byId = <T>(m: Map<number, T>, dir: 1 | -1): T[] => [...m].sort((a, b) => dir * (a[0] - b[0])).map(([, v]) => v);
  return {
    format: CRUSH_MAP_JSON_FORMAT,
    tunables: Object.fromEntries(TUNABLE_KEYS.map((k) => [k, map.tunables[k]])) as unknown as Tunables,
    devices: byId(map.devices, 1).map((d) => ({ id: d.id, name: d.name, ...(d.deviceClass === undefined ? {} : { class: d.deviceClass }) })),
    types: byId(map.types, 1).map((t) => ({ id: t.id, name: t.name })),
    buckets: byId(map.buckets, -1).map((b) => ({
      id: b.id, name: b.name, type: b.type, alg: b.alg, hash: b.hash,
      items: b.items.map((id, i) => ({ id, weight: b.itemWeights[i]! })),
      ...(b.classIds.size > 0 ? { classIds: [...b.classIds].map(([cls, id]) => ({ class: cls, id })) } : {}),
      ...(b.shadowOf ? { shadowOf: { bucketId: b.shadowOf.bucketId, class: b.shadowOf.deviceClass } } : {}),
    })),
    rules: byId(map.rules, 1).map((r) => ({
      id: r.id, name: r.name, type: r.type, minSize: r.minSize, maxSize: r.maxSize, steps: r.steps.map(stepToJson),
    })),
    chooseArgs: [...map.chooseArgs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([index, args]) => ({
      index: index.toString(),
      buckets: [...args].sort((x, y) => y.bucketId - x.bucketId).map((a) => ({
        bucketId: a.bucketId,
        ...(a.weightSet ? { weightSet: a.weightSet.map((row) => [...row]) } : {}),
        ...(a.ids ? { ids: [...a.ids] } : {}),
      })),
    })),
  };
}

function stepToJson(s: RuleStep): StepJson {
  if (s.op === StepOp.Take) return { op: 'take', item: s.arg1 };
  if (s.op === StepOp.Emit) return { op: 'emit' };
  if (s.op === StepOp.Noop) return { op: 'noop' };
  const choose = CHOOSE_OP_NAMES.find(([op]) => op === s.op);
  if (choose) return { op: choose[1] as 'choose_firstn', num: s.arg1, type: s.arg2 };
  const set = SET_OP_NAMES.find(([op]) => op === s.op);
  if (set) return { op: set[1], value: s.arg1 };
  throw new CrushError(`rule step with unknown op ${s.op}`);
}

// --- reading ---

type Obj = Record<string, unknown>;

function bad(path: string, what: string): never {
  throw new CrushError(`${path}: ${what}`);
}

function obj(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'expected an object');
  const o = v as Obj;
  for (const k of required) if (!Object.hasOwn(o, k)) bad(path, `missing "${k}"`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) bad(path, `unknown key "${k}"`);
  return o;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) bad(path, 'expected an array');
  return v;
}

function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(path, 'expected an integer');
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') bad(path, 'expected a string');
  return v;
}

export function crushMapFromJson(value: unknown): CrushMap {
  const root = obj(value, 'map', ['format', 'tunables', 'devices', 'types', 'buckets', 'rules', 'chooseArgs']);
  if (root['format'] !== CRUSH_MAP_JSON_FORMAT) bad('map.format', `expected "${CRUSH_MAP_JSON_FORMAT}"`);
  const t = obj(root['tunables'], 'map.tunables', TUNABLE_KEYS);
  const map = emptyMap(Object.fromEntries(TUNABLE_KEYS.map((k) => [k, int(t[k], `map.tunables.${k}`)])) as unknown as Tunables);
  readDevices(map, arr(root['devices'], 'map.devices'));
  arr(root['types'], 'map.types').forEach((v, i) => {
    const o = obj(v, `map.types[${i}]`, ['id', 'name']);
    const id = int(o['id'], `map.types[${i}].id`);
    if (map.types.has(id)) bad(`map.types[${i}].id`, `duplicate type id ${id}`);
    map.types.set(id, { id, name: str(o['name'], `map.types[${i}].name`) });
  });
  arr(root['buckets'], 'map.buckets').forEach((v, i) => readBucket(map, v, `map.buckets[${i}]`));
  arr(root['rules'], 'map.rules').forEach((v, i) => readRule(map, v, `map.rules[${i}]`));
  arr(root['chooseArgs'], 'map.chooseArgs').forEach((v, i) => readChooseArgs(map, v, `map.chooseArgs[${i}]`));
  sortMapInPlace(map);
  if (![...map.buckets.values()].some((b) => b.shadowOf)) buildMissingShadows(map);
  validateCrushMap(map);
  return map;
}

function readDevices(map: CrushMap, list: unknown[]): void {
  list.forEach((v, i) => {
    const p = `map.devices[${i}]`;
    const o = obj(v, p, ['id', 'name'], ['class']);
    const id = int(o['id'], `${p}.id`);
    if (map.devices.has(id)) bad(`${p}.id`, `duplicate device id ${id}`);
    const name = str(o['name'], `${p}.name`);
    if (o['class'] === undefined) map.devices.set(id, { id, name });
    else map.devices.set(id, { id, name, deviceClass: str(o['class'], `${p}.class`) });
  });
}

function readBucket(map: CrushMap, v: unknown, p: string): void {
  const o = obj(v, p, ['id', 'name', 'type', 'alg', 'hash', 'items'], ['classIds', 'shadowOf']);
  const id = int(o['id'], `${p}.id`);
  if (map.buckets.has(id)) bad(`${p}.id`, `duplicate bucket id ${id}`);
  const items: number[] = [];
  const itemWeights: number[] = [];
  arr(o['items'], `${p}.items`).forEach((it, j) => {
    const io = obj(it, `${p}.items[${j}]`, ['id', 'weight']);
    items.push(int(io['id'], `${p}.items[${j}].id`));
    itemWeights.push(int(io['weight'], `${p}.items[${j}].weight`));
  });
  const classIds = new Map<string, number>();
  if (o['classIds'] !== undefined) {
    arr(o['classIds'], `${p}.classIds`).forEach((c, j) => {
      const co = obj(c, `${p}.classIds[${j}]`, ['class', 'id']);
      const cls = str(co['class'], `${p}.classIds[${j}].class`);
      if (classIds.has(cls)) bad(`${p}.classIds[${j}]`, `duplicate class '${cls}'`);
      classIds.set(cls, int(co['id'], `${p}.classIds[${j}].id`));
    });
  }
  const bucket: Bucket = {
    id, name: str(o['name'], `${p}.name`), type: int(o['type'], `${p}.type`), alg: str(o['alg'], `${p}.alg`) as BucketAlg,
    hash: int(o['hash'], `${p}.hash`), items, itemWeights, classIds,
  };
  if (o['shadowOf'] !== undefined) {
    const so = obj(o['shadowOf'], `${p}.shadowOf`, ['bucketId', 'class']);
    bucket.shadowOf = { bucketId: int(so['bucketId'], `${p}.shadowOf.bucketId`), deviceClass: str(so['class'], `${p}.shadowOf.class`) };
  }
  map.buckets.set(id, bucket);
}

function readRule(map: CrushMap, v: unknown, p: string): void {
  const o = obj(v, p, ['id', 'name', 'type', 'minSize', 'maxSize', 'steps']);
  const id = int(o['id'], `${p}.id`);
  if (map.rules.has(id)) bad(`${p}.id`, `duplicate rule id ${id}`);
  const rule: Rule = {
    id, name: str(o['name'], `${p}.name`), type: int(o['type'], `${p}.type`),
    minSize: int(o['minSize'], `${p}.minSize`), maxSize: int(o['maxSize'], `${p}.maxSize`),
    steps: arr(o['steps'], `${p}.steps`).map((s, j) => readStep(s, `${p}.steps[${j}]`)),
  };
  map.rules.set(id, rule);
}

function readStep(v: unknown, p: string): RuleStep {
  const op = str(obj(v, p, ['op'], ['item', 'num', 'type', 'value'])['op'], `${p}.op`);
  if (op === 'take') return { op: StepOp.Take, arg1: int(obj(v, p, ['op', 'item'])['item'], `${p}.item`), arg2: 0 };
  if (op === 'emit' || op === 'noop') {
    obj(v, p, ['op']);
    return { op: op === 'emit' ? StepOp.Emit : StepOp.Noop, arg1: 0, arg2: 0 };
  }
  const choose = CHOOSE_OP_NAMES.find(([, name]) => name === op);
  if (choose) {
    const o = obj(v, p, ['op', 'num', 'type']);
    return { op: choose[0], arg1: int(o['num'], `${p}.num`), arg2: int(o['type'], `${p}.type`) };
  }
  const set = SET_OP_NAMES.find(([, name]) => name === op);
  if (set) return { op: set[0], arg1: int(obj(v, p, ['op', 'value'])['value'], `${p}.value`), arg2: 0 };
  bad(`${p}.op`, `unknown step op "${op}"`);
}

function readChooseArgs(map: CrushMap, v: unknown, p: string): void {
  const o = obj(v, p, ['index', 'buckets']);
  const text = str(o['index'], `${p}.index`);
  if (!/^-?\d+$/.test(text)) bad(`${p}.index`, 'expected a decimal integer string');
  const index = BigInt(text);
  if (BigInt.asIntN(64, index) !== index) bad(`${p}.index`, 'not a signed 64-bit integer');
  if (map.chooseArgs.has(index)) bad(`${p}.index`, `duplicate choose_args index ${text}`);
  const args = arr(o['buckets'], `${p}.buckets`).map((a, j): ChooseArg => {
    const q = `${p}.buckets[${j}]`;
    const ao = obj(a, q, ['bucketId'], ['weightSet', 'ids']);
    const arg: ChooseArg = { bucketId: int(ao['bucketId'], `${q}.bucketId`) };
    if (ao['weightSet'] !== undefined) {
      arg.weightSet = arr(ao['weightSet'], `${q}.weightSet`).map((row, r) =>
        arr(row, `${q}.weightSet[${r}]`).map((w, c) => int(w, `${q}.weightSet[${r}][${c}]`)));
    }
    if (ao['ids'] !== undefined) arg.ids = arr(ao['ids'], `${q}.ids`).map((id, c) => int(id, `${q}.ids[${c}]`));
    return arg;
  });
  map.chooseArgs.set(index, args);
}

/** A file without shadow buckets gets them as crushtool's compiler would build them (see header). */
function buildMissingShadows(map: CrushMap): void {
  const recorded: ClassIdTable = new Map();
  const used = new Set<number>();
  const order: string[] = [];
  const add = (c: string): void => {
    if (!order.includes(c)) order.push(c);
  };
  for (const d of map.devices.values()) if (d.deviceClass !== undefined) add(d.deviceClass);
  for (const b of map.buckets.values()) {
    if (b.classIds.size === 0) continue;
    recorded.set(b.id, b.classIds);
    for (const [cls, id] of b.classIds) {
      add(cls);
      used.add(id);
    }
    b.classIds = new Map();
  }
  if (map.rules.size === 0) return;
  // The tree must be sound before cloning it; rules and choose_args may name shadows not built yet.
  const { rules, chooseArgs } = map;
  map.rules = new Map();
  map.chooseArgs = new Map();
  validateCrushMap(map);
  map.rules = rules;
  // crushtool reads choose_args after building the trees, so clones get no weight sets of their own.
  const failure = populateShadowTrees(map, order, recorded, used);
  map.chooseArgs = chooseArgs;
  if (failure) throw new CrushError(describePopulateFailure(map, failure));
  sortMapInPlace(map);
}
