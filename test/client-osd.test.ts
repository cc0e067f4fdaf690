/**
 * The client library against the real OSD daemon code (in-process: @nacre/osd's TestCluster —
 * three OSDs with MemStores and a map authority on one memory network, size 3 / min_size 2).
 * Covers the client acceptance items that need real OSDs: random objects byte-identical, ls lists
 * exactly them, overwrite/append/truncate/xattr/omap semantics, guarded-op conflicts, bad input,
 * resends across a primary that dies under writes (every acknowledged write reads back), and
 * watch/notify following the primary. With real monitors and OSD processes: rados-cluster.test.ts.
 */
import t from 'tap';
import { ObjectOperation, connect, type Cluster, type IoCtx } from '@nacre/client';
import { TestCluster } from '@nacre/osd/testing/cluster';
import { Prng, outcomeCode, seedFromEnv } from '@nacre/util';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

const objectsCount = Number(process.env['NACRE_CLIENT_OBJECTS'] ?? 40);
const objectBytesMax = 4 * 1024 * 1024;

const tc = await TestCluster.create({ osds: 3, seed, pools: [{ name: 'rbd', size: 3, minSize: 2, pgNum: 16 }], logLevel: process.env['OSD_LOG'] });
let cluster: Cluster;
let io: IoCtx;
t.teardown(async () => {
  await cluster?.close();
  await tc.shutdown();
});
await tc.waitClean();
cluster = await connect({
  mons: [tc.mon.address], key: tc.keyring.keyOf('client.admin')!, transport: tc.net.transport(),
  client: { opTimeoutMs: 20_000 }, monClient: { mapPollIntervalMs: 100 },
});
io = await cluster.pool('rbd');

const code = outcomeCode;

t.test(`${objectsCount} random objects of 0..4 MiB: byte-identical, listed exactly`, async (t) => {
  const rng = new Prng(seed);
  const written = new Map<string, Buffer>();
  for (let i = 0; i < objectsCount; i++) {
    const size = i === 0 ? 0 : i === 1 ? objectBytesMax : rng.int(0, objectBytesMax);
    written.set(`rand-${i}`, Buffer.from(rng.fill(new Uint8Array(size))));
  }
  const names = [...written.keys()];
  for (let i = 0; i < names.length; i += 8) {
    await Promise.all(names.slice(i, i + 8).map((n) => io.writeFull(n, written.get(n)!)));
  }
  let same = 0;
  for (const [n, data] of written) {
    const got = await io.read(n);
    if (got.equals(data)) same++;
    else t.fail(`${n}: ${got.length} bytes read, ${data.length} written`);
  }
  t.equal(same, written.size, 'every object reads back identical');
  const listed: string[] = [];
  for await (const o of io.listObjects()) listed.push(o.name);
  t.same(listed.sort(), names.sort(), 'ls lists exactly them');
  for (const n of names) await io.remove(n);
  let left = 0;
  for await (const _ of io.listObjects()) left++;
  t.equal(left, 0, 'all removed');
});

t.test('overwrite, append, truncate, zero, xattr and omap semantics', async (t) => {
  await io.writeFull('s', 'hello world');
  await io.writeFull('s', 'bye');
  t.equal((await io.read('s')).toString(), 'bye', 'write_full replaces');
  await io.write('s', 'BYE', 0);
  await io.append('s', '!');
  t.equal((await io.read('s')).toString(), 'BYE!');
  await io.write('s', 'x', 6);
  t.same(await io.read('s'), Buffer.from('BYE!\0\0x'), 'hole reads as zeros');
  await io.truncate('s', 2);
  t.equal((await io.read('s')).toString(), 'BY');
  await io.zero('s', 1, 10);
  t.same(await io.read('s'), Buffer.from('B\0'), 'zero does not extend');
  t.equal((await io.read('s', { offsetBytes: 1, lengthBytes: 10 })).length, 1, 'short read at the end');
  await io.setXattr('s', 'owner', 'me');
  await io.writeFull('s', 'new');
  t.equal((await io.getXattr('s', 'owner')).toString(), 'me', 'write_full keeps xattrs');
  t.same([...(await io.getXattrs('s')).keys()], ['owner']);
  await io.rmXattr('s', 'owner');
  t.equal(await code(io.getXattr('s', 'owner')), 'ENOENT');
  await io.omapSet('s', { b: '2', a: '1', c: '3' });
  t.same((await io.omapGetKeys('s')).keys, ['a', 'b', 'c']);
  const page = await io.omapGet('s', { after: 'a', max: 1 });
  t.same([[...page.entries.keys()], page.more], [['b'], true]);
  await io.omapRm('s', ['a']);
  t.same([...(await io.omapGetByKeys('s', ['a', 'b'])).keys()], ['b']);
  await io.omapClear('s');
  t.same((await io.omapGetKeys('s')).keys, []);
  const st = await io.stat('s');
  t.equal(st.sizeBytes, 3);
  await io.remove('s');
  t.equal(await code(io.stat('s')), 'ENOENT');
});

t.test('guarded ops: conflicts give their codes and change nothing', async (t) => {
  const v = await io.writeFull('g', 'v1');
  await io.setXattr('g', 'lock', 'free');
  const v2 = (await io.stat('g')).version;
  t.ok(v2 > v);
  t.equal(await code(io.operate('g', new ObjectOperation().assertVersion(v).writeFull('lost update'))), 'ERANGE');
  t.equal((await io.read('g')).toString(), 'v1', 'stale writer changed nothing');
  await io.operate('g', new ObjectOperation().assertVersion(v2).writeFull('v2'));
  const take = (who: string): ObjectOperation => new ObjectOperation().cmpXattr('lock', 'eq', 'free').setXattr('lock', who);
  const results = await Promise.all([code(io.operate('g', take('a'))), code(io.operate('g', take('b')))]);
  t.same(results.sort(), ['ECANCELED', 'ok'], 'exactly one of two racing lockers wins');
  t.equal(await code(io.create('g', { exclusive: true })), 'EEXIST');
  t.equal(await code(io.operate('absent', new ObjectOperation().assertExists().setXattr('x', 'y'))), 'ENOENT');
  t.equal(await code(io.stat('absent')), 'ENOENT', 'guard kept it from being created');
  t.equal(await code(io.operate('g', new ObjectOperation().append('zzz').rmXattr('missing'))), 'ENOENT');
  t.equal((await io.read('g')).toString(), 'v2', 'a failing sub-op undoes the earlier ones');
});

t.test('bad input: clear errors, nothing changed, OSDs keep serving', async (t) => {
  t.equal(await code(cluster.pool('nosuchpool')), 'ENOENT');
  t.equal(await code(io.writeFull('n'.repeat(2049), 'x')), 'ENAMETOOLONG');
  t.equal(await code(io.write('o', 'x', -1)), 'EINVAL');
  t.equal(await code(io.write('o', 'x', 2 ** 40)), 'EFBIG');
  t.equal(await code(io.read('o', { offsetBytes: -1 })), 'EINVAL');
  t.equal(await code(io.stat('o')), 'ENOENT', 'nothing was created');
  const wrong = await connect({ mons: [tc.mon.address], key: Buffer.alloc(32, 3), transport: tc.net.transport(), timeoutMs: 3000 }).then(
    async (c) => { await c.close(); return 'ok'; },
    (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
  );
  t.match(wrong, /^EPERM: client\.admin: authentication refused by monitor/);
  await io.writeFull('after-bad-input', 'fine');
  t.equal((await io.read('after-bad-input')).toString(), 'fine');
});

t.test('the primary dies under a writer: every acknowledged write reads back', async (t) => {
  const name = 'busy';
  const victim = io.objectLocation(name).actingPrimary;
  const acked: number[] = [];
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      await io.append(name, `${i};`);
      acked.push(i);
    }
  })();
  while (acked.length < 20) await new Promise((r) => setTimeout(r, 5));
  await tc.stopOsd(victim);
  const killedAt = acked.length;
  while (acked.length < killedAt + 20) await new Promise((r) => setTimeout(r, 5));
  stop = true;
  await writer;
  t.not(io.objectLocation(name).actingPrimary, victim, 'a new primary took over');
  const entries = (await io.read(name)).toString().split(';').filter((s) => s !== '').map(Number);
  t.same(entries, acked, 'every acknowledged append is there exactly once, in order');
  await tc.startOsd(victim);
  await tc.waitClean();
  t.same((await io.read(name)).toString().split(';').filter((s) => s !== '').map(Number), acked, 'still after the OSD returns');
});

t.test('watch/notify on the real OSD, re-registered when the primary moves', async (t) => {
  await io.writeFull('hdr', 'x');
  const seen: string[] = [];
  const w = await io.watch('hdr', (ev) => {
    seen.push(ev.payload.toString());
    return 'ack';
  });
  let r = await io.notify('hdr', 'one', { timeoutMs: 2000 });
  t.same(r.acks.map((a) => a.reply.toString()), ['ack']);
  const victim = io.objectLocation('hdr').actingPrimary;
  await tc.stopOsd(victim);
  await tc.waitFor('primary moved', () => io.objectLocation('hdr').actingPrimary !== victim);
  await tc.waitFor('PGs active', () => tc.allActive());
  let acks = 0;
  for (let i = 0; i < 50 && acks === 0; i++) {
    r = await io.notify('hdr', 'two', { timeoutMs: 500 });
    acks = r.acks.length;
  }
  t.equal(acks, 1, 'the watch followed the primary');
  t.ok(seen.includes('two'));
  await w.unwatch();
  await tc.startOsd(victim);
  await tc.waitClean();
});
