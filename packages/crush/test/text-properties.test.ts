/**
 * Properties of the text format, the JSON form and the edit helpers on generated maps (hosts,
 * optional racks, random weights, device classes, every bucket algorithm, rules with and without
 * classes, choose_args on straw2 buckets). Seeded; reproduce with NACRE_SEED=N.
 */
import fc from 'fast-check';
import t from 'tap';
import {
  LEGACY_TUNABLES, OPTIMAL_TUNABLES, StepOp, addBucket, addDevice, crushMapFromJson, crushMapToJson, emptyMap,
  formatWeight, parseCrushText, printCrushText, rebuildShadowTrees, removeItem, setItemWeight, validateCrushMap, weightFromText,
  type Bucket, type BucketAlg, type CrushMap,
} from '@nacre/crush';
import { seedFromEnv } from '@nacre/util';

const seed = seedFromEnv();
t.comment(`property seed ${seed} (reproduce with NACRE_SEED=${seed})`);
const RUNS = 150;

const CLASSES = ['hdd', 'ssd', 'nvme'];
/** Weights as crushtool reads three-decimal text, so printing a device weight loses nothing. */
const weightArb = fc.integer({ min: 0, max: 9999 }).map((milli) => weightFromText(`${Math.floor(milli / 1000)}.${String(milli % 1000).padStart(3, '0')}`) as number);
/** Multiples of 1/8: their sums print exactly too, so buckets can weigh exactly their items' sum. */
const eighthsArb = fc.integer({ min: 0, max: 80 }).map((k) => k * 0x2000);
const deviceArb = fc.record({ weight: weightArb, eighths: eighthsArb, cls: fc.integer({ min: -1, max: 2 }) });

const shapeArb = fc.record({
  classes: fc.integer({ min: 0, max: 3 }),
  racks: fc.array(fc.array(fc.array(deviceArb, { maxLength: 4 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
  useRacks: fc.boolean(),
  hostAlgs: fc.array(fc.constantFrom<BucketAlg>('straw2', 'straw2', 'list', 'tree', 'straw', 'uniform'), { minLength: 9, maxLength: 9 }),
  tunables: fc.constantFrom(LEGACY_TUNABLES, OPTIMAL_TUNABLES, { ...OPTIMAL_TUNABLES, chooseleafStable: 0, allowedBucketAlgs: 62 }),
  rules: fc.array(fc.record({
    cls: fc.integer({ min: -1, max: 2 }), leaf: fc.boolean(), indep: fc.boolean(), num: fc.integer({ min: -1, max: 4 }),
    type: fc.integer({ min: 0, max: 2 }), tries: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    name: fc.option(fc.constantFrom('data', 'ec-pool', 'fast_ssd'), { nil: undefined }),
  }), { minLength: 1, maxLength: 4 }),
  chooseArgs: fc.array(fc.record({
    index: fc.constantFrom(-1n, 0n, 1n, 7n), pick: fc.array(fc.nat(), { maxLength: 4 }), rows: fc.integer({ min: 0, max: 3 }),
    // eighths: shadow buckets' weight sets hold sums, which must survive the three-decimal text too
    ids: fc.boolean(), weights: fc.array(eighthsArb, { minLength: 64, maxLength: 64 }),
  }), { maxLength: 2 }),
});
type Shape = typeof shapeArb extends fc.Arbitrary<infer S> ? S : never;

function bucket(id: number, name: string, type: number, alg: BucketAlg): Bucket {
  return { id, name, type, alg, hash: 0, items: [], itemWeights: [], classIds: new Map() };
}

/**
 * A bucket's weight in its parent: its exact sum when `exact` (then weights are eighths), else the
 * sum as crushtool would read it back from its three-decimal text (the text cannot carry more).
 */
function link(parent: Bucket, child: Bucket, exact: boolean): void {
  const sum = child.itemWeights.reduce((s, w) => s + w, 0);
  parent.items.push(child.id);
  parent.itemWeights.push(exact ? sum : weightFromText(formatWeight(sum)) as number);
}

/** `exact`: device weights are eighths and bucket weights exact sums (what edits maintain). */
function buildMap(shape: Shape, exact = false): CrushMap {
  const map = emptyMap(shape.tunables);
  ['osd', 'host', 'rack', 'root'].forEach((name, id) => map.types.set(id, { id, name }));
  const classes = CLASSES.slice(0, shape.classes);
  const root = bucket(-1, 'default', 3, 'straw2');
  map.buckets.set(-1, root);
  let nextId = -2;
  let osd = 0;
  let h = 0;
  shape.racks.forEach((hosts, r) => {
    const rack = bucket(nextId--, `rack${r}`, 2, 'straw2');
    for (const devices of hosts) {
      let alg = shape.hostAlgs[h % shape.hostAlgs.length]!;
      // Ceph cannot build class shadows of uniform buckets with weighted items, nor weight-0 uniform buckets.
      const weightOf = (d: (typeof devices)[number]): number => (exact ? d.eighths : d.weight);
      if (alg === 'uniform' && (classes.length > 0 || devices.length === 0 || weightOf(devices[0]!) === 0)) alg = 'straw2';
      const host = bucket(nextId--, `host-${h++}`, 1, alg);
      for (const d of devices) {
        const cls = d.cls >= 0 && classes.length > 0 ? classes[d.cls % classes.length] : undefined;
        map.devices.set(osd, cls === undefined ? { id: osd, name: `osd.${osd}` } : { id: osd, name: `osd.${osd}`, deviceClass: cls });
        host.items.push(osd++);
        host.itemWeights.push(weightOf(alg === 'uniform' ? devices[0]! : d));
      }
      map.buckets.set(host.id, host);
      link(shape.useRacks ? rack : root, host, exact);
    }
    if (shape.useRacks) {
      map.buckets.set(rack.id, rack);
      link(root, rack, exact);
    }
  });
  let withShadows = rebuildShadowTrees(map);
  shape.rules.forEach((r, id) => {
    const cls = r.cls >= 0 && classes.length > 0 ? classes[r.cls % classes.length]! : undefined;
    const take = (cls !== undefined ? withShadows.buckets.get(-1)!.classIds.get(cls) : undefined) ?? -1;
    const op = r.leaf ? (r.indep ? StepOp.ChooseleafIndep : StepOp.ChooseleafFirstn) : (r.indep ? StepOp.ChooseIndep : StepOp.ChooseFirstn);
    const steps = [
      ...(r.tries === undefined ? [] : [{ op: StepOp.SetChooseTries, arg1: r.tries, arg2: 0 }]),
      { op: StepOp.Take, arg1: take, arg2: 0 }, { op, arg1: r.num, arg2: r.type }, { op: StepOp.Emit, arg1: 0, arg2: 0 },
    ];
    withShadows.rules.set(id, { id, name: r.name === undefined ? `rule${id}` : `${r.name}${id}`, type: r.indep ? 3 : 1, minSize: 1, maxSize: 10, steps });
  });
  // Weight sets go on real buckets; the rebuild derives the shadow buckets' ones as Ceph does.
  withShadows = rebuildShadowTrees(addChooseArgs(withShadows, shape));
  validateCrushMap(withShadows);
  return withShadows;
}

function addChooseArgs(map: CrushMap, shape: Shape): CrushMap {
  const straw2 = [...map.buckets.values()].filter((b) => b.alg === 'straw2' && !b.shadowOf && b.items.length > 0);
  if (straw2.length === 0) return map;
  for (const ca of shape.chooseArgs) {
    const chosen = [...new Set(ca.pick.map((i) => straw2[i % straw2.length]!))];
    let k = 0;
    map.chooseArgs.set(ca.index, chosen.map((b) => ({
      bucketId: b.id,
      ...(ca.rows > 0 ? { weightSet: Array.from({ length: ca.rows }, () => b.items.map(() => ca.weights[k++ % 64]!)) } : {}),
      ...(ca.ids || ca.rows === 0 ? { ids: b.items.map((it, i) => it * 3 - i) } : {}),
    })).sort((x, y) => y.bucketId - x.bucketId));
  }
  return map;
}

const json = (m: CrushMap): string => JSON.stringify(crushMapToJson(m));

t.test('print → parse → print is a fixpoint and the model survives', async (t) => {
  fc.assert(fc.property(shapeArb, (shape) => {
    const map = buildMap(shape);
    const text = printCrushText(map);
    const back = parseCrushText(text);
    return printCrushText(back) === text && json(back) === json(map);
  }), { seed, numRuns: RUNS });
  t.pass(`${RUNS} runs`);
});

t.test('JSON round trip, and JSON → text → parse gives the same map', async (t) => {
  fc.assert(fc.property(shapeArb, (shape) => {
    const map = buildMap(shape);
    const doc = JSON.parse(JSON.stringify(crushMapToJson(map))) as unknown;
    const back = crushMapFromJson(doc);
    return json(back) === json(map) && json(parseCrushText(printCrushText(back))) === json(map);
  }), { seed: seed + 1, numRuns: RUNS });
  t.pass(`${RUNS} runs`);
});

t.test('rebuilding shadow trees is idempotent on generated maps', async (t) => {
  fc.assert(fc.property(shapeArb, (shape) => {
    const map = buildMap(shape);
    return json(rebuildShadowTrees(map)) === json(map);
  }), { seed: seed + 2, numRuns: RUNS });
  t.pass(`${RUNS} runs`);
});

t.test('edits: reweight and back, add and remove, are identities; every result is valid and round-trips', async (t) => {
  const editArb = fc.record({ device: fc.nat(), host: fc.nat(), weight: eighthsArb, cls: fc.integer({ min: -1, max: 3 }) });
  fc.assert(fc.property(shapeArb, editArb, (shape, e) => {
    const map = buildMap({ ...shape, chooseArgs: [] }, true);
    const roundTrips = (m: CrushMap): boolean => {
      validateCrushMap(m);
      return json(parseCrushText(printCrushText(m))) === json(m) && json(rebuildShadowTrees(m)) === json(m);
    };
    const devices = [...map.devices.values()];
    if (devices.length > 0) {
      const d = devices[e.device % devices.length]!;
      const inUniform = [...map.buckets.values()].some((b) => b.alg === 'uniform' && b.items.includes(d.id));
      const before = [...map.buckets.values()].find((b) => !b.shadowOf && b.items.includes(d.id));
      if (before && !inUniform) {
        const old = before.itemWeights[before.items.indexOf(d.id)]!;
        const changed = setItemWeight(map, d.name, e.weight);
        if (!roundTrips(changed)) throw new Error('reweight: no round trip');
        if (json(setItemWeight(changed, d.id, old)) !== json(map)) throw new Error(`reweight ${d.name} and back: ${printCrushText(setItemWeight(changed, d.id, old))} vs ${printCrushText(map)}`);
      }
    }
    const hosts = [...map.buckets.values()].filter((b) => !b.shadowOf && b.type === 1 && b.alg !== 'tree' && b.alg !== 'uniform');
    if (hosts.length > 0) {
      const host = hosts[e.host % hosts.length]!;
      const cls = e.cls >= 0 ? ['hdd', 'ssd', 'nvme', 'pmem'][e.cls] : undefined;
      const added = addDevice(map, { weight: e.weight, parent: host.name, ...(cls === undefined ? {} : { deviceClass: cls }) });
      const newId = [...added.devices.keys()].find((id) => !map.devices.has(id))!;
      if (!roundTrips(added)) throw new Error('add: no round trip');
      if (json(removeItem(added, newId)) !== json(map)) throw new Error(`add and remove: ${json(removeItem(added, newId))} vs ${json(map)}`);
      const withBucket = addBucket(added, { name: 'new-host', type: 'host', parent: 'default' });
      if (!roundTrips(withBucket)) throw new Error('add bucket: no round trip');
      if (json(removeItem(withBucket, 'new-host')) !== json(added)) throw new Error(`add bucket and remove: ${json(removeItem(withBucket, 'new-host'))} vs ${json(added)}`);
    }
    return true;
  }), { seed: seed + 3, numRuns: RUNS });
  t.pass(`${RUNS} runs`);
});
