/**
 * The leader's proposal pipeline (Ceph's PaxosService batching): changes — mutating commands,
 * OSD boots, up_thru and pg_temp requests, failure decisions — queue here; whenever the leader
 * is active and nothing is in flight, everything queued (up to `changesPerProposalMax`) is folded
 * by the service layer (`buildProposal`) into ONE Paxos value on the committed state. Replies
 * wait for the commit. One value in flight at a time, as the core allows, so a proposal is always
 * built on the state it will be applied to: no speculative state to roll back when a term ends.
 *
 * A change that fails (bad arguments, pool exists, …) is answered at once and changes nothing;
 * a `retry` outcome (an OSD restart: marked down in this proposal, booted in the next) is queued
 * again, first, after the commit. When the term ends, queued changes are answered EAGAIN (never
 * proposed: safe to retry) and the changes in flight EAGAIN with "outcome unknown" (a later leader
 * may still commit them; a retried command carries the same cmdId, and the committed command log
 * answers it with the original result instead of applying it twice).
 *
 * The first leader of a new cluster proposes the bootstrap value (version 1) before anything else.
 */
import { NacreError, assert, type Logger } from '@nacre/util';
import type { MonCommandReply } from '@nacre/proto';
import type { MonState } from '../services/mon-state.js';
import type { BuiltProposal, ServiceChange } from './service-port.js';

export type ChangeSettlement =
  | { ok: true; reply: MonCommandReply; epoch: number; state: MonState }
  | { ok: false; err: NacreError };

export interface QueuedChange {
  /** What it is, for logs and errors (`osd pool create`, `osd_boot osd.3`). */
  readonly what: string;
  readonly change: ServiceChange;
  /** Committed (with the committed state) or failed. Called exactly once. */
  settle(outcome: ChangeSettlement): void;
}

export interface BatcherLimits {
  /** Changes folded into one proposal (the service layer's changesPerProposalMax at most). */
  changesPerProposalMax: number;
  /** Changes waiting on the leader; more are refused with EAGAIN. */
  changesQueuedMax: number;
}

export interface BatcherHost {
  /** The committed service state (what a proposal is built on). */
  state(): MonState;
  build(state: MonState, changes: readonly ServiceChange[]): BuiltProposal;
  /** Hand a value to the core (`propose` event). The outcome comes back through onCommitted/onFailed. */
  propose(proposalId: number, value: Uint8Array): void;
  /** The value that creates the cluster, if the state is still empty. */
  bootstrapValue(): Uint8Array;
  /** The failure detector's decisions due now, if any. */
  failureChange(state: MonState): ServiceChange | undefined;
  readonly log: Logger;
}

interface InFlight {
  proposalId: number;
  /** Changes and their outcome, answered when the value commits. */
  done: Array<{ item: QueuedChange; reply: MonCommandReply; epoch: number }>;
  retry: QueuedChange[];
}

export class ProposalBatcher {
  private queue: QueuedChange[] = [];
  private inFlight: InFlight | null = null;
  private active = false;
  private proposalIdNext = 1;
  private tickWanted = false;
  /** Proposals made (stats, tests). */
  proposals = 0;

  constructor(private readonly host: BatcherHost, private readonly limits: BatcherLimits) {
    assert(Number.isSafeInteger(limits.changesPerProposalMax) && limits.changesPerProposalMax > 1, 'changesPerProposalMax must be > 1');
    assert(Number.isSafeInteger(limits.changesQueuedMax) && limits.changesQueuedMax > 0, 'changesQueuedMax must be > 0');
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** Queue a change; it is proposed with the next batch. */
  submit(item: QueuedChange): void {
    if (!this.active) {
      item.settle({ ok: false, err: new NacreError(`${item.what}: this monitor is not an active leader; retry`, { code: 'EAGAIN' }) });
      return;
    }
    if (this.queue.length >= this.limits.changesQueuedMax) {
      item.settle({ ok: false, err: new NacreError(`${item.what}: too many changes waiting for a proposal (changesQueuedMax=${this.limits.changesQueuedMax}); retry`, { code: 'EAGAIN' }) });
      return;
    }
    this.queue.push(item);
    this.kick();
  }

  /** The leader's tick: propose failure decisions with the next batch. */
  requestTick(): void {
    if (!this.active) return;
    this.tickWanted = true;
    this.kick();
  }

  /** The leader became active (lease valid) or stopped being it. */
  setActive(active: boolean): void {
    if (this.active === active) return;
    this.active = active;
    if (active) {
      this.kick();
      return;
    }
    this.tickWanted = false;
    const queued = this.queue;
    this.queue = [];
    for (const c of queued) {
      c.settle({ ok: false, err: new NacreError(`${c.what}: leadership changed before it was proposed; retry`, { code: 'EAGAIN' }) });
    }
  }

  /** Propose the next batch if the leader is active and nothing is in flight. */
  kick(): void {
    while (this.active && this.inFlight === null) {
      const state = this.host.state();
      if (state.fsid === '') {
        this.host.log.info('proposing the bootstrap state (new cluster)');
        this.startProposal(this.host.bootstrapValue(), [], []);
        return;
      }
      const batch = this.queue.splice(0, this.limits.changesPerProposalMax - 1);
      const changes = batch.map((b) => b.change);
      if (this.tickWanted) {
        this.tickWanted = false;
        const failures = this.host.failureChange(state);
        if (failures !== undefined) changes.push(failures);
      }
      if (changes.length === 0) return;
      if (this.buildAndPropose(state, batch, changes)) return;
      // Nothing changed (every change failed or was a no-op): answered; look again.
    }
  }

  /** Build one proposal from `batch` (plus a trailing failure change); true if a value went out. */
  private buildAndPropose(state: MonState, batch: QueuedChange[], changes: ServiceChange[]): boolean {
    const built = this.host.build(state, changes);
    assert(built.outcomes.length === changes.length, 'one outcome per change');
    const done: InFlight['done'] = [];
    const retry: QueuedChange[] = [];
    built.outcomes.forEach((o, i) => {
      const item = batch[i];
      if (item === undefined) {
        if (o.status === 'error') this.host.log.warn({ err: o.error.message }, 'failure decisions not applied');
        return;
      }
      if (o.status === 'error') item.settle({ ok: false, err: o.error });
      else if (o.status === 'retry') retry.push(item);
      else done.push({ item, reply: o.reply, epoch: o.epoch });
    });
    if (built.value === undefined) {
      assert(retry.length === 0, 'a retry outcome without a proposal');
      // Nothing commits, so no reply may name an epoch beyond the current one (a change the
      // service folded away, e.g. a pg_temp equal to the up set, still reports its pending epoch).
      for (const d of done) d.item.settle({ ok: true, reply: d.reply, epoch: Math.min(d.epoch, state.osdmap.epoch), state });
      return false;
    }
    this.startProposal(built.value, done, retry);
    return true;
  }

  private startProposal(value: Uint8Array, done: InFlight['done'], retry: QueuedChange[]): void {
    const proposalId = this.proposalIdNext++;
    this.inFlight = { proposalId, done, retry };
    this.proposals++;
    this.host.propose(proposalId, value);
  }

  /**
   * The core reports `proposalId` committed; `state` is the committed state that includes it and
   * `rejected` is set if the service skipped the value (identically on every monitor).
   */
  onCommitted(proposalId: number, state: MonState, rejected: NacreError | undefined): void {
    const f = this.inFlight;
    if (f === null || f.proposalId !== proposalId) return;
    this.inFlight = null;
    if (rejected !== undefined) {
      this.host.log.error({ err: rejected.message }, 'a committed proposal was rejected by the service layer');
      for (const d of [...f.done.map((x) => x.item), ...f.retry]) {
        d.settle({ ok: false, err: new NacreError(`${d.what}: ${rejected.message}`, { code: rejected.code }) });
      }
    } else {
      for (const d of f.done) d.item.settle({ ok: true, reply: d.reply, epoch: d.epoch, state });
      if (f.retry.length > 0) this.queue = [...f.retry, ...this.queue];
    }
    this.kick();
  }

  onFailed(proposalId: number, outcome: 'notCommitted' | 'unknown', reason: string): void {
    const f = this.inFlight;
    if (f === null || f.proposalId !== proposalId) return;
    this.inFlight = null;
    const code = reason === 'tooLarge' ? 'EFBIG' : 'EAGAIN';
    const why = outcome === 'unknown'
      ? 'leadership changed while it was being committed (outcome unknown); retry'
      : reason === 'tooLarge' ? 'the proposal is too large' : `not committed (${reason}); retry`;
    for (const d of [...f.done.map((x) => x.item), ...f.retry]) d.settle({ ok: false, err: new NacreError(`${d.what}: ${why}`, { code }) });
    this.kick();
  }
}
