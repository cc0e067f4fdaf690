/** `nacre osdmap test` against every osdmaptool vector case. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { listFiles, readJson } from '../../crush/test/vectors.js';
import { nacre, nacreProcess } from './helpers.js';

interface Case {
  map_text: string;
  osds: { osd: number; in: number }[];
  pools: { pool_id: number; size: number; pg_num: number; pgp_num: number; crush_rule: number; hashpspool: boolean }[];
  objects: { name_hex: string; raw_hash: number; pgid: string | null; pgid_derived?: string; up: number[] | null; up_derived?: number[]; up_primary: number | null; acting: number[] | null }[];
  pgs: { pgid: string; pps: number; raw: number[]; up: number[]; up_primary: number; acting: number[] }[];
}

const dir = mkdtempSync(join(tmpdir(), 'nacre-osdmap-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function argsFor(c: Case, mapPath: string): string[] {
  const p = c.pools[0]!;
  const args = ['osdmap', 'test', '--crush', mapPath, '--pool-id', String(p.pool_id), '--pg-num', String(p.pg_num),
    '--pgp-num', String(p.pgp_num), '--size', String(p.size), '--rule', String(p.crush_rule), '--all-pgs', '--format', 'json'];
  if (!p.hashpspool) args.push('--no-hashpspool');
  for (const o of c.osds) if (o.in === 0) args.push('--out', String(o.osd));
  for (const o of c.objects) args.push('--object-hex', o.name_hex);
  return args;
}

for (const file of listFiles('osdmap', '.json').filter((f) => !f.endsWith('.osdmap.json'))) {
  t.test(file, async (t) => {
    const c = readJson<Case>(`osdmap/${file}`);
    const mapPath = join(dir, file.replace('.json', '.txt'));
    writeFileSync(mapPath, c.map_text);
    const r = await nacre(argsFor(c, mapPath));
    t.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { objects: Record<string, unknown>[]; pgs: Record<string, unknown>[] };
    t.same(got.pgs, c.pgs.map((pg) => ({ pgid: pg.pgid, pps: pg.pps, raw: pg.raw, up: pg.up, up_primary: pg.up_primary, acting: pg.acting })), `${c.pgs.length} PGs`);
    t.same(got.objects, c.objects.map((o) => ({
      name_hex: o.name_hex, raw_hash: o.raw_hash, pgid: o.pgid ?? o.pgid_derived, up: o.up ?? o.up_derived,
      up_primary: o.up_primary ?? (o.up_derived ?? [])[0], acting: o.acting ?? o.up_derived,
    })), `${c.objects.length} objects`);
  });
}

t.test('human output and a real process', async (t) => {
  const c = readJson<Case>('osdmap/pg64-size3.json');
  const mapPath = join(dir, 'pg64.txt');
  writeFileSync(mapPath, c.map_text);
  const r = nacreProcess(['osdmap', 'test', '--crush', mapPath, '--pool-id', '1', '--pg-num', '64', '--size', '3', '--rule', '0',
    '--object', 'rbd_data.1234abcd.0000000000000000']);
  t.equal(r.code, 0, r.stderr);
  const o = c.objects[0]!;
  t.equal(r.stdout, ` object 'rbd_data.1234abcd.0000000000000000' -> ${o.pgid} -> [${o.acting!.join(',')}]\n`);
});

t.test('bad input gets one line and exit 2', async (t) => {
  const c = readJson<Case>('osdmap/pg64-size3.json');
  const mapPath = join(dir, 'pg64b.txt');
  writeFileSync(mapPath, c.map_text);
  const base = ['osdmap', 'test', '--crush', mapPath, '--pool-id', '1', '--pg-num', '64', '--size', '3'];
  for (const [extra, re] of [
    [['--rule', '7', '--all-pgs'], /rule 7 does not exist/],
    [['--rule', '0', '--all-pgs', '--pgp-num', '65'], /between 1 and 64/],
    [['--rule', '0', '--object-hex', 'abc'], /even-length hex/],
    [['--rule', '0', '--out', '99', '--all-pgs'], /osd\.99 is not in the crush map/],
    [['--rule', '0'], /nothing to do/],
  ] as [string[], RegExp][]) {
    const r = await nacre([...base, ...extra]);
    t.equal(r.code, 2, extra.join(' '));
    t.match(r.stderr, re);
    t.equal(r.stderr.trim().split('\n').length, 1);
  }
});
