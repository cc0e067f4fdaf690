/**
 * A deterministic priority queue of timed events for discrete-event simulation: earliest time
 * first, and among equal times the one scheduled first (a sequence number breaks ties, so a run
 * never depends on heap internals).
 */
import { assert } from '@nacre/util';

interface Entry<T> { atMs: number; seq: number; item: T }

/** Pending events in one simulation; a run that needs more has a runaway feedback loop. */
export const SIM_EVENTS_QUEUED_MAX = 2_000_000;

export class EventQueue<T> {
  private heap: Array<Entry<T>> = [];
  private seqNext = 0;

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, item: T): void {
    assert(Number.isFinite(atMs), 'event time must be finite');
    assert(this.heap.length < SIM_EVENTS_QUEUED_MAX, 'simulation event queue bound exceeded');
    const e: Entry<T> = { atMs, seq: this.seqNext++, item };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peekTime(): number | undefined {
    return this.heap[0]?.atMs;
  }

  pop(): { atMs: number; item: T } | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return { atMs: top.atMs, item: top.item };
  }
}

function less<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
