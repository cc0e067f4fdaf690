/**
 * Properties of the mapper on generated maps (seeded; reproduce with NACRE_SEED=N).
 * Compatibility with Ceph is proven by the vectors; these check the behaviour placement relies on.
 */
import fc from 'fast-check';
import t from 'tap';
import { CRUSH_ITEM_NONE, StepOp, cloneMap, compileMap, doRule, type CrushMap } from '@nacre/crush';
import { seedFromEnv } from '@nacre/util';
import {
  RULE_FIRSTN_HOST, RULE_FIRSTN_OSD, RULE_INDEP_HOST, addOsd, buildMap, countOsds, hostOf, shapeArb, sum,
} from './gen-map.js';

const seed = seedFromEnv();
t.comment(`property seed ${seed} (reproduce with NACRE_SEED=${seed})`);
const runs = 100;

function inWeights(map: CrushMap, out: number[] = []): number[] {
  let max = 0;
  for (const id of map.devices.keys()) max = Math.max(max, id + 1);
  const w = new Array<number>(max).fill(0x10000);
  for (const o of out) w[o] = 0;
  return w;
}

t.test('determinism: same map and input give the same result, also on a copy of the map', async (t) => {
  fc.assert(fc.property(shapeArb(), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 1, max: 6 }), (shape, x, n) => {
    const map = buildMap(shape);
    const a = compileMap(map);
    const b = compileMap(cloneMap(map));
    const w = inWeights(map);
    for (const rule of [RULE_FIRSTN_HOST, RULE_INDEP_HOST, RULE_FIRSTN_OSD]) {
      const r1 = doRule(a, rule, x, n, w);
      const r2 = doRule(a, rule, x, n, w);
      const r3 = doRule(b, rule, x, n, w);
      if (JSON.stringify(r1) !== JSON.stringify(r2) || JSON.stringify(r1) !== JSON.stringify(r3)) return false;
    }
    return true;
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('replicated: no duplicate OSDs, one per host when hosts suffice, never more than asked', async (t) => {
  fc.assert(fc.property(shapeArb(), fc.integer({ min: 1, max: 5 }), (shape, n) => {
    const map = buildMap(shape);
    const c = compileMap(map);
    const hosts = hostOf(map);
    const w = inWeights(map);
    for (let x = 0; x < 200; x++) {
      const r = doRule(c, RULE_FIRSTN_HOST, x, n, w);
      if (r.length > n || new Set(r).size !== r.length) return false;
      if (new Set(r.map((o) => hosts.get(o))).size !== r.length) return false; // failure domain
      const flat = doRule(c, RULE_FIRSTN_OSD, x, n, w);
      if (new Set(flat).size !== flat.length || flat.length > n) return false;
    }
    return true;
  }), { seed: seed + 1, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('replicated on evenly weighted hosts: a full set whenever there are enough hosts', async (t) => {
  // With very skewed weights CRUSH may give up before filling every replica (crushtool's
  // "bad mappings"), exactly as Ceph does; with even hosts it must not.
  fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), (numHosts, perHost, n) => {
    const map = buildMap({ racks: [Array.from({ length: numHosts }, () => new Array<number>(perHost).fill(0x10000))] });
    const c = compileMap(map);
    const w = inWeights(map);
    for (let x = 0; x < 300; x++) if (doRule(c, RULE_FIRSTN_HOST, x, n, w).length !== Math.min(n, numHosts)) return false;
    return true;
  }), { seed: seed + 5, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('indep: an OSD going out only changes the positions it held', async (t) => {
  // Positions are independent: a failed position is retried in later rounds while the others keep
  // their item. Strictly, that holds for inputs whose first round filled every position (a later
  // round's retry may collide with the victim's replacement); those inputs are identified by running
  // the same rule with a single round (set_choose_tries 1), which leaves no hole exactly then.
  let checked = 0;
  fc.assert(fc.property(shapeArb({ minOsds: 6 }), fc.nat(), fc.integer({ min: 2, max: 5 }), (shape, pick, n) => {
    const map = buildMap(shape);
    const ec = map.rules.get(RULE_INDEP_HOST)!;
    map.rules.set(9, { ...ec, id: 9, steps: [{ op: StepOp.SetChooseTries, arg1: 1, arg2: 0 }, ...ec.steps] });
    const c = compileMap(map);
    const victim = pick % countOsds(shape);
    const before = inWeights(map);
    const after = inWeights(map, [victim]);
    for (let x = 0; x < 200; x++) {
      const a = doRule(c, RULE_INDEP_HOST, x, n, before);
      const b = doRule(c, RULE_INDEP_HOST, x, n, after);
      if (a.length !== n || b.length !== n || b.includes(victim)) return false; // every position, never the victim
      const oneRound = doRule(c, 9, x, n, before);
      if (oneRound.includes(CRUSH_ITEM_NONE)) continue;
      if (JSON.stringify(oneRound) !== JSON.stringify(a)) return false;
      checked++;
      for (let i = 0; i < n; i++) if (a[i] !== victim && a[i] !== b[i]) return false;
    }
    return true;
  }), { seed: seed + 2, numRuns: runs });
  t.ok(checked > 1000, `${checked} first-round inputs checked position by position`);
});

t.test('straw2 distribution follows the weights (chi-square)', async (t) => {
  const inputs = 20000;
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 64 }).map((k) => k * 0x1000), { minLength: 2, maxLength: 24 }), (weights) => {
    const map = buildMap({ racks: [[weights]] });
    const c = compileMap(map);
    const w = inWeights(map);
    const counts = new Array<number>(weights.length).fill(0);
    for (let x = 0; x < inputs; x++) counts[doRule(c, RULE_FIRSTN_OSD, x, 1, w)[0]!]!++;
    const total = sum(weights);
    let chi2 = 0;
    for (let i = 0; i < weights.length; i++) {
      const expected = (inputs * weights[i]!) / total;
      chi2 += (counts[i]! - expected) ** 2 / expected;
    }
    // Wilson–Hilferty upper bound for p ≈ 1e-7 (z = 5.2): a false alarm is practically impossible
    const df = weights.length - 1;
    const bound = df * (1 - 2 / (9 * df) + 5.2 * Math.sqrt(2 / (9 * df))) ** 3;
    return chi2 <= bound;
  }), { seed: seed + 3, numRuns: runs });
  t.pass(`${runs} runs`);
});

/** Replica movement between two mappings: replicas that changed OSD, and how many had to. */
function movement(before: number[][], after: number[][], changed: number, kind: 'add' | 'out'): { moved: number; optimal: number } {
  let moved = 0;
  let optimal = 0;
  for (let x = 0; x < before.length; x++) {
    const a = new Set(before[x]);
    for (const o of after[x]!) if (!a.has(o)) moved++;
    if (kind === 'add' ? after[x]!.includes(changed) : a.has(changed)) optimal++;
  }
  return { moved, optimal };
}

function mappings(map: CrushMap, rule: number, n: number, weights: number[], inputs: number): number[][] {
  const c = compileMap(map);
  return Array.from({ length: inputs }, (_, x) => doRule(c, rule, x, n, weights));
}

const weight16 = fc.integer({ min: 8, max: 24 }).map((k) => k * 0x1000);

t.test('straw2 minimal movement in one bucket of ≥ 20 OSDs: add or out one OSD', async (t) => {
  // Out: every mapping that changes loses exactly the out OSD (moved = optimum, exactly).
  // Add, one replica: every mapping that changes moves onto the new OSD (moved = optimum).
  // Add, three replicas (firstn and indep): a replica displaced by the newcomer can collide with a
  // later one and push it too, so moved = optimum × (1 + a few %), growing with the newcomer's share.
  // For an OSD no heavier than the bucket's mean the expected ratio is ≈ 1.04; 4000 inputs keep
  // sampling noise far below the 1.1 bound (a false alarm is ~1e-9 per run).
  const ratios: number[] = [];
  fc.assert(fc.property(fc.array(weight16, { minLength: 20, maxLength: 40 }), fc.double({ min: 0.25, max: 1, noNaN: true }), fc.nat(), (weights, share, pick) => {
    const base = buildMap({ racks: [[weights]] });
    base.rules.set(9, { id: 9, name: 'ec_osd', type: 3, minSize: 1, maxSize: 10, steps: [
      { op: StepOp.Take, arg1: -1, arg2: 0 }, { op: StepOp.ChooseIndep, arg1: 0, arg2: 0 }, { op: StepOp.Emit, arg1: 0, arg2: 0 }] });
    const grown = cloneMap(base);
    const meanWeight = sum(weights) / weights.length;
    const added = addOsd(grown, 0, Math.max(0x1000, Math.floor((meanWeight * share) / 0x1000) * 0x1000));
    const victim = pick % weights.length;
    const w0 = inWeights(base);
    const w1 = inWeights(grown);
    const wOut = inWeights(base, [victim]);
    for (const [rule, n, inputs] of [[RULE_FIRSTN_OSD, 1, 500], [RULE_FIRSTN_OSD, 3, 4000], [9, 3, 4000]] as const) {
      const a = mappings(base, rule, n, w0, inputs);
      const add = movement(a, mappings(grown, rule, n, w1, inputs), added, 'add');
      const out = movement(a.slice(0, 1000), mappings(base, rule, n, wOut, Math.min(inputs, 1000)), victim, 'out');
      if (out.moved !== out.optimal) return false;
      if (n === 1 && add.moved !== add.optimal) return false;
      if (add.optimal === 0) continue;
      ratios.push(add.moved / add.optimal);
      if (add.moved > 1.1 * add.optimal) return false;
    }
    return true;
  }), { seed: seed + 4, numRuns: runs });
  ratios.sort((x, y) => x - y);
  t.comment(`add, 3 replicas: moved/optimal median ${ratios[ratios.length >> 1]!.toFixed(3)}, max ${ratios[ratios.length - 1]!.toFixed(3)} over ${ratios.length} changes`);
  t.pass('out moved exactly the data held; add moved ≤ 1.1 × the optimum');
});

t.test('hierarchical maps of ≥ 20 OSDs: out-ing one OSD moves only its data; adding one is reported', async (t) => {
  // Marking an OSD out only rejects that OSD, so chooseleaf firstn moves exactly its replicas.
  // Adding an OSD raises the weight of its host and of every ancestor; inputs newly drawn into the
  // grown rack are then shared among all its hosts, so movement is a multiple of the optimum —
  // inherent to hierarchical CRUSH (Ceph behaves identically). `nacre crush what-if` shows it.
  const addRatios: number[] = [];
  fc.assert(fc.property(shapeArb({ minOsds: 20, maxRacks: 4, maxHosts: 6, maxOsdsPerHost: 4 }), weight16, fc.nat(), (shape, newWeight, pick) => {
    const inputs = 1500;
    const base = buildMap(shape);
    const w0 = inWeights(base);
    const a = mappings(base, RULE_FIRSTN_HOST, 3, w0, inputs);
    const victim = pick % countOsds(shape);
    const out = movement(a, mappings(base, RULE_FIRSTN_HOST, 3, inWeights(base, [victim]), inputs), victim, 'out');
    if (out.moved > 1.1 * out.optimal) return false;
    const grown = cloneMap(base);
    const added = addOsd(grown, pick, newWeight);
    const add = movement(a, mappings(grown, RULE_FIRSTN_HOST, 3, inWeights(grown), inputs), added, 'add');
    if (add.optimal > 0) addRatios.push(add.moved / add.optimal);
    return true;
  }), { seed: seed + 6, numRuns: runs });
  addRatios.sort((x, y) => x - y);
  t.comment(`hierarchical add moved/optimal: median ${addRatios[addRatios.length >> 1]!.toFixed(3)}, max ${addRatios[addRatios.length - 1]!.toFixed(3)}`);
  t.pass('out-ing one OSD moved ≤ 1.1 × its replicas on every map');
});

t.test('chooseleaf firstn fills from other hosts when a host goes out, never duplicating', async (t) => {
  const shape = { racks: [[[0x10000, 0x10000], [0x10000, 0x10000], [0x10000, 0x10000], [0x10000, 0x10000]]] };
  const map = buildMap(shape);
  const c = compileMap(map);
  const hosts = hostOf(map);
  const w = inWeights(map, [0, 1]); // host0 entirely out
  for (let x = 0; x < 1000; x++) {
    const r = doRule(c, RULE_FIRSTN_HOST, x, 3, w);
    if (r.length !== 3 || r.includes(0) || r.includes(1) || new Set(r.map((o) => hosts.get(o))).size !== 3) {
      t.fail(`x=${x}: ${JSON.stringify(r)}`);
      return;
    }
  }
  const ec = doRule(c, RULE_INDEP_HOST, 7, 5, w);
  t.equal(ec.filter((o) => o === CRUSH_ITEM_NONE).length, 2, 'indep leaves holes when failure domains run out');
  t.pass('1000 inputs');
});
