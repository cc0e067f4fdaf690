/**
 * CRUSH edits the monitor makes on behalf of commands and OSD boots, on top of @nacre/crush's
 * edit helpers: building the host/rack/root chain an OSD boots into, moving an item (bucket or
 * device) under another bucket, and the rules pools are created with. Every function is pure and
 * returns a new validated map; a CrushError becomes a NacreError with a code.
 */
import {
  CrushError, StepOp, addBucket, addDevice, bucketWeight, cloneMap, itemWeight, rebuildShadowTrees, validateCrushMap,
  RULE_TYPE_ERASURE, RULE_TYPE_REPLICATED, type CrushMap, type Rule, type RuleStep,
} from '@nacre/crush';
import { NacreError, type ErrorCode } from '@nacre/util';

/** Ceph's standard bucket types (ids as Ceph numbers them), so `failure_domain` may be any of them. */
export const STANDARD_CRUSH_TYPES: readonly string[] = [
  'osd', 'host', 'chassis', 'rack', 'row', 'pdu', 'pod', 'room', 'datacenter', 'zone', 'region', 'root',
];
export const DEFAULT_ROOT = 'default';
const RULE_ID_MAX = 255;

/** Run a crush edit; its CrushError becomes a NacreError (EINVAL unless told otherwise). */
export function crushEdit<T>(what: string, edit: () => T, code: ErrorCode = 'EINVAL'): T {
  try {
    return edit();
  } catch (err) {
    if (err instanceof CrushError) throw new NacreError(`${what}: ${err.message}`, { code, cause: err });
    throw err;
  }
}

export function itemIdByName(map: CrushMap, name: string): number | undefined {
  for (const d of map.devices.values()) if (d.name === name) return d.id;
  for (const b of map.buckets.values()) if (b.name === name && !b.shadowOf) return b.id;
  return undefined;
}

export function typeIdByName(map: CrushMap, name: string): number | undefined {
  for (const t of map.types.values()) if (t.name === name) return t.id;
  return undefined;
}

export function typeName(map: CrushMap, id: number): string {
  return map.types.get(id)?.name ?? `type${id}`;
}

/** The real bucket that lists `item`, if any (Nacre's maps keep each item under one parent). */
export function parentOf(map: CrushMap, item: number): number | undefined {
  for (const b of map.buckets.values()) if (!b.shadowOf && b.items.includes(item)) return b.id;
  return undefined;
}

/** `item`'s ancestors from its parent up to the root, as [typeName, bucketName] pairs. */
export function locationOf(map: CrushMap, item: number): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<number>();
  let cur = parentOf(map, item);
  while (cur !== undefined && !seen.has(cur)) {
    seen.add(cur);
    const b = map.buckets.get(cur)!;
    out.push([typeName(map, b.type), b.name]);
    cur = parentOf(map, cur);
  }
  return out;
}

/** The ancestor of `item` of type `type` (e.g. its host), or undefined. */
export function ancestorOfType(map: CrushMap, item: number, type: string): string | undefined {
  return locationOf(map, item).find(([t]) => t === type)?.[1];
}

function ensureBucket(map: CrushMap, name: string, type: string, parent: string | undefined): CrushMap {
  const id = itemIdByName(map, name);
  if (id !== undefined) {
    if (id >= 0) throw new NacreError(`'${name}' is a device, not a ${type}`, { code: 'EINVAL' });
    const b = map.buckets.get(id)!;
    if (typeName(map, b.type) !== type) throw new NacreError(`bucket '${name}' is a ${typeName(map, b.type)}, not a ${type}`, { code: 'EINVAL' });
    return map;
  }
  if (typeIdByName(map, type) === undefined) throw new NacreError(`the CRUSH map has no bucket type '${type}'`, { code: 'EINVAL' });
  return crushEdit(`cannot create ${type} '${name}'`, () => addBucket(map, { name, type, alg: 'straw2', ...(parent !== undefined ? { parent } : {}) }));
}

export interface CrushLocation {
  host: string;
  rack?: string;
  root?: string;
}

/**
 * Make sure root → (rack →) host exists, creating what is missing (straw2). Existing buckets stay
 * where they are: moving a host is an operator's decision (`osd crush move`).
 */
export function ensureHostChain(map: CrushMap, loc: CrushLocation): CrushMap {
  const root = loc.root ?? DEFAULT_ROOT;
  let m = ensureBucket(map, root, 'root', undefined);
  let parent = root;
  if (loc.rack !== undefined) {
    m = ensureBucket(m, loc.rack, 'rack', parent);
    parent = loc.rack;
  }
  return ensureBucket(m, loc.host, 'host', parent);
}

/** Put device `id` (named osd.ID) under `loc.host` with `weight` (16.16), creating the chain. */
export function placeDevice(map: CrushMap, id: number, weight: number, loc: CrushLocation, deviceClass?: string): CrushMap {
  const m = ensureHostChain(map, loc);
  return crushEdit(`cannot add osd.${id} to host '${loc.host}'`, () => addDevice(m, {
    id, name: `osd.${id}`, weight, parent: loc.host, ...(deviceClass !== undefined ? { deviceClass } : {}),
  }));
}

/**
 * Move `item` (a device or a bucket with everything under it) to be an item of bucket `parent`.
 * A bucket may only go under a bucket of a higher type (a host under a rack or root), which also
 * rules out cycles. Weights are recomputed up to the roots; shadow trees rebuilt.
 */
export function moveItem(map: CrushMap, item: number, parentName: string): CrushMap {
  const pid = itemIdByName(map, parentName);
  if (pid === undefined || pid >= 0) throw new NacreError(`no bucket named '${parentName}'`, { code: 'ENOENT' });
  const parent = map.buckets.get(pid)!;
  if (item < 0 && parent.type <= map.buckets.get(item)!.type) {
    throw new NacreError(`cannot put ${typeName(map, map.buckets.get(item)!.type)} '${map.buckets.get(item)!.name}' under ${typeName(map, parent.type)} '${parent.name}': the parent must be of a higher type`, { code: 'EINVAL' });
  }
  if (map.chooseArgs.size > 0) throw new NacreError('moving items of a CRUSH map with choose_args is not supported', { code: 'ENOTSUP' });
  if (parentOf(map, item) === pid) return map;
  const out = cloneMap(map);
  const weight = item >= 0 ? itemWeight(map, item) : bucketWeight(map.buckets.get(item)!);
  for (const b of out.buckets.values()) {
    if (b.shadowOf) continue;
    const i = b.items.indexOf(item);
    if (i < 0) continue;
    if (b.alg !== 'straw2' && b.alg !== 'straw' && b.alg !== 'list') throw new NacreError(`cannot move out of ${b.alg} bucket '${b.name}'`, { code: 'ENOTSUP' });
    b.items.splice(i, 1);
    b.itemWeights.splice(i, 1);
  }
  const p = out.buckets.get(pid)!;
  if (p.alg === 'uniform') throw new NacreError(`cannot move into uniform bucket '${p.name}'`, { code: 'ENOTSUP' });
  p.items.push(item);
  p.itemWeights.push(weight);
  recomputeBucketWeights(out);
  return crushEdit('cannot move', () => {
    const rebuilt = rebuildShadowTrees(out);
    validateCrushMap(rebuilt);
    return rebuilt;
  });
}

/** Every real bucket's weight as an item of its parents = the sum of its own items (bottom-up). */
function recomputeBucketWeights(map: CrushMap): void {
  const memo = new Map<number, number>();
  const total = (id: number, depth: number): number => {
    if (depth > 64) throw new NacreError('CRUSH hierarchy too deep or cyclic', { code: 'EINVAL' });
    const known = memo.get(id);
    if (known !== undefined) return known;
    const b = map.buckets.get(id)!;
    for (let i = 0; i < b.items.length; i++) {
      const it = b.items[i]!;
      if (it < 0 && map.buckets.has(it)) b.itemWeights[i] = total(it, depth + 1);
    }
    const sum = b.itemWeights.reduce((s, w) => (s + w) >>> 0, 0);
    memo.set(id, sum);
    return sum;
  };
  for (const b of map.buckets.values()) if (!b.shadowOf) total(b.id, 0);
}

export interface PoolRuleSpec {
  type: 'replicated' | 'erasure';
  root: string;
  failureDomain: string;
}

/** The steps Nacre's pools use (Ceph's defaults for `osd pool create`). */
export function poolRuleSteps(map: CrushMap, spec: PoolRuleSpec): RuleStep[] {
  const rootId = itemIdByName(map, spec.root);
  if (rootId === undefined || rootId >= 0) throw new NacreError(`CRUSH root '${spec.root}' does not exist`, { code: 'ENOENT' });
  const fd = typeIdByName(map, spec.failureDomain);
  if (fd === undefined) {
    throw new NacreError(`unknown failure domain '${spec.failureDomain}' (CRUSH types: ${[...map.types.values()].map((t) => t.name).join(', ')})`, { code: 'EINVAL' });
  }
  const take: RuleStep = { op: StepOp.Take, arg1: rootId, arg2: 0 };
  const emit: RuleStep = { op: StepOp.Emit, arg1: 0, arg2: 0 };
  if (spec.type === 'replicated') {
    const choose: RuleStep = fd === 0 ? { op: StepOp.ChooseFirstn, arg1: 0, arg2: 0 } : { op: StepOp.ChooseleafFirstn, arg1: 0, arg2: fd };
    return [take, choose, emit];
  }
  // EC rules as Ceph writes them: more retries, because an indep rule must fill every position.
  return [
    { op: StepOp.SetChooseleafTries, arg1: 5, arg2: 0 },
    { op: StepOp.SetChooseTries, arg1: 100, arg2: 0 },
    take,
    fd === 0 ? { op: StepOp.ChooseIndep, arg1: 0, arg2: 0 } : { op: StepOp.ChooseleafIndep, arg1: 0, arg2: fd },
    emit,
  ];
}

function sameSteps(a: readonly RuleStep[], b: readonly RuleStep[]): boolean {
  return a.length === b.length && a.every((s, i) => s.op === b[i]!.op && s.arg1 === b[i]!.arg1 && s.arg2 === b[i]!.arg2);
}

/** The id of a rule with exactly these steps, adding one if none exists. */
export function ensurePoolRule(map: CrushMap, spec: PoolRuleSpec): { map: CrushMap; ruleId: number } {
  const steps = poolRuleSteps(map, spec);
  const ruleType = spec.type === 'erasure' ? RULE_TYPE_ERASURE : RULE_TYPE_REPLICATED;
  for (const r of map.rules.values()) if (r.type === ruleType && sameSteps(r.steps, steps)) return { map, ruleId: r.id };
  let id = 0;
  while (map.rules.has(id)) id++;
  if (id > RULE_ID_MAX) throw new NacreError(`the CRUSH map already has ${RULE_ID_MAX + 1} rules`, { code: 'ENOSPC' });
  const names = new Set([...map.rules.values()].map((r) => r.name));
  let name = spec.type === 'replicated' && spec.root === DEFAULT_ROOT && spec.failureDomain === 'host'
    ? 'replicated_rule'
    : `${spec.type}_${spec.root}_${spec.failureDomain}`;
  if (names.has(name)) name = `${name}_${id}`;
  const rule: Rule = { id, name, type: ruleType, minSize: 1, maxSize: spec.type === 'erasure' ? 40 : 10, steps };
  const out = cloneMap(map);
  out.rules.set(id, rule);
  out.rules = new Map([...out.rules].sort((a, b) => a[0] - b[0]));
  crushEdit('cannot add rule', () => validateCrushMap(out));
  return { map: out, ruleId: id };
}
