/**
 * The objecter under map changes and faults: retry replies, a primary that moves while an op is
 * in flight, a reply lost after the op was applied, unreachable OSDs, timeouts, the in-flight
 * window, and close(). Resends keep the reqid, so every op is applied exactly once.
 */
import t from 'tap';
import { formatPgId, pgToUpActing, type PgId } from '@nacre/osdmap';
import type { OpReply } from '@nacre/proto';
import type { FakeCluster } from '@nacre/client/testing';
import { NacreError } from '@nacre/util';
import { createMessenger } from '@nacre/msgr';
import { codeOf, errOf, rig, sleep, waitFor } from './helpers.js';

/** Reorder the PG's acting set with pg_temp so that its second member becomes primary. */
function movePrimary(fc: FakeCluster, pgid: PgId): number {
  const m = pgToUpActing(fc.map, pgid);
  const acting = [m.acting[1]!, m.acting[0]!, ...m.acting.slice(2)];
  fc.commit({ newPgTemp: [[formatPgId(pgid), acting]] });
  return acting[0]!;
}

t.test('retry reply with a newer epoch: fetch it, recompute, resend with the same reqid', async (t) => {
  const { fc, io, cluster } = await rig(t);
  const loc = io.objectLocation('r1');
  const oldPrimary = loc.actingPrimary;
  // The client misses the epoch that moves the primary; the old primary knows it.
  fc.mon.droppedPushes.add(fc.mon.epoch + 1);
  const newPrimary = movePrimary(fc, loc.pgid);
  t.not(newPrimary, oldPrimary);
  t.equal(cluster.osdmap.epoch, fc.mon.epoch - 1, 'client is one epoch behind');
  await io.writeFull('r1', 'data');
  const recs = fc.opLog.filter((r) => r.ops.includes('write_full'));
  t.same(recs.map((r) => [r.osd, r.outcome]), [[oldPrimary, 'retry'], [newPrimary, 'ok']]);
  t.equal(recs[0]!.reqid, recs[1]!.reqid, 'same reqid');
  t.equal(recs[1]!.epoch, fc.mon.epoch, 'resent with the newer epoch');
});

t.test('primary moves while the op is in flight: resent to the new primary at once', async (t) => {
  const { fc, io } = await rig(t);
  const loc = io.objectLocation('r2');
  const oldPrimary = loc.actingPrimary;
  fc.osds[oldPrimary]!.onOp = () => 'hold';
  const p = io.append('r2', 'abc');
  await waitFor(() => fc.opLog.some((r) => r.osd === oldPrimary), 'op at the old primary');
  const newPrimary = movePrimary(fc, loc.pgid);
  await p;
  const recs = fc.opLog.filter((r) => r.ops.includes('append'));
  t.same(recs.map((r) => r.osd), [oldPrimary, newPrimary]);
  t.equal(recs[0]!.reqid, recs[1]!.reqid, 'same reqid');
  t.equal((await io.read('r2')).toString(), 'abc');
});

t.test('the op was applied but its reply was lost: the resend is answered from the reqid table', async (t) => {
  const { fc, io } = await rig(t);
  await io.writeFull('r3', 'x');
  const loc = io.objectLocation('r3');
  const oldPrimary = loc.actingPrimary;
  fc.osds[oldPrimary]!.onOp = (req) => {
    const out = fc.store.apply(loc.pgid.pool, req.oid, req.ops);
    const reply: OpReply = { kind: 'ok', version: out.version, results: out.results };
    fc.store.remember(req.reqid, reply);
    return 'hold'; // applied, never answered
  };
  const p = io.append('r3', 'y');
  await waitFor(() => fc.opLog.some((r) => r.osd === oldPrimary && r.ops.includes('append')), 'applied at the old primary');
  movePrimary(fc, loc.pgid);
  await p;
  t.equal((await io.read('r3')).toString(), 'xy', 'appended exactly once');
  const recs = fc.opLog.filter((r) => r.ops.includes('append'));
  t.equal(recs[recs.length - 1]!.outcome, 'dup');
  t.equal(fc.store.dupHits, 1);
});

t.test('retry without a newer epoch (PG not ready): back off and resend', async (t) => {
  const { fc, io } = await rig(t);
  const primary = io.objectLocation('r4').actingPrimary;
  let refusals = 3;
  fc.osds[primary]!.onOp = () => (refusals-- > 0 ? { kind: 'retry', epoch: fc.mon.epoch } : undefined);
  await io.writeFull('r4', 'ok');
  t.equal(refusals, -1);
  const recs = fc.opLog.filter((r) => r.ops.includes('write_full'));
  t.same(recs.map((r) => r.outcome), ['retry', 'retry', 'retry', 'ok']);
  t.equal(new Set(recs.map((r) => r.reqid)).size, 1);
});

t.test('primary process gone, then marked down: the op reaches the new primary', async (t) => {
  const { fc, io } = await rig(t, {}, { osdConnectAttemptsMax: 1, opTimeoutMs: 5000 });
  await io.writeFull('r5', 'before');
  const loc = io.objectLocation('r5');
  await fc.killOsd(loc.actingPrimary, { markDown: false });
  const p = io.writeFull('r5', 'after');
  await sleep(150);
  fc.commit({ osdStates: [{ id: loc.actingPrimary, up: false, downAt: fc.mon.epoch + 1 }] });
  await p;
  t.equal((await io.read('r5')).toString(), 'after');
  t.not(io.objectLocation('r5').actingPrimary, loc.actingPrimary);
});

t.test('a PG without an acting primary: ops wait for a map that gives it one', async (t) => {
  const { fc, io } = await rig(t, { hosts: 1, osdsPerHost: 1, pools: [{ name: 'rbd', size: 1, minSize: 1, pgNum: 4 }] });
  await io.writeFull('r6', 'v1');
  await fc.killOsd(0);
  const p = io.writeFull('r6', 'v2');
  await sleep(100);
  await fc.reviveOsd(0);
  await p;
  t.equal((await io.read('r6')).toString(), 'v2');
});

t.test('timeout: ETIMEDOUT in one line naming the op, PG, OSD and epoch', async (t) => {
  const { fc, io } = await rig(t);
  for (const o of fc.osds) o.onOp = () => 'hold';
  const e = await errOf(io.writeFull('slow', 'x', { timeoutMs: 300 }));
  t.equal(e.code, 'ETIMEDOUT');
  t.match(e.message, /^write_full 'slow' in pool rbd timed out after 300 ms \(pg 1\.[0-9a-f]+, osd\.\d+, epoch \d+\)/);
  t.notMatch(e.message, /\n/);
  const e2 = await errOf(io.read('slow', { timeoutMs: 200 }));
  t.equal(e2.code, 'ETIMEDOUT');
});

t.test('the in-flight window bounds concurrency; callers beyond it wait', async (t) => {
  const { fc, io, cluster } = await rig(t, {}, { opsInFlightMax: 4 });
  let now = 0;
  let peak = 0;
  for (const o of fc.osds) {
    o.onOp = async () => {
      now++;
      peak = Math.max(peak, now);
      await sleep(20);
      now--;
      return undefined;
    };
  }
  const writes = Array.from({ length: 24 }, (_, i) => io.writeFull(`w${i}`, `v${i}`));
  await sleep(5);
  t.ok(cluster.stats().opsWaiting > 0, 'callers queued');
  t.ok(cluster.stats().opsInFlight <= 4);
  await Promise.all(writes);
  t.ok(peak <= 4, `at most 4 ops at the OSDs at once (peak ${peak})`);
  t.equal(cluster.stats().opsInFlight, 0, 'window empty afterwards');
  for (const o of fc.osds) o.onOp = null;
  for (let i = 0; i < 24; i++) t.equal((await io.read(`w${i}`)).toString(), `v${i}`);
});

t.test('window wait counts toward the op deadline', async (t) => {
  const { fc, io } = await rig(t, {}, { opsInFlightMax: 1 });
  for (const o of fc.osds) o.onOp = () => 'hold';
  const first = io.writeFull('a', 'x', { timeoutMs: 400 }).catch((e: unknown) => e);
  const e = await errOf(io.writeFull('b', 'x', { timeoutMs: 150 }));
  t.equal(e.code, 'ETIMEDOUT');
  t.match(e.message, /no slot in the in-flight window within 150 ms/);
  for (const o of fc.osds) o.onOp = null;
  await first;
});

t.test('errors from the OSD come back with their code', async (t) => {
  const { fc, io } = await rig(t);
  for (const code of ['EIO', 'ENOSPC', 'EPERM', 'EINVAL'] as const) {
    const primary = io.objectLocation(`e-${code}`).actingPrimary;
    fc.osds[primary]!.onOp = () => new NacreError(`injected ${code}`, { code });
    const e = await errOf(io.writeFull(`e-${code}`, 'x'));
    t.equal(e.code, code);
    t.match(e.message, new RegExp(`^write_full 'e-${code}' in pool rbd: injected ${code}`));
    fc.osds[primary]!.onOp = null;
  }
});

t.test('close(): ops in flight and waiting fail with ESHUTDOWN', async (t) => {
  const { fc, io, cluster } = await rig(t);
  for (const o of fc.osds) o.onOp = () => 'hold';
  const p = io.writeFull('z', 'x');
  await waitFor(() => fc.opLog.length > 0, 'op sent');
  await cluster.close();
  t.equal(await codeOf(p), 'ESHUTDOWN');
  t.equal(await codeOf(io.read('z')), 'ESHUTDOWN');
  t.throws(() => cluster.osdmap, { code: 'ESHUTDOWN' });
});

t.test('monitor failover does not disturb the data path', async (t) => {
  const { fc, io, cluster } = await rig(t, { mons: 3 });
  await io.writeFull('m', '1');
  const session = cluster.monClient.sessionInfo!;
  await fc.monitors.find((m) => m.address === session.addr)!.stop();
  const loc = io.objectLocation('m');
  movePrimary(fc, loc.pgid);
  await io.writeFull('m', '2');
  t.equal((await io.read('m')).toString(), '2');
  t.not(cluster.monClient.sessionInfo?.addr, session.addr);
});

t.test('another daemon answers at the old primary address: wait for the map, then succeed', async (t) => {
  const { fc, io } = await rig(t, {}, { osdConnectAttemptsMax: 1 });
  await io.writeFull('imp', 'v1');
  const loc = io.objectLocation('imp');
  const victim = loc.actingPrimary;
  const addr = fc.osds[victim]!.address;
  await fc.killOsd(victim, { markDown: false });
  const other = (victim + 1) % fc.osds.length;
  const impostor = createMessenger({ entity: `osd.${other}`, keyring: fc.keyring, listen: addr }, { env: fc.env, transport: fc.clientTransport()! });
  await impostor.start();
  t.teardown(() => impostor.stop());
  const p = io.writeFull('imp', 'v2');
  await sleep(150);
  fc.commit({ osdStates: [{ id: victim, up: false, downAt: fc.mon.epoch + 1 }] });
  await p;
  t.equal((await io.read('imp')).toString(), 'v2');
});
