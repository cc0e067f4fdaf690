/** `nacre crush what-if`: movement accounting and errors. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readText } from '../../crush/test/vectors.js';
import { nacre, nacreProcess } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-whatif-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const map = join(dir, 'uneven.txt');
writeFileSync(map, readText('maps/straw2-uneven.txt'));
const classes = join(dir, 'classes.txt');
writeFileSync(classes, readText('maps/classes.txt'));

interface Report { moved: number; minimum: number; ratio: number | null; placements: number; per_osd: { osd: number; before: number; after: number }[]; moves: { from: number; to: number; count: number }[] }

async function report(args: string[]): Promise<Report> {
  const r = await nacre(['crush', 'what-if', '-i', map, ...args, '--format', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Report;
}

t.test('marking an OSD out moves exactly the replicas it held (firstn and indep)', async (t) => {
  for (const [rule, n] of [[0, 3], [1, 4]]) {
    const r = await report(['--rule', String(rule), '--num-rep', String(n), '--out', '5']);
    const held = r.per_osd.find((o) => o.osd === 5)!;
    t.equal(held.after, 0, 'nothing left on osd.5');
    t.equal(r.minimum, held.before, 'minimum = what osd.5 held');
    t.equal(r.moved, r.minimum, `rule ${rule}: moved = minimum`);
    t.ok(r.moves.every((m) => m.from === 5), 'every move leaves osd.5');
  }
});

t.test('adding an OSD: it receives data, nothing moves less than the minimum, totals add up', async (t) => {
  const r = await report(['--rule', '0', '--num-rep', '3', '--add-osd', '16', 'hostB', '1.0', '--top', '1000']);
  const added = r.per_osd.find((o) => o.osd === 16)!;
  t.equal(added.before, 0);
  t.ok(added.after > 0, `osd.16 gets ${added.after} replicas`);
  t.ok(r.moved >= r.minimum, 'moved ≥ minimum');
  t.equal(r.per_osd.reduce((s, o) => s + o.before, 0), r.placements);
  t.equal(r.per_osd.reduce((s, o) => s + o.after, 0), r.placements, 'no replica lost or duplicated');
  t.equal(r.moves.filter((m) => m.to === 16).reduce((s, m) => s + m.count, 0), added.after, 'every replica on osd.16 arrived by a move');
});

t.test('PG mode and changes in order (new host, then OSDs in it with a class)', async (t) => {
  const r = await nacre(['crush', 'what-if', '-i', classes, '--rule', '2', '--pool-id', '1', '--pg-num', '128',
    '--add-bucket', 'node6', 'host', 'default', '--add-osd', '13', 'node6', '2.0', '--class', 'ssd', '--format', 'json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Report & { inputs: number; input_kind: string; changes: string[] };
  t.equal(j.inputs, 128);
  t.equal(j.input_kind, 'pg');
  t.same(j.changes, ['add host node6 under default', 'add osd.13 (weight 2.000, class ssd) to node6']);
  t.ok(j.per_osd.find((o) => o.osd === 13)!.after > 0);
});

t.test('human output through the real binary', async (t) => {
  const r = nacreProcess(['crush', 'what-if', '-i', map, '--out', 'osd.5', '--top', '2']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^change:   out osd\.5\n/);
  t.match(r.stdout, /ratio:    1\.000 x minimum/);
  t.match(r.stdout, /moves \(from -> to\), top 2 of \d+:/);
});

t.test('bad changes: one clear line, exit 2, nothing printed', async (t) => {
  for (const [args, re] of [
    [['--add-osd', '16', 'hostZ', '1.0'], /unknown bucket 'hostZ'/],
    [['--add-osd', '3', 'hostB', '1.0'], /3/],
    [['--reweight', 'osd.3', '-1'], /bad weight '-1' \(negative\)/],
    [['--class', 'ssd'], /--class must follow an --add-osd/],
    [['--out', '99'], /osd\.99 is not in the map/],
    [[], /needs at least one change/],
    [['--remove', 'default'], /default/],
    [['--add-osd', '16', 'hostB'], /needs 3 values/],
  ] as [string[], RegExp][]) {
    const r = await nacre(['crush', 'what-if', '-i', map, ...args]);
    t.equal(r.code, 2, `${args.join(' ')} → exit 2`);
    t.match(r.stderr, re);
    t.equal(r.stderr.trim().split('\n').length, 1);
    t.equal(r.stdout, '');
  }
});
