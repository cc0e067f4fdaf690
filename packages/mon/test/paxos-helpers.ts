/** Small helpers for scripted PaxosSim scenarios. */
import { PaxosSim } from '@nacre/mon';
import type { PaxosSimOptions, ProposalRecord, Rank } from '@nacre/mon';

export function newSim(monitorCount: number, extra: Partial<PaxosSimOptions> = {}): PaxosSim {
  const sim = new PaxosSim({ monitorCount, seed: 1, network: { delayMsMin: 1, delayMsMax: 5 }, ...extra });
  sim.startAll();
  return sim;
}

/**
 * `ranks` are exactly the quorum, one of them leads and is active, and every member has the
 * leader's last_committed durably (its service history is as long).
 */
export function stableAmong(sim: PaxosSim, ranks: readonly Rank[]): Rank | undefined {
  const leaders = ranks.filter((r) => sim.status(r)?.role === 'leader');
  if (leaders.length !== 1) return undefined;
  const leader = leaders[0]!;
  const st = sim.status(leader)!;
  if (st.phase !== 'active' || st.quorum.join() !== [...ranks].sort((a, b) => a - b).join()) return undefined;
  for (const r of ranks) {
    const s = sim.status(r);
    if (s === undefined || s.leader !== leader || s.epoch !== st.epoch) return undefined;
    if (s.lastCommitted !== st.lastCommitted || sim.serviceLog(r).length !== st.lastCommitted) return undefined;
  }
  return leader;
}

/** Run until `ranks` form a stable quorum; returns the leader (throws after maxMs). */
export function settle(sim: PaxosSim, ranks: readonly Rank[], maxMs = 20_000): Rank {
  let leader: Rank | undefined;
  const ok = sim.runUntil(() => (leader = stableAmong(sim, ranks)) !== undefined, maxMs);
  if (!ok || leader === undefined) {
    throw new Error(`no stable quorum among ${ranks.join(',')} after ${maxMs} ms: `
      + ranks.map((r) => JSON.stringify(sim.status(r) ?? 'down')).join(' '));
  }
  return leader;
}

/** Propose to `rank` and run until the proposal has an outcome. */
export function proposeAndWait(sim: PaxosSim, rank: Rank, value?: Uint8Array, maxMs = 10_000): ProposalRecord {
  const p = sim.propose(rank, value);
  sim.runUntil(() => p.outcome !== 'pending', maxMs);
  return p;
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function logText(sim: PaxosSim, rank: Rank): string[] {
  return sim.serviceLog(rank).map((v) => new TextDecoder().decode(v));
}

export function allRanks(n: number): Rank[] {
  return [...Array(n).keys()];
}
