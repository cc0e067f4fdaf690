/**
 * The in-flight window: at most `opsMax` operations and `bytesMax` payload bytes outstanding.
 * Callers beyond it wait in FIFO order (a big op is not overtaken forever by small ones); an op
 * larger than bytesMax is admitted when the window is empty, so it cannot deadlock.
 */
import { NacreError, type TimerHandle, type Timers } from '@nacre/util';

interface WindowWaiter {
  bytes: number;
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  timer: TimerHandle | null;
}

export interface WindowStats {
  ops: number;
  bytes: number;
  waiting: number;
}

export class OpWindow {
  private ops = 0;
  private bytes = 0;
  private readonly waiters: WindowWaiter[] = [];
  private closed: NacreError | null = null;

  constructor(
    private readonly opsMax: number,
    private readonly bytesMax: number,
    private readonly waitersMax: number,
    private readonly timers: Timers,
  ) {}

  stats(): WindowStats {
    return { ops: this.ops, bytes: this.bytes, waiting: this.waiters.length };
  }

  /**
   * Take a slot for an op of `bytes`; resolves with the function that gives it back (call it once).
   * Rejects with ETIMEDOUT if no slot frees up within `timeoutMs`.
   */
  acquire(bytes: number, timeoutMs: number): Promise<() => void> {
    if (this.closed !== null) return Promise.reject(this.closed);
    if (this.waiters.length === 0 && this.fits(bytes)) return Promise.resolve(this.take(bytes));
    if (this.waiters.length >= this.waitersMax) {
      return Promise.reject(new NacreError(`too many operations waiting for the in-flight window (opWaitersMax=${this.waitersMax})`, { code: 'EAGAIN' }));
    }
    return new Promise((resolve, reject) => {
      const w: WindowWaiter = { bytes, resolve, reject, timer: null };
      w.timer = this.timers.setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new NacreError(
          `no slot in the in-flight window within ${timeoutMs} ms (${this.ops}/${this.opsMax} ops, ${this.bytes}/${this.bytesMax} bytes in flight)`,
          { code: 'ETIMEDOUT' },
        ));
        this.admit();
      }, Math.max(1, Math.ceil(timeoutMs)));
      this.waiters.push(w);
    });
  }

  /** Fail every waiter (the client is closing). */
  close(err: NacreError): void {
    this.closed = err;
    for (const w of this.waiters.splice(0)) {
      w.timer?.cancel();
      w.reject(err);
    }
  }

  private fits(bytes: number): boolean {
    if (this.ops >= this.opsMax) return false;
    return this.ops === 0 || this.bytes + bytes <= this.bytesMax;
  }

  private take(bytes: number): () => void {
    this.ops++;
    this.bytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.ops--;
      this.bytes -= bytes;
      this.admit();
    };
  }

  private admit(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      w.timer?.cancel();
      w.resolve(this.take(w.bytes));
    }
  }
}
