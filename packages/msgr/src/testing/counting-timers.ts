/**
 * Timers that count what is outstanding, for leak checks: wrap the real (or simulated) timers and
 * compare `active` with the baseline once the work is done.
 */
import { realTimers, type TimerHandle, type Timers } from '@nacre/util';

export class CountingTimers implements Timers {
  private readonly live = new Set<object>();
  /** Timers created so far (for "something was scheduled" checks). */
  created = 0;

  constructor(private readonly inner: Timers = realTimers) {}

  /** Timeouts not yet fired or cancelled, plus intervals not cancelled. */
  get active(): number {
    return this.live.size;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const token = {};
    this.created++;
    this.live.add(token);
    const h = this.inner.setTimeout(() => {
      this.live.delete(token);
      fn();
    }, delayMs);
    return {
      cancel: () => {
        this.live.delete(token);
        h.cancel();
      },
    };
  }

  setInterval(fn: () => void, periodMs: number): TimerHandle {
    const token = {};
    this.created++;
    this.live.add(token);
    const h = this.inner.setInterval(fn, periodMs);
    return {
      cancel: () => {
        this.live.delete(token);
        h.cancel();
      },
    };
  }
}
