/**
 * A peon's side of one term: promise and report (collect → last), accept (begin → accept),
 * learn commits, hold the read lease, and catch up from the leader's syncs.
 *
 * Every reply goes out only after the state it reports is durable (output commit, core-io.ts):
 * a `last` after its promise, an `accept` after the pending value, a `syncAck` after the values.
 *
 * Robustness beyond Ceph (whose peer links never reorder or lose messages): `begin` and `lease`
 * carry the leader's last_committed, so a peon that holds the value the leader committed under
 * the same proposal number commits it even if the `commit` message was lost or overtaken.
 */
import { CARRY_ON, callElection } from './term.js';
import type { PaxosOutcome, TermContext, TermStatus } from './term.js';
import type {
  BeginMessage, CollectMessage, CollectRequest, ElectionEpoch, LeaseMessage, PaxosProtocolMessage, ProposalNumber,
  Rank, SyncPayload, TimerName, Version,
} from './types.js';

export class PeonTerm {
  readonly role = 'peon';
  private pn: ProposalNumber = 0;
  private leaseSeqSeen = 0;
  private leaseValid = false;
  /** Snapshot requests in flight: requestId → the collect they answer. */
  private readonly snapshotForCollect = new Map<number, { pn: ProposalNumber }>();

  constructor(private readonly ctx: TermContext, readonly epoch: ElectionEpoch, readonly leader: Rank, readonly quorum: readonly Rank[]) {}

  /** Start the term by answering the collect that came with the victory. */
  start(collect: CollectRequest): PaxosOutcome {
    this.handleCollect({ op: 'collect', epoch: this.epoch, ...collect });
    // No word from the leader for this long → it is gone (Ceph's lease timeout on peons).
    this.ctx.io.setTimer('peonLeaseTimeout', this.ctx.config.leaseAckTimeoutMs);
    return CARRY_ON;
  }

  get readable(): boolean {
    return this.leaseValid;
  }

  status(): TermStatus {
    return {
      epoch: this.epoch, leader: this.leader, quorum: this.quorum, pn: this.pn, phase: 'peon',
      readable: this.readable, queuedProposals: 0, inFlightVersion: undefined,
    };
  }

  handle(from: Rank, m: PaxosProtocolMessage): PaxosOutcome {
    if (from !== this.leader) return CARRY_ON;
    const { io, config } = this.ctx;
    switch (m.op) {
      case 'collect': this.handleCollect(m); break;
      case 'begin': this.handleBegin(m); break;
      case 'commit': this.handleCommit(m.version, m.value); break;
      case 'lease': this.handleLease(m); break;
      case 'sync': this.handleSync(m.sync); break;
      default:
        io.log('debug', 'peon ignores a leader-bound message', { op: m.op, from });
        return CARRY_ON;
    }
    // Any message of this term from the leader shows it is alive (Ceph resets only on leases; a
    // long collect or sync would then trip the timeout needlessly).
    io.setTimer('peonLeaseTimeout', config.leaseAckTimeoutMs);
    return CARRY_ON;
  }

  timer(timer: TimerName): PaxosOutcome {
    if (timer === 'peonLeaseTimeout') return callElection('no lease from the leader');
    if (timer === 'leaseExpire') this.leaseValid = false;
    return CARRY_ON;
  }

  snapshotReady(requestId: number, version: Version, data: Uint8Array): PaxosOutcome {
    const purpose = this.snapshotForCollect.get(requestId);
    if (purpose === undefined) return CARRY_ON;
    this.snapshotForCollect.delete(requestId);
    // Only answer the collect we promised to; a newer one has its own reply.
    if (purpose.pn !== this.ctx.log.acceptedPn) return CARRY_ON;
    const sync = this.ctx.log.syncWithSnapshot({ version, data });
    if (sync === undefined) {
      this.ctx.io.log('warn', 'snapshot unusable for a collect reply', { version });
      return CARRY_ON;
    }
    this.sendLast(purpose.pn, sync);
    return CARRY_ON;
  }

  abandon(): void {
    this.leaseValid = false;
    this.ctx.io.cancelTimer('peonLeaseTimeout');
    this.ctx.io.cancelTimer('leaseExpire');
  }

  private handleCollect(m: CollectMessage): void {
    const { log } = this.ctx;
    this.dropLease();
    if (m.pn < log.acceptedPn) {
      // Refuse, telling the leader the number to beat (Ceph replies OP_LAST with its accepted_pn).
      this.ctx.io.send(this.leader, {
        op: 'last', epoch: this.epoch, pn: m.pn, acceptedPn: log.acceptedPn,
        firstCommitted: log.firstCommitted, lastCommitted: log.lastCommitted,
      });
      return;
    }
    log.promise(m.pn);
    this.pn = m.pn;
    const sync = log.syncFor(m.lastCommitted);
    if (sync === 'snapshot') {
      // The leader is behind our trimmed history: it needs a full-state sync first.
      this.snapshotForCollect.set(this.ctx.io.needSnapshot(), { pn: m.pn });
      return;
    }
    this.sendLast(m.pn, sync);
  }

  private sendLast(pn: ProposalNumber, sync: SyncPayload | undefined): void {
    const { log } = this.ctx;
    const pending = log.pendingNext();
    this.ctx.io.send(this.leader, {
      op: 'last', epoch: this.epoch, pn, acceptedPn: log.acceptedPn,
      firstCommitted: log.firstCommitted, lastCommitted: log.lastCommitted,
      ...(pending === undefined ? {} : { pending }),
      ...(sync === undefined ? {} : { sync }),
    });
  }

  private handleBegin(m: BeginMessage): void {
    const { log, io } = this.ctx;
    this.learnCommit(m.pn, m.lastCommitted);
    if (m.pn < log.acceptedPn || m.version !== log.lastCommitted + 1) {
      // Refused (we promised higher) or out of step (an old duplicate, or we lag and the leader's
      // timeouts will sort it out). Silence is safe: the leader cannot commit without us.
      io.log('debug', 'begin not accepted', { version: m.version, pn: m.pn, lastCommitted: log.lastCommitted });
      return;
    }
    const pending = log.pendingNext();
    if (pending === undefined || pending.pn !== m.pn) {
      log.accept(m.version, m.pn, m.value);
      this.pn = m.pn;
    }
    // Accepting a new value ends our lease: the leader may commit it the moment we answer, and a
    // read served from the old version after that would be stale (Ceph cancels the lease here too).
    this.dropLease();
    io.send(this.leader, { op: 'accept', epoch: this.epoch, pn: m.pn, version: m.version });
  }

  private handleCommit(version: Version, value: Uint8Array): void {
    const { log } = this.ctx;
    if (version === log.lastCommitted + 1) log.commitNext(version, value);
    else if (version <= log.lastCommitted) log.checkAgreement(version, value);
    // A gap: we missed something; the next lease ack tells the leader, which syncs us.
  }

  private handleLease(m: LeaseMessage): void {
    const { log, io, config } = this.ctx;
    if (m.leaseSeq <= this.leaseSeqSeen) return; // overtaken by a newer grant
    this.leaseSeqSeen = m.leaseSeq;
    this.learnCommit(m.pn, m.lastCommitted);
    const pending = log.pendingNext();
    // Readable only if we hold everything the leader had committed when it granted this lease and
    // have accepted nothing newer in this term (which the leader might already have committed).
    if (log.lastCommitted >= m.lastCommitted && (pending === undefined || pending.pn < m.pn)) {
      this.leaseValid = true;
      io.setTimer('leaseExpire', config.leaseMs);
    } else {
      this.dropLease();
    }
    io.send(this.leader, { op: 'leaseAck', epoch: this.epoch, leaseSeq: m.leaseSeq, lastCommitted: log.lastCommitted });
  }

  private handleSync(sync: SyncPayload): void {
    const { log, io } = this.ctx;
    if (!log.absorb(sync)) io.log('warn', 'sync left a gap; waiting for the leader to resend', { lastCommitted: log.lastCommitted });
    io.send(this.leader, { op: 'syncAck', epoch: this.epoch, lastCommitted: log.lastCommitted });
  }

  /**
   * The leader says it has committed through `leaderLc` under proposal number `pn`. If our pending
   * value is for a version it covers and was accepted under that same number, it is the value the
   * leader committed (a leader proposes one value per version per number), so commit it.
   */
  private learnCommit(pn: ProposalNumber, leaderLc: Version): void {
    const { log } = this.ctx;
    const pending = log.pendingNext();
    if (pending !== undefined && pending.pn === pn && pending.version <= leaderLc) log.commitNext(pending.version, pending.value);
  }

  private dropLease(): void {
    this.leaseValid = false;
    this.ctx.io.cancelTimer('leaseExpire');
  }
}
