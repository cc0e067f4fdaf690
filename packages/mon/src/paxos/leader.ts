/**
 * The leader's side of one term: phase 1 (collect/last), catching laggards up, phase 2
 * (begin/accept/commit, one value at a time), and the read lease.
 *
 * Commit rule, as in Ceph: a value commits only when EVERY quorum member accepted it, not a bare
 * majority. The quorum is itself a majority, so Paxos safety is unchanged; what we gain is that a
 * peon drops its read lease when it accepts (peon.ts), so when the leader commits, no quorum
 * member can still be serving the previous version under a lease — peon reads stay current. The
 * cost: one slow member stalls commits until the accept timeout calls an election that drops it.
 */
import { assert } from '@nacre/util';
import { bytesEqual } from './paxos-log.js';
import { CARRY_ON, LEADER_PHASE_TRANSITIONS, callElection } from './term.js';
import type { LeaderPhase, PaxosOutcome, TermContext, TermStatus } from './term.js';
import type {
  CollectRequest, ElectionEpoch, LastMessage, PaxosProtocolMessage, PendingValue, ProposalFailure, ProposalNumber,
  Rank, TimerName, Version,
} from './types.js';

interface QueuedProposal { proposalId: number; value: Uint8Array }

interface InFlight {
  version: Version;
  value: Uint8Array;
  proposalId: number | undefined;
  accepted: Set<Rank>;
}

export class LeaderTerm {
  readonly role = 'leader';
  private phase: LeaderPhase = 'collecting';
  private pn: ProposalNumber;
  private readonly peers: Rank[];
  /** Phase-1 replies: each peer's pending value (if any at its last_committed+1). */
  private lasts = new Map<Rank, PendingValue | undefined>();
  /** Each peer's last_committed as it last reported it (collect reply, sync ack, lease ack). */
  private readonly peerLc = new Map<Rank, Version>();
  private recovered: PendingValue | undefined;
  private inFlight: InFlight | undefined;
  private readonly queue: QueuedProposal[] = [];
  private leaseSeq = 0;
  private leaseSentLc: Version = 0;
  private readonly leaseAcked = new Map<Rank, number>();
  private leaseValid = false;
  /** The lease round in which each peer was last sent a catch-up sync. */
  private readonly syncRound = new Map<Rank, number>();
  /** Snapshot requests in flight: requestId → the peer that needs it. */
  private readonly snapshotFor = new Map<number, Rank>();

  constructor(private readonly ctx: TermContext, readonly epoch: ElectionEpoch, readonly quorum: readonly Rank[]) {
    assert(quorum.includes(ctx.config.rank) && quorum.length >= ctx.config.majority, 'a leader needs a majority quorum including itself');
    this.peers = quorum.filter((r) => r !== ctx.config.rank);
    this.pn = ctx.log.newLeaderPn();
  }

  /** The first collect, which travels inside the `victory` message. */
  collectRequest(): CollectRequest {
    const { log } = this.ctx;
    return { pn: this.pn, firstCommitted: log.firstCommitted, lastCommitted: log.lastCommitted };
  }

  /**
   * Announce the victory to every other monitor (members and those left out, who will call an
   * election to join) with our first collect inside it, and start phase 1.
   */
  start(): PaxosOutcome {
    this.sendVictory(this.allOthers());
    return this.beginCollect(false);
  }

  get readable(): boolean {
    return (this.phase === 'active' || this.phase === 'updating') && this.leaseValid;
  }

  status(): TermStatus {
    return {
      epoch: this.epoch, leader: this.ctx.config.rank, quorum: this.quorum, pn: this.pn, phase: this.phase,
      readable: this.readable, queuedProposals: this.queue.length, inFlightVersion: this.inFlight?.version,
    };
  }

  handle(from: Rank, m: PaxosProtocolMessage): PaxosOutcome {
    if (!this.peers.includes(from)) return CARRY_ON;
    switch (m.op) {
      case 'last': return this.handleLast(from, m);
      case 'accept':
        if (m.pn === this.pn && this.inFlight !== undefined && m.version === this.inFlight.version) {
          this.inFlight.accepted.add(from);
          return this.maybeCommit();
        }
        return CARRY_ON;
      case 'leaseAck': return this.handleLeaseAck(from, m.leaseSeq, m.lastCommitted);
      case 'syncAck': return this.handleSyncAck(from, m.lastCommitted);
      default:
        this.ctx.io.log('debug', 'leader ignores a peon-bound message', { op: m.op, from });
        return CARRY_ON;
    }
  }

  timer(timer: TimerName): PaxosOutcome {
    switch (timer) {
      case 'leaderProgress': return callElection(`leader ${this.phase} timed out`);
      case 'leaderRetransmit': this.retransmit(); return CARRY_ON;
      case 'leaseAckTimeout': return callElection('lease ack timeout');
      case 'leaseRenew':
        if (this.phase === 'active' || this.phase === 'updating') this.extendLease();
        return CARRY_ON;
      case 'leaseExpire':
        this.leaseValid = false;
        return CARRY_ON;
      default:
        return CARRY_ON;
    }
  }

  propose(proposalId: number, value: Uint8Array): void {
    if (this.queue.length >= this.ctx.config.proposalQueueMax) {
      this.fail(proposalId, 'notCommitted', 'queueFull');
      return;
    }
    this.queue.push({ proposalId, value });
    this.proposeNext();
  }

  snapshotReady(requestId: number, version: Version, data: Uint8Array): PaxosOutcome {
    const to = this.snapshotFor.get(requestId);
    if (to === undefined) return CARRY_ON;
    this.snapshotFor.delete(requestId);
    const sync = this.ctx.log.syncWithSnapshot({ version, data });
    if (sync === undefined) {
      // The snapshot does not line up with our retained values; the progress timeout retries.
      this.ctx.io.log('warn', 'snapshot unusable for sync', { version, to });
      return CARRY_ON;
    }
    this.ctx.io.send(to, { op: 'sync', epoch: this.epoch, sync });
    return CARRY_ON;
  }

  /** The term ends: nothing queued was sent anywhere; the value in flight may yet commit. */
  abandon(): void {
    for (const q of this.queue) this.fail(q.proposalId, 'notCommitted', 'leadershipLost');
    this.queue.length = 0;
    if (this.inFlight?.proposalId !== undefined) this.fail(this.inFlight.proposalId, 'unknown', 'leadershipLost');
    this.inFlight = undefined;
    for (const t of ['leaderProgress', 'leaderRetransmit', 'leaseRenew', 'leaseAckTimeout', 'leaseExpire'] as const) {
      this.ctx.io.cancelTimer(t);
    }
  }

  // --- phase 1 -------------------------------------------------------------------------------

  private beginCollect(send: boolean): PaxosOutcome {
    this.transition('collecting');
    this.lasts = new Map();
    if (send) for (const r of this.peers) this.ctx.io.send(r, { op: 'collect', epoch: this.epoch, ...this.collectRequest() });
    // One deadline for the whole of phase 1, however many rounds it takes.
    if (!this.ctx.io.timerRunning('leaderProgress')) this.ctx.io.setTimer('leaderProgress', this.ctx.config.acceptTimeoutMs);
    this.armRetransmit();
    return this.peers.length === 0 ? this.finishCollect() : CARRY_ON;
  }

  private handleLast(from: Rank, m: LastMessage): PaxosOutcome {
    if (this.phase !== 'collecting' || m.pn !== this.pn || this.lasts.has(from)) return CARRY_ON;
    const { log } = this.ctx;
    if (m.acceptedPn > this.pn) {
      // The peon promised a higher number (to an earlier leader): outbid it and collect again.
      log.observePn(m.acceptedPn);
      this.pn = log.newLeaderPn();
      return this.beginCollect(true);
    }
    if (m.sync !== undefined && !log.absorb(m.sync)) {
      this.ctx.io.log('warn', 'collect reply carried unusable committed values', { from });
    }
    this.lasts.set(from, m.pending);
    this.peerLc.set(from, m.lastCommitted);
    return this.lasts.size === this.peers.length ? this.finishCollect() : CARRY_ON;
  }

  /**
   * Every quorum member answered. Our last_committed is now the highest among them; the value to
   * re-propose is the pending one at last_committed+1 with the highest proposal number — standard
   * Paxos phase 1, since a chosen value at that version was accepted by a majority, which
   * intersects our quorum, and any higher-numbered proposal for it carried the same value.
   */
  private finishCollect(): PaxosOutcome {
    const { log } = this.ctx;
    const next = log.lastCommitted + 1;
    // A reply carries at most syncBytesMax of values: if a member is still ahead, collect again
    // for the next part — under a fresh proposal number, so that late or duplicated replies to
    // this round cannot count for the next (they would multiply into a message storm).
    if (this.peers.some((r) => (this.peerLc.get(r) ?? 0) > log.lastCommitted)) {
      this.pn = log.newLeaderPn();
      return this.beginCollect(true);
    }
    let best = log.pendingNext();
    let competing = false;
    for (const p of this.lasts.values()) {
      if (p === undefined || p.version !== next) continue;
      if (best !== undefined && !bytesEqual(best.value, p.value)) competing = true;
      if (best === undefined || p.pn > best.pn) best = p;
    }
    // Different uncommitted values for one version: at most one (the highest-numbered) can be chosen.
    if (competing) this.ctx.io.log('info', 'competing uncommitted values; re-proposing the highest-numbered', { version: next, pn: best!.pn });
    this.recovered = best;
    const laggards = this.peers.filter((r) => (this.peerLc.get(r) ?? 0) < log.lastCommitted);
    if (laggards.length === 0) return this.finishRecovery();
    this.transition('syncing');
    for (const r of laggards) this.syncPeer(r, this.peerLc.get(r) ?? 0);
    this.ctx.io.setTimer('leaderProgress', this.ctx.config.acceptTimeoutMs);
    this.armRetransmit();
    return CARRY_ON;
  }

  private finishRecovery(): PaxosOutcome {
    const recovered = this.recovered;
    this.recovered = undefined;
    if (recovered === undefined) return this.goActive();
    this.transition('updatingPrevious');
    this.ctx.io.log('info', 're-proposing uncommitted value', { version: recovered.version, pn: recovered.pn });
    this.beginValue(recovered.value, undefined);
    return this.maybeCommit();
  }

  /** Send `r` what it lacks after `peerLc` (its last reported last_committed). */
  private syncPeer(r: Rank, peerLc: Version): void {
    const sync = this.ctx.log.syncFor(peerLc);
    if (sync === undefined) return;
    if (sync === 'snapshot') {
      if (![...this.snapshotFor.values()].includes(r)) this.snapshotFor.set(this.ctx.io.needSnapshot(), r);
      return;
    }
    this.ctx.io.send(r, { op: 'sync', epoch: this.epoch, sync });
  }

  private handleSyncAck(from: Rank, lastCommitted: Version): PaxosOutcome {
    const before = this.peerLc.get(from) ?? 0;
    this.peerLc.set(from, Math.max(before, lastCommitted));
    if (this.phase !== 'syncing') return CARRY_ON;
    const { log } = this.ctx;
    if (lastCommitted < log.lastCommitted) {
      // Send the next part only on progress: a late or duplicated ack must not fork a second
      // chain of syncs (lost ones are covered by the retransmit timer).
      if (lastCommitted > before) this.syncPeer(from, lastCommitted);
      return CARRY_ON;
    }
    const behind = this.peers.some((r) => (this.peerLc.get(r) ?? 0) < log.lastCommitted);
    return behind ? CARRY_ON : this.finishRecovery();
  }

  // --- phase 2 -------------------------------------------------------------------------------

  /** Called by the core whenever persists complete: a single-monitor leader may continue. */
  resume(): void {
    this.proposeNext();
  }

  private proposeNext(): void {
    if (this.phase !== 'active') return;
    // Backpressure: with peers, the next value cannot commit before the last one is durable
    // (their accepts answer a begin that output commit holds until then). Alone, we would commit
    // in memory as fast as clients propose while the disk falls behind — so wait for it.
    if (this.peers.length === 0 && this.ctx.io.persistOutstanding) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    this.transition('updating');
    this.beginValue(next.value, next.proposalId);
    this.maybeCommit();
  }

  /** Accept the value ourselves (persisted before the begin leaves), then ask every peon. */
  private beginValue(value: Uint8Array, proposalId: number | undefined): void {
    const { log } = this.ctx;
    const version = log.lastCommitted + 1;
    log.accept(version, this.pn, value);
    this.inFlight = { version, value, proposalId, accepted: new Set([this.ctx.config.rank]) };
    for (const r of this.peers) this.sendBegin(r);
    this.ctx.io.setTimer('leaderProgress', this.ctx.config.acceptTimeoutMs);
    this.armRetransmit();
  }

  private sendBegin(r: Rank): void {
    const f = this.inFlight!;
    this.ctx.io.send(r, {
      op: 'begin', epoch: this.epoch, pn: this.pn, version: f.version, value: f.value, lastCommitted: this.ctx.log.lastCommitted,
    });
  }

  private maybeCommit(): PaxosOutcome {
    const f = this.inFlight;
    if (f === undefined || f.accepted.size < this.quorum.length) return CARRY_ON;
    this.inFlight = undefined;
    this.ctx.log.commitNext(f.version, f.value);
    if (f.proposalId !== undefined) this.ctx.io.outward({ kind: 'proposalCommitted', proposalId: f.proposalId, version: f.version });
    for (const r of this.peers) this.ctx.io.send(r, { op: 'commit', epoch: this.epoch, pn: this.pn, version: f.version, value: f.value });
    return this.goActive();
  }

  private goActive(): PaxosOutcome {
    this.transition('active');
    this.ctx.io.cancelTimer('leaderProgress');
    this.ctx.io.cancelTimer('leaderRetransmit');
    this.extendLease();
    this.proposeNext();
    return CARRY_ON;
  }

  // --- lease ---------------------------------------------------------------------------------

  /**
   * Grant peons a read lease of leaseMs, timed by each peon's own monotonic clock from when the
   * grant arrives (no timestamps cross the wire, so clock skew cannot matter). Our own lease
   * starts now, i.e. before any peon's, so it ends first.
   */
  private extendLease(): void {
    const { io, config, log } = this.ctx;
    this.leaseSeq++;
    this.leaseSentLc = log.lastCommitted;
    for (const r of this.peers) {
      io.send(r, { op: 'lease', epoch: this.epoch, pn: this.pn, lastCommitted: log.lastCommitted, leaseSeq: this.leaseSeq });
    }
    this.leaseValid = true;
    io.setTimer('leaseExpire', config.leaseMs);
    io.setTimer('leaseRenew', config.leaseRenewMs);
    // Like Ceph, the ack timer runs from the first unacknowledged grant, not from the latest.
    if (this.peers.length > 0 && !io.timerRunning('leaseAckTimeout')) io.setTimer('leaseAckTimeout', config.leaseAckTimeoutMs);
  }

  private handleLeaseAck(from: Rank, leaseSeq: number, lastCommitted: Version): PaxosOutcome {
    this.leaseAcked.set(from, Math.max(this.leaseAcked.get(from) ?? 0, leaseSeq));
    this.peerLc.set(from, Math.max(this.peerLc.get(from) ?? 0, lastCommitted));
    if (this.peers.every((r) => (this.leaseAcked.get(r) ?? 0) >= this.leaseSeq)) this.ctx.io.cancelTimer('leaseAckTimeout');
    // The peon missed a commit it could not recover by itself (a lost commit message): resend,
    // at most once per lease round, so a lost sync is retried on the next round.
    const lagging = leaseSeq === this.leaseSeq && lastCommitted < this.leaseSentLc;
    if (lagging && this.syncRound.get(from) !== this.leaseSeq && (this.phase === 'active' || this.phase === 'updating')) {
      this.syncRound.set(from, this.leaseSeq);
      this.syncPeer(from, lastCommitted);
    }
    return CARRY_ON;
  }

  // --- retransmission ------------------------------------------------------------------------

  private armRetransmit(): void {
    if (this.peers.length > 0) this.ctx.io.setTimer('leaderRetransmit', this.ctx.config.retransmitMs);
  }

  /** Resend, to members that have not answered, whatever this phase waits for (all idempotent). */
  private retransmit(): void {
    const silent = (answered: (r: Rank) => boolean): Rank[] => this.peers.filter((r) => !answered(r));
    switch (this.phase) {
      case 'collecting': {
        const missing = silent((r) => this.lasts.has(r));
        // A member may have missed the victory (then it ignores collects) or our collect or its reply.
        this.sendVictory(missing);
        for (const r of missing) this.ctx.io.send(r, { op: 'collect', epoch: this.epoch, ...this.collectRequest() });
        break;
      }
      case 'syncing':
        for (const r of silent((x) => (this.peerLc.get(x) ?? 0) >= this.ctx.log.lastCommitted)) this.syncPeer(r, this.peerLc.get(r) ?? 0);
        break;
      case 'updatingPrevious':
      case 'updating':
        for (const r of silent((x) => this.inFlight?.accepted.has(x) ?? true)) this.sendBegin(r);
        break;
      case 'active':
        return;
    }
    this.armRetransmit();
  }

  // --- helpers -------------------------------------------------------------------------------

  private allOthers(): Rank[] {
    const out: Rank[] = [];
    for (let r = 0; r < this.ctx.config.monitorCount; r++) if (r !== this.ctx.config.rank) out.push(r);
    return out;
  }

  private sendVictory(to: readonly Rank[]): void {
    const collect = this.collectRequest();
    for (const r of to) this.ctx.io.send(r, { op: 'victory', epoch: this.epoch, quorum: [...this.quorum], collect });
  }

  private fail(proposalId: number, outcome: 'notCommitted' | 'unknown', reason: ProposalFailure): void {
    this.ctx.io.outward({ kind: 'proposalFailed', proposalId, outcome, reason, leader: undefined });
  }

  private transition(to: LeaderPhase): void {
    assert(LEADER_PHASE_TRANSITIONS[this.phase].includes(to),
      () => `leader phase ${this.phase} → ${to} is not allowed`);
    this.phase = to;
  }
}
