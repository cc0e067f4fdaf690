/**
 * What leader and peon terms share: the context they act through and what they report back.
 * A term lives from one election's end to the next election's start; it is thrown away whole
 * when a new election begins, so nothing of an old term can leak into a new one.
 */
import type { MonitorCoreConfig } from './config.js';
import type { CoreIo } from './core-io.js';
import type { PaxosLog } from './paxos-log.js';
import type { ElectionEpoch, ProposalNumber, Rank, Version } from './types.js';

export interface TermContext {
  readonly config: MonitorCoreConfig;
  readonly io: CoreIo;
  readonly log: PaxosLog;
}

/** A term asks for a new election, or carries on. */
export type PaxosOutcome = { kind: 'none' } | { kind: 'callElection'; reason: string };

export const CARRY_ON: PaxosOutcome = { kind: 'none' };

export function callElection(reason: string): PaxosOutcome {
  return { kind: 'callElection', reason };
}

export type LeaderPhase = 'collecting' | 'syncing' | 'updatingPrevious' | 'active' | 'updating';

/**
 * The leader's phases and the only moves between them (STYLE: explicit transition table).
 *   collecting        phase 1: collect/last from every quorum member (Ceph STATE_RECOVERING)
 *   syncing           bring lagging quorum members up to our last_committed before phase 2
 *   updatingPrevious  re-propose the uncommitted value recovered in phase 1 (STATE_UPDATING_PREVIOUS)
 *   active            idle, lease held, ready for the next proposal (STATE_ACTIVE)
 *   updating          one new value in flight: begin sent, waiting for every accept (STATE_UPDATING)
 * collecting → collecting happens when a peon refuses our proposal number and we pick a higher one.
 */
export const LEADER_PHASE_TRANSITIONS: Readonly<Record<LeaderPhase, readonly LeaderPhase[]>> = {
  collecting: ['collecting', 'syncing', 'updatingPrevious', 'active'],
  syncing: ['updatingPrevious', 'active'],
  updatingPrevious: ['active'],
  active: ['updating'],
  updating: ['active'],
};

export interface TermStatus {
  epoch: ElectionEpoch;
  leader: Rank;
  quorum: readonly Rank[];
  pn: ProposalNumber;
  phase: LeaderPhase | 'peon';
  readable: boolean;
  queuedProposals: number;
  inFlightVersion: Version | undefined;
}
