/**
 * The acceptance property for the monitor consensus core: 3 and 5 monitors on a simulated
 * network with random loss, duplication, reordering, delays, partitions and restarts —
 *   - no two monitors ever commit different values for one version (and, white-box, no two
 *     values are ever chosen for one version);
 *   - every value a client saw committed survives, on every monitor that catches up;
 *   - committed versions are contiguous on each monitor and never roll back across restarts;
 *   - once a majority is connected and stable, a proposal commits within LIVENESS_BOUND_MS.
 * The checks themselves live in PaxosSim / runChaos; fast-check draws the fault mix (swarm
 * testing: each run gets its own rates, so rare combinations come up).
 *
 * Seeded: the seed is printed first; `NACRE_SEED=N` replays the same runs, and a failure message
 * carries the simulator seed of the failing scenario. `NACRE_PAXOS_RUNS=N` sets runs per size.
 */
import t from 'tap';
import fc from 'fast-check';
import { LIVENESS_BOUND_MS, runChaos } from '@nacre/mon';
import type { ChaosReport, ChaosScenario } from '@nacre/mon';
import { seedFromEnv } from '@nacre/util';

const seed = seedFromEnv();
const runsPerSize = Number(process.env['NACRE_PAXOS_RUNS'] ?? 400);

function scenarios(monitorCount: 3 | 5): fc.Arbitrary<ChaosScenario> {
  const minority = Math.floor((monitorCount - 1) / 2);
  return fc.record({
    monitorCount: fc.constant(monitorCount),
    seed: fc.nat(),
    chaosMs: fc.integer({ min: 2_000, max: 25_000 }),
    dropRate: fc.constantFrom(0, 0.01, 0.05, 0.1, 0.3),
    duplicateRate: fc.constantFrom(0, 0.05, 0.2),
    delayMsMax: fc.constantFrom(2, 20, 100, 400),
    partitionEveryMs: fc.constantFrom(0, 1_000, 5_000),
    crashEveryMs: fc.constantFrom(0, 500, 3_000),
    crashInPersistRate: fc.constantFrom(0, 0.002, 0.01, 0.03),
    restartAfterMsMax: fc.constantFrom(500, 3_000, 10_000),
    diskLatencyMsMax: fc.constantFrom(1, 5, 30),
    proposalEveryMs: fc.constantFrom(20, 100, 500),
    retainedVersionsMax: fc.constantFrom(2, 5, 20, 500),
    syncBytesMax: fc.constantFrom(1, 20, 1 << 24),
    keepDown: fc.integer({ min: 0, max: minority }),
    keepDownIsolated: fc.boolean(),
  });
}

t.comment(`paxos property seed ${seed} (reproduce with NACRE_SEED=${seed})`);

for (const monitorCount of [3, 5] as const) {
  t.test(`${monitorCount} monitors: safety under faults, progress after healing`, async (t) => {
    const reports: ChaosReport[] = [];
    const started = performance.now();
    fc.assert(
      fc.property(scenarios(monitorCount), (s) => {
        reports.push(runChaos(s));
      }),
      { seed: seed + monitorCount, numRuns: runsPerSize, endOnFailure: false },
    );
    const worstMs = Math.max(...reports.map((r) => r.progressAfterHealMs));
    const versions = reports.reduce((n, r) => n + r.lastCommitted, 0);
    const snapshots = reports.filter((r) => r.stats.snapshotsInstalled > 0).length;
    const crashes = reports.reduce((n, r) => n + r.stats.crashes, 0);
    t.comment(`${reports.length} runs in ${(performance.now() - started).toFixed(0)} ms: ${versions} versions committed, `
      + `${crashes} crashes, full syncs in ${snapshots} runs, slowest recovery ${worstMs.toFixed(0)} ms after healing`);
    t.ok(reports.length >= runsPerSize, `${reports.length} runs`);
    t.ok(worstMs <= LIVENESS_BOUND_MS, 'progress within the bound');
    t.ok(snapshots > 0, 'some runs exercised full-state sync');
  });
}
