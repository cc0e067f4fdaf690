/**
 * A virtual clock and timers (DESIGN §3): nothing happens until the test advances time, and then
 * timers fire in deadline order (ties in creation order), so a run driven by a seeded PRNG is
 * exactly reproducible. Pairs with MemoryNetwork for messenger tests without wall-clock waits.
 *
 * ```ts
 * const vt = new VirtualTime();
 * const env = { clock: vt.clock, timers: vt, random: new Prng(seed), logger };
 * const net = new MemoryNetwork({ timers: vt });
 * await vt.run(100);   // advance 100 virtual ms, running every timer (and the promises they settle)
 * ```
 */
import type { Clock, TimerHandle, Timers } from '@nacre/util';

interface Entry {
  dueMs: number;
  seq: number;
  fn: () => void;
  periodMs: number | null;
  live: boolean;
}

/** Timers one VirtualTime holds at once (a runaway test fails instead of eating memory). */
const timersMax = 1_000_000;

export class VirtualTime implements Timers {
  private nowMs = 0;
  private seq = 0;
  private readonly entries = new Set<Entry>();

  readonly clock: Clock = {
    monotonicMs: () => this.nowMs,
    wallMs: () => 1_700_000_000_000 + this.nowMs,
  };

  get now(): number {
    return this.nowMs;
  }

  /** Timers not yet fired (timeouts) or not cancelled (intervals). */
  get pending(): number {
    return this.entries.size;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.add(fn, delayMs, null);
  }

  setInterval(fn: () => void, periodMs: number): TimerHandle {
    return this.add(fn, periodMs, Math.max(1, periodMs));
  }

  private add(fn: () => void, delayMs: number, periodMs: number | null): TimerHandle {
    if (this.entries.size >= timersMax) throw new Error(`VirtualTime: more than ${timersMax} timers`);
    const entry: Entry = { dueMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn, periodMs, live: true };
    this.entries.add(entry);
    return {
      cancel: () => {
        entry.live = false;
        this.entries.delete(entry);
      },
    };
  }

  /**
   * Advance by `ms`: repeatedly let pending promise callbacks and I/O settle, then fire the
   * earliest due timer, until no timer is due within the window; the clock ends at now + ms.
   */
  async run(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    for (;;) {
      await settle();
      const next = this.earliest();
      if (next === null || next.dueMs > endMs) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      if (next.periodMs === null) this.entries.delete(next);
      else next.dueMs += next.periodMs;
      next.fn();
    }
    this.nowMs = endMs;
    await settle();
  }

  private earliest(): Entry | null {
    let best: Entry | null = null;
    for (const e of this.entries) {
      if (best === null || e.dueMs < best.dueMs || (e.dueMs === best.dueMs && e.seq < best.seq)) best = e;
    }
    return best;
  }
}

/** Let microtasks (promise continuations) and already-queued immediates run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
