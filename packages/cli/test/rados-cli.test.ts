/**
 * `nacre rados …` and `nacre osd map` against an in-process fake cluster over ws on 127.0.0.1:
 * in-process runs for most cases, real child processes (async spawn: the fake cluster lives in
 * this process) for stdin/stdout piping, $NACRE_CONF and ./nacre.conf resolution.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FakeCluster } from '@nacre/client/testing';
import { Keyring } from '@nacre/msgr';
import { formatPgId, objectToUpActing } from '@nacre/osdmap';
import { Prng, seedFromEnv } from '@nacre/util';
import { nacre, nacreBin, type CliResult } from './helpers.js';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

const dir = mkdtempSync(join(tmpdir(), 'nacre-rados-cli-'));
let fc: FakeCluster;
let conf: string;

t.before(async () => {
  fc = await FakeCluster.start({ hosts: 3, osdsPerHost: 1, pools: [{ name: 'rbd', pgNum: 8 }, { name: 'other', pgNum: 4 }], mons: 2 });
  conf = fc.writeConf(dir);
});
t.teardown(async () => {
  await fc.stop();
  rmSync(dir, { recursive: true, force: true });
});

const rados = (...args: string[]): Promise<CliResult> => nacre(['rados', '--conf', conf, ...args]);

/** The CLI as a child process, without blocking this process's event loop. */
function child(args: string[], opts: { input?: Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, nacreBin, ...args], { cwd: opts.cwd ?? dir, env: { ...process.env, ...opts.env } });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    p.stdin.end(opts.input ?? Buffer.alloc(0));
  });
}

t.test('put / get of random objects is byte-identical; ls lists exactly them; stat; rm', async (t) => {
  const rng = new Prng(seed);
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    const name = `file-${i}`;
    const data = Buffer.from(rng.fill(new Uint8Array(rng.int(0, 300_000))));
    const src = join(dir, `${name}.in`);
    writeFileSync(src, data);
    const put = await rados('-p', 'rbd', 'put', name, src);
    t.same([put.code, put.stderr], [0, ''], `put ${name}`);
    const dst = join(dir, `${name}.out`);
    const get = await rados('-p', 'rbd', 'get', name, dst);
    t.equal(get.code, 0);
    t.ok(readFileSync(dst).equals(data), `${name}: ${data.length} bytes identical`);
    names.push(name);
  }
  const ls = await rados('-p', 'rbd', 'ls');
  t.equal(ls.code, 0);
  t.same(ls.stdout.trim().split('\n').sort(), names.sort());
  const lsJson = await rados('-p', 'rbd', 'ls', '--format', 'json');
  t.same((JSON.parse(lsJson.stdout) as { name: string }[]).map((o) => o.name).sort(), names.sort());
  const emptyLs = await rados('-p', 'other', 'ls');
  t.same([emptyLs.code, emptyLs.stdout], [0, ''], 'other pool is empty');
  const size = readFileSync(join(dir, 'file-3.in')).length;
  const st = await rados('-p', 'rbd', 'stat', 'file-3');
  t.match(st.stdout, new RegExp(`^rbd/file-3 mtime \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, size ${size}\\n$`));
  const stJson = JSON.parse((await rados('-p', 'rbd', 'stat', 'file-3', '--format', 'json')).stdout) as { size: number };
  t.equal(stJson.size, size);
  t.equal((await rados('-p', 'rbd', 'rm', 'file-0', 'file-1')).code, 0);
  const after = await rados('-p', 'rbd', 'ls');
  t.same(after.stdout.trim().split('\n').sort(), names.filter((n) => n !== 'file-0' && n !== 'file-1').sort());
});

t.test('errors: one line, exit 1 for failed operations, 2 for bad input', async (t) => {
  const oneLine = (r: CliResult): boolean => r.stderr.split('\n').filter((l) => l !== '').length === 1;
  const missing = await rados('-p', 'rbd', 'get', 'nope', join(dir, 'x'));
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^nacre: read 'nope' in pool rbd: .*does not exist\n$/);
  const pool = await rados('-p', 'nosuchpool', 'ls');
  t.same([pool.code, pool.stderr], [1, "nacre: pool 'nosuchpool' does not exist\n"]);
  const long = await rados('-p', 'rbd', 'put', 'n'.repeat(2049), join(dir, 'file-3.in'));
  t.equal(long.code, 2);
  t.match(long.stderr, /^nacre: object name of 2049 bytes is longer than 2048 bytes\n$/);
  const usage = await rados('-p', 'rbd', 'put', 'onlyname');
  t.equal(usage.code, 2);
  const noPool = await rados('ls');
  t.same([noPool.code, noPool.stderr], [2, 'nacre: rados ls: missing -p POOL\n']);
  const badBench = await rados('-p', 'rbd', 'bench', '1', 'sideways');
  t.equal(badBench.code, 2);
  const noFile = await rados('-p', 'rbd', 'put', 'x', join(dir, 'does-not-exist'));
  t.equal(noFile.code, 1);
  t.match(noFile.stderr, /^nacre: cannot read .*does-not-exist: no such file\n$/);
  // A keyring whose key for client.admin is wrong.
  const bad = new Keyring();
  bad.set('client.admin', Buffer.alloc(32, 9));
  const badRing = join(dir, 'bad.keyring');
  bad.writeFile(badRing);
  const wrongKey = await rados('-p', 'rbd', 'ls', '--keyring', badRing);
  t.equal(wrongKey.code, 1);
  t.match(wrongKey.stderr, /^nacre: client\.admin: authentication refused by monitor 127\.0\.0\.1:\d+: .*bad key\n$/);
  const noConf = await nacre(['rados', '--conf', join(dir, 'missing.conf'), '-p', 'rbd', 'ls']);
  t.equal(noConf.code, 1);
  t.match(noConf.stderr, /^nacre: cluster config .*missing\.conf given with --conf does not exist\n$/);
  for (const r of [missing, pool, long, usage, noPool, noFile, wrongKey, noConf]) t.ok(oneLine(r), `one line: ${r.stderr.trim()}`);
  t.same((await rados('-p', 'rbd', 'ls')).code, 0, 'the cluster is still fine');
});

t.test('osd map: like ceph osd map, plain and json, from the current map', async (t) => {
  const r = await nacre(['osd', 'map', 'rbd', 'foo', '--conf', conf]);
  t.equal(r.code, 0);
  const m = objectToUpActing(fc.map, 1, 'foo');
  const set = (a: number[]): string => `[${a.join(',')}]`;
  t.match(r.stdout, new RegExp(`^osdmap e${fc.map.epoch} pool 'rbd' \\(1\\) object 'foo' -> pg 1\\.[0-9a-f]+ \\(${formatPgId(m.pgid).replace('.', '\\.')}\\) -> up \\(\\${set(m.up)}, p${m.upPrimary}\\) acting \\(\\${set(m.acting)}, p${m.actingPrimary}\\)\\n$`));
  const j = JSON.parse((await nacre(['osd', 'map', 'rbd', 'foo', '--conf', conf, '--format', 'json'])).stdout) as Record<string, unknown>;
  t.same([j['pgid'], j['up'], j['acting'], j['acting_primary'], j['pool_id']], [formatPgId(m.pgid), m.up, m.acting, m.actingPrimary, 1]);
  const none = await nacre(['osd', 'map', 'nope', 'foo', '--conf', conf]);
  t.same([none.code, none.stderr], [1, "nacre: pool 'nope' does not exist\n"]);
  t.equal((await nacre(['osd', 'map', 'rbd', '--conf', conf])).code, 2);
});

t.test('bench write --no-cleanup, then seq and rand read those objects; json summary; cleanup', async (t) => {
  const w = await rados('-p', 'other', 'bench', '1', 'write', '-b', '4K', '-t', '4', '--no-cleanup');
  t.equal(w.code, 0, w.stderr);
  t.match(w.stdout, /sec Cur ops +started +finished +avg MB\/s +cur MB\/s +last lat\(s\) +avg lat\(s\)/);
  t.match(w.stdout, /\n {4}1 +\d+ +\d+ +\d+ +[\d.]+ +\d+ +[\d.]+ +[\d.]+\n/, 'a progress line for second 1');
  for (const k of ['Bandwidth \\(MB/sec\\)', 'Average IOPS', 'Average Latency\\(s\\)', 'Max latency\\(s\\)', 'Min latency\\(s\\)']) t.match(w.stdout, new RegExp(`${k}: +[\\d.]+`));
  const written = Number(/Total writes made: +(\d+)/.exec(w.stdout)![1]);
  t.ok(written > 0, `${written} objects written`);
  const seq = await rados('-p', 'other', 'bench', '1', 'seq', '-t', '4', '--format', 'json');
  t.equal(seq.code, 0, seq.stderr);
  const s = JSON.parse(seq.stdout) as Record<string, number>;
  t.equal(s['read_size'], 4096);
  t.ok(s['total_reads_made']! > 0 && s['total_reads_made']! <= written, 'seq reads at most what was written');
  for (const k of ['bandwidth', 'average_iops', 'average_latency', 'max_latency', 'min_latency']) t.type(s[k], 'number', k);
  t.match(seq.stderr, /sec Cur ops/, 'progress on stderr with --format json');
  const rand = await rados('-p', 'other', 'bench', '1', 'rand', '-t', '2');
  t.equal(rand.code, 0, rand.stderr);
  t.match(rand.stdout, /Total reads made: +\d+/);
  const clean = await rados('-p', 'other', 'cleanup');
  t.equal(clean.code, 0, clean.stderr);
  t.equal((await rados('-p', 'other', 'ls')).stdout, '', 'cleanup removed everything');
  const again = await rados('-p', 'other', 'bench', '1', 'seq');
  t.equal(again.code, 1);
  t.match(again.stderr, /^nacre: no benchmark objects in pool other: run 'bench SECONDS write --no-cleanup' first/);
  const full = await rados('-p', 'other', 'bench', '1', 'write', '-b', '1K', '-t', '2');
  t.equal(full.code, 0);
  t.match(full.stdout, /Clean up completed/);
  t.equal((await rados('-p', 'other', 'ls')).stdout, '', 'default cleanup leaves nothing');
});

t.test('child process: stdin/stdout piping, $NACRE_CONF, ./nacre.conf', async (t) => {
  const data = Buffer.from(new Prng(seed + 1).fill(new Uint8Array(200_000)));
  const put = await child(['rados', '-p', 'rbd', 'put', 'piped', '-', '--conf', conf], { input: data });
  t.same([put.code, put.stderr], [0, '']);
  const viaEnv = await child(['rados', '-p', 'rbd', 'get', 'piped', '-'], { cwd: tmpdir(), env: { NACRE_CONF: conf } });
  t.equal(viaEnv.code, 0, viaEnv.stderr);
  t.ok(viaEnv.stdout.equals(data), 'stdout is byte-identical ($NACRE_CONF)');
  const viaCwd = await child(['rados', '-p', 'rbd', 'stat', 'piped'], { cwd: dir, env: { NACRE_CONF: '' } });
  t.equal(viaCwd.code, 0, viaCwd.stderr);
  t.match(viaCwd.stdout.toString(), /^rbd\/piped mtime .*, size 200000\n$/, './nacre.conf used');
  const none = await child(['rados', '-p', 'rbd', 'ls'], { cwd: tmpdir(), env: { NACRE_CONF: '' } });
  t.equal(none.code, 1);
  t.match(none.stderr, /^nacre: cluster config .*nacre\.conf \(no --conf, \$NACRE_CONF unset\) does not exist\n$/);
});
