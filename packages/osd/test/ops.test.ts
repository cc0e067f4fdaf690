/**
 * Object op semantics end to end on an in-process cluster (3 OSDs, size 3): every sub-op of the
 * contract, compound atomicity, guards, limits and bad input, resends, listing, watch/notify.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { TestCluster } from '@nacre/osd/testing/cluster';
import { OsdNotify, OsdNotifyAck, OsdOpMsg, OsdWatch, OsdWatchEvent } from '@nacre/proto';
import { formatPgId, objectToPg, pgToUpActing } from '@nacre/osdmap';
import { outcomeCode } from '@nacre/util';

const c = await TestCluster.create({ osds: 3, seed: 7, logLevel: process.env['OSD_LOG'], config: { objectSizeBytesMax: 4 * 1024 * 1024 } });
t.teardown(() => c.shutdown());
await c.waitClean();
const cl = await c.getClient();
const code = outcomeCode;
const read = async (name: string, offset = 0, length = 0): Promise<string> => ((await cl.op(name, [{ op: 'read', offset, length }])).results[0] as { data: Buffer }).data.toString();

t.test('write_full, write at offset, append, truncate, zero', async (t) => {
  await cl.op('a', [{ op: 'write_full', data: Buffer.from('hello world') }]);
  t.equal(await read('a'), 'hello world');
  await cl.op('a', [{ op: 'write', offset: 6, data: Buffer.from('WORLD!!') }]);
  t.equal(await read('a'), 'hello WORLD!!');
  await cl.op('a', [{ op: 'append', data: Buffer.from('++') }]);
  t.equal(await read('a'), 'hello WORLD!!++');
  t.equal(await read('a', 6, 5), 'WORLD');
  t.equal(await read('a', 100, 5), '', 'reading past the end is empty');
  await cl.op('a', [{ op: 'truncate', size: 5 }]);
  t.equal(await read('a'), 'hello');
  await cl.op('a', [{ op: 'write', offset: 8, data: Buffer.from('x') }]);
  t.same((await cl.get('a')), Buffer.from('hello\0\0\0x'), 'a hole reads as zeros');
  await cl.op('a', [{ op: 'zero', offset: 1, length: 100 }]);
  t.same(await cl.get('a'), Buffer.from('h\0\0\0\0\0\0\0\0'), 'zero clamps to the object size');
  const st = (await cl.op('a', [{ op: 'stat' }])).results[0] as { size: number; version: number; mtimeMs: number };
  t.equal(st.size, 9);
  t.ok(st.version > 0 && st.mtimeMs > 0);
  await cl.op('a', [{ op: 'write_full', data: Buffer.alloc(0) }]);
  t.equal((await cl.op('a', [{ op: 'stat' }])).results[0]!['size' as never], 0, 'write_full of nothing empties the object');
  await cl.op('a', [{ op: 'remove' }]);
  t.equal(await code(cl.op('a', [{ op: 'stat' }])), 'ENOENT');
  t.equal(await code(cl.op('a', [{ op: 'remove' }])), 'ENOENT');
  t.equal(await code(cl.op('a', [{ op: 'read', offset: 0, length: 1 }])), 'ENOENT');
  await cl.op('nz', [{ op: 'zero', offset: 0, length: 10 }]);
  t.equal(await code(cl.op('nz', [{ op: 'stat' }])), 'ENOENT', 'zero on a missing object creates nothing');
});

t.test('xattrs and omap', async (t) => {
  await cl.op('m', [{ op: 'setxattr', name: 'k1', value: Buffer.from('v1') }, { op: 'setxattr', name: 'k2', value: Buffer.from('v2') }]);
  t.same((await cl.op('m', [{ op: 'getxattr', name: 'k1' }])).results[0], { value: Buffer.from('v1') });
  t.same((await cl.op('m', [{ op: 'getxattrs' }])).results[0], { attrs: [['k1', Buffer.from('v1')], ['k2', Buffer.from('v2')]] });
  await cl.op('m', [{ op: 'rmxattr', name: 'k1' }]);
  t.equal(await code(cl.op('m', [{ op: 'getxattr', name: 'k1' }])), 'ENOENT');
  t.equal(await code(cl.op('m', [{ op: 'rmxattr', name: 'k1' }])), 'ENOENT');
  t.equal((await cl.op('m', [{ op: 'stat' }])).results[0]!['size' as never], 0, 'setxattr created an empty object');
  const entries: [string, Buffer][] = Array.from({ length: 30 }, (_, i) => [`key${String(i).padStart(2, '0')}`, Buffer.from(`val${i}`)]);
  await cl.op('m', [{ op: 'omap_set', entries }, { op: 'omap_set', entries: [['other', Buffer.from('o')]] }]);
  const page1 = (await cl.op('m', [{ op: 'omap_get_vals', after: '', prefix: 'key', max: 10 }])).results[0] as { entries: [string, Buffer][]; more: boolean };
  t.equal(page1.entries.length, 10);
  t.equal(page1.more, true);
  t.equal(page1.entries[0]![0], 'key00');
  const page3 = (await cl.op('m', [{ op: 'omap_get_vals', after: 'key19', prefix: 'key', max: 10 }])).results[0] as { entries: [string, Buffer][]; more: boolean };
  t.same(page3.entries.map(([k]) => k), entries.slice(20).map(([k]) => k));
  t.equal(page3.more, false, 'the prefix ends the listing (other is not returned)');
  const keys = (await cl.op('m', [{ op: 'omap_get_keys', after: 'key28', max: 100 }])).results[0] as { keys: string[] };
  t.same(keys.keys, ['key29', 'other']);
  const byKeys = (await cl.op('m', [{ op: 'omap_get_vals_by_keys', keys: ['key03', 'nope', 'other'] }])).results[0] as { entries: [string, Buffer][] };
  t.same(byKeys.entries.map(([k, v]) => [k, v.toString()]), [['key03', 'val3'], ['other', 'o']]);
  await cl.op('m', [{ op: 'omap_rm', keys: ['key00', 'other'] }]);
  const r = await cl.op('m', [{ op: 'omap_set', entries: [['new', Buffer.from('n')]] }, { op: 'omap_get_keys', after: 'key28', max: 10 }]);
  t.same((r.results[1] as { keys: string[] }).keys, ['key29', 'new'], 'a read in a compound op sees the earlier sub-ops');
  await cl.op('m', [{ op: 'omap_clear' }]);
  t.same(((await cl.op('m', [{ op: 'omap_get_keys', after: '', max: 10 }])).results[0] as { keys: string[] }).keys, []);
  t.same((await cl.op('m', [{ op: 'getxattr', name: 'k2' }])).results[0], { value: Buffer.from('v2') }, 'omap_clear keeps xattrs');
  t.equal(await code(cl.op('nothing', [{ op: 'omap_rm', keys: ['x'] }])), 'ENOENT');
});

t.test('guards and compound atomicity', async (t) => {
  t.equal(await code(cl.op('g', [{ op: 'assert_exists' }])), 'ENOENT');
  const v1 = (await cl.op('g', [{ op: 'create', exclusive: true }, { op: 'write_full', data: Buffer.from('one') }, { op: 'setxattr', name: 'lock', value: Buffer.from('a') }])).version;
  t.equal(await code(cl.op('g', [{ op: 'create', exclusive: true }])), 'EEXIST');
  await cl.op('g', [{ op: 'create', exclusive: false }]);
  t.equal(await code(cl.op('g', [{ op: 'assert_version', version: v1 + 1000 }, { op: 'write_full', data: Buffer.from('two') }])), 'ERANGE');
  t.equal(await read('g'), 'one', 'a failed guard changes nothing');
  const v2 = (await cl.op('g', [{ op: 'assert_version', version: v1 + 1 }, { op: 'write_full', data: Buffer.from('two') }])).version;
  t.ok(v2 > v1);
  t.equal(await code(cl.op('g', [{ op: 'cmpxattr', name: 'lock', cmp: 'eq', value: Buffer.from('b') }, { op: 'write_full', data: Buffer.from('three') }])), 'ECANCELED');
  await cl.op('g', [{ op: 'cmpxattr', name: 'lock', cmp: 'eq', value: Buffer.from('a') }, { op: 'setxattr', name: 'lock', value: Buffer.from('b') }]);
  await cl.op('g', [{ op: 'cmpxattr', name: 'absent', cmp: 'eq', value: Buffer.alloc(0) }], {});
  t.equal(await code(cl.op('g', [{ op: 'cmpxattr', name: 'lock', cmp: 'gt', value: Buffer.from('b') }])), 'ECANCELED', 'gt: stored > given');
  await cl.op('g', [{ op: 'cmpxattr', name: 'lock', cmp: 'gt', value: Buffer.from('a') }]);
  t.equal(await code(cl.op('g', [{ op: 'write_full', data: Buffer.from('partial') }, { op: 'rmxattr', name: 'nope' }])), 'ENOENT');
  t.equal(await read('g'), 'two', 'the whole compound op failed: nothing applied');
  const stat = (await cl.op('g', [{ op: 'stat' }])).results[0] as { version: number };
  t.equal(stat.version, v2 + 1, 'the version counts only applied writes');
});

t.test('limits and bad input: clear errors, nothing changes, the OSDs keep running', async (t) => {
  t.equal(await code(cl.op('big', [{ op: 'write', offset: 4 * 1024 * 1024, data: Buffer.from('x') }])), 'EFBIG');
  t.equal(await code(cl.op('big', [{ op: 'truncate', size: 5 * 1024 * 1024 }])), 'EFBIG');
  t.equal(await code(cl.op('big', [{ op: 'stat' }])), 'ENOENT');
  t.equal(await code(cl.op('x'.repeat(2049), [{ op: 'stat' }])), 'EINVAL', 'names over 2048 bytes');
  t.equal(await code(cl.op({ name: 'x'.repeat(2040), namespace: 'ns' }, [{ op: 'write_full', data: Buffer.from('a') }])), 'ENAMETOOLONG');
  await cl.op({ name: 'in-ns', namespace: 'ns', key: 'k' }, [{ op: 'write_full', data: Buffer.from('ns!') }]);
  t.equal(((await cl.op({ name: 'in-ns', namespace: 'ns', key: 'k' }, [{ op: 'read', offset: 0, length: 0 }])).results[0] as { data: Buffer }).data.toString(), 'ns!');
  t.equal(await code(cl.op('in-ns', [{ op: 'stat' }])), 'ENOENT', 'namespaces are separate');
  t.equal(await code(cl.op('y', [{ op: 'write', offset: -1, data: Buffer.from('a') } as never])), 'EINVAL');
  t.equal(await code(cl.op('y', [{ op: 'frobnicate' } as never])), 'EINVAL');
  t.equal(await code(cl.op('y', [{ op: 'stat' }], { pool: 'nope' })), 'ENOENT');
  const map = c.map;
  const pg = objectToPg(map, c.poolId(), 'y');
  const primary = pgToUpActing(map, pg).actingPrimary;
  const conn = cl.msgr.connect(map.osds[primary]!.addr);
  const reqid = { client: cl.entity, inc: 99, tid: 1 };
  t.equal(await code(conn.request(OsdOpMsg, { epoch: map.epoch, pgid: '42.0', oid: { name: 'y' }, ops: [{ op: 'stat' }], reqid })), 'ENOENT', 'unknown pool');
  const wrongPg = formatPgId({ pool: pg.pool, seed: (pg.seed + 1) % 8 });
  t.equal(await code(conn.request(OsdOpMsg, { epoch: map.epoch, pgid: wrongPg, oid: { name: 'y' }, ops: [{ op: 'stat' }], reqid })), 'EINVAL', 'object in the wrong PG');
  t.equal(await code(conn.request(OsdOpMsg, { epoch: map.epoch, pgid: 'bad', oid: { name: 'y' }, ops: [{ op: 'stat' }], reqid })), 'EINVAL');
  const other = await c.getClient('client.other');
  t.equal(await code(other.admin(primary, 'status')), 'EPERM', 'admin is for client.admin only');
  await other.close();
  for (const osd of c.osds.values()) t.equal(osd.status, 'running');
});

t.test('a resend with the same reqid returns the original result, also after the primary changes', async (t) => {
  const name = 'dup';
  await cl.put(name, Buffer.from('base'));
  const map = c.map;
  const pg = objectToPg(map, c.poolId(), name);
  const primary = pgToUpActing(map, pg).actingPrimary;
  const reqid = { client: cl.entity, inc: 7777, tid: 1 };
  const req = { epoch: map.epoch, pgid: formatPgId(pg), oid: { name }, ops: [{ op: 'append' as const, data: Buffer.from('+1') }], reqid };
  const conn = cl.msgr.connect(map.osds[primary]!.addr);
  const r1 = await conn.request(OsdOpMsg, req);
  const r2 = await conn.request(OsdOpMsg, req);
  t.same(r2, r1, 'same answer');
  t.equal(await read(name), 'base+1', 'applied once');
  await c.stopOsd(primary);
  await c.waitFor('new primary active', () => c.allActive());
  const m2 = c.map;
  const p2 = pgToUpActing(m2, pg).actingPrimary;
  t.not(p2, primary);
  const r3 = await cl.msgr.connect(m2.osds[p2]!.addr).request(OsdOpMsg, { ...req, epoch: m2.epoch });
  t.same(r3, r1, 'the new primary knows the reqid from the log');
  t.equal(await read(name), 'base+1', 'still applied once');
  await c.startOsd(primary);
  await c.waitClean();
});

t.test('pg listing in pages, and every copy identical', async (t) => {
  const names = Array.from({ length: 40 }, (_, i) => `list-${i}`);
  for (const n of names) await cl.put(n, Buffer.from(n));
  const all = await cl.ls();
  for (const n of names) t.ok(all.includes(n), `${n} listed`);
  t.equal(new Set(all).size, all.length, 'no duplicates across pages');
  for (const n of names.slice(0, 10)) {
    const p = c.placement(n);
    const shas = new Set<string>();
    for (const osd of p.acting) shas.add((await cl.admin(osd, 'object_info', { pool: c.poolId(), name: n }) as { sha256: string }).sha256);
    t.same([...shas], [createHash('sha256').update(n).digest('hex')], `${n}: identical on ${p.acting.join(',')}`);
  }
});

t.test('watch and notify', async (t) => {
  await cl.put('hdr', Buffer.from('header'));
  const map = c.map;
  const pg = objectToPg(map, c.poolId(), 'hdr');
  const primary = pgToUpActing(map, pg).actingPrimary;
  const watcher = await c.getClient('client.other');
  const events: number[] = [];
  watcher.msgr.handle(OsdWatchEvent, (ev, ctx) => {
    events.push(ev.notifyId);
    void ctx.conn.send(OsdNotifyAck, { epoch: map.epoch, pgid: formatPgId(pg), oid: ev.oid, notifyId: ev.notifyId, cookie: ev.cookie, reply: Buffer.from('pong') });
  });
  const wconn = watcher.msgr.connect(map.osds[primary]!.addr);
  t.same(await wconn.request(OsdWatch, { epoch: map.epoch, pgid: formatPgId(pg), oid: { name: 'hdr' }, cookie: 5, watch: true }), { kind: 'ok' });
  const nopePg = objectToPg(map, c.poolId(), 'nope');
  const nopeConn = watcher.msgr.connect(map.osds[pgToUpActing(map, nopePg).actingPrimary]!.addr);
  t.equal(await code(nopeConn.request(OsdWatch, { epoch: map.epoch, pgid: formatPgId(nopePg), oid: { name: 'nope' }, cookie: 5, watch: true })), 'ENOENT', 'watching a missing object');
  const nconn = cl.msgr.connect(map.osds[primary]!.addr);
  const r = await nconn.request(OsdNotify, { epoch: map.epoch, pgid: formatPgId(pg), oid: { name: 'hdr' }, payload: Buffer.from('ping'), timeoutMs: 2000 });
  t.equal(r.kind, 'ok');
  if (r.kind === 'ok') {
    t.same(r.acks.map((a) => [a.watcher, a.cookie, a.reply.toString()]), [['client.other', 5, 'pong']]);
    t.same(r.missed, []);
  }
  await watcher.close();
  const r2 = await nconn.request(OsdNotify, { epoch: map.epoch, pgid: formatPgId(pg), oid: { name: 'hdr' }, payload: Buffer.from('ping'), timeoutMs: 300 });
  t.same(r2.kind === 'ok' ? r2.acks : null, [], 'the watch ended with its connection');
});
