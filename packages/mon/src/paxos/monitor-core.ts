/**
 * MonitorCore: one monitor's consensus logic — election plus Multi-Paxos — as a deterministic
 * state machine. `handle(event)` returns the effects the driver must carry out, in order.
 *
 * ```ts
 * const core = new MonitorCore({ rank: 0, monitorCount: 3 });
 * let effects = core.handle({ kind: 'boot', persisted: persistedStateFromEntries(storeEntries) });
 * // for each effect: send → messenger; persist → level batch({sync:true}) then
 * //   core.handle({ kind: 'persisted', persistId }); setTimer → env.timers; committed → service.
 * ```
 *
 * Driver contract (docs/paxos.md §Driver):
 *  1. Execute effects in the order returned.
 *  2. `persist`: write `writes` + the service's rendering of `apply` as one atomic synced batch;
 *     complete persists in emission order; report each (or the latest of a group) as `persisted`.
 *  3. `setTimer` replaces the timer of that name; deliver `{ kind: 'timer', timer, token }` after
 *     delayMs of local monotonic time. Late or cancelled firings are harmless (tokens).
 *  4. Never hold events back to "help": the core already holds every outward effect until the
 *     persists it depends on are durable.
 *
 * Roles (explicit transition table, below): down → electing → leader | peon → electing …
 */
import { assert } from '@nacre/util';
import { resolveConfig } from './config.js';
import type { MonitorCoreConfig, MonitorCoreOptions } from './config.js';
import { CoreIo } from './core-io.js';
import { Elector } from './election.js';
import type { ElectionOutcome, StableQuorum } from './election.js';
import { LeaderTerm } from './leader.js';
import { checkPaxosMessage } from './messages.js';
import { PaxosLog } from './paxos-log.js';
import { PeonTerm } from './peon.js';
import type { PaxosOutcome, TermStatus } from './term.js';
import type {
  ElectionEpoch, MonitorEffect, MonitorEvent, MonitorRole, PaxosMessage, PersistedState, ProposalNumber,
  Rank, TimerName, Version,
} from './types.js';

export const ROLE_TRANSITIONS: Readonly<Record<MonitorRole, readonly MonitorRole[]>> = {
  down: ['electing'],
  electing: ['leader', 'peon'],
  leader: ['electing'],
  peon: ['electing'],
};

const ELECTION_OPS: ReadonlySet<string> = new Set(['propose', 'ack', 'victory']);

/** A read-only view of a core, for tests, status commands and health checks. */
export interface MonitorStatus {
  rank: Rank;
  role: MonitorRole;
  epoch: ElectionEpoch;
  leader: Rank | undefined;
  quorum: readonly Rank[];
  phase: TermStatus['phase'] | undefined;
  readable: boolean;
  firstCommitted: Version;
  lastCommitted: Version;
  acceptedPn: ProposalNumber;
  pendingVersion: Version | undefined;
  queuedProposals: number;
}

export class MonitorCore {
  readonly config: MonitorCoreConfig;
  private readonly io = new CoreIo();
  private role: MonitorRole = 'down';
  private elector: Elector | undefined;
  private log: PaxosLog | undefined;
  private term: LeaderTerm | PeonTerm | undefined;
  private readablePublished = false;

  constructor(options: MonitorCoreOptions) {
    this.config = resolveConfig(options);
  }

  handle(event: MonitorEvent): MonitorEffect[] {
    if (event.kind === 'boot') {
      this.boot(event.persisted);
    } else {
      assert(this.role !== 'down', () => `event ${event.kind} before boot`);
      this.dispatch(event);
    }
    this.publishReadable();
    return this.io.take();
  }

  status(): MonitorStatus {
    const t = this.term?.status();
    const log = this.log;
    return {
      rank: this.config.rank, role: this.role, epoch: this.elector?.epoch ?? 0,
      leader: t?.leader, quorum: t?.quorum ?? [], phase: t?.phase, readable: t?.readable ?? false,
      firstCommitted: log?.firstCommitted ?? 1, lastCommitted: log?.lastCommitted ?? 0,
      acceptedPn: log?.acceptedPn ?? 0, pendingVersion: log?.pendingNext()?.version,
      queuedProposals: t?.queuedProposals ?? 0,
    };
  }

  /** Committed value `version` if this monitor still holds it (not trimmed). */
  committedValue(version: Version): Uint8Array | undefined {
    return this.log?.valueAt(version);
  }

  private boot(persisted: PersistedState): void {
    assert(this.role === 'down', 'boot twice');
    this.log = new PaxosLog(this.config, this.io, persisted);
    this.elector = new Elector(this.config, this.io, persisted.electionEpoch);
    this.io.log('info', 'monitor core booted', {
      rank: this.config.rank, epoch: persisted.electionEpoch, lastCommitted: persisted.lastCommitted,
    });
    this.applyElection(this.elector.start('boot'));
  }

  private dispatch(event: Exclude<MonitorEvent, { kind: 'boot' }>): void {
    switch (event.kind) {
      case 'message': this.onMessage(event.from, event.message); break;
      case 'timer': this.onTimer(event.timer, event.token); break;
      case 'persisted':
        this.io.persisted(event.persistId);
        if (this.term instanceof LeaderTerm) this.term.resume();
        break;
      case 'propose': this.onPropose(event.proposalId, event.value); break;
      case 'snapshotReady':
        if (this.term !== undefined) this.applyPaxos(this.term.snapshotReady(event.requestId, event.version, event.snapshot));
        break;
    }
  }

  private onMessage(from: Rank, message: PaxosMessage): void {
    const bad = !Number.isInteger(from) || from < 0 || from >= this.config.monitorCount || from === this.config.rank
      ? `bad sender rank ${from}` : checkPaxosMessage(message, this.config.monitorCount);
    if (bad !== undefined) {
      this.io.log('warn', 'dropped a malformed monitor message', { from, reason: bad });
      return;
    }
    if (ELECTION_OPS.has(message.op)) {
      this.applyElection(this.elector!.handle(from, message as Extract<PaxosMessage, { op: 'propose' | 'ack' | 'victory' }>, this.stableQuorum()));
      return;
    }
    // Paxos messages count only within the current term (same stable epoch).
    if (this.term === undefined || message.epoch !== this.term.epoch) return;
    this.applyPaxos(this.term.handle(from, message as Exclude<PaxosMessage, { op: 'propose' | 'ack' | 'victory' }>));
  }

  private onTimer(timer: TimerName, token: number): void {
    if (!this.io.consumeTimer(timer, token)) return; // stale: replaced or cancelled
    if (timer === 'election') {
      this.applyElection(this.elector!.handleTimeout());
      return;
    }
    if (this.term !== undefined) this.applyPaxos(this.term.timer(timer));
  }

  private onPropose(proposalId: number, value: Uint8Array): void {
    const fail = (reason: 'notLeader' | 'tooLarge'): void => this.io.outward({
      kind: 'proposalFailed', proposalId, outcome: 'notCommitted', reason, leader: this.term?.status().leader,
    });
    if (!(value instanceof Uint8Array) || value.length > this.config.valueBytesMax) fail('tooLarge');
    else if (this.term instanceof LeaderTerm) this.term.propose(proposalId, value);
    else fail('notLeader');
  }

  private applyElection(outcome: ElectionOutcome): void {
    switch (outcome.kind) {
      case 'none': return;
      case 'electing': this.enterElecting(); return;
      case 'won': {
        this.enterElecting();
        this.transition('leader');
        const term = new LeaderTerm(this.termContext(), outcome.epoch, outcome.quorum);
        this.term = term;
        this.announceRole();
        this.applyPaxos(term.start());
        return;
      }
      case 'lost': {
        this.enterElecting();
        this.transition('peon');
        const term = new PeonTerm(this.termContext(), outcome.epoch, outcome.leader, outcome.quorum);
        this.term = term;
        this.announceRole();
        this.applyPaxos(term.start(outcome.collect));
        return;
      }
    }
  }

  private applyPaxos(outcome: PaxosOutcome): void {
    if (outcome.kind === 'none') return;
    this.term?.abandon();
    this.term = undefined;
    this.applyElection(this.elector!.start(outcome.reason));
  }

  /** Leave any term (failing its proposals, stopping its timers) and be electing. */
  private enterElecting(): void {
    if (this.role === 'electing') return;
    this.term?.abandon();
    this.term = undefined;
    this.transition('electing');
    this.announceRole();
  }

  private termContext(): { config: MonitorCoreConfig; io: CoreIo; log: PaxosLog } {
    return { config: this.config, io: this.io, log: this.log! };
  }

  private stableQuorum(): StableQuorum | undefined {
    const t = this.term?.status();
    return t === undefined ? undefined : { leader: t.leader, quorum: t.quorum };
  }

  private announceRole(): void {
    const t = this.term?.status();
    this.io.outward({ kind: 'role', role: this.role, epoch: this.elector!.epoch, leader: t?.leader, quorum: [...(t?.quorum ?? [])] });
  }

  private publishReadable(): void {
    const readable = this.term?.readable ?? false;
    if (readable === this.readablePublished) return;
    this.readablePublished = readable;
    this.io.outward({ kind: 'readable', readable, lastCommitted: this.log?.lastCommitted ?? 0 });
  }

  private transition(to: MonitorRole): void {
    assert(ROLE_TRANSITIONS[this.role].includes(to), () => `monitor role ${this.role} → ${to} is not allowed`);
    this.role = to;
  }
}
