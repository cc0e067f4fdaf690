/**
 * Failure detection timelines: distinct reporters (by host), the heartbeat grace, report expiry,
 * immediate reports, ignored reports, the beacon timeout, down→out with noout and the in-ratio
 * floor, nodown, and the tunables taken from the replicated config. Time is virtual (ms).
 */
import t from 'tap';
import { FailureTracker, monServiceOptions, type FailureOptions } from '@nacre/mon';
import type { OsdFailure } from '@nacre/proto';
import { Cluster, okReply } from './services-helpers.js';

const S = 1000;

function setup(count = 8, perHost = 2, options: Partial<FailureOptions> = {}): { c: Cluster; ft: FailureTracker } {
  const c = new Cluster();
  c.bootMany(count, perHost);
  return { c, ft: new FailureTracker(0, { minInRatio: 0, ...options }) };
}

function report(target: number, failedForMs: number, c: Cluster, immediate = false): OsdFailure {
  return { target, failedForMs, epoch: c.state.osdmap.epoch, immediate };
}

/** Run the tracker's decision through a proposal, as the leader would. */
function tick(c: Cluster, ft: FailureTracker, nowMs: number): { down: number[]; out: number[] } {
  const change = ft.tick(c.state, nowMs);
  if (change === undefined) return { down: [], out: [] };
  return okReply(c.propose([change])[0]).data as { down: number[]; out: number[] };
}

t.test('two reporters on distinct hosts, after the grace', async (t) => {
  const { c, ft } = setup();
  t.ok(ft.reportFailure(c.state, 2, report(0, 25 * S, c), 1 * S), 'osd.2 (h1) reports osd.0');
  t.same(tick(c, ft, 1 * S).down, [], 'one reporter is not enough');
  t.ok(ft.reportFailure(c.state, 3, report(0, 25 * S, c), 2 * S), 'osd.3 (also h1)');
  t.same(tick(c, ft, 2 * S).down, [], 'two OSDs of one host count once');
  t.same(ft.reportersOf(0), [2, 3]);
  ft.reportFailure(c.state, 4, report(0, 25 * S, c), 3 * S);
  const evaluated = ft.evaluate(c.state, 3 * S);
  t.same(evaluated?.down, [{ osd: 0, reason: 'reports' }]);
  t.same(tick(c, ft, 3 * S).down, [0]);
  t.notOk(c.state.osdmap.osds[0]!.up);
  t.equal(c.state.osdmap.osds[0]!.downAt, c.state.osdmap.epoch);
  tick(c, ft, 4 * S);
  t.same(ft.reportersOf(0), [], 'reports dropped once it is down');
});

t.test('the grace counts from the oldest report', async (t) => {
  const { c, ft } = setup();
  ft.reportFailure(c.state, 2, report(0, 5 * S, c), 0);
  ft.reportFailure(c.state, 4, report(0, 1 * S, c), 10 * S);
  t.same(tick(c, ft, 10 * S).down, [], '15 s: within the 20 s grace');
  t.same(tick(c, ft, 14 * S).down, [], '19 s');
  ft.reportFailure(c.state, 2, report(0, 20 * S, c), 15 * S); // re-sent
  t.same(tick(c, ft, 15 * S).down, [0], '20 s after osd.2 lost it');
});

t.test('reports expire unless re-sent', async (t) => {
  const { c, ft } = setup(8, 2, { failureReportTtlMs: 40 * S });
  ft.reportFailure(c.state, 2, report(0, 0, c), 0);
  ft.reportFailure(c.state, 4, report(0, 0, c), 30 * S);
  t.same(tick(c, ft, 41 * S).down, [], "osd.2's report expired at 40 s");
  t.same(ft.reportersOf(0), [4]);
  ft.reportFailure(c.state, 6, report(0, 0, c), 42 * S);
  t.same(tick(c, ft, 50 * S).down, [0], 'two live reporters, oldest 20 s ago');
});

t.test('an immediate report (connection refused) marks down at once', async (t) => {
  const { c, ft } = setup();
  ft.reportFailure(c.state, 5, report(1, 0, c, true), 0);
  t.same(ft.evaluate(c.state, 0)?.down, [{ osd: 1, reason: 'immediate' }]);
  t.same(tick(c, ft, 0).down, [1]);
});

t.test('reports that do not count', async (t) => {
  const { c, ft } = setup();
  t.notOk(ft.reportFailure(c.state, 0, report(0, 30 * S, c, true), 0), 'about itself');
  c.cmd('osd down', { ids: [7] });
  t.notOk(ft.reportFailure(c.state, 7, report(0, 30 * S, c, true), 0), 'from a down OSD');
  t.notOk(ft.reportFailure(c.state, 1, report(7, 30 * S, c, true), 0), 'about a down OSD');
  t.notOk(ft.reportFailure(c.state, 1, report(99, 30 * S, c, true), 0), 'about no OSD');
  okReply(c.boot(7, 'h3'));
  const stale = { target: 7, failedForMs: 30 * S, epoch: c.state.osdmap.osds[7]!.upFrom - 1, immediate: true };
  t.notOk(ft.reportFailure(c.state, 1, stale, 0), 'from a map older than the target’s boot');
  t.same(tick(c, ft, 1 * S).down, []);
  // a boot clears reports
  ft.reportFailure(c.state, 2, report(0, 30 * S, c), 0);
  ft.osdBooted(0, 1 * S);
  t.same(ft.reportersOf(0), []);
  // a reporter that goes down stops counting
  ft.reportFailure(c.state, 2, report(0, 30 * S, c), 2 * S);
  ft.reportFailure(c.state, 4, report(0, 30 * S, c), 2 * S);
  c.cmd('osd down', { ids: [4] });
  t.same(tick(c, ft, 3 * S).down, [], 'osd.4 is down: one reporter left');
});

t.test('small clusters: the reporter requirement is capped by the hosts available', async (t) => {
  const { c, ft } = setup(2, 1);
  ft.reportFailure(c.state, 1, report(0, 25 * S, c), 0);
  t.same(tick(c, ft, 0).down, [0], 'the only other host suffices');
  const one = setup(3, 3);
  one.ft.reportFailure(one.c.state, 1, report(0, 25 * S, one.c), 0);
  t.same(tick(one.c, one.ft, 0).down, [0], 'one host: its other OSDs suffice');
  const byOsd = setup(4, 4, { reporterSubtreeLevel: 'osd', minDownReporters: 3 });
  byOsd.ft.reportFailure(byOsd.c.state, 1, report(0, 25 * S, byOsd.c), 0);
  byOsd.ft.reportFailure(byOsd.c.state, 2, report(0, 25 * S, byOsd.c), 0);
  t.same(tick(byOsd.c, byOsd.ft, 0).down, [], 'subtree level osd: 2 of 3');
  byOsd.ft.reportFailure(byOsd.c.state, 3, report(0, 25 * S, byOsd.c), 0);
  t.same(tick(byOsd.c, byOsd.ft, 0).down, [0]);
});

t.test('missed beacons', async (t) => {
  const { c, ft } = setup(4, 1, { reportTimeoutMs: 10 * S, downOutIntervalMs: 0 });
  for (const o of [0, 1, 2]) ft.beacon(o, 5 * S);
  t.same(tick(c, ft, 9 * S).down, []);
  const d = ft.evaluate(c.state, 10 * S);
  t.same(d?.down, [{ osd: 3, reason: 'beacon' }], 'no beacon since the tracker started 10 s ago');
  t.same(tick(c, ft, 10 * S).down, [3]);
  for (const o of [0, 1, 2]) ft.beacon(o, 12 * S);
  t.same(tick(c, ft, 21 * S).down, []);
  // a reboot restarts its beacon clock
  okReply(c.boot(3, 'h3'));
  for (const o of [0, 1, 2]) ft.beacon(o, 21 * S);
  t.same(tick(c, ft, 22 * S).down, [], 'booted (seen) at 22 s');
  for (const o of [0, 1, 2]) ft.beacon(o, 30 * S);
  t.same(tick(c, ft, 31 * S).down, []);
  t.same(tick(c, ft, 32 * S).down, [3]);
});

t.test('down → out after the interval; noout; the in-ratio floor; nodown', async (t) => {
  const { c, ft } = setup(8, 2, { downOutIntervalMs: 30 * S, reportTimeoutMs: 1e9 });
  tick(c, ft, 0);
  c.cmd('osd down', { ids: [1] });
  t.same(tick(c, ft, 1 * S).out, [], 'first seen down at 1 s');
  t.same(tick(c, ft, 30 * S).out, []);
  c.cmd('osd set', { flag: 'noout' });
  t.same(tick(c, ft, 31 * S).out, [], 'noout');
  t.equal(c.state.osdmap.osds[1]!.weight, 0x10000);
  c.cmd('osd unset', { flag: 'noout' });
  t.same(tick(c, ft, 32 * S).out, [1]);
  t.equal(c.state.osdmap.osds[1]!.weight, 0);
  t.ok(c.state.osdMeta.get(1)!.autoOut);
  t.same(tick(c, ft, 60 * S).out, [], 'already out');
  // the in-ratio floor: at most 25% out
  ft.options = { ...ft.options, minInRatio: 0.75 };
  c.cmd('osd down', { ids: [2, 3, 4] });
  tick(c, ft, 61 * S);
  t.same(tick(c, ft, 100 * S).out, [2], '8 OSDs, 0.75 in: only a second one may go out');
  // noout set between tick and proposal: the proposal re-checks
  const change = ft.tick(c.state, 100 * S);
  c.cmd('osd set', { flag: 'noout' });
  if (change !== undefined) t.same(okReply(c.propose([change])[0]).data, { down: [], out: [] });
  c.cmd('osd unset', { flag: 'noout' });
  // nodown
  c.cmd('osd set', { flag: 'nodown' });
  ft.reportFailure(c.state, 7, report(5, 0, c, true), 101 * S);
  t.same(ft.evaluate(c.state, 101 * S)?.down ?? [], [], 'nodown');
  c.cmd('osd unset', { flag: 'nodown' });
  t.same(tick(c, ft, 101 * S).down, [5]);
});

t.test('a new leader starts its clocks afresh', async (t) => {
  const { c, ft } = setup(4, 1, { downOutIntervalMs: 30 * S });
  c.cmd('osd down', { ids: [0] });
  tick(c, ft, 0);
  const fresh = new FailureTracker(25 * S, { downOutIntervalMs: 30 * S, minInRatio: 0 });
  t.same(tick(c, fresh, 31 * S).out, [], 'the new tracker counts from its start at 25 s');
  t.same(tick(c, fresh, 54 * S).out, []);
  t.same(tick(c, fresh, 55 * S).out, [0]);
});

t.test('options from the replicated config', async (t) => {
  const c = new Cluster();
  t.same(monServiceOptions(c.state), {
    minDownReporters: 2, reporterSubtreeLevel: 'host', heartbeatGraceMs: 20_000, failureReportTtlMs: 40_000, reportTimeoutMs: 900_000,
    downOutIntervalMs: 600_000, minInRatio: 0.75, nearfullRatio: 0.85, fullRatio: 0.95,
  });
  c.cmd('config set', { who: 'global', key: 'mon_osd_down_out_interval', value: '60' });
  c.cmd('config set', { who: 'mon', key: 'mon_osd_down_out_interval', value: '5' });
  c.cmd('config set', { who: 'mon', key: 'osd_heartbeat_grace', value: '2.5' });
  c.cmd('config set', { who: 'mon', key: 'mon_osd_reporter_subtree_level', value: 'rack' });
  const o = monServiceOptions(c.state, { minDownReporters: 1, downOutIntervalMs: 1 });
  t.match(o, { downOutIntervalMs: 5000, heartbeatGraceMs: 2500, reporterSubtreeLevel: 'rack', minDownReporters: 1 });
});

t.test('reports about an OSD that came back with a new up_from are dropped', async (t) => {
  const { c, ft } = setup();
  ft.reportFailure(c.state, 2, report(0, 25 * S, c), 0);
  tick(c, ft, 0);
  // restarted while still marked up: down, then up in a later epoch (as the boot path does)
  okReply(c.boot(0, 'h0', { bootId: 'second-run' }));
  t.same(ft.reportersOf(0), [2], 'not seen yet');
  ft.reportFailure(c.state, 4, { target: 0, failedForMs: 25 * S, epoch: c.state.osdmap.osds[0]!.upFrom - 1, immediate: false }, 1 * S);
  t.same(tick(c, ft, 1 * S).down, [], 'old and stale reports do not add up');
  t.same(ft.reportersOf(0), []);
});
