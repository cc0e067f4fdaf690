/**
 * The client acceptance items of issue 5 on a real multi-process cluster on 127.0.0.1: one
 * monitor and four OSDs (four hosts, pool rbd size 3 / min_size 2) started with
 * `nacre cluster up`, then
 * - random objects of 0..4 MiB written and read back through the client library and through the
 *   CLI (`nacre rados put/get` as child processes), byte-identical; `ls` lists exactly them;
 * - each object is stored on exactly the OSDs `nacre osd map` names, with identical bytes (asked
 *   of every OSD through its `osd.admin object_info`);
 * - overwrite/append/truncate/xattr/omap semantics and guarded-op conflicts through the client;
 * - bad input: unknown pool, too-long name, negative and oversized offsets, a wrong key — each a
 *   clear error, nothing changed, every daemon still running.
 * Counts: NACRE_CLIENT_OBJECTS (default 200) and NACRE_CLI_OBJECTS (default 200, as the issue asks;
 * acceptance run, ~3 minutes on 2 cores).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createHash } from 'node:crypto';
import { ObjectOperation, connect, type Cluster, type IoCtx } from '@nacre/client';
import { ClusterConf, Keyring, createMessenger, transportFromConf } from '@nacre/msgr';
import { OsdAdmin } from '@nacre/osd/messages';
import { Prng, outcomeCode, realEnv, seedFromEnv, silentLogger } from '@nacre/util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nacreBin = join(root, 'bin', 'nacre');
const mains = ['mon', 'osd'].map((k) => join(root, 'packages', k, 'dist', 'main.js'));
// `npm test` builds first; a missing entry point is a broken build, never a reason to pass.
if (!mains.every((m) => existsSync(m))) {
  throw new Error(`daemons not built (${mains.filter((m) => !existsSync(m)).join(', ')} missing): run npm run build`);
}

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);
const clientObjects = Number(process.env['NACRE_CLIENT_OBJECTS'] ?? 200);
const cliObjects = Number(process.env['NACRE_CLI_OBJECTS'] ?? 200);
const objectBytesMax = 4 * 1024 * 1024;

interface Run { code: number; stdout: Buffer; stderr: string }

/** The CLI as a child process (compiled JS, without the test runner's loader hooks). */
function nacre(args: string[], input?: Buffer): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, nacreBin, ...args], { cwd: dir });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolvePromise({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    p.stdin.end(input ?? Buffer.alloc(0));
  });
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const dir = mkdtempSync(join(tmpdir(), 'nacre-rados-cluster-'));
const runDir = join(dir, 'run');
const conf = join(runDir, 'nacre.conf');
// Ports away from the example cluster's, varied per run so parallel runs rarely collide.
const portBase = 20_000 + (seed % 2000) * 10;
writeFileSync(join(dir, 'cluster.yaml'), `cluster: client-test
mons:
  - { name: a, port: ${portBase} }
osd_port_base: ${portBase + 2}
osd_block_size: 2GiB
osds:
  - { id: 0, host: h0 }
  - { id: 1, host: h1 }
  - { id: 2, host: h2 }
  - { id: 3, host: h3 }
pools:
  - { name: rbd, type: replicated, size: 3, min_size: 2, pg_num: 16, failure_domain: host }
`);

let cluster: Cluster | null = null;
let io: IoCtx;
t.teardown(async () => {
  await cluster?.close();
  const down = await nacre(['cluster', 'down', '--dir', runDir]);
  if (down.code !== 0) console.error(`cluster down: ${down.stderr}`);
  rmSync(dir, { recursive: true, force: true });
});

const up = await nacre(['cluster', 'up', '-c', join(dir, 'cluster.yaml'), '--dir', runDir]);
if (up.code !== 0) throw new Error(`cluster up failed: ${up.stderr}`);
cluster = await connect({ conf, client: { opTimeoutMs: 60_000 } });
io = await cluster.pool('rbd');

const code = outcomeCode;

t.test(`${clientObjects} random objects of 0..4 MiB through the client: byte-identical, ls exact`, async (t) => {
  const rng = new Prng(seed);
  const sizes = new Map<string, number>();
  const seeds = new Map<string, number>();
  for (let i = 0; i < clientObjects; i++) {
    sizes.set(`lib-${i}`, i === 0 ? 0 : i === 1 ? objectBytesMax : rng.int(0, objectBytesMax));
    seeds.set(`lib-${i}`, rng.nextU32());
  }
  // Contents are regenerated from a per-object seed, so at most `width` objects sit in memory.
  const content = (n: string): Buffer => Buffer.from(new Prng(seeds.get(n)!).fill(new Uint8Array(sizes.get(n)!)));
  const names = [...sizes.keys()];
  await pool(names, 16, async (n) => {
    await io.writeFull(n, content(n));
  });
  let same = 0;
  await pool(names, 16, async (n) => {
    if ((await io.read(n)).equals(content(n))) same++;
    else t.fail(`${n} differs`);
  });
  t.equal(same, names.length, 'every object identical');
  const listed: string[] = [];
  for await (const o of io.listObjects()) listed.push(o.name);
  t.same(listed.filter((n) => n.startsWith('lib-')).sort(), names.sort(), 'ls lists exactly them');
});

t.test(`${cliObjects} random objects through nacre rados put/get: byte-identical, ls exact`, async (t) => {
  const rng = new Prng(seed + 1);
  const names: string[] = [];
  for (let i = 0; i < cliObjects; i++) names.push(`cli-${i}`);
  const sizes = new Map(names.map((n, i) => [n, i === 0 ? 0 : rng.int(0, objectBytesMax)]));
  const seeds = new Map(names.map((n) => [n, rng.nextU32()]));
  const content = (n: string): Buffer => Buffer.from(new Prng(seeds.get(n)!).fill(new Uint8Array(sizes.get(n)!)));
  await pool(names, 8, async (n) => {
    const f = join(dir, `${n}.in`);
    writeFileSync(f, content(n));
    const r = await nacre(['rados', '--conf', conf, '-p', 'rbd', 'put', n, f]);
    if (r.code !== 0) t.fail(`put ${n}: ${r.stderr}`);
  });
  let same = 0;
  await pool(names, 8, async (n) => {
    const f = join(dir, `${n}.out`);
    const r = await nacre(['rados', '--conf', conf, '-p', 'rbd', 'get', n, f]);
    if (r.code === 0 && readFileSync(f).equals(content(n))) same++;
    else t.fail(`get ${n}: ${r.stderr}`);
  });
  t.equal(same, names.length, 'every object identical');
  const piped = await nacre(['rados', '--conf', conf, '-p', 'rbd', 'get', 'cli-1', '-']);
  t.ok(piped.stdout.equals(content('cli-1')), 'get to stdout identical');
  const ls = await nacre(['rados', '--conf', conf, '-p', 'rbd', 'ls']);
  t.same(ls.stdout.toString().trim().split('\n').filter((n) => n.startsWith('cli-')).sort(), [...names].sort());
  const map = await nacre(['osd', 'map', 'rbd', 'cli-1', '--conf', conf, '--format', 'json']);
  const m = JSON.parse(map.stdout.toString()) as { acting: number[]; acting_primary: number };
  t.same(m.acting, io.objectLocation('cli-1').acting, 'osd map agrees with the client');
  t.equal(m.acting.length, 3);
});

t.test('objects live on exactly the OSDs nacre osd map names, with identical bytes', async (t) => {
  const c = ClusterConf.readFile(conf);
  const key = Keyring.readFile(c.keyringPath()!).keyOf('client.admin')!;
  const msgr = createMessenger({ entity: 'client.admin', key }, { env: realEnv(silentLogger()), transport: transportFromConf(c, 'client.admin') });
  await msgr.start();
  t.teardown(() => msgr.stop());
  const osds = [0, 1, 2, 3].map((id) => ({ id, conn: msgr.connect(c.get(`osd.${id}`, 'addr')!, { expectPeer: `osd.${id}` }) }));
  const rng = new Prng(seed + 2);
  for (let i = 0; i < 8; i++) {
    const name = `placed-${i}`;
    const data = Buffer.from(rng.fill(new Uint8Array(rng.int(1, 256 * 1024))));
    await io.writeFull(name, data);
    const r = await nacre(['osd', 'map', 'rbd', name, '--conf', conf, '--format', 'json']);
    const m = JSON.parse(r.stdout.toString()) as { acting: number[]; pool_id: number };
    const sha = createHash('sha256').update(data).digest('hex');
    const holders: number[] = [];
    for (const o of osds) {
      const info = await o.conn.request(OsdAdmin, { cmd: 'object_info', args: { pool: m.pool_id, name } }) as { exists: boolean; sha256?: string };
      if (!info.exists) continue;
      holders.push(o.id);
      t.equal(info.sha256, sha, `${name} on osd.${o.id}: identical bytes`);
    }
    t.same(holders.sort(), [...m.acting].sort(), `${name} is on exactly ${JSON.stringify(m.acting)}`);
  }
});

t.test('overwrite, append, truncate, xattr, omap; guarded conflicts', async (t) => {
  await io.writeFull('sem', 'hello world');
  await io.writeFull('sem', 'bye');
  await io.append('sem', '!');
  await io.write('sem', 'x', 6);
  t.same(await io.read('sem'), Buffer.from('bye!\0\0x'));
  await io.truncate('sem', 3);
  t.equal((await io.read('sem')).toString(), 'bye');
  await io.setXattr('sem', 'k', 'v');
  t.equal((await io.getXattr('sem', 'k')).toString(), 'v');
  await io.omapSet('sem', { a: '1', b: '2' });
  t.same((await io.omapGetKeys('sem')).keys, ['a', 'b']);
  const v = (await io.stat('sem')).version;
  await io.append('sem', '+');
  t.equal(await code(io.operate('sem', new ObjectOperation().assertVersion(v).writeFull('stale'))), 'ERANGE');
  t.equal(await code(io.operate('sem', new ObjectOperation().cmpXattr('k', 'eq', 'other').setXattr('k', 'mine'))), 'ECANCELED');
  t.equal(await code(io.create('sem', { exclusive: true })), 'EEXIST');
  t.equal((await io.read('sem')).toString(), 'bye+', 'conflicts changed nothing');
  t.equal((await io.getXattr('sem', 'k')).toString(), 'v');
});

t.test('bad input: clear errors, nothing changed, daemons keep running', async (t) => {
  const unknown = await nacre(['rados', '--conf', conf, '-p', 'nosuch', 'ls']);
  t.same([unknown.code, unknown.stderr], [1, "nacre: pool 'nosuch' does not exist\n"]);
  const long = await nacre(['rados', '--conf', conf, '-p', 'rbd', 'put', 'n'.repeat(2049), '-'], Buffer.from('x'));
  t.equal(long.code, 2);
  t.match(long.stderr, /^nacre: object name of 2049 bytes is longer than 2048 bytes\n$/);
  t.equal(await code(io.write('neg', 'x', -1)), 'EINVAL');
  t.equal(await code(io.write('big', 'x', 2 ** 40)), 'EFBIG');
  t.equal(await code(io.stat('neg')), 'ENOENT');
  t.equal(await code(io.stat('big')), 'ENOENT');
  const ring = join(dir, 'wrong.keyring');
  writeFileSync(ring, `[client.admin]\n\tkey = ${Buffer.alloc(32, 5).toString('base64')}\n`);
  const wrong = await nacre(['rados', '--conf', conf, '-p', 'rbd', 'ls', '--keyring', ring]);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /^nacre: client\.admin: authentication refused by monitor .*\n$/);
  const st = await nacre(['cluster', 'status', '--dir', runDir, '--format', 'json']);
  t.equal(st.code, 0, st.stderr);
  t.notMatch(st.stdout.toString(), /"running":\s*false/, 'every daemon still running');
  await io.writeFull('still-fine', 'yes');
  t.equal((await io.read('still-fine')).toString(), 'yes');
});

t.test('kill -9 the primary under a writer: writes keep being acknowledged, every one reads back', async (t) => {
  const name = 'busy';
  await io.writeFull(name, '');
  const victim = io.objectLocation(name).actingPrimary;
  const acked: number[] = [];
  let stop = false;
  let failure: unknown = null;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        await io.append(name, `${i};`);
      } catch (err) {
        failure = err;
        return;
      }
      acked.push(i);
    }
  })();
  while (acked.length < 20) await new Promise((r) => setTimeout(r, 10));
  const kill = await nacre(['cluster', 'kill', `osd.${victim}`, '--dir', runDir]);
  t.equal(kill.code, 0, kill.stderr);
  const killedAt = acked.length;
  const deadline = Date.now() + 60_000;
  while (acked.length < killedAt + 20 && failure === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await writer;
  t.equal(failure, null, 'no write failed');
  t.ok(acked.length >= killedAt + 20, `writes continued after the kill (${acked.length - killedAt} more)`);
  t.not(io.objectLocation(name).actingPrimary, victim, 'a new primary took over');
  const entries = (await io.read(name)).toString().split(';').filter((x) => x !== '').map(Number);
  t.same(entries, acked, 'every acknowledged append is there exactly once, in order');
  const start = await nacre(['cluster', 'start', `osd.${victim}`, '--dir', runDir]);
  t.equal(start.code, 0, start.stderr);
});
