/**
 * The what-if edit helpers on a Ceph map with device classes: results checked against what
 * crushtool 16.2.15 produced for the same edits (--add-item, --add-bucket, --reweight-item on
 * maps/classes.bin), purity, shadow trees, and the errors for impossible edits.
 */
import t from 'tap';
import {
  CrushError, addBucket, addDevice, crushMapToJson, parseCrushText, printCrushText, rebuildShadowTrees, removeItem,
  setItemWeight, weightFromFloat, type CrushMap,
} from '@nacre/crush';
import { readText } from './vectors.js';

const base = parseCrushText(readText('maps/classes.txt'));
const json = (m: CrushMap): string => JSON.stringify(crushMapToJson(m));
const bucketRows = (m: CrushMap, ...names: string[]): [number, string, number[][]][] =>
  [...m.buckets.values()].filter((b) => names.includes(b.name)).sort((a, b) => b.id - a.id)
    .map((b) => [b.id, b.name, b.items.map((id, i) => [id, b.itemWeights[i]!])]);

t.test('edits are pure', async (t) => {
  const before = json(base);
  addDevice(base, { weight: 0x10000, parent: 'node3', deviceClass: 'ssd' });
  setItemWeight(base, 'osd.3', 0x8000);
  removeItem(base, 'osd.12');
  addBucket(base, { name: 'node6', type: 'host', parent: 'default' });
  t.equal(json(base), before);
});

t.test('crushtool --reweight-item osd.3 0.5: weights up to the root, shadows in place', async (t) => {
  const m = setItemWeight(base, 'osd.3', weightFromFloat(0.5));
  // crushtool -i classes.bin --reweight-item osd.3 0.5, then --dump
  t.strictSame(bucketRows(m, 'default', 'node2', 'node2~hdd', 'default~hdd', 'node2~ssd', 'default~ssd'), [
    [-1, 'default', [[-2, 163840], [-3, 81920], [-4, 131072], [-5, 131072], [-6, 327680]]],
    [-3, 'node2', [[3, 32768], [4, 32768], [5, 16384]]],
    [-8, 'node2~hdd', [[3, 32768]]],
    [-12, 'default~hdd', [[-7, 131072], [-8, 32768], [-9, 131072], [-10, 98304], [-11, 262144]]],
    [-14, 'node2~ssd', [[4, 32768], [5, 16384]]],
    [-18, 'default~ssd', [[-13, 32768], [-14, 49152], [-15, 0], [-16, 32768], [-17, 65536]]],
  ]);
});

t.test('crushtool --add-bucket node6 host --loc root default: first free id, fresh shadow ids', async (t) => {
  const m = addBucket(base, { name: 'node6', type: 'host', parent: 'default' });
  t.strictSame(bucketRows(m, 'node6', 'node6~hdd', 'node6~ssd', 'default~hdd'), [
    [-12, 'default~hdd', [[-7, 131072], [-8, 131072], [-9, 131072], [-10, 98304], [-11, 262144], [-20, 0]]],
    [-19, 'node6', []],
    [-20, 'node6~hdd', []],
    [-21, 'node6~ssd', []],
  ]);
  t.equal(m.buckets.get(-19)!.alg, 'straw2', "Ceph's default algorithm for the map's allowed_bucket_algs");
});

t.test('crushtool --add-item 13 1.5 osd.13 --loc host node3: appended, totals updated', async (t) => {
  const m = addDevice(base, { id: 13, weight: weightFromFloat(1.5), parent: 'node3' });
  t.ok(printCrushText(m).includes('\titem osd.6 weight 1.000\n\titem osd.7 weight 1.000\n\titem osd.13 weight 1.500\n}'));
  t.ok(printCrushText(m).includes('\t# weight 15.750\n'), 'root weight');
  t.equal(m.devices.get(13)!.deviceClass, undefined, 'no class: not in any shadow bucket');
});

t.test('a device of a new class gets shadow trees; removing it drops the class again', async (t) => {
  const m = addDevice(base, { weight: 0x20000, parent: 'node1', deviceClass: 'nvme' });
  t.equal(m.devices.get(13)!.name, 'osd.13', 'lowest free id, default name');
  const root = m.buckets.get(-1)!;
  t.strictSame([...root.classIds.keys()], ['hdd', 'ssd', 'nvme'], 'new class last, old ids kept');
  t.strictSame([...root.classIds.values()].slice(0, 2), [-12, -18]);
  const nvmeRoot = m.buckets.get(root.classIds.get('nvme')!)!;
  t.equal(nvmeRoot.name, 'default~nvme');
  t.strictSame(nvmeRoot.itemWeights, [0x20000, 0, 0, 0, 0]);
  t.equal(json(removeItem(m, 'osd.13')), json(base));
  t.equal(json(rebuildShadowTrees(m)), json(m));
});

t.test('removing a device unlinks it everywhere and forgets it', async (t) => {
  const m = removeItem(base, 'osd.12');
  t.notOk(m.devices.has(12));
  t.strictSame(bucketRows(m, 'node5', 'node5~hdd'), [[-6, 'node5', [[11, 65536]]], [-11, 'node5~hdd', []]]);
  t.equal(parseCrushText(printCrushText(m)).buckets.get(-1)!.itemWeights[4], 65536);
});

t.test('tree buckets keep a hole where an item was removed, as Ceph does', async (t) => {
  const tree = parseCrushText(readText('maps/legacy-algs.txt'));
  const m = removeItem(tree, 'osd.10');
  t.strictSame(m.buckets.get(-6)!.items, [9, 0, 11], 'osd.10 → hole (item 0, weight 0); trailing weight-0 osd.12 cut off');
  t.strictSame(m.buckets.get(-6)!.itemWeights, [65536, 0, 178978]);
});

t.test('impossible edits are CrushErrors and change nothing', async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    ['unknown parent', () => addDevice(base, { weight: 1, parent: 'nodeX' }), /unknown bucket 'nodeX'/],
    ['shadow parent', () => addDevice(base, { weight: 1, parent: 'node1~ssd' }), /unknown bucket 'node1~ssd'/],
    ['existing device id', () => addDevice(base, { id: 3, weight: 1, parent: 'node1' }), /device 3 \('osd\.3'\) already exists/],
    ['existing name', () => addDevice(base, { name: 'node2', weight: 1, parent: 'node1' }), /name 'node2' is already used/],
    ['device weight above 100', () => addDevice(base, { weight: 101 * 0x10000, parent: 'node1' }), /above the limit of 100/],
    ['bad weight', () => setItemWeight(base, 'osd.1', -5), /invalid weight -5/],
    ['reweight a bucket', () => setItemWeight(base, 'node1', 0x10000), /'node1' is a bucket/],
    ['reweight unknown', () => setItemWeight(base, 'osd.99', 0x10000), /unknown item 'osd\.99'/],
    ['unknown bucket type', () => addBucket(base, { name: 'x', type: 'row' }), /unknown type 'row'/],
    ['bucket id taken', () => addBucket(base, { id: -7, name: 'x', type: 'host' }), /bucket id -7 is already used by 'node1~hdd'/],
    ['remove a non-empty bucket', () => removeItem(base, 'node1'), /bucket 'node1' is not empty/],
    ['remove a shadow bucket', () => removeItem(base, 'node1~ssd'), /is a shadow bucket/],
  ];
  for (const [name, edit, message] of cases) {
    let err: unknown;
    try {
      edit();
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof CrushError && message.test(err.message), `${name}: ${String(err)}`);
  }
  const empty = addBucket(base, { name: 'spare', type: 'root' });
  const withRule = parseCrushText(printCrushText(empty).replace('step take default class ssd\n\tstep chooseleaf firstn 0', 'step take spare class ssd\n\tstep chooseleaf firstn 0'));
  t.throws(() => removeItem(withRule, 'spare'), /bucket 'spare' is used by rule 'ssd_host'/, 'a rule taking a shadow of the bucket');
  t.equal(json(removeItem(empty, 'spare')), json(base), 'an unused empty bucket can go');
});
