/**
 * A daemon never crashes on a peer's bytes: hostile or broken OSD-internal messages (wrong sender,
 * stale interval, logs out of order, bad mutations, unknown objects, garbage fields) are refused
 * with a code, and the cluster keeps serving with its data intact.
 */
import t from 'tap';
import { createMessenger } from '@nacre/msgr';
import { realEnv, silentLogger } from '@nacre/util';
import type { EntityName } from '@nacre/proto';
import { TestCluster } from '@nacre/osd/testing/cluster';
import { OsdPgActivate, OsdPgLog, OsdPgQuery, OsdPull, OsdPush, OsdRepOp } from '@nacre/osd';

t.test('hostile OSD-internal messages get errors; nothing crashes or changes', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 21, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  await cl.put('keep', Buffer.from('precious'));
  const p = c.placement('keep');
  const replica = p.acting[1]!;
  const map = c.map;
  const since = c.osds.get(replica)!.pgs.get(p.pgid)!.tracker.sameIntervalSince;
  const code = async (x: Promise<unknown>): Promise<string> => x.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
  // A stranger OSD id, and an impostor using the primary's own key.
  c.keyring.add('osd.9' as EntityName);
  for (const who of ['osd.9', `osd.${p.primary}`] as EntityName[]) {
    const m = createMessenger({ entity: who, key: c.keyring.keyOf(who)! }, { env: realEnv(silentLogger(), 1), transport: c.net.transport() });
    await m.start();
    const conn = m.connect(map.osds[replica]!.addr);
    const base = { pgid: p.pgid, epoch: map.epoch, since };
    const entry = { v: [map.epoch, 1], p: [0, 0], op: 'm', h: 1, n: 'x', r: null, t: 0 };
    const results = [
      await code(conn.request(OsdRepOp, { ...base, entry, mutations: [{ m: 'write', offset: 0, data: Buffer.from('evil') }], trimTo: [0, 0], objectsDelta: 1, bytesDelta: 4 } as never)),
      await code(conn.request(OsdRepOp, { ...base, entry: { ...entry, v: [map.epoch, 999999] }, mutations: [{ m: 'write', offset: 2 ** 40, data: Buffer.from('x') }], trimTo: [0, 0], objectsDelta: 0, bytesDelta: 0 } as never)),
      await code(conn.request(OsdRepOp, { ...base, entry: 'garbage', mutations: 7 } as never)),
      await code(conn.request(OsdPgActivate, { ...base, activationEpoch: map.epoch, info: { pgid: p.pgid, lu: [1, 1], lt: [0, 0], les: 1, lec: 0, objects: 0, bytes: 0 }, tail: [0, 0], entries: [entry, entry] } as never)),
      await code(conn.request(OsdPgLog, { ...base, pgid: '99.0' })),
      await code(conn.request(OsdPull, { ...base, oid: [1, 'nope'], offset: 0, omapAfter: '', first: true } as never)),
      await code(conn.request(OsdPush, { ...base, chunk: { oid: [1, 'y'], version: [1, 1], sizeBytes: 1, offset: 0, data: Buffer.from('y'), attrs: [['', Buffer.alloc(0)]], omap: [], omapAfter: '', first: true, done: true } } as never)),
      await code(conn.request(OsdPgQuery, { ...base, pgid: 'zz', from: 1 } as never)),
    ];
    t.ok(results.every((r) => r !== 'ok'), `${who}: every hostile message refused (${results.join(', ')})`);
    await m.stop();
  }
  for (const osd of c.osds.values()) t.equal(osd.status, 'running', `osd.${osd.whoami} still running`);
  t.equal((await cl.get('keep')).toString(), 'precious', 'data intact');
  await cl.put('after', Buffer.from('still works'));
  t.equal((await cl.get('after')).toString(), 'still works');
});
