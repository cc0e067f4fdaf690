/** Generated CRUSH maps for property tests: root → racks → hosts → OSDs, straw2, optimal tunables. */
import fc from 'fast-check';
import { OPTIMAL_TUNABLES, StepOp, emptyMap, type Bucket, type CrushMap } from '@nacre/crush';

export interface Shape {
  /** hosts per rack, then OSD weights (16.16) per host */
  racks: number[][][];
}

export const RULE_FIRSTN_HOST = 0;
export const RULE_INDEP_HOST = 1;
export const RULE_FIRSTN_OSD = 2;
export const RULE_FIRSTN_RACK = 3;

const weightArb = fc.integer({ min: 1, max: 64 }).map((k) => k * 0x1000); // 0.0625 .. 4.0

export function shapeArb(opts: { minOsds?: number; maxRacks?: number; maxHosts?: number; maxOsdsPerHost?: number } = {}): fc.Arbitrary<Shape> {
  const host = fc.array(weightArb, { minLength: 1, maxLength: opts.maxOsdsPerHost ?? 4 });
  const rack = fc.array(host, { minLength: 1, maxLength: opts.maxHosts ?? 5 });
  return fc.array(rack, { minLength: 1, maxLength: opts.maxRacks ?? 4 })
    .map((racks) => ({ racks }))
    .filter((s) => countOsds(s) >= (opts.minOsds ?? 1));
}

export function countOsds(s: Shape): number {
  return s.racks.reduce((n, r) => n + r.reduce((m, h) => m + h.length, 0), 0);
}

export function buildMap(shape: Shape): CrushMap {
  const map = emptyMap(OPTIMAL_TUNABLES);
  for (const [id, name] of [[0, 'osd'], [1, 'host'], [2, 'rack'], [3, 'root']] as const) map.types.set(id, { id, name });
  let osd = 0;
  let nextBucket = -2;
  const root: Bucket = { id: -1, name: 'default', type: 3, alg: 'straw2', hash: 0, items: [], itemWeights: [], classIds: new Map() };
  shape.racks.forEach((hosts, r) => {
    const rack: Bucket = { id: nextBucket--, name: `rack${r}`, type: 2, alg: 'straw2', hash: 0, items: [], itemWeights: [], classIds: new Map() };
    hosts.forEach((weights, h) => {
      const host: Bucket = { id: nextBucket--, name: `host${r}-${h}`, type: 1, alg: 'straw2', hash: 0, items: [], itemWeights: [], classIds: new Map() };
      for (const w of weights) {
        map.devices.set(osd, { id: osd, name: `osd.${osd}` });
        host.items.push(osd++);
        host.itemWeights.push(w);
      }
      map.buckets.set(host.id, host);
      rack.items.push(host.id);
      rack.itemWeights.push(sum(host.itemWeights));
    });
    map.buckets.set(rack.id, rack);
    root.items.push(rack.id);
    root.itemWeights.push(sum(rack.itemWeights));
  });
  map.buckets.set(root.id, root);
  const rule = (id: number, name: string, op: StepOp, type: number): void => {
    map.rules.set(id, {
      id, name, type: op === StepOp.ChooseleafIndep ? 3 : 1, minSize: 1, maxSize: 10,
      steps: [{ op: StepOp.Take, arg1: -1, arg2: 0 }, { op, arg1: 0, arg2: type }, { op: StepOp.Emit, arg1: 0, arg2: 0 }],
    });
  };
  rule(RULE_FIRSTN_HOST, 'replicated_host', StepOp.ChooseleafFirstn, 1);
  rule(RULE_INDEP_HOST, 'ec_host', StepOp.ChooseleafIndep, 1);
  rule(RULE_FIRSTN_OSD, 'replicated_osd', StepOp.ChooseFirstn, 0);
  rule(RULE_FIRSTN_RACK, 'replicated_rack', StepOp.ChooseleafFirstn, 2);
  return map;
}

export function sum(ws: readonly number[]): number {
  return ws.reduce((a, b) => (a + b) >>> 0, 0);
}

/** OSD id → host bucket id. */
export function hostOf(map: CrushMap): Map<number, number> {
  const out = new Map<number, number>();
  for (const b of map.buckets.values()) if (b.type === 1) for (const it of b.items) out.set(it, b.id);
  return out;
}

/**
 * Add a new OSD (next free id, as an operator's `osd create` would) to the `hostIndex`-th host of a
 * generated map, updating the weights of its ancestors like `crush add`. Returns the new OSD id.
 */
export function addOsd(map: CrushMap, hostIndex: number, weight: number): number {
  let id = 0;
  for (const d of map.devices.keys()) id = Math.max(id, d + 1);
  const hostsInOrder = [...map.buckets.values()].filter((b) => b.type === 1).sort((a, b) => b.id - a.id);
  const host = hostsInOrder[hostIndex % hostsInOrder.length]!;
  map.devices.set(id, { id, name: `osd.${id}` });
  host.items.push(id);
  host.itemWeights.push(weight);
  let child = host;
  for (;;) {
    const parent = [...map.buckets.values()].find((b) => b.items.includes(child.id));
    if (parent === undefined) break;
    parent.itemWeights[parent.items.indexOf(child.id)] = sum(child.itemWeights);
    child = parent;
  }
  return id;
}
