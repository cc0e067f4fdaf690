/**
 * Quorum facts the service layer shows (status, health, mon stat) but does not own: they come from
 * the Paxos core's `role` effects, which the driver passes in.
 */
import type { MonState } from './mon-state.js';

export interface QuorumInfo {
  /** Ranks of the monitors in the current quorum, leader included. */
  quorumRanks: readonly number[];
  /** Rank of the leader, undefined while electing. */
  leaderRank: number | undefined;
  electionEpoch: number;
}

export function quorumNames(state: MonState, q: QuorumInfo | undefined): string[] {
  if (q === undefined) return [];
  return [...q.quorumRanks].sort((a, b) => a - b).map((r) => state.monmap.mons[r]?.name ?? `rank${r}`);
}

export function leaderName(state: MonState, q: QuorumInfo | undefined): string | null {
  if (q?.leaderRank === undefined) return null;
  return state.monmap.mons[q.leaderRank]?.name ?? `rank${q.leaderRank}`;
}
