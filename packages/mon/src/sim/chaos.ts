/**
 * One randomized fault run over a PaxosSim, in two phases (after TigerBeetle's VOPR):
 *
 *  1. chaos — for `chaosMs` of virtual time: message loss, duplication and reordering at the
 *     scenario's rates, random partitions (split, isolate one, one-way), monitors crashing and
 *     restarting at random, clients proposing to whoever they think leads. Safety invariants are
 *     checked continuously (paxos-sim.ts).
 *  2. liveness — the network heals (no loss, no duplicates, same delays) and every monitor
 *     restarts except `keepDown` of them (a minority), which stay crashed or isolated. A client
 *     proposal must commit within LIVENESS_BOUND_MS, and then every live monitor must converge on
 *     the same history, which must contain every commit any client saw.
 */
import { SimInvariantError, PaxosSim } from './paxos-sim.js';
import type { ProposalRecord, SimStats } from './paxos-sim.js';
import type { Rank, Version } from '../paxos/types.js';
import { bytesEqual } from '../paxos/paxos-log.js';

export interface ChaosScenario {
  monitorCount: number;
  seed: number;
  /** Length of the fault phase (virtual ms). */
  chaosMs: number;
  dropRate: number;
  duplicateRate: number;
  delayMsMax: number;
  /** Mean virtual ms between partition changes (0 = never partition). */
  partitionEveryMs: number;
  /** Mean virtual ms between monitor crashes (0 = never crash). */
  crashEveryMs: number;
  /**
   * Probability, per persist a monitor issues, that it crashes before that persist is durable
   * (BUGGIFY-style: aims crashes at the moments where "persist before acknowledge" matters).
   */
  crashInPersistRate: number;
  /** A crashed monitor restarts after a uniform 10..restartAfterMsMax virtual ms. */
  restartAfterMsMax: number;
  /** fsync latency, uniform in [0.2, diskLatencyMsMax]. */
  diskLatencyMsMax: number;
  /** Mean virtual ms between client proposals. */
  proposalEveryMs: number;
  /** Small values force full-state syncs. */
  retainedVersionsMax: number;
  /** Small values split catch-up into many messages (sim values are ~5 bytes). */
  syncBytesMax: number;
  /** Monitors left out of the liveness phase; at most a minority. */
  keepDown: number;
  /** Leave them running but isolated (true) or crashed (false). */
  keepDownIsolated: boolean;
}

export interface ChaosReport {
  lastCommitted: Version;
  /** Virtual ms from healing until a new client proposal committed. */
  progressAfterHealMs: number;
  proposals: { committed: number; notCommitted: number; unknown: number; pending: number };
  stats: SimStats;
  trace: number;
}

/**
 * A proposal must commit this soon after the heal. With the simulator's timings (lease 1 s,
 * so peon lease timeout, accept timeout and lease ack timeout 2 s; election round 1 s) the
 * worst chain we have seen is a few elections long; the bound leaves ample room above it.
 */
export const LIVENESS_BOUND_MS = 30_000;
/** After progress, live monitors must agree on one history within this long. */
export const CONVERGENCE_BOUND_MS = 30_000;

export const CHAOS_PROPOSAL_QUEUE_MAX = 8;

export function runChaos(s: ChaosScenario): ChaosReport {
  const sim = new PaxosSim({
    monitorCount: s.monitorCount,
    seed: s.seed,
    // A short proposal queue: clients here never back off, and a long queue would only delay
    // the liveness check; it also exercises the queueFull path.
    core: { retainedVersionsMax: s.retainedVersionsMax, syncBytesMax: s.syncBytesMax, proposalQueueMax: CHAOS_PROPOSAL_QUEUE_MAX },
    network: { dropRate: s.dropRate, duplicateRate: s.duplicateRate, delayMsMin: 0.5, delayMsMax: s.delayMsMax },
    diskLatencyMsMin: 0.2,
    diskLatencyMsMax: Math.max(0.2, s.diskLatencyMsMax),
  });
  const minority = Math.floor((s.monitorCount - 1) / 2);
  if (s.keepDown > minority) throw new RangeError(`keepDown ${s.keepDown} is more than a minority`);
  const rng = sim.rng;
  let chaos = true;
  sim.startAll();

  const exp = (meanMs: number): number => -Math.log(1 - rng.next()) * meanMs;
  const anyRank = (): Rank => rng.int(0, s.monitorCount - 1);
  const target = (eligible: (r: Rank) => boolean): Rank | undefined => {
    const leaders = sim.leaders().filter(eligible);
    if (leaders.length > 0 && rng.next() < 0.9) return rng.pick(leaders);
    const up = [...Array(s.monitorCount).keys()].filter((r) => sim.isUp(r) && eligible(r));
    return up.length > 0 ? rng.pick(up) : undefined;
  };

  // Clients: proposals at exponential intervals, mostly to a monitor that says it leads.
  const client = (): void => {
    if (!chaos) return;
    const r = target(() => true);
    if (r !== undefined) sim.propose(r);
    sim.at(sim.nowMs + exp(s.proposalEveryMs), client);
  };
  sim.at(exp(s.proposalEveryMs), client);

  if (s.crashEveryMs > 0) {
    const crasher = (): void => {
      if (!chaos) return;
      // Half the time hit a leader: its crash mid-proposal is where recovery bugs hide.
      const leaders = sim.leaders();
      const r = leaders.length > 0 && rng.next() < 0.5 ? rng.pick(leaders) : anyRank();
      crashAndRestart(r, 0);
      sim.at(sim.nowMs + exp(s.crashEveryMs), crasher);
    };
    sim.at(exp(s.crashEveryMs), crasher);
  }

  const crashAndRestart = (r: Rank, inMs: number): void => {
    sim.at(sim.nowMs + inMs, () => {
      if (!chaos || !sim.isUp(r)) return;
      sim.crash(r);
      sim.at(sim.nowMs + 10 + rng.next() * Math.max(0, s.restartAfterMsMax - 10), () => { if (chaos) sim.restart(r); });
    });
  };
  if (s.crashInPersistRate > 0) {
    sim.onEffect = (r, e) => {
      if (chaos && e.kind === 'persist' && rng.next() < s.crashInPersistRate) crashAndRestart(r, rng.next() * s.diskLatencyMsMax);
    };
  }

  if (s.partitionEveryMs > 0) {
    let generation = 0;
    const partitioner = (): void => {
      if (!chaos) return;
      const g = ++generation;
      sim.healNetwork();
      randomPartition(sim, s.monitorCount);
      sim.at(sim.nowMs + 50 + rng.next() * 5000, () => { if (chaos && g === generation) sim.healNetwork(); });
      sim.at(sim.nowMs + exp(s.partitionEveryMs), partitioner);
    };
    sim.at(exp(s.partitionEveryMs), partitioner);
  }

  sim.runUntilTime(s.chaosMs);

  // --- liveness phase ---
  chaos = false;
  const healMs = sim.nowMs;
  sim.healNetwork();
  sim.setFaults({ dropRate: 0, duplicateRate: 0 });
  const left = new Set<Rank>();
  while (left.size < s.keepDown) left.add(anyRank());
  for (let r = 0; r < s.monitorCount; r++) {
    if (!left.has(r)) sim.restart(r);
    else if (s.keepDownIsolated) { sim.restart(r); sim.isolate(r); }
    else sim.crash(r);
  }
  const live = [...Array(s.monitorCount).keys()].filter((r) => !left.has(r));

  const healed: ProposalRecord[] = [];
  let clientOn = true;
  const healedClient = (): void => {
    if (!clientOn) return;
    const r = target((x) => !left.has(x));
    if (r !== undefined) healed.push(sim.propose(r));
    sim.at(sim.nowMs + 100 + rng.next() * 200, healedClient);
  };
  sim.at(sim.nowMs, healedClient);
  const progressed = (): boolean => healed.some((p) => p.outcome === 'committed');
  if (!sim.runUntil(progressed, LIVENESS_BOUND_MS)) {
    throw new SimInvariantError(`LIVENESS: no proposal committed within ${LIVENESS_BOUND_MS} ms after healing `
      + `(live ${live.join(',')}, ${describe(sim, live)}) [seed ${s.seed}]`);
  }
  const progressAfterHealMs = Math.min(...healed.filter((p) => p.outcome === 'committed').map((p) => p.doneAtMs!)) - healMs;
  clientOn = false;

  if (!sim.runUntil(() => converged(sim, live), CONVERGENCE_BOUND_MS)) {
    throw new SimInvariantError(`LIVENESS: live monitors did not converge within ${CONVERGENCE_BOUND_MS} ms `
      + `(${describe(sim, live)}) [seed ${s.seed}]`);
  }
  checkSurvivors(sim, live);

  const count = (o: ProposalRecord['outcome']): number => [...sim.proposals.values()].filter((p) => p.outcome === o).length;
  return {
    lastCommitted: sim.serviceLog(live[0]!).length,
    progressAfterHealMs,
    proposals: { committed: count('committed'), notCommitted: count('notCommitted'), unknown: count('unknown'), pending: count('pending') },
    stats: { ...sim.stats },
    trace: sim.trace,
  };
}

function randomPartition(sim: PaxosSim, n: number): void {
  const rng = sim.rng;
  const kind = rng.int(0, 2);
  if (kind === 0) {
    const side = [...Array(n).keys()].filter(() => rng.next() < 0.5);
    sim.partition([side, [...Array(n).keys()].filter((r) => !side.includes(r))]);
  } else if (kind === 1) {
    sim.isolate(rng.int(0, n - 1));
  } else {
    // Asymmetric: a few one-way cuts (a failing NIC queue, a half-open connection).
    for (let i = rng.int(1, n); i > 0; i--) {
      const a = rng.int(0, n - 1);
      const b = rng.int(0, n - 1);
      if (a !== b) sim.block(a, b);
    }
  }
}

/** Same durable history on every live monitor, nothing in flight, and nothing any client saw missing. */
function converged(sim: PaxosSim, live: readonly Rank[]): boolean {
  const first = sim.serviceLog(live[0]!);
  for (const r of live) {
    const st = sim.status(r);
    if (st === undefined || st.lastCommitted !== first.length || sim.serviceLog(r).length !== first.length) return false;
    if (st.role !== 'leader' && st.role !== 'peon') return false;
  }
  return [...sim.seen.keys()].every((v) => v <= first.length);
}

function checkSurvivors(sim: PaxosSim, live: readonly Rank[]): void {
  for (const r of live) {
    const log = sim.serviceLog(r);
    for (const [v, value] of sim.seen) {
      sim.check(log[v - 1] !== undefined && bytesEqual(log[v - 1]!, value),
        () => `SURVIVAL: version ${v}, seen committed by a client, is missing or different on rank ${r}`);
    }
    for (let v = 1; v <= log.length; v++) {
      const c = sim.chosen.get(v);
      sim.check(c !== undefined && bytesEqual(c, log[v - 1]!), () => `rank ${r}: version ${v} differs from the chosen value`);
    }
  }
}

function describe(sim: PaxosSim, ranks: readonly Rank[]): string {
  return ranks.map((r) => {
    const st = sim.status(r);
    return st === undefined ? `${r}:down` : `${r}:${st.role}/${st.phase ?? '-'} e${st.epoch} lc${st.lastCommitted} q[${st.quorum.join(',')}]`;
  }).join(' ');
}
