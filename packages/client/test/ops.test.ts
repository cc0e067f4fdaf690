/**
 * Object operations through the client against fake OSDs: data ops, xattrs, omap, compound ops
 * and guards, listing, error codes, and bad input refused before anything is sent.
 */
import t from 'tap';
import { ObjectOperation, connect } from '@nacre/client';
import { Prng, seedFromEnv } from '@nacre/util';
import { codeOf, errOf, rig } from './helpers.js';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

t.test('write_full / read / append / write / truncate / zero / stat / remove', async (t) => {
  const { io } = await rig(t);
  const v1 = await io.writeFull('obj', 'hello');
  t.same(await io.read('obj'), Buffer.from('hello'));
  const v2 = await io.append('obj', ', world');
  t.ok(v2 > v1, 'versions grow');
  t.equal((await io.read('obj')).toString(), 'hello, world');
  await io.write('obj', 'J', 0);
  t.equal((await io.read('obj')).toString(), 'Jello, world');
  await io.write('obj', 'X', 15);
  t.same(await io.read('obj'), Buffer.concat([Buffer.from('Jello, world'), Buffer.alloc(3), Buffer.from('X')]), 'hole filled with zeros');
  t.equal((await io.read('obj', { offsetBytes: 1, lengthBytes: 4 })).toString(), 'ello');
  t.equal((await io.read('obj', { offsetBytes: 14, lengthBytes: 100 })).length, 2, 'short read at the end');
  t.equal((await io.read('obj', { offsetBytes: 1000, lengthBytes: 10 })).length, 0, 'empty beyond the end');
  await io.truncate('obj', 5);
  t.equal((await io.read('obj')).toString(), 'Jello');
  await io.zero('obj', 1, 2);
  t.same(await io.read('obj'), Buffer.from([0x4a, 0, 0, 0x6c, 0x6f]));
  const st = await io.stat('obj');
  t.equal(st.sizeBytes, 5);
  t.ok(st.version > v2);
  await io.remove('obj');
  t.equal(await codeOf(io.stat('obj')), 'ENOENT');
  t.equal(await codeOf(io.read('obj')), 'ENOENT');
  t.equal(await codeOf(io.remove('obj')), 'ENOENT');
  await io.create('c', { exclusive: true });
  t.equal(await codeOf(io.create('c', { exclusive: true })), 'EEXIST');
  t.equal((await io.stat('c')).sizeBytes, 0);
});

t.test('large objects: chunked whole-object reads are byte-identical', async (t) => {
  const { io } = await rig(t, {}, { readChunkBytes: 64 * 1024 });
  const rng = new Prng(seed);
  const data = Buffer.from(rng.fill(new Uint8Array(300 * 1024 + 7)));
  await io.writeFull('big', data);
  t.ok((await io.read('big')).equals(data), 'whole read in 5 pieces');
  t.ok((await io.read('big', { offsetBytes: 1000, lengthBytes: 200_000 })).equals(data.subarray(1000, 201_000)), 'ranged read in pieces');
});

t.test('xattrs and omap', async (t) => {
  const { io } = await rig(t);
  await io.writeFull('o', 'x');
  await io.setXattr('o', 'a', 'one');
  await io.setXattr('o', 'b', Buffer.from([1, 2]));
  t.equal((await io.getXattr('o', 'a')).toString(), 'one');
  t.same([...(await io.getXattrs('o')).keys()].sort(), ['a', 'b']);
  await io.rmXattr('o', 'a');
  t.equal(await codeOf(io.getXattr('o', 'a')), 'ENOENT');
  t.equal(await codeOf(io.rmXattr('o', 'a')), 'ENOENT');
  await io.omapSet('o', { k1: 'v1', k2: 'v2', k3: 'v3', other: 'z' });
  const page = await io.omapGet('o', { prefix: 'k', max: 2 });
  t.same([...page.entries.keys()], ['k1', 'k2']);
  t.equal(page.more, true);
  const rest = await io.omapGet('o', { prefix: 'k', after: 'k2' });
  t.same([...rest.entries.keys()], ['k3']);
  t.same((await io.omapGetKeys('o')).keys, ['k1', 'k2', 'k3', 'other']);
  t.same([...(await io.omapGetByKeys('o', ['k2', 'nope'])).entries()].map(([k, v]) => [k, v.toString()]), [['k2', 'v2']]);
  await io.omapRm('o', ['k1', 'k2']);
  t.same((await io.omapGetKeys('o')).keys, ['k3', 'other']);
  await io.omapClear('o');
  t.same((await io.omapGetKeys('o')).keys, []);
  t.equal(await codeOf(io.omapGetKeys('missing')), 'ENOENT');
});

t.test('compound ops are atomic; guards give the documented codes', async (t) => {
  const { io, fc } = await rig(t);
  const v = await io.writeFull('g', 'base');
  // assert_version: ERANGE on mismatch, and nothing of the op applied.
  const stale = new ObjectOperation().assertVersion(v + 5).writeFull('changed').setXattr('x', '1');
  t.equal(await codeOf(io.operate('g', stale)), 'ERANGE');
  t.equal((await io.read('g')).toString(), 'base', 'nothing applied');
  t.equal(await codeOf(io.getXattr('g', 'x')), 'ENOENT');
  const ok = await io.operate('g', new ObjectOperation().assertVersion(v).append('+').setXattr('x', '1').stat());
  t.ok(ok.version > v);
  t.equal((ok.results[3] as { size: number }).size, 5, 'stat inside the op sees the append');
  // cmpxattr: compare-and-set.
  await io.setXattr('g', 'lock', 'free');
  const take = (): ObjectOperation => new ObjectOperation().cmpXattr('lock', 'eq', 'free').setXattr('lock', 'client.a');
  await io.operate('g', take());
  t.equal(await codeOf(io.operate('g', take())), 'ECANCELED', 'second taker loses');
  t.equal((await io.getXattr('g', 'lock')).toString(), 'client.a');
  // assert_exists
  t.equal(await codeOf(io.operate('nope', new ObjectOperation().assertExists().writeFull('x'))), 'ENOENT');
  t.equal(await codeOf(io.stat('nope')), 'ENOENT', 'guard kept it from being created');
  // a failing later sub-op undoes earlier ones
  t.equal(await codeOf(io.operate('g', new ObjectOperation().writeFull('zzz').rmXattr('absent'))), 'ENOENT');
  t.equal((await io.read('g')).toString(), 'base+');
  t.ok(fc.store.applied > 0);
});

t.test('listing returns exactly the objects written, across every PG', async (t) => {
  const { io, cluster } = await rig(t, {}, { listPageEntries: 7 });
  const names = new Set<string>();
  for (let i = 0; i < 60; i++) names.add(`obj-${i}`);
  await Promise.all([...names].map((n) => io.writeFull(n, n)));
  const listed: string[] = [];
  for await (const o of io.listObjects()) listed.push(o.name);
  t.equal(listed.length, names.size, 'no duplicates');
  t.same(new Set(listed), names);
  // another namespace is separate
  const other = await cluster.pool('rbd');
  other.setNamespace('ns1');
  await other.writeFull('obj-0', 'in ns1');
  const inNs: string[] = [];
  for await (const o of other.listObjects()) inNs.push(o.name);
  t.same(inNs, ['obj-0']);
  t.equal((await io.read('obj-0')).toString(), 'obj-0', 'default namespace untouched');
  let all = 0;
  for await (const _ of io.listObjects({ allNamespaces: true })) all++;
  t.equal(all, 61);
});

t.test('bad input is refused client-side with a clear code, nothing sent', async (t) => {
  const { io, fc, cluster } = await rig(t);
  const before = fc.opLog.length;
  const long = 'n'.repeat(2049);
  t.equal(await codeOf(io.writeFull(long, 'x')), 'ENAMETOOLONG');
  t.equal(await codeOf(io.writeFull('', 'x')), 'EINVAL');
  t.equal(await codeOf(io.write('o', 'x', -1)), 'EINVAL');
  t.equal(await codeOf(io.write('o', 'x', 1.5)), 'EINVAL');
  const far = await errOf(io.write('o', 'x', 200 * 1024 * 1024));
  t.equal(far.code, 'EFBIG');
  t.match(far.message, /beyond the object size limit of 134217728 bytes/);
  t.equal(await codeOf(io.truncate('o', 2 ** 40)), 'EFBIG');
  t.equal(await codeOf(io.read('o', { offsetBytes: -5 })), 'EINVAL');
  t.equal(await codeOf(io.read('o', { offsetBytes: 2 ** 40, lengthBytes: 1 })), 'EINVAL');
  t.equal(await codeOf(io.setXattr('o', '', 'x')), 'EINVAL');
  t.equal(await codeOf(io.setXattr('o', 'a', Buffer.alloc(70 * 1024))), 'EFBIG');
  t.equal(await codeOf(io.writeFull('o', Buffer.alloc(33 * 1024 * 1024))), 'EFBIG', 'more than one op may carry');
  t.equal(fc.opLog.length, before, 'no request reached an OSD');
  const e = await errOf(cluster.pool('nosuchpool'));
  t.equal(e.code, 'ENOENT');
  t.equal(e.message, "pool 'nosuchpool' does not exist");
  t.equal(await codeOf(io.stat('never-written')), 'ENOENT');
  const longName = 'x'.repeat(2048);
  await io.writeFull(longName, 'ok');
  t.equal((await io.read(longName)).toString(), 'ok', '2048 bytes is allowed');
});

t.test('a pool created after connect is found (the map is refreshed)', async (t) => {
  const { fc, cluster } = await rig(t);
  fc.mon.droppedPushes.add(fc.mon.epoch + 1);
  const pool = { ...fc.map.pools.get(1)!, id: 2, name: 'fresh' };
  fc.commit({ newPools: [pool] });
  const io = await cluster.pool('fresh');
  t.equal(io.poolId, 2);
  await io.writeFull('a', 'b');
  t.equal((await io.read('a')).toString(), 'b');
});

t.test('a removed pool: ops fail with ENOENT', async (t) => {
  const { fc, io, cluster } = await rig(t);
  await io.writeFull('a', 'b');
  fc.commit({ removedPools: [1] });
  await cluster.waitForEpoch(fc.mon.epoch, 2000);
  const e = await errOf(io.read('a'));
  t.equal(e.code, 'ENOENT');
  t.match(e.message, /pool 1 does not exist/);
});

t.test('wrong key: connect fails with EPERM in one line', async (t) => {
  const { FakeCluster } = await import('@nacre/client/testing');
  const fc = await FakeCluster.start({ hosts: 1, osdsPerHost: 1, pools: [{ name: 'rbd', size: 1 }], transport: 'memory' });
  t.teardown(() => fc.stop());
  const transport = fc.clientTransport()!;
  const e = await errOf(connect({ mons: fc.monAddrs, key: Buffer.alloc(32, 1), transport, timeoutMs: 3000 }));
  t.equal(e.code, 'EPERM');
  t.match(e.message, /^client\.admin: authentication refused by monitor .*bad key/);
  t.notMatch(e.message, /\n/);
  const unknown = await errOf(connect({ mons: fc.monAddrs, key: fc.adminKey, name: 'client.nobody', transport, timeoutMs: 3000 }));
  t.equal(unknown.code, 'EPERM', 'unknown entity refused too');
});

t.test('self-managed snapshot plumbing: ids from the monitor, snapc on writes, snapId on reads', async (t) => {
  const { io, fc } = await rig(t);
  const s1 = await io.createSelfManagedSnap();
  const s2 = await io.createSelfManagedSnap();
  t.same([s1, s2], [1, 2]);
  let seen: { snapc?: unknown; snapId?: unknown } = {};
  for (const osd of fc.osds) osd.onOp = (req) => {
    seen = { snapc: req.snapc, snapId: req.snapId };
    return undefined;
  };
  io.setSnapContext({ seq: s2, snaps: [s2, s1] });
  await io.writeFull('s', 'x');
  t.same(seen, { snapc: { seq: 2, snaps: [2, 1] }, snapId: undefined }, 'writes carry the snap context');
  io.setReadSnap(s1);
  await io.stat('s');
  t.same(seen, { snapc: undefined, snapId: 1 }, 'reads carry the snap id');
  t.throws(() => io.setSnapContext({ seq: 1, snaps: [1, 2] }), { code: 'EINVAL' });
});

t.test('two clients with equally seeded environments never share a reqid', async (t) => {
  const { fc } = await rig(t);
  const { realEnv, silentLogger } = await import('@nacre/util');
  const open = () => connect({ mons: fc.monAddrs, key: fc.adminKey, transport: fc.clientTransport()!, env: realEnv(silentLogger(), 42) });
  const [a, b] = [await open(), await open()];
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const [ia, ib] = [await a.pool('rbd'), await b.pool('rbd')];
  await ia.append('shared', 'a');
  await ib.append('shared', 'b');
  t.equal((await ia.read('shared')).toString(), 'ab', 'both appends applied (no reqid collision)');
});
