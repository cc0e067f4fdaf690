/**
 * Watch/notify: acks with replies, missed watchers, re-registration after the primary moves (the
 * OSD drops watches on an interval change) and after the connection to the primary drops,
 * unwatch, and failure when the object is gone.
 */
import t from 'tap';
import { connect } from '@nacre/client';
import { formatPgId, pgToUpActing } from '@nacre/osdmap';
import { codeOf, errOf, rig, waitFor } from './helpers.js';

t.test('notify reaches every watcher; replies come back; a silent watcher is missed', async (t) => {
  const { fc, io } = await rig(t);
  await io.writeFull('hdr', 'x');
  const got: string[] = [];
  const w1 = await io.watch('hdr', (ev) => {
    got.push(`w1:${ev.payload.toString()}`);
    return 'ack-1';
  });
  const w2 = await io.watch('hdr', async (ev) => {
    got.push(`w2:${ev.payload.toString()}`);
  });
  // A second client whose callback never returns in time.
  const other = await connect({ mons: fc.monAddrs, key: fc.adminKey, transport: fc.clientTransport()! });
  t.teardown(() => other.close());
  const io2 = await other.pool('rbd');
  await io2.watch('hdr', () => new Promise(() => {}));
  const r = await io.notify('hdr', 'hello', { timeoutMs: 300 });
  t.same(got.sort(), ['w1:hello', 'w2:hello']);
  t.same(r.acks.map((a) => [a.cookie, a.reply.toString()]).sort(), [[w1.cookie, 'ack-1'], [w2.cookie, '']]);
  t.equal(r.missed.length, 1, 'the silent watcher is listed as missed');
  t.equal(r.missed[0]!.watcher, 'client.admin');
  await w1.unwatch();
  const r2 = await io.notify('hdr', 'again', { timeoutMs: 200 });
  t.equal(r2.acks.length, 1, 'unwatched: only w2 answers');
  t.equal(w1.status, 'closed');
});

t.test('watch on a missing object: ENOENT', async (t) => {
  const { io } = await rig(t);
  t.equal(await codeOf(io.watch('absent', () => {})), 'ENOENT');
});

t.test('re-registered when the primary moves (the old primary dropped it)', async (t) => {
  const { fc, io } = await rig(t);
  await io.writeFull('hdr', 'x');
  let n = 0;
  await io.watch('hdr', () => {
    n++;
  });
  const loc = io.objectLocation('hdr');
  const m = pgToUpActing(fc.map, loc.pgid);
  const next = [m.acting[1]!, m.acting[0]!, ...m.acting.slice(2)];
  fc.commit({ newPgTemp: [[formatPgId(loc.pgid), next]] });
  t.equal(fc.osds[m.acting[0]!]!.watches.size, 0, 'old primary dropped the watch');
  await waitFor(() => fc.osds[next[0]!]!.watches.size === 1, 'watch on the new primary');
  const r = await io.notify('hdr', 'p', { timeoutMs: 500 });
  t.equal(r.acks.length, 1);
  t.equal(n, 1);
});

t.test('re-registered after the connection to the primary drops', async (t) => {
  const { fc, io } = await rig(t);
  await io.writeFull('hdr', 'x');
  await io.watch('hdr', () => 'still here');
  const primary = fc.osds[io.objectLocation('hdr').actingPrimary]!;
  for (const c of primary.messenger!.connections()) c.close('test drops client links');
  t.equal(primary.watches.size, 0, 'watch gone with the connection');
  await waitFor(() => primary.watches.size === 1, 'watch re-sent on reconnect');
  const r = await io.notify('hdr', 'p', { timeoutMs: 500 });
  t.same(r.acks.map((a) => a.reply.toString()), ['still here']);
});

t.test('object removed: re-registration fails and onError is told', async (t) => {
  const { fc, io } = await rig(t);
  await io.writeFull('hdr', 'x');
  const errors: string[] = [];
  const w = await io.watch('hdr', () => {}, { onError: (e) => errors.push(e.code) });
  await io.remove('hdr');
  const loc = io.objectLocation('hdr');
  const m = pgToUpActing(fc.map, loc.pgid);
  fc.commit({ newPgTemp: [[formatPgId(loc.pgid), [m.acting[1]!, m.acting[0]!, ...m.acting.slice(2)]]] });
  await waitFor(() => errors.length > 0, 'onError');
  t.same(errors, ['ENOENT']);
  t.equal(w.status, 'failed');
  t.equal(w.error?.code, 'ENOENT');
});

t.test('notify on a missing pool object still answers (no watchers); bad timeouts refused', async (t) => {
  const { io } = await rig(t);
  const r = await io.notify('nobody', 'x', { timeoutMs: 100 });
  t.same(r, { acks: [], missed: [] });
  const e = await errOf(io.notify('nobody', 'x', { timeoutMs: 0 }));
  t.equal(e.code, 'EINVAL');
});
