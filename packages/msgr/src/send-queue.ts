/**
 * A connection's outgoing frames that are not yet handed to the transport, in send order.
 *
 * Two bounded stages keep memory bounded without reordering: `queue` holds admitted frames
 * (≤ bytesMax and ≤ framesMax, except that one frame always fits into an empty queue), `waiters`
 * holds frames whose senders await admission (≤ waitersMax, beyond which offer() refuses with
 * EAGAIN). Waiters are admitted strictly first-come-first-served, so a small frame never overtakes
 * a big one that is waiting: per-connection order is the order of send()/request() calls.
 */
import { NacreError, assert } from '@nacre/util';

export interface OutFrame {
  /** The msgpack frame. */
  head: Buffer;
  /** Raw attachments sent right after the head (see @nacre/proto frame.ts), or null. */
  attachments: Buffer[] | null;
  /** head + attachments: what the queue bounds count. */
  sizeBytes: number;
  /** The request's tid (its pending entry is told when the frame is written), 0 otherwise. */
  tid: number;
  /** Set when the sender gave up (request timed out): skipped instead of sent. */
  cancelled: boolean;
}

interface Waiter {
  frame: OutFrame;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface SendQueueLimits {
  bytesMax: number;
  framesMax: number;
  waitersMax: number;
}

/** Shift the backing arrays down once this many slots at the front are dead. */
const compactAfter = 1024;

export class SendQueue {
  private frames: OutFrame[] = [];
  private head = 0;
  private queuedBytes = 0;
  private waiters: Waiter[] = [];
  private waitersHead = 0;

  constructor(private readonly limits: SendQueueLimits) {}

  get bytes(): number {
    return this.queuedBytes;
  }

  get length(): number {
    return this.frames.length - this.head;
  }

  get waiting(): number {
    return this.waiters.length - this.waitersHead;
  }

  /**
   * Admit `frame`, or wait for room. Returns null when admitted at once (the common case, no
   * promise allocated), otherwise a promise settled on admission or failAll().
   * `priority` frames (replies, bounded by inboundInFlightMax) may wait beyond waitersMax.
   */
  offer(frame: OutFrame, priority = false): Promise<void> | null {
    if (this.waiting === 0 && this.fits(frame)) {
      this.push(frame);
      return null;
    }
    if (!priority && this.waiting >= this.limits.waitersMax) {
      throw new NacreError(`send queue is full and ${this.waiting} senders are waiting (sendWaitersMax=${this.limits.waitersMax})`, { code: 'EAGAIN' });
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ frame, resolve, reject });
    });
  }

  /** Next frame to write (cancelled ones are dropped here), admitting waiters as room frees up. */
  shift(): OutFrame | undefined {
    while (this.length > 0) {
      const frame = this.frames[this.head]!;
      this.frames[this.head] = undefined as unknown as OutFrame;
      this.head++;
      this.queuedBytes -= frame.sizeBytes;
      if (this.head >= compactAfter && this.head * 2 >= this.frames.length) {
        this.frames = this.frames.slice(this.head);
        this.head = 0;
      }
      this.admitWaiters();
      if (!frame.cancelled) return frame;
    }
    this.admitWaiters();
    return undefined;
  }

  /**
   * Drop a waiting (not yet admitted) frame; true if it was waiting. Its promise is left pending
   * on purpose: the caller already settled its own outcome (the request timed out).
   */
  withdraw(frame: OutFrame): boolean {
    for (let i = this.waitersHead; i < this.waiters.length; i++) {
      if (this.waiters[i]!.frame === frame) {
        this.waiters.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Forget everything; every waiting sender is rejected with `err`. */
  failAll(err: Error): void {
    const waiters = this.waiters.slice(this.waitersHead);
    this.frames = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.waiters = [];
    this.waitersHead = 0;
    for (const w of waiters) w.reject(err);
  }

  /** Frames still queued (for a connection that closes: their requests fail). */
  drain(): OutFrame[] {
    const out = this.frames.slice(this.head);
    this.frames = [];
    this.head = 0;
    this.queuedBytes = 0;
    return out;
  }

  private fits(frame: OutFrame): boolean {
    if (this.length === 0) return true;
    return this.queuedBytes + frame.sizeBytes <= this.limits.bytesMax && this.length < this.limits.framesMax;
  }

  private push(frame: OutFrame): void {
    this.frames.push(frame);
    this.queuedBytes += frame.sizeBytes;
    assert(this.length <= this.limits.framesMax, 'send queue frames within framesMax');
  }

  private admitWaiters(): void {
    while (this.waiting > 0) {
      const w = this.waiters[this.waitersHead]!;
      if (!this.fits(w.frame)) return;
      this.waiters[this.waitersHead] = undefined as unknown as Waiter;
      this.waitersHead++;
      if (this.waitersHead >= compactAfter && this.waitersHead * 2 >= this.waiters.length) {
        this.waiters = this.waiters.slice(this.waitersHead);
        this.waitersHead = 0;
      }
      this.push(w.frame);
      w.resolve();
    }
  }
}
