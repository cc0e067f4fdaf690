/**
 * The timers one connection (or the messenger) owns, on top of the injected Env timers. Closing
 * the owner cancels them all, so no timer outlives a connection; `size` feeds the leak checks in
 * stats() and the tests.
 */
import type { TimerHandle, Timers } from '@nacre/util';

export class TimerSet {
  private readonly active = new Set<TimerHandle>();

  constructor(private readonly timers: Timers) {}

  get size(): number {
    return this.active.size;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const entry: TimerHandle = {
      cancel: () => {
        if (this.active.delete(entry)) inner.cancel();
      },
    };
    const inner = this.timers.setTimeout(() => {
      if (!this.active.delete(entry)) return;
      fn();
    }, delayMs);
    this.active.add(entry);
    return entry;
  }

  setInterval(fn: () => void, periodMs: number): TimerHandle {
    const entry: TimerHandle = {
      cancel: () => {
        if (this.active.delete(entry)) inner.cancel();
      },
    };
    const inner = this.timers.setInterval(() => {
      if (this.active.has(entry)) fn();
    }, periodMs);
    this.active.add(entry);
    return entry;
  }

  cancelAll(): void {
    for (const entry of [...this.active]) entry.cancel();
  }
}
