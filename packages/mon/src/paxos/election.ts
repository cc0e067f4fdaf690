/**
 * Leader election, Ceph's classic strategy: the reachable majority elects its lowest rank.
 *
 * Epochs are odd while electing and even while a quorum stands. A candidate bumps to the next odd
 * epoch and sends `propose` to everyone; a monitor defers (`ack`) to any lower-ranked candidate of
 * the current epoch, and proposes itself when a higher-ranked one asks. The candidate wins at
 * once when every monitor acked, or when its round timer fires with a majority; it then moves to
 * the next even epoch and sends `victory` with the quorum (the monitors that acked) — the core
 * sends it, because it carries the new leader's first Paxos collect.
 *
 * Where we deviate from Ceph: a retried round always takes a fresh odd epoch (Ceph may reuse
 * one), so acks from an abandoned round can never count; and `victory` goes to every monitor, so
 * one left out learns the epoch and calls a new election to join (Ceph has it probe and bootstrap).
 * The epoch is persisted before any message carrying it leaves (output commit, core-io.ts).
 *
 * Elections decide who leads, not what is chosen: two leaders in one epoch (possible when
 * messages are lost) cannot break Paxos safety, which rests on proposal numbers alone.
 */
import { assert } from '@nacre/util';
import type { MonitorCoreConfig } from './config.js';
import type { CoreIo } from './core-io.js';
import { STORE_FORMAT_VERSION, STORE_KEYS } from './store-layout.js';
import type { CollectRequest, ElectionEpoch, ElectionMessage, Rank } from './types.js';

/** What the core must do after an election step. */
export type ElectionOutcome =
  | { kind: 'none' }
  /** An election is (now) running: leave any leader/peon role. */
  | { kind: 'electing' }
  /** We won: the core must send `victory` (with the new leader's collect) to every other monitor. */
  | { kind: 'won'; epoch: ElectionEpoch; quorum: Rank[] }
  | { kind: 'lost'; epoch: ElectionEpoch; leader: Rank; quorum: Rank[]; collect: CollectRequest };

/** The quorum the core currently serves in, if any (the elector needs it for stale proposals). */
export interface StableQuorum {
  leader: Rank;
  quorum: readonly Rank[];
}

type ElectorState =
  | { kind: 'stable' }                       // even epoch: a quorum stands (or we wait to join one)
  | { kind: 'candidate'; acks: Set<Rank> }   // odd epoch: we proposed ourselves
  | { kind: 'deferred'; to: Rank };          // odd epoch: we acked a lower-ranked candidate

/** A deferring monitor waits this many election rounds for the victory. */
export const DEFERRED_WAIT_FACTOR = 2;

const NONE: ElectionOutcome = { kind: 'none' };
const ELECTING: ElectionOutcome = { kind: 'electing' };

export class Elector {
  private epochValue: ElectionEpoch;
  private state: ElectorState = { kind: 'stable' };

  constructor(private readonly config: MonitorCoreConfig, private readonly io: CoreIo, persistedEpoch: ElectionEpoch) {
    assert(Number.isSafeInteger(persistedEpoch) && persistedEpoch >= 0, 'bad persisted epoch');
    this.epochValue = persistedEpoch;
  }

  get epoch(): ElectionEpoch {
    return this.epochValue;
  }

  get electing(): boolean {
    return this.epochValue % 2 === 1;
  }

  /** Start a new round at the next odd epoch, proposing ourselves. */
  start(reason: string): ElectionOutcome {
    this.setEpoch(this.epochValue % 2 === 0 ? this.epochValue + 1 : this.epochValue + 2);
    this.io.log('info', 'election started', { reason, epoch: this.epochValue });
    const won = this.proposeSelf();
    return won ?? ELECTING;
  }

  handle(from: Rank, m: ElectionMessage, stable: StableQuorum | undefined): ElectionOutcome {
    switch (m.op) {
      case 'propose': return this.handlePropose(from, m.epoch, stable);
      case 'ack': return this.handleAck(from, m.epoch);
      case 'victory': return this.handleVictory(from, m.epoch, m.quorum, m.collect, stable);
    }
  }

  /** The round timer fired: win with a majority, else start over. */
  handleTimeout(): ElectionOutcome {
    if (this.state.kind === 'candidate' && this.state.acks.size >= this.config.majority) return this.victory();
    if (this.state.kind === 'stable' && !this.electing) return NONE;
    return this.start(this.state.kind === 'candidate' ? 'no majority' : 'no victory from the candidate we deferred to');
  }

  private handlePropose(from: Rank, epoch: ElectionEpoch, stable: StableQuorum | undefined): ElectionOutcome {
    if (epoch < this.epochValue) return this.handleStalePropose(from, stable);
    let outcome: ElectionOutcome = NONE;
    if (epoch > this.epochValue) {
      // A newer election: join it, whatever we were doing.
      this.setEpoch(epoch);
      this.state = { kind: 'stable' }; // neither candidate nor deferred yet in this epoch
      outcome = ELECTING;
    }
    if (from < this.config.rank) {
      this.deferTo(from);
      return outcome;
    }
    // A higher rank asks: we would beat it. Propose ourselves unless we already defer to someone.
    if (this.state.kind === 'deferred') return outcome;
    if (this.state.kind === 'candidate') {
      this.io.send(from, { op: 'propose', epoch: this.epochValue }); // it may have missed ours
      return outcome;
    }
    return this.proposeSelf() ?? outcome;
  }

  private handleStalePropose(from: Rank, stable: StableQuorum | undefined): ElectionOutcome {
    if (stable !== undefined && !this.electing) {
      // Someone outside our quorum wants in (a restarted or reconnected monitor). As in Ceph,
      // the leader calls an election so it can join; peons leave that to the leader.
      if (stable.leader === this.config.rank && !stable.quorum.includes(from)) return this.start(`rank ${from} wants to join`);
      return NONE;
    }
    if (this.state.kind === 'candidate') this.io.send(from, { op: 'propose', epoch: this.epochValue });
    return NONE;
  }

  private deferTo(candidate: Rank): void {
    if (this.state.kind === 'deferred' && this.state.to < candidate) return; // already behind a better one
    this.state = { kind: 'deferred', to: candidate };
    this.io.send(candidate, { op: 'ack', epoch: this.epochValue });
    // Wait longer than the candidate's own round: its timer started before ours, and if ours
    // fired first we would abandon it just as its victory (declared on its timeout) is on the way.
    this.io.setTimer('election', this.config.electionTimeoutMs * DEFERRED_WAIT_FACTOR);
  }

  private handleAck(from: Rank, epoch: ElectionEpoch): ElectionOutcome {
    if (epoch !== this.epochValue || this.state.kind !== 'candidate') return NONE;
    this.state.acks.add(from);
    return this.state.acks.size === this.config.monitorCount ? this.victory() : NONE;
  }

  private handleVictory(
    from: Rank, epoch: ElectionEpoch, quorum: Rank[], collect: CollectRequest, stable: StableQuorum | undefined,
  ): ElectionOutcome {
    if (epoch < this.epochValue) return NONE;
    if (epoch === this.epochValue) {
      if (stable?.leader === from) return NONE; // duplicate
      // Two leaders claim one epoch (each saw a majority of acks): settle it with a new round.
      return this.start(`conflicting victory from rank ${from}`);
    }
    if (!quorum.includes(from) || quorum.length < this.config.majority) return NONE; // not a real victory
    this.setEpoch(epoch);
    this.state = { kind: 'stable' };
    this.io.cancelTimer('election');
    if (!quorum.includes(this.config.rank)) return this.start('left out of the quorum');
    return { kind: 'lost', epoch, leader: from, quorum: [...quorum], collect };
  }

  /** Returns the victory outcome if we win on the spot (a single-monitor map), else undefined. */
  private proposeSelf(): ElectionOutcome | undefined {
    this.state = { kind: 'candidate', acks: new Set([this.config.rank]) };
    for (let r = 0; r < this.config.monitorCount; r++) {
      if (r !== this.config.rank) this.io.send(r, { op: 'propose', epoch: this.epochValue });
    }
    if (this.config.monitorCount === 1) return this.victory();
    this.io.setTimer('election', this.config.electionTimeoutMs);
    return undefined;
  }

  private victory(): ElectionOutcome {
    assert(this.state.kind === 'candidate' && this.electing, 'victory outside a candidacy');
    const quorum = [...this.state.acks].sort((a, b) => a - b);
    assert(quorum.length >= this.config.majority, 'victory without a majority');
    this.setEpoch(this.epochValue + 1);
    this.state = { kind: 'stable' };
    this.io.cancelTimer('election');
    this.io.log('info', 'won election', { epoch: this.epochValue, quorum: quorum.join(',') });
    return { kind: 'won', epoch: this.epochValue, quorum };
  }

  private setEpoch(epoch: ElectionEpoch): void {
    assert(epoch > this.epochValue, () => `election epoch must grow: ${this.epochValue} → ${epoch}`);
    this.epochValue = epoch;
    this.io.persist([
      { op: 'put', key: STORE_KEYS.format, value: STORE_FORMAT_VERSION },
      { op: 'put', key: STORE_KEYS.electionEpoch, value: epoch },
    ]);
  }
}
