/**
 * Past intervals and the prior set (pure).
 *
 * An interval is a run of map epochs in which a PG's up set, acting set and primaries (and the
 * pool's size/min_size) stay the same. Writes can only have happened in an interval that went
 * active. A primary activates only after the monitor recorded its `up_thru` ≥ the interval's first
 * epoch in a map of that same interval (WaitUpThru), so an interval "maybe went read-write" only if
 *
 *     acting.length ≥ min_size  and  the primary's up_thru ≥ first  and  up_from ≤ first
 *
 * in the interval's last map (Ceph PastIntervals::check_new_interval). Every write of such an
 * interval is on every acting OSD of it, so peering must hear from at least one of them — for each
 * such interval since the newest activation anyone reports (last_epoch_started). If none of an
 * interval's OSDs is up, the PG goes Down and waits.
 *
 * Epochs nobody we heard from has a map for (history gaps, e.g. before this OSD first booted) are
 * handled conservatively: an interval that began inside a gap and went read-write had a primary
 * whose up_thru (monotonic) is now ≥ the gap's first epoch; every such OSD must be probed, and if
 * one is down the PG waits. Intervals cut by the edge of a known range are treated as maybe
 * read-write whenever their acting set was large enough.
 */
import { assert } from '@nacre/util';

/** One epoch of a PG's placement, as computed from that epoch's map. */
export interface PgEpochView {
  epoch: number;
  up: readonly number[];
  acting: readonly number[];
  upPrimary: number;
  primary: number;
  size: number;
  minSize: number;
  /** The acting primary's up_thru and up_from in this epoch's map (0 if there is no primary). */
  primaryUpThru: number;
  primaryUpFrom: number;
  /**
   * up_from of each up and acting OSD (same order as `up` then `acting`; optional for callers that
   * do not track restarts): an OSD that restarted between two epochs without being marked down in
   * between is a new incarnation, so the interval changes for everyone.
   */
  upFroms?: readonly number[];
}

export interface PastInterval {
  first: number;
  last: number;
  up: number[];
  acting: number[];
  primary: number;
  maybeWentRw: boolean;
}

/** Intervals known to one OSD over a contiguous epoch range [fromEpoch, toEpoch]. */
export interface IntervalReport {
  fromEpoch: number;
  toEpoch: number;
  intervals: PastInterval[];
}

function sameArray(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Does the step from `prev` to `next` start a new interval? */
export function isNewInterval(prev: PgEpochView, next: PgEpochView): boolean {
  return !sameArray(prev.up, next.up) || !sameArray(prev.acting, next.acting) || prev.primary !== next.primary
    || prev.upPrimary !== next.upPrimary || prev.size !== next.size || prev.minSize !== next.minSize
    || !sameArray(prev.upFroms ?? [], next.upFroms ?? []);
}

/**
 * Group consecutive epoch views into intervals. `startCut`: the first view is not the real start of
 * its interval; `endCut`: the last view is not the real end. Cut intervals are judged conservatively.
 */
export function intervalsFromViews(views: readonly PgEpochView[], opts: { startCut: boolean; endCut: boolean }): PastInterval[] {
  const out: PastInterval[] = [];
  let start = 0;
  for (let i = 1; i <= views.length; i++) {
    if (i < views.length) assert(views[i]!.epoch === views[i - 1]!.epoch + 1, 'epoch views must be contiguous');
    if (i < views.length && !isNewInterval(views[i - 1]!, views[i]!)) continue;
    const cut = (start === 0 && opts.startCut) || (i === views.length && opts.endCut);
    out.push(closeInterval(views[start]!, views[i - 1]!, cut));
    start = i;
  }
  return out;
}

/**
 * The interval from view `first` to view `last` (same placement). `cut`: one of its ends is not
 * known (an edge of a history run), so up_thru cannot be trusted and it counts as read-write if its
 * acting set was large enough.
 */
export function closeInterval(first: PgEpochView, last: PgEpochView, cut: boolean): PastInterval {
  const bigEnough = first.acting.length >= first.minSize && first.primary >= 0 && first.acting.length > 0;
  const rw = bigEnough && (cut || (last.primaryUpThru >= first.epoch && last.primaryUpFrom <= first.epoch));
  return { first: first.epoch, last: last.epoch, up: [...first.up], acting: [...first.acting], primary: first.primary, maybeWentRw: rw };
}

export interface PriorSetInput {
  /** Newest activation epoch anyone reported (intervals ending before it are irrelevant). */
  lastEpochStarted: number;
  /** First epoch of the current interval: past intervals end before it. */
  sameIntervalSince: number;
  reports: readonly IntervalReport[];
  /** The current map: who is up, and up_thru of every existing OSD. */
  isUp: (osd: number) => boolean;
  upThru: ReadonlyMap<number, number>;
  /** Current up and acting sets (always probed). */
  up: readonly number[];
  acting: readonly number[];
}

export interface PriorSet {
  /** OSDs to query (up now). */
  probe: number[];
  /** Down OSDs that may hold acknowledged writes nobody else can vouch for (non-empty → Down). */
  blockedBy: number[];
  /** The read-write intervals considered (for logs and tests). */
  rwIntervals: PastInterval[];
  /** Epoch ranges no report covers. */
  gaps: Array<[number, number]>;
}

export function coverageGaps(from: number, to: number, reports: readonly IntervalReport[]): Array<[number, number]> {
  if (from > to) return [];
  const ranges = reports.map((r) => [Math.max(r.fromEpoch, from), Math.min(r.toEpoch, to)] as [number, number]).filter(([a, b]) => a <= b);
  ranges.sort((x, y) => x[0] - y[0]);
  const gaps: Array<[number, number]> = [];
  let next = from;
  for (const [a, b] of ranges) {
    if (a > next) gaps.push([next, a - 1]);
    next = Math.max(next, b + 1);
  }
  if (next <= to) gaps.push([next, to]);
  return gaps;
}

export function buildPriorSet(input: PriorSetInput): PriorSet {
  const from = Math.max(1, input.lastEpochStarted);
  const to = input.sameIntervalSince - 1;
  const probe = new Set<number>();
  const blocked = new Set<number>();
  for (const o of [...input.up, ...input.acting]) if (o >= 0 && input.isUp(o)) probe.add(o);
  const rwIntervals: PastInterval[] = [];
  for (const r of input.reports) {
    for (const iv of r.intervals) {
      if (!iv.maybeWentRw || iv.last < from || iv.first > to) continue;
      rwIntervals.push(iv);
      const upMembers = iv.acting.filter((o) => o >= 0 && input.isUp(o));
      for (const o of upMembers) probe.add(o);
      if (upMembers.length === 0) for (const o of iv.acting) if (o >= 0) blocked.add(o);
    }
  }
  const gaps = coverageGaps(from, to, input.reports);
  for (const [g1] of gaps) {
    for (const [osd, upThru] of input.upThru) {
      if (upThru < g1) continue;
      if (input.isUp(osd)) probe.add(osd);
      else blocked.add(osd);
    }
  }
  return { probe: [...probe].sort((a, b) => a - b), blockedBy: [...blocked].sort((a, b) => a - b), rwIntervals, gaps };
}
