import { runChaos, type ChaosScenario } from '@nacre/mon';
import { Prng } from '@nacre/util';
const N = Number(process.argv[2] ?? 200);
const base = Number(process.argv[3] ?? 1);
const rng = new Prng(base);
let worst = 0; let fails = 0; const t0 = Date.now(); let events = 0; const times: number[] = [];
for (let i = 0; i < N; i++) {
  const n = rng.pick([1, 2, 3, 4, 5, 7]);
  const s: ChaosScenario = {
    monitorCount: n, seed: rng.nextU32(), chaosMs: rng.int(3000, 60000),
    dropRate: rng.pick([0, 0.01, 0.05, 0.1, 0.3, 0.5]), duplicateRate: rng.pick([0, 0.05, 0.2]),
    delayMsMax: rng.pick([2, 20, 100, 400, 700]), partitionEveryMs: rng.pick([0, 1000, 5000]),
    crashEveryMs: rng.pick([0, 500, 3000]), crashInPersistRate: rng.pick([0, 0.002, 0.01, 0.03]), diskLatencyMsMax: rng.pick([1, 5, 30]), restartAfterMsMax: rng.pick([500, 3000, 10000]), proposalEveryMs: rng.pick([5, 20, 100, 500]),
    retainedVersionsMax: rng.pick([2, 5, 20, 500]), syncBytesMax: rng.pick([1, 20, 1 << 24]), keepDown: rng.int(0, Math.floor((n - 1) / 2)), keepDownIsolated: rng.next() < 0.5,
  };
  try {
    const r = runChaos(s);
    worst = Math.max(worst, r.progressAfterHealMs); events += r.stats.eventsProcessed; times.push(r.progressAfterHealMs);
    if (process.env.V) console.log(JSON.stringify({ lc: r.lastCommitted, p: Math.round(r.progressAfterHealMs), snaps: r.stats.snapshotsInstalled, terms: r.stats.leaderTerms }));
  } catch (e) { fails++; console.log('FAIL', JSON.stringify(s), (e as Error).message); }
}
times.sort((a, b) => a - b);
console.log({ N, fails, worst: Math.round(worst), p50: Math.round(times[Math.floor(times.length / 2)] ?? 0), p99: Math.round(times[Math.floor(times.length * 0.99)] ?? 0), ms: Date.now() - t0, events });
