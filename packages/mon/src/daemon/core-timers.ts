/**
 * The core's named timers on the injected `Timers` (real Node timers in production, virtual ones
 * in a simulation). At most one timer per name runs: `set` replaces, `cancel` stops. A firing
 * carries the token of the `setTimer` effect that armed it; the core ignores stale tokens, so a
 * firing racing a replacement is harmless (docs/paxos.md §1, driver contract point 3).
 */
import type { TimerHandle, Timers } from '@nacre/util';
import type { TimerName } from '../paxos/types.js';

export type TimerFired = (timer: TimerName, token: number) => void;

export class CoreTimers {
  private readonly running = new Map<TimerName, TimerHandle>();
  private readonly tokens = new Map<TimerName, number>();
  private stopped = false;

  constructor(private readonly timers: Timers, private readonly fired: TimerFired) {}

  set(timer: TimerName, token: number, delayMs: number): void {
    if (this.stopped) return;
    this.running.get(timer)?.cancel();
    const handle = this.timers.setTimeout(() => {
      if (this.running.get(timer) === handle) {
        this.running.delete(timer);
        this.tokens.delete(timer);
      }
      if (!this.stopped) this.fired(timer, token);
    }, Math.max(0, delayMs));
    this.running.set(timer, handle);
    this.tokens.set(timer, token);
  }

  cancel(timer: TimerName): void {
    this.running.get(timer)?.cancel();
    this.running.delete(timer);
    this.tokens.delete(timer);
  }

  armed(timer: TimerName): boolean {
    return this.running.has(timer);
  }

  /**
   * Fire an armed timer now (the driver learned early that what it waits for will not come, e.g.
   * the leader's process is gone). The core treats an early firing like a late one — its contract
   * says spurious firings are harmless — so this only shortens failover, never touches safety.
   */
  fireNow(timer: TimerName): boolean {
    const token = this.tokens.get(timer);
    if (token === undefined || this.stopped) return false;
    this.cancel(timer);
    this.fired(timer, token);
    return true;
  }

  /** Timers armed now (the core has seven names, so this is at most seven). */
  get count(): number {
    return this.running.size;
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.running.values()) h.cancel();
    this.running.clear();
    this.tokens.clear();
  }
}
