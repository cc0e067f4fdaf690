/**
 * The JSON form (nacre-crush-map/v1): its shape, its validation (a table of hand-edited mistakes,
 * each a CrushError naming the problem), and a fuzz property: mangled documents either load or
 * fail with CrushError, and whatever loads can be compiled and mapped without crashing.
 * Seeded; reproduce with NACRE_SEED=N.
 */
import fc from 'fast-check';
import t from 'tap';
import {
  CRUSH_MAP_JSON_FORMAT, CrushError, CrushParseError, compileMap, crushMapFromJson, crushMapToJson, doRule, maxDevices,
  parseCrushText, type CrushMapJson,
} from '@nacre/crush';
import { seedFromEnv } from '@nacre/util';
import { readText } from './vectors.js';

const classes = parseCrushText(readText('maps/classes.txt'));
const chooseArgs = parseCrushText(readText('maps/choose-args.txt'));
const doc = (): CrushMapJson => JSON.parse(JSON.stringify(crushMapToJson(classes))) as CrushMapJson;

t.test('shape of the document', async (t) => {
  const d = crushMapToJson(classes);
  t.equal(d.format, CRUSH_MAP_JSON_FORMAT);
  t.strictSame(Object.keys(d), ['format', 'tunables', 'devices', 'types', 'buckets', 'rules', 'chooseArgs']);
  t.strictSame(d.devices[2], { id: 2, name: 'osd.2', class: 'ssd' });
  t.strictSame(d.buckets[0], {
    id: -1, name: 'default', type: 3, alg: 'straw2', hash: 0,
    items: [{ id: -2, weight: 163840 }, { id: -3, weight: 180224 }, { id: -4, weight: 131072 }, { id: -5, weight: 131072 }, { id: -6, weight: 327680 }],
    classIds: [{ class: 'hdd', id: -12 }, { class: 'ssd', id: -18 }],
  });
  t.strictSame(d.buckets.find((b) => b.id === -15), { id: -15, name: 'node3~ssd', type: 1, alg: 'straw2', hash: 0, items: [], shadowOf: { bucketId: -4, class: 'ssd' } });
  t.strictSame(d.rules[1]!.steps, [
    { op: 'set_chooseleaf_tries', value: 5 }, { op: 'set_choose_tries', value: 100 }, { op: 'take', item: -12 },
    { op: 'chooseleaf_indep', num: 0, type: 1 }, { op: 'emit' },
  ]);
  const ca = crushMapToJson(chooseArgs).chooseArgs;
  t.equal(ca[0]!.index, '-1', 'choose_args indexes are signed decimal strings');
  t.strictSame(ca[0]!.buckets[1], { bucketId: -3, weightSet: [[32768, 262144, 65536]], ids: [-100, -101, -102] });
});

type Mutation = (d: CrushMapJson & Record<string, unknown>) => void;
const bad: [string, Mutation, RegExp][] = [
  ['not an object', (d) => { Object.assign(d, { devices: 5 }); }, /map\.devices: expected an array/],
  ['wrong format', (d) => { (d as { format: string }).format = 'nacre-crush-map/v0'; }, /map\.format: expected "nacre-crush-map\/v1"/],
  ['unknown key (a typo)', (d) => { Object.assign(d.buckets[1]!.items[0]!, { wieght: 1 }); }, /map\.buckets\[1\]\.items\[0\]: unknown key "wieght"/],
  ['missing key', (d) => { delete (d.tunables as Partial<CrushMapJson['tunables']>).chooseTotalTries; }, /map\.tunables: missing "chooseTotalTries"/],
  ['fractional weight', (d) => { d.buckets[1]!.items[0]!.weight = 1.5; }, /expected an integer/],
  ['negative weight', (d) => { d.buckets[1]!.items[0]!.weight = -1; }, /not a 16\.16 unsigned weight/],
  ['device weight above 100', (d) => { d.buckets[1]!.items[0]!.weight = 101 * 0x10000; }, /above the limit of 100/],
  ['unknown item', (d) => { d.buckets[1]!.items[0]!.id = 77; }, /unknown item 77/],
  ['duplicate device name', (d) => { d.devices[1]!.name = 'osd.0'; }, /duplicate name 'osd\.0'/],
  ['duplicate device id', (d) => { d.devices[1]!.id = 0; }, /duplicate device id 0/],
  ['invalid name', (d) => { d.devices[1]!.name = 'osd 1'; }, /invalid name 'osd 1'/],
  ['unknown bucket type', (d) => { d.buckets[1]!.type = 9; }, /unknown type 9/],
  ['unknown algorithm', (d) => { (d.buckets[1] as { alg: string }).alg = 'straw3'; }, /unknown algorithm 'straw3'/],
  ['unknown hash', (d) => { d.buckets[1]!.hash = 2; }, /unknown hash 2/],
  ['bucket cycle', (d) => { d.buckets[1]!.items.push({ id: -1, weight: 0 }); }, /bucket cycle/],
  ['stale shadow bucket', (d) => { d.buckets[1]!.items[0]!.weight = 2 * 0x10000; }, /do not match 'node1'.*rebuild the shadow trees/],
  ['shadow id not a shadow', (d) => { d.buckets[0]!.classIds![0]!.id = -2; }, /names -2, which is not its shadow bucket/],
  ['take of an unknown bucket', (d) => { d.rules[0]!.steps[0] = { op: 'take', item: -99 }; }, /take of unknown item -99/],
  ['choose of an unknown type', (d) => { d.rules[0]!.steps[1] = { op: 'chooseleaf_firstn', num: 0, type: 9 }; }, /choose of unknown type 9/],
  ['unknown step', (d) => { (d.rules[0]!.steps as unknown[])[1] = { op: 'pick' }; }, /unknown step op "pick"/],
  ['rule id above 255', (d) => { d.rules[0]!.id = 256; }, /rule id 256 is invalid/],
  ['tunable out of range', (d) => { d.tunables.chooseleafVaryR = 300; }, /tunable chooseleafVaryR = 300 is out of range/],
  ['uniform bucket with different weights', (d) => { (d.buckets[1] as { alg: string }).alg = 'uniform'; }, /uniform bucket items must all weigh the same/],
  ['choose_args index not a string', (d) => { d.chooseArgs = [{ index: -1 as unknown as string, buckets: [] }]; }, /index: expected a string/],
  ['choose_args index beyond 64 bits', (d) => { d.chooseArgs = [{ index: '9223372036854775808', buckets: [] }]; }, /not a signed 64-bit integer/],
  ['choose_args weight count', (d) => { d.chooseArgs = [{ index: '-1', buckets: [{ bucketId: -2, weightSet: [[1]] }] }]; }, /weight_set row has 1 weights, the bucket has 3 items/],
  ['choose_args on a non-straw2 bucket', (d) => { (d.buckets[1] as { alg: string }).alg = 'list'; d.buckets = d.buckets.filter((b) => !b.shadowOf); d.chooseArgs = [{ index: '0', buckets: [{ bucketId: -2, ids: [1, 2, 3] }] }]; }, /only apply to straw2 buckets/],
  ['device id beyond the bound', (d) => { d.devices.push({ id: 2 ** 30, name: 'osd.big' }); }, /device id 1073741824 is invalid/],
  ['bucket id beyond the bound', (d) => { d.buckets.push({ id: -(2 ** 30), name: 'far', type: 1, alg: 'straw2', hash: 0, items: [] }); }, /bucket id -1073741824 is invalid/],
];

for (const [name, mutate, message] of bad) {
  t.test(`rejects: ${name}`, async (t) => {
    const d = doc() as CrushMapJson & Record<string, unknown>;
    mutate(d);
    let err: unknown;
    try {
      crushMapFromJson(d);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof CrushError && !(err instanceof CrushParseError), `CrushError without a position (got ${String(err)})`);
    t.match((err as Error).message, message);
    t.equal((err as CrushError).code, 'EINVAL');
  });
}

t.test('a document without shadow buckets gets them built, declared ids kept', async (t) => {
  const d = doc();
  d.buckets = d.buckets.filter((b) => !b.shadowOf);
  const map = crushMapFromJson(d);
  t.strictSame(crushMapToJson(map), crushMapToJson(classes));
  const noIds = doc();
  noIds.buckets = noIds.buckets.filter((b) => !b.shadowOf).map(({ classIds: _c, ...b }) => b);
  noIds.rules = noIds.rules.map((r) => ({ ...r, steps: r.steps.map((s) => (s.op === 'take' ? { op: 'take' as const, item: -1 } : s)) }));
  const built = crushMapFromJson(noIds);
  t.strictSame([...built.buckets.get(-1)!.classIds], [['hdd', -12], ['ssd', -18]], 'ids allocated as crushtool would');
});

const seed = seedFromEnv();
t.comment(`fuzz seed ${seed} (reproduce with NACRE_SEED=${seed})`);

t.test('mangled documents: only CrushError, and whatever loads maps without crashing', async (t) => {
  const base = [crushMapToJson(classes), crushMapToJson(chooseArgs)].map((d) => JSON.stringify(d));
  const values = [0, -1, 1, 2, -2, 65536, -99, 255, 256, 2 ** 31, 1.5, '', 'x', null, true, [], {}, 'hdd', 'straw', -12];
  let loaded = 0;
  fc.assert(fc.property(fc.constantFrom(...base), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...values), fc.boolean()), { minLength: 1, maxLength: 3 }), (text, edits) => {
    const d = JSON.parse(text) as unknown;
    for (const [at, value, remove] of edits) mutateAt(d, at, value, remove);
    let map;
    try {
      map = crushMapFromJson(d);
    } catch (e) {
      if (!(e instanceof CrushError)) throw e;
      return;
    }
    loaded++;
    const compiled = compileMap(map);
    const weights = new Array<number>(maxDevices(map)).fill(0x10000);
    for (const rule of map.rules.keys()) for (let x = 0; x < 20; x++) doRule(compiled, rule, x, 3, weights);
  }), { seed, numRuns: 3000 });
  t.pass(`3000 runs, ${loaded} mangled documents still valid and mapped`);
});

/** Replaces (or deletes) the `at`-th value node of a JSON tree, counting depth first. */
function mutateAt(root: unknown, at: number, value: unknown, remove: boolean): void {
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach((v, i) => { slots.push([node, i]); walk(v); });
    else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) { slots.push([node as Record<string, unknown>, k]); walk(v); }
  };
  walk(root);
  if (slots.length === 0) return;
  const [parent, key] = slots[at % slots.length]!;
  if (remove && Array.isArray(parent)) parent.splice(key as number, 1);
  else if (remove) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string | number, unknown>)[key] = structuredClone(value);
}
