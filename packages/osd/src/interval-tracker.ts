/**
 * A PG's intervals as this OSD saw them, built epoch by epoch from the maps it processed (and,
 * when the PG is first instantiated here, from its map history). Runs of contiguous epochs are
 * kept apart: a full map after a gap starts a new run whose first interval is cut (its true start
 * is unknown), and the last interval before the gap is cut at its end.
 */
import { assert } from '@nacre/util';
import { closeInterval, isNewInterval, type IntervalReport, type PastInterval, type PgEpochView } from './past-intervals.js';

interface Run {
  from: number;
  closed: PastInterval[];
  curFirst: PgEpochView;
  curLast: PgEpochView;
  startCut: boolean;
}

/** Closed intervals kept per PG (older ones are dropped with a gap; peering then stays conservative). */
export const trackedIntervalsMax = 2000;

export class IntervalTracker {
  private runs: Run[] = [];

  get lastEpoch(): number {
    return this.runs.length === 0 ? 0 : this.runs[this.runs.length - 1]!.curLast.epoch;
  }

  /** First epoch of the current interval (as far as this OSD knows). */
  get sameIntervalSince(): number {
    const r = this.runs[this.runs.length - 1];
    return r === undefined ? 0 : r.curFirst.epoch;
  }

  get current(): PgEpochView | null {
    return this.runs[this.runs.length - 1]?.curLast ?? null;
  }

  /** Add the next epoch's view; true if it starts a new interval (or the first one known). */
  add(view: PgEpochView): boolean {
    const run = this.runs[this.runs.length - 1];
    if (run === undefined || view.epoch !== run.curLast.epoch + 1) {
      // A gap: the old run keeps its open interval (reported as cut at its end).
      if (run !== undefined) assert(view.epoch > run.curLast.epoch, 'epochs only go up');
      this.runs.push({ from: view.epoch, closed: [], curFirst: view, curLast: view, startCut: true });
      this.bound();
      return true;
    }
    if (isNewInterval(run.curLast, view)) {
      run.closed.push(closeInterval(run.curFirst, run.curLast, run.startCut && run.closed.length === 0));
      run.curFirst = view;
      run.curLast = view;
      this.bound();
      return true;
    }
    run.curLast = view;
    return false;
  }

  /** Reports covering epochs up to `toEpoch` (past intervals only: the current one is excluded). */
  reports(fromEpoch: number, toEpoch: number): IntervalReport[] {
    const out: IntervalReport[] = [];
    for (let i = 0; i < this.runs.length; i++) {
      const r = this.runs[i]!;
      const last = i === this.runs.length - 1;
      const runTo = Math.min(toEpoch, last ? r.curFirst.epoch - 1 : r.curLast.epoch);
      const runFrom = Math.max(fromEpoch, r.from);
      if (runFrom > runTo) continue;
      const intervals = r.closed.filter((iv) => iv.last >= runFrom && iv.first <= runTo);
      if (!last) intervals.push(closeInterval(r.curFirst, r.curLast, true));
      out.push({ fromEpoch: runFrom, toEpoch: runTo, intervals });
    }
    return out;
  }

  /** Forget intervals that end before `epoch` (they precede the last activation). */
  trimBefore(epoch: number): void {
    for (const r of this.runs) r.closed = r.closed.filter((iv) => iv.last >= epoch);
    this.runs = this.runs.filter((r, i) => i === this.runs.length - 1 || r.curLast.epoch >= epoch || r.closed.length > 0);
  }

  private bound(): void {
    let total = 0;
    for (const r of this.runs) total += r.closed.length;
    while (total > trackedIntervalsMax && this.runs.length > 0) {
      const r = this.runs[0]!;
      if (r.closed.length > 0) {
        r.closed.shift();
        r.from = r.closed[0]?.first ?? r.curFirst.epoch;
        r.startCut = true;
        total--;
      } else if (this.runs.length > 1) {
        this.runs.shift();
      } else {
        break;
      }
    }
  }
}
