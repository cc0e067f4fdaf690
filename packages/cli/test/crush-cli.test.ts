/** `nacre crush test|compile|decompile` against crushtool's own output (the vectors). */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { listFiles, readJson, readText } from '../../crush/test/vectors.js';
import { nacre, nacreProcess } from './helpers.js';

interface CrushVector {
  map: string; rule: number; num_rep: number; pool_id: number | null; weights: Record<string, number> | null;
  x_range: [number, number]; mappings: { x: number; osds: number[] }[];
}

const dir = mkdtempSync(join(tmpdir(), 'nacre-crush-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function argsFor(v: CrushVector, mapPath: string): string[] {
  const args = ['crush', 'test', '-i', mapPath, '--rule', String(v.rule), '--num-rep', String(v.num_rep),
    '--min-x', String(v.x_range[0]), '--max-x', String(v.x_range[1])];
  for (const [osd, w] of Object.entries(v.weights ?? {})) args.push('--weight', osd, String(w));
  if (v.pool_id !== null) args.push('--pool-id', String(v.pool_id));
  return args;
}

function expected(v: CrushVector): string {
  return v.mappings.map((m) => `CRUSH rule ${v.rule} x ${m.x} [${m.osds.join(',')}]\n`).join('');
}

t.test('every crushtool --test vector, through `nacre crush test`', async (t) => {
  const files = listFiles('crush', '.json');
  const bad: string[] = [];
  for (const file of files) {
    const v = readJson<CrushVector>(`crush/${file}`);
    const mapPath = join(dir, `${v.map}.txt`);
    writeFileSync(mapPath, readText(`maps/${v.map}.txt`));
    const r = await nacre(argsFor(v, mapPath));
    if (r.code !== 0 || r.stdout !== expected(v)) bad.push(`${file}: exit ${r.code} ${r.stderr.trim()}`);
  }
  t.same(bad, [], `${files.length} files byte-identical to crushtool`);
});

t.test('the real bin/nacre process prints the same lines', async (t) => {
  for (const file of ['straw2-3host__r0__n3__pool1.json', 'classes__r1__n4__w-osd3-0.5-osd12-out.json', 'legacy-algs__r2__n3.json']) {
    const v = readJson<CrushVector>(`crush/${file}`);
    const mapPath = join(dir, `${v.map}.txt`);
    writeFileSync(mapPath, readText(`maps/${v.map}.txt`));
    const r = nacreProcess(argsFor(v, mapPath));
    t.equal(r.code, 0, `${file}: exit 0`);
    t.equal(r.stdout, expected(v), `${file}: output identical`);
  }
});

t.test('without --num-rep, every size from the rule min_size to max_size is tested (as crushtool)', async (t) => {
  const mapPath = join(dir, 'straw2-3host.txt');
  writeFileSync(mapPath, readText('maps/straw2-3host.txt'));
  const r = await nacre(['crush', 'test', '-i', mapPath, '--rule', '0', '--min-x', '0', '--max-x', '1']);
  t.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 20, 'sizes 1..10 × 2 inputs');
  t.equal(lines[0], 'CRUSH rule 0 x 0 [7]');
  t.equal(lines[5], 'CRUSH rule 0 x 1 [0,3,7]');
});

t.test('compile → JSON → decompile reproduces the canonical text', async (t) => {
  for (const name of ['classes', 'choose-args', 'legacy-algs', 'tunables-argonaut']) {
    const txt = join(dir, `${name}.txt`);
    const json = join(dir, `${name}.json`);
    const back = join(dir, `${name}.back.txt`);
    writeFileSync(txt, readText(`maps/${name}.txt`));
    t.equal((await nacre(['crush', 'compile', '-i', txt, '-o', json])).code, 0, `${name}: compile`);
    t.match(JSON.parse(readFileSync(json, 'utf8')), { format: 'nacre-crush-map/v1' });
    t.equal((await nacre(['crush', 'decompile', '-i', json, '-o', back])).code, 0, `${name}: decompile`);
    t.equal(readFileSync(back, 'utf8'), readText(`maps/${name}.txt`), `${name}: byte-identical`);
  }
});

t.test('bad input: one clear line, exit code 2', async (t) => {
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, readText('maps/straw2-3host.txt').replace('item host1 weight', 'item hostx weight'));
  const cases: [string[], RegExp][] = [
    [['crush', 'test', '-i', bad, '--rule', '0', '--num-rep', '3'], /line \d+, column \d+: .*hostx/],
    [['crush', 'test', '-i', join(dir, 'straw2-3host.txt'), '--rule', '99', '--num-rep', '3'], /rule 99 does not exist/],
    [['crush', 'test', '-i', join(dir, 'straw2-3host.txt'), '--rule', '0', '--weight', '3', 'heavy'], /bad weight 'heavy'/],
    [['crush', 'test', '-i', join(dir, 'straw2-3host.txt'), '--rule', '0', '--weight', '300', '1'], /device 300 is not in the map/],
    [['crush', 'test', '-i', join(dir, 'missing.txt')], /cannot read .*missing\.txt/],
    [['crush', 'frobnicate'], /unknown crush subcommand 'frobnicate'/],
    [['crush', 'test', '-i', join(dir, 'straw2-3host.txt'), '--bogus'], /unknown option --bogus/],
  ];
  for (const [args, re] of cases) {
    const r = await nacre(args);
    t.equal(r.code, args.includes(join(dir, 'missing.txt')) ? 1 : 2, `${args.join(' ')}: exit code`);
    t.match(r.stderr, re, `${args.join(' ')}: message`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(r.stdout, '', 'nothing on stdout');
  }
});
