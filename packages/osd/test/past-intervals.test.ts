/**
 * Past intervals and the prior set: which intervals may have accepted writes (up_thru rule),
 * whom peering must hear from, when it must wait (Down), and how history gaps are treated.
 */
import t from 'tap';
import { IntervalTracker, buildPriorSet, coverageGaps, intervalsFromViews, type PgEpochView, type IntervalReport } from '@nacre/osd';

function v(epoch: number, acting: number[], opts: { upThru?: number; upFrom?: number; minSize?: number } = {}): PgEpochView {
  return {
    epoch, up: acting, acting, upPrimary: acting[0] ?? -1, primary: acting[0] ?? -1, size: 3, minSize: opts.minSize ?? 2,
    primaryUpThru: opts.upThru ?? 0, primaryUpFrom: opts.upFrom ?? 1,
  };
}

t.test('an interval went read-write only if its primary got up_thru recorded within it', async (t) => {
  const views = [v(5, [0, 1, 2], { upThru: 0 }), v(6, [0, 1, 2], { upThru: 6 }), v(7, [1, 2], { upThru: 6 }), v(8, [1, 2], { upThru: 6 }), v(9, [1], { upThru: 9 })];
  const ivs = intervalsFromViews(views, { startCut: false, endCut: false });
  t.same(ivs.map((i) => [i.first, i.last, i.acting, i.maybeWentRw]), [
    [5, 6, [0, 1, 2], true],
    [7, 8, [1, 2], false],
    [9, 9, [1], false],
  ], 'osd.0 recorded up_thru 6 ≥ 5; osd.1 only 6 < 7; [1] is below min_size');
  const cut = intervalsFromViews([v(7, [1, 2], { upThru: 0 })], { startCut: true, endCut: false });
  t.equal(cut[0]!.maybeWentRw, true, 'an interval whose start we never saw is assumed read-write');
  const rebooted = intervalsFromViews([v(5, [0, 1], { upThru: 9, upFrom: 8 })], { startCut: false, endCut: false });
  t.equal(rebooted[0]!.maybeWentRw, false, 'up_thru of a later incarnation (up_from after the interval) does not count');
});

const iv = (first: number, last: number, acting: number[], rw = true) => ({ first, last, up: acting, acting, primary: acting[0]!, maybeWentRw: rw });
const rep = (from: number, to: number, intervals: ReturnType<typeof iv>[]): IntervalReport => ({ fromEpoch: from, toEpoch: to, intervals });

t.test('prior set: probe members of rw intervals; block only when none of an interval is up', async (t) => {
  const upThru = new Map([[0, 5], [1, 7], [2, 0], [3, 0]]);
  const reports = [rep(1, 9, [iv(3, 6, [0, 1, 2]), iv(7, 9, [1, 2])])];
  // osd.0 (primary of the first interval) died; osd.1 becomes primary of [1, 2] at epoch 10.
  const ps = buildPriorSet({ lastEpochStarted: 3, sameIntervalSince: 10, reports, isUp: (o) => o !== 0, upThru, up: [1, 2], acting: [1, 2] });
  t.same(ps.probe, [1, 2]);
  t.same(ps.blockedBy, [], 'osd.1 and osd.2 saw every write of both intervals');
  const allGone = buildPriorSet({ lastEpochStarted: 3, sameIntervalSince: 10, reports, isUp: (o) => o === 3, upThru, up: [3], acting: [3] });
  t.same(allGone.blockedBy, [0, 1, 2], 'no member of the rw intervals is up: Down');
  const nonRw = buildPriorSet({ lastEpochStarted: 3, sameIntervalSince: 10, reports: [rep(1, 9, [iv(3, 9, [0, 1], false)])], isUp: (o) => o >= 2, upThru, up: [2, 3], acting: [2, 3] });
  t.same(nonRw.blockedBy, [], 'an interval that never went rw cannot hold writes');
  const afterLes = buildPriorSet({ lastEpochStarted: 8, sameIntervalSince: 10, reports: [rep(1, 9, [iv(3, 6, [0]), iv(7, 9, [1, 2])])], isUp: (o) => o !== 0, upThru, up: [1, 2], acting: [1, 2] });
  t.same(afterLes.blockedBy, [], 'intervals ending before the last activation are irrelevant');
});

t.test('history gaps: every OSD whose up_thru reaches into the gap must be heard', async (t) => {
  t.same(coverageGaps(1, 20, [rep(5, 9, []), rep(8, 15, [])]), [[1, 4], [16, 20]]);
  const upThru = new Map([[0, 0], [1, 3], [2, 12], [3, 0]]);
  const ps = buildPriorSet({ lastEpochStarted: 0, sameIntervalSince: 21, reports: [rep(5, 20, [])], isUp: () => true, upThru, up: [3], acting: [3] });
  t.same(ps.gaps, [[1, 4]]);
  t.same(ps.probe, [1, 2, 3], 'osd.1 and osd.2 may have been primaries in epochs 1..4');
  const down = buildPriorSet({ lastEpochStarted: 0, sameIntervalSince: 21, reports: [rep(5, 20, [])], isUp: (o) => o !== 2, upThru, up: [3], acting: [3] });
  t.same(down.blockedBy, [2], 'one of them is down: wait');
  const fresh = buildPriorSet({ lastEpochStarted: 0, sameIntervalSince: 21, reports: [rep(5, 20, [])], isUp: (o) => o === 3, upThru: new Map([[0, 0], [1, 0], [2, 0], [3, 0]]), up: [3], acting: [3] });
  t.same(fresh.blockedBy, [], 'a fresh cluster (no up_thru anywhere) has nothing to fear from the gap');
});

t.test('interval tracker: runs, cut edges, reports exclude the current interval', async (t) => {
  const tr = new IntervalTracker();
  t.equal(tr.add(v(5, [0, 1, 2], { upThru: 5 })), true, 'first view starts an interval');
  t.equal(tr.add(v(6, [0, 1, 2], { upThru: 5 })), false);
  t.equal(tr.add(v(7, [1, 2], { upThru: 7 })), true);
  t.equal(tr.sameIntervalSince, 7);
  let r = tr.reports(1, 6);
  t.same(r.map((x) => [x.fromEpoch, x.toEpoch, x.intervals.map((i) => [i.first, i.last, i.maybeWentRw])]), [[5, 6, [[5, 6, true]]]], 'the first interval is cut at its start: treated as rw');
  t.equal(tr.add(v(12, [1, 2, 0], { upThru: 7 })), true, 'a gap starts a new run');
  t.equal(tr.sameIntervalSince, 12);
  r = tr.reports(1, 11);
  t.same(r.map((x) => [x.fromEpoch, x.toEpoch]), [[5, 7]], 'the old run reported with its open end');
  t.same(r[0]!.intervals.map((i) => [i.first, i.last, i.maybeWentRw]), [[5, 6, true], [7, 7, true]]);
  tr.trimBefore(7);
  t.same(tr.reports(1, 11)[0]!.intervals.map((i) => i.first), [7], 'intervals before the last activation go');
});
