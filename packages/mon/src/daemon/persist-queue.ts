/**
 * Group commit of the core's persists. Each `persist` effect becomes a job of store ops; jobs are
 * written strictly in the order they were enqueued, as atomic fsync'd batches. While one batch is
 * being written, later jobs wait; when it completes, everything waiting (up to the bounds) goes
 * out as the next single batch and is reported durable with the id of its last job — one fsync
 * for many persists (STYLE: batch, don't react), and the core accepts a report covering several.
 *
 * A failed write is fatal: after an fsync error nobody can say which of the batch's ops reached
 * the disk, so the monitor must stop rather than acknowledge anything more (Ceph's monitor
 * aborts on a store error too). `onFatal` is called once and the queue refuses further jobs.
 */
import { assert } from '@nacre/util';
import type { MonStoreOp } from './mon-store.js';

export interface PersistJob {
  persistId: number;
  ops: MonStoreOp[];
}

export interface PersistQueueLimits {
  /** Jobs folded into one batch. */
  jobsPerBatchMax: number;
  /** Store ops folded into one batch (a single larger job still goes alone). */
  opsPerBatchMax: number;
  /** Jobs waiting; the core emits at most one persist per event, so this is a bug fence. */
  jobsQueuedMax: number;
}

export const defaultPersistQueueLimits: Readonly<PersistQueueLimits> = Object.freeze({
  jobsPerBatchMax: 256,
  opsPerBatchMax: 100_000,
  jobsQueuedMax: 100_000,
});

export type PersistQueueStatus = 'running' | 'failed' | 'stopped';

export interface PersistQueueHooks {
  /** One atomic synced batch. */
  write(ops: MonStoreOp[]): Promise<void>;
  /** Every job up to `persistId` is durable. Called in order. */
  durable(persistId: number): void;
  /** The store failed; the monitor must stop. Called at most once. */
  fatal(err: Error): void;
}

export class PersistQueue {
  private readonly queue: PersistJob[] = [];
  private writing: Promise<void> | null = null;
  private statusValue: PersistQueueStatus = 'running';
  private lastEnqueuedId = 0;
  /** Batches written (for tests and stats: how much group commit saved). */
  batchesWritten = 0;
  jobsWritten = 0;

  constructor(private readonly hooks: PersistQueueHooks, private readonly limits: PersistQueueLimits = defaultPersistQueueLimits) {}

  get status(): PersistQueueStatus {
    return this.statusValue;
  }

  get idle(): boolean {
    return this.writing === null && this.queue.length === 0;
  }

  enqueue(job: PersistJob): void {
    if (this.statusValue !== 'running') return; // a failed or stopped monitor acknowledges nothing more
    assert(job.persistId > this.lastEnqueuedId, () => `persist ${job.persistId} enqueued after ${this.lastEnqueuedId}`);
    assert(this.queue.length < this.limits.jobsQueuedMax, 'persist queue bound exceeded');
    this.lastEnqueuedId = job.persistId;
    this.queue.push(job);
    if (this.writing === null) this.writing = this.drain();
  }

  /** Resolves once nothing is being written (pending jobs of a stopped queue are dropped). */
  async stop(): Promise<void> {
    if (this.statusValue === 'running') this.statusValue = 'stopped';
    this.queue.length = 0;
    await this.writing;
  }

  private takeBatch(): { ops: MonStoreOp[]; lastId: number; jobs: number } {
    const ops: MonStoreOp[] = [];
    let lastId = 0;
    let jobs = 0;
    while (this.queue.length > 0 && jobs < this.limits.jobsPerBatchMax) {
      const next = this.queue[0]!;
      if (jobs > 0 && ops.length + next.ops.length > this.limits.opsPerBatchMax) break;
      this.queue.shift();
      for (const op of next.ops) ops.push(op);
      lastId = next.persistId;
      jobs++;
    }
    return { ops, lastId, jobs };
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.statusValue === 'running') {
      const batch = this.takeBatch();
      try {
        await this.hooks.write(batch.ops);
      } catch (err) {
        if (this.statusValue !== 'running') break;
        this.statusValue = 'failed';
        this.queue.length = 0;
        this.writing = null;
        this.hooks.fatal(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.batchesWritten++;
      this.jobsWritten += batch.jobs;
      // A stopped queue reports nothing: its monitor is gone and must not act on the write.
      if (this.statusValue === 'running') this.hooks.durable(batch.lastId);
    }
    this.writing = null;
  }
}
