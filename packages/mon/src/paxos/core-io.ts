/**
 * The core's outbox, and the rule that makes "persist before acknowledge" hold by construction:
 *
 *   Output commit — an outward effect (a message, a commit notification, a readability or role
 *   change) emitted while any persist is still outstanding is held back, and released, in
 *   emission order, only once every persist emitted before it is reported durable.
 *
 * So no handler has to remember which send depends on which write: nothing this monitor says can
 * reveal state that a crash could still take back. The price is that a reply may wait behind an
 * unrelated fsync; the driver can group-commit consecutive persists to keep that short.
 *
 * Persists, timers, snapshot requests and log lines are internal and leave immediately.
 */
import { assert } from '@nacre/util';
import type { MonitorEffect, PaxosMessage, Rank, ServiceApply, StoreWrite, TimerName } from './types.js';

type OutwardEffect = Extract<MonitorEffect,
  { kind: 'send' | 'committed' | 'snapshotInstalled' | 'proposalCommitted' | 'proposalFailed' | 'readable' | 'role' }>;

/** Outward effects waiting for durability; a disk that stalls this long has bigger problems. */
export const HELD_EFFECTS_MAX = 1_000_000;

export class CoreIo {
  private batch: MonitorEffect[] = [];
  private held: Array<{ afterPersistId: number; effect: OutwardEffect }> = [];
  private persistIssued = 0;
  private persistDurable = 0;
  private readonly timerTokens = new Map<TimerName, number>();
  private tokenNext = 1;
  private snapshotRequestNext = 1;

  /** Effects produced since the last call; the driver executes them in order. */
  take(): MonitorEffect[] {
    const out = this.batch;
    this.batch = [];
    return out;
  }

  get persistOutstanding(): boolean {
    return this.persistDurable < this.persistIssued;
  }

  send(to: Rank, message: PaxosMessage): void {
    this.outward({ kind: 'send', to, message });
  }

  outward(effect: OutwardEffect): void {
    if (this.persistOutstanding) {
      assert(this.held.length < HELD_EFFECTS_MAX, 'held effects bound exceeded');
      this.held.push({ afterPersistId: this.persistIssued, effect });
    } else {
      this.batch.push(effect);
    }
  }

  /**
   * Queue a durable write. Persists issued within one step are merged into one batch (one fsync)
   * unless that would reorder a snapshot install against earlier commits. Merging is safe: after
   * a persist, every outward effect of the step is held anyway, so only timers and log lines can
   * sit between the two, and held effects merely wait for a little more to be durable.
   */
  persist(writes: StoreWrite[], apply?: ServiceApply): void {
    let last: MonitorEffect | undefined;
    for (let i = this.batch.length - 1; i >= 0 && last === undefined; i--) {
      if (this.batch[i]!.kind === 'persist') last = this.batch[i];
    }
    if (last !== undefined && last.kind === 'persist' && last.persistId === this.persistIssued && mergeable(last.apply, apply)) {
      last.writes.push(...writes);
      last.apply = mergeApply(last.apply, apply);
      return;
    }
    this.persistIssued++;
    this.batch.push({ kind: 'persist', persistId: this.persistIssued, writes: [...writes], apply });
  }

  /** The driver reports persists durable in order; one report may cover several (group commit). */
  persisted(persistId: number): void {
    assert(Number.isSafeInteger(persistId) && persistId > this.persistDurable && persistId <= this.persistIssued,
      () => `persisted(${persistId}) out of order: durable ${this.persistDurable}, issued ${this.persistIssued}`);
    this.persistDurable = persistId;
    let released = 0;
    while (released < this.held.length && this.held[released]!.afterPersistId <= persistId) {
      this.batch.push(this.held[released]!.effect);
      released++;
    }
    this.held.splice(0, released);
  }

  setTimer(timer: TimerName, delayMs: number): void {
    assert(Number.isFinite(delayMs) && delayMs >= 0, () => `bad timer delay ${delayMs}`);
    const token = this.tokenNext++;
    this.timerTokens.set(timer, token);
    this.batch.push({ kind: 'setTimer', timer, token, delayMs });
  }

  cancelTimer(timer: TimerName): void {
    if (!this.timerTokens.delete(timer)) return;
    this.batch.push({ kind: 'cancelTimer', timer });
  }

  timerRunning(timer: TimerName): boolean {
    return this.timerTokens.has(timer);
  }

  /** True (and the timer is consumed) if this firing belongs to the timer's latest setting. */
  consumeTimer(timer: TimerName, token: number): boolean {
    if (this.timerTokens.get(timer) !== token) return false;
    this.timerTokens.delete(timer);
    return true;
  }

  needSnapshot(): number {
    const requestId = this.snapshotRequestNext++;
    this.batch.push({ kind: 'needSnapshot', requestId });
    return requestId;
  }

  log(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, number | string>): void {
    this.batch.push(fields === undefined ? { kind: 'log', level, message } : { kind: 'log', level, message, fields });
  }
}

function mergeable(a: ServiceApply | undefined, b: ServiceApply | undefined): boolean {
  // A snapshot replaces the service state; it may only lead a batch, never follow commits.
  return b?.snapshot === undefined || a === undefined || (a.snapshot === undefined && a.commits.length === 0);
}

function mergeApply(a: ServiceApply | undefined, b: ServiceApply | undefined): ServiceApply | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const snapshot = b.snapshot ?? a.snapshot;
  const commits = [...a.commits, ...b.commits];
  return snapshot === undefined ? { commits } : { snapshot, commits };
}
