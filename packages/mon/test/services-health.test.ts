/**
 * PG statistics aggregation, health checks as the cluster changes, and the status / df reports
 * built from them.
 */
import t from 'tap';
import { PgStatsAggregator, handleCommand, healthChecks, statusReport, type PgSummary } from '@nacre/mon';
import type { PgStat, PgStatsReport } from '@nacre/proto';
import { Cluster } from './services-helpers.js';

const GiB = 1024 ** 3;

function pgs(pool: number, count: number, state: string[], objects = 1, bytes = 1000): PgStat[] {
  return Array.from({ length: count }, (_, s) => ({ pgid: `${pool}.${s.toString(16)}`, state, objects, bytes, lastUpdate: "5'1" }));
}

function report(osd: number, epoch: number, list: PgStat[], allocatedBytes = 0): PgStatsReport {
  return { osd, epoch, pgs: list, statfs: { capacityBytes: 10 * GiB, allocatedBytes, storedBytes: allocatedBytes, objects: list.length } };
}

t.test('PG stats: latest report per OSD, newest epoch wins, unknown and stale PGs', async (t) => {
  const c = new Cluster();
  c.bootMany(4, 1);
  c.cmd('osd pool create', { name: 'r', pg_num: 8 });
  c.cmd('osd pool create', { name: 'e', pg_num: 4, type: 'erasure', k: 2, m: 1 });
  const agg = new PgStatsAggregator({ staleMs: 60_000 });
  const e = c.state.osdmap.epoch;
  t.ok(agg.report(report(0, e, pgs(1, 6, ['active', 'clean']), GiB), 0));
  t.ok(agg.report(report(1, e, [...pgs(2, 4, ['active', 'clean'], 2, 4000), { pgid: 'junk', state: ['active'], objects: 1, bytes: 1, lastUpdate: '' }, ...pgs(9, 2, ['active'])]), 0));
  let s = agg.summary(c.state, 1000);
  t.equal(s.total, 12);
  t.same(s.byState, { 'active+clean': 10, unknown: 2 }, 'two PGs of pool 1 unreported; junk and unknown pools ignored');
  t.same(s.pools.map((p) => [p.name, p.objects, p.storedBytes, p.allocatedBytes]), [['r', 6, 6000, 18000], ['e', 8, 16000, 24000]]);
  t.same(s.raw, { capacityBytes: 20 * GiB, allocatedBytes: GiB, storedBytes: GiB, availBytes: 19 * GiB, objects: 6 + 7 });
  // a newer report from another primary wins for the PGs it names
  agg.report(report(2, e + 1, [{ pgid: '1.0', state: ['active', 'undersized', 'degraded'], objects: 1, bytes: 1000, lastUpdate: '' }]), 2000);
  t.same(agg.summary(c.state, 2000).byState, { 'active+clean': 9, 'active+undersized+degraded': 1, unknown: 2 });
  t.notOk(agg.report(report(2, e, []), 3000), 'an older report from the same OSD is dropped');
  // stale: the reporter went down, or the report is old
  c.cmd('osd down', { ids: [1] });
  s = agg.summary(c.state, 4000);
  t.equal(s.byState['stale+active+clean'], 4);
  s = agg.summary(c.state, 100_000);
  t.equal(s.byState['stale+active+clean'], 9, 'everything older than a minute is stale');
  // removed OSDs are forgotten
  c.cmd('osd rm', { ids: [1] });
  t.equal(agg.summary(c.state, 4000).osds.length, 2);
});

function summary(byState: Record<string, number>, osds: PgSummary['osds'] = []): PgSummary {
  const total = Object.values(byState).reduce((a, b) => a + b, 0);
  return { total, byState, pools: [], raw: { capacityBytes: 0, allocatedBytes: 0, storedBytes: 0, availBytes: 0, objects: 0 }, osds };
}

t.test('health transitions', async (t) => {
  const c = new Cluster();
  const quorum = { quorumRanks: [0, 1, 2], leaderRank: 0, electionEpoch: 2 };
  const codes = (pgsSummary?: PgSummary): string[] =>
    healthChecks({ state: c.state, quorum, ...(pgsSummary ? { pgs: pgsSummary } : {}) }).checks.map((x) => x.code);
  t.same(healthChecks({ state: c.state, quorum }), { status: 'HEALTH_OK', checks: [] }, 'a new cluster with no pools is healthy');
  c.cmd('osd pool create', { name: 'rbd', pg_num: 8 });
  t.same(codes(), ['TOO_FEW_OSDS']);
  c.bootMany(6, 2);
  t.same(codes(), []);
  t.same(codes(summary({ 'active+clean': 8 })), []);
  c.cmd('osd down', { ids: [2] });
  let h = healthChecks({ state: c.state, quorum });
  t.equal(h.status, 'HEALTH_WARN');
  t.same(h.checks.map((x) => x.code), ['OSD_DOWN']);
  t.same(h.checks[0]!.detail, ['osd.2 (root=default,host=h1) is down']);
  t.match(h.checks[0]!.hint, 'start it with: nacre cluster start osd.2');
  c.cmd('osd down', { ids: [3] });
  h = healthChecks({ state: c.state, quorum });
  t.same(h.checks.map((x) => x.code), ['OSD_DOWN', 'OSD_HOST_DOWN']);
  t.equal(h.checks[0]!.summary, '2 osds down');
  t.equal(h.checks[1]!.summary, '1 host (2 osds) down');
  c.cmd('osd set', { flag: 'noout' });
  t.same(codes(), ['OSDMAP_FLAGS', 'OSD_DOWN', 'OSD_HOST_DOWN']);
  t.same(codes(summary({ 'active+undersized+degraded': 5, 'peering': 2, 'stale+active+clean': 1 })), [
    'OSDMAP_FLAGS', 'OSD_DOWN', 'OSD_HOST_DOWN', 'PG_AVAILABILITY', 'PG_DEGRADED',
  ]);
  const pa = healthChecks({ state: c.state, quorum, pgs: summary({ peering: 2, 'stale+active+clean': 1, unknown: 3 }) }).checks.find((x) => x.code === 'PG_AVAILABILITY')!;
  t.equal(pa.summary, 'Reduced data availability: 5 pgs inactive, 2 peering, 1 stale, 3 unknown');
  c.cmd('osd unset', { flag: 'noout' });
  c.boot(2, 'h1');
  c.boot(3, 'h1');
  t.same(codes(), []);
  // monitors out of quorum
  h = healthChecks({ state: c.state, quorum: { quorumRanks: [0, 2], leaderRank: 0, electionEpoch: 4 } });
  t.same(h.checks.map((x) => [x.code, x.summary]), [['MON_DOWN', '1/3 mons down, quorum a,c']]);
  // pools without redundancy
  c.cmd('osd pool create', { name: 'scratch', size: 1, pg_num: 1 });
  t.same(codes(), ['POOL_NO_REDUNDANCY']);
  c.cmd('osd pool rm', { name: 'scratch', confirm: 'scratch' });
  // fullness
  const osd = (id: number, usedFraction: number): PgSummary['osds'][number] => ({
    osd: id, receivedMs: 0, capacityBytes: 100, allocatedBytes: Math.round(usedFraction * 100), storedBytes: 0, objects: 0,
  });
  h = healthChecks({ state: c.state, quorum, pgs: summary({ 'active+clean': 8 }, [osd(0, 0.5), osd(1, 0.9), osd(2, 0.97)]) });
  t.equal(h.status, 'HEALTH_ERR');
  t.same(h.checks.map((x) => [x.code, x.severity, x.detail]), [
    ['OSD_FULL', 'HEALTH_ERR', ['osd.2 is full (97.0% used)']],
    ['OSD_NEARFULL', 'HEALTH_WARN', ['osd.1 is nearfull (90.0% used)']],
  ]);
  for (const check of h.checks) t.ok(check.hint.length > 10, `${check.code} has a hint`);
});

t.test('status and df with a PG summary', async (t) => {
  const c = new Cluster();
  c.bootMany(3, 1);
  c.cmd('osd pool create', { name: 'rbd', pg_num: 4 });
  const agg = new PgStatsAggregator();
  agg.report(report(0, c.state.osdmap.epoch, pgs(1, 4, ['active', 'clean'], 10, 4 * 1024 * 1024), 3 * GiB), 0);
  const ctx = { ...c.ctx, quorum: { quorumRanks: [0, 1, 2], leaderRank: 1, electionEpoch: 8 }, pgs: agg.summary(c.state, 0) };
  const st = statusReport(c.state, ctx);
  const d = st.data as Record<string, unknown>;
  t.match(d, {
    health: { status: 'HEALTH_OK', checks: [] }, quorum: ['a', 'b', 'c'], leader: 'b', monmap_epoch: 1, election_epoch: 8,
    osdmap: { num_osds: 3, num_up: 3, num_in: 3 }, pgs: { total: 4, by_state: { 'active+clean': 4 } },
    usage: { objects: 40, stored_bytes: 16 * 1024 * 1024, total_bytes: 10 * GiB, used_bytes: 3 * GiB },
  });
  t.same((d['pools'] as { pool_name: string }[]).map((p) => p.pool_name), ['rbd']);
  t.match(st.text, /health: HEALTH_OK/);
  t.match(st.text, /mon: 3 daemons, quorum a,b,c \(leader b\)/);
  t.match(st.text, /osd: 3 osds: 3 up, 3 in/);
  t.match(st.text, /pools: {3}1 pool, 4 pgs/);
  t.match(st.text, /objects: 40 objects, 16 MiB/);
  t.match(st.text, /usage: {3}3\.0 GiB used, 7\.0 GiB \/ 10 GiB avail/);
  t.match(st.text, /pgs: {5}4 active\+clean/);
  t.match(c.cmd('df').text, /--- RAW STORAGE ---/, 'df without statistics');
  const r = handleCommand(c.state, { prefix: 'df', args: {} }, ctx);
  t.ok(r.ok);
  if (r.ok && !r.retry) {
    t.match(r.reply.data, {
      stats: { total_bytes: 10 * GiB, total_used_bytes: 3 * GiB, total_avail_bytes: 7 * GiB, reporting_osds: 1 },
      pools: [{ name: 'rbd', stored_bytes: 16 * 1024 * 1024, objects: 40, allocated_bytes: 48 * 1024 * 1024, max_avail_bytes: Math.floor((7 * GiB) / 3) }],
    });
    t.match(r.reply.text, /POOL\s+ID\s+PGS\s+STORED\s+OBJECTS\s+USED\s+%USED\s+MAX AVAIL\nrbd\s+1\s+4\s+16 MiB\s+40\s+48 MiB/);
  }
});
