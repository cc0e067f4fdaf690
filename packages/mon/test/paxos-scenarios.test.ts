/**
 * Focused, scripted scenarios on the simulated cluster: each drives one rule of the protocol
 * into a corner on purpose (the property test finds corners at random). The simulator's
 * invariants (agreement, chosen-value uniqueness, contiguity, durability, leases) are checked
 * throughout every scenario as well.
 */
import t from 'tap';
import { runChaos } from '@nacre/mon';
import type { PaxosMessage } from '@nacre/mon';
import { allRanks, logText, newSim, proposeAndWait, settle, text } from './paxos-helpers.js';

t.test('election: the reachable majority elects its lowest rank', async (t) => {
  const sim = newSim(5);
  t.equal(settle(sim, allRanks(5)), 0, 'all five up: rank 0 leads');
  t.same(sim.status(0)!.quorum, [0, 1, 2, 3, 4], 'quorum is everyone');

  sim.isolate(0);
  t.equal(settle(sim, [1, 2, 3, 4]), 1, 'rank 0 cut off: rank 1 leads the rest');
  sim.crash(1);
  t.equal(settle(sim, [2, 3, 4]), 2, 'rank 1 down too: rank 2 leads a bare majority');
  t.same(sim.status(2)!.quorum, [2, 3, 4]);
  t.equal(proposeAndWait(sim, 2).outcome, 'committed', 'a bare majority commits');

  sim.healNetwork();
  sim.restart(1);
  t.equal(settle(sim, allRanks(5)), 0, 'healed: rank 0 leads again');
  t.same(logText(sim, 0), logText(sim, 4), 'and holds what was committed without it');
});

t.test('election: a minority never elects and never commits', async (t) => {
  const sim = newSim(3);
  settle(sim, allRanks(3));
  t.equal(proposeAndWait(sim, 0).outcome, 'committed');
  settle(sim, allRanks(3));
  sim.partition([[0], [1], [2]]);
  sim.runFor(10_000);
  t.same(sim.leaders(), [], 'nobody leads alone');
  const p = sim.propose(0);
  sim.runFor(5_000);
  t.equal(p.outcome, 'notCommitted', 'a proposal to an isolated monitor is refused');
  for (const r of allRanks(3)) t.equal(sim.serviceLog(r).length, 1, `rank ${r} committed nothing more`);
  sim.healNetwork();
  t.equal(settle(sim, allRanks(3)), 0, 'quorum returns');
});

t.test('leader crash: a new leader takes over; the old one rejoins with every commit', async (t) => {
  const sim = newSim(3);
  settle(sim, allRanks(3));
  for (let i = 0; i < 5; i++) t.equal(proposeAndWait(sim, 0).outcome, 'committed');
  const crashedAt = sim.nowMs;
  sim.crash(0);
  t.equal(settle(sim, [1, 2]), 1, 'rank 1 leads');
  t.ok(sim.nowMs - crashedAt < 6_000, `failover took ${(sim.nowMs - crashedAt).toFixed(0)} ms (lease 1 s, election 1 s)`);
  for (let i = 0; i < 5; i++) t.equal(proposeAndWait(sim, 1).outcome, 'committed');
  sim.restart(0);
  t.equal(settle(sim, allRanks(3)), 0, 'rank 0 leads again after restart');
  t.equal(sim.serviceLog(0).length, 10, 'and has all ten committed values');
  t.same(logText(sim, 0), logText(sim, 1));
  t.same(logText(sim, 0), logText(sim, 2));
});

t.test('recovery: the uncommitted value with the highest proposal number wins', async (t) => {
  // x is accepted by rank 0 alone (never chosen); y is then accepted by ranks 1 and 2 (a
  // majority: chosen) but nobody learns the commit. When 0 and 2 form the next quorum, 0 holds x
  // and 2 holds y at the same version: the new leader must re-propose y, the higher-numbered one.
  const sim = newSim(3);
  settle(sim, allRanks(3));
  t.equal(proposeAndWait(sim, 0, text('v1')).outcome, 'committed');

  sim.dropIf = (from, _to, m: PaxosMessage) => from === 0 && m.op === 'begin';
  const x = sim.propose(0, text('x'));
  sim.runUntil(() => sim.status(0)!.pendingVersion === 2, 1_000);
  sim.runFor(50); // let the pending value reach the disk
  sim.crash(0, 'all');
  sim.dropIf = undefined;
  t.equal(settle(sim, [1, 2]), 1, 'rank 1 leads without 0');

  sim.dropIf = (from, to, m: PaxosMessage) => from === 2 && to === 1 && m.op === 'accept';
  const y = sim.propose(1, text('y'));
  sim.runUntil(() => sim.status(2)!.pendingVersion === 2, 2_000);
  sim.runFor(50);
  t.equal(sim.status(1)!.phase, 'updating', 'y is accepted by 1 and 2 but not committed');
  sim.crash(1, 'all');
  sim.dropIf = undefined;

  const logs: string[] = [];
  sim.onEffect = (rank, e) => { if (rank === 0 && e.kind === 'log') logs.push(e.message); };
  sim.restart(0);
  t.equal(settle(sim, [0, 2]), 0, 'rank 0 leads 0 and 2');
  t.ok(logs.some((m) => m.startsWith('competing uncommitted values')), 'its collect saw x and y competing');
  t.same(logText(sim, 0), ['v1', 'y'], 'y (chosen) was recovered, x (never chosen) was not');
  t.same(logText(sim, 2), ['v1', 'y']);
  t.equal(x.outcome, 'unknown', 'the client of x lost its monitor: outcome unknown');
  t.equal(y.outcome, 'unknown', 'so did the client of y (y did commit, later)');
  sim.restart(1);
  settle(sim, allRanks(3));
  t.same(logText(sim, 1), ['v1', 'y'], 'rank 1 converges too');
});

t.test('catch-up: a peon that missed commits gets them from the leader', async (t) => {
  const sim = newSim(3);
  settle(sim, allRanks(3));
  sim.isolate(2);
  settle(sim, [0, 1]);
  for (let i = 0; i < 10; i++) t.equal(proposeAndWait(sim, 0).outcome, 'committed');
  t.equal(sim.serviceLog(2).length, 0, 'rank 2 missed all ten');
  sim.healNetwork();
  settle(sim, allRanks(3));
  t.same(logText(sim, 2), logText(sim, 0), 'rank 2 caught up');
  t.equal(sim.stats.snapshotsInstalled, 0, 'from values, no snapshot needed');
});

t.test('full sync: a peon behind the trimmed history installs a snapshot', async (t) => {
  const sim = newSim(3, { core: { retainedVersionsMax: 5 } });
  settle(sim, allRanks(3));
  sim.isolate(2);
  settle(sim, [0, 1]);
  for (let i = 0; i < 20; i++) t.equal(proposeAndWait(sim, 0).outcome, 'committed');
  t.equal(sim.status(0)!.firstCommitted, 16, 'the leader kept only the last five values');
  sim.healNetwork();
  settle(sim, allRanks(3));
  t.ok(sim.stats.snapshotsInstalled >= 1, 'a snapshot was installed');
  t.same(logText(sim, 2), logText(sim, 0), 'rank 2 has the full history');
  t.equal(proposeAndWait(sim, 0).outcome, 'committed', 'and takes part in the next commit');
  settle(sim, allRanks(3));
  t.equal(sim.serviceLog(2).length, 21);
});

t.test('full sync: a new leader behind the trimmed history gets a snapshot in the collect reply', async (t) => {
  const sim = newSim(3, { core: { retainedVersionsMax: 5, syncBytesMax: 4 } });
  settle(sim, allRanks(3));
  sim.crash(0);
  settle(sim, [1, 2]);
  for (let i = 0; i < 20; i++) t.equal(proposeAndWait(sim, 1).outcome, 'committed');
  sim.restart(0);
  t.equal(settle(sim, allRanks(3)), 0, 'rank 0, far behind, leads again');
  t.ok(sim.stats.snapshotsInstalled >= 1, 'it installed a snapshot from a peon');
  t.same(logText(sim, 0), logText(sim, 1));
  t.equal(sim.serviceLog(0).length, 20);
});

t.test('leases: a peon stops serving reads when its lease runs out, then calls an election', async (t) => {
  const sim = newSim(3); // lease 1 s, peon lease timeout 2 s
  settle(sim, allRanks(3));
  sim.runFor(2_000);
  t.ok(sim.readable(1), 'peon 1 holds a lease');
  const cutAt = sim.nowMs;
  sim.block(0, 1); // the leader's messages no longer reach rank 1
  sim.runUntil(() => !sim.readable(1), 2_000);
  const readableMs = sim.nowMs - cutAt;
  t.ok(!sim.readable(1) && readableMs <= 1_000 + 10, `unreadable ${readableMs.toFixed(0)} ms after the cut (≤ lease)`);
  const epoch = sim.status(1)!.epoch;
  sim.runUntil(() => sim.status(1)!.epoch > epoch, 3_000);
  t.ok(sim.nowMs - cutAt <= 2_000 + 10, `rank 1 called an election ${(sim.nowMs - cutAt).toFixed(0)} ms after the cut`);
  sim.healNetwork();
  settle(sim, allRanks(3));
  t.ok(sim.readable(1) || (sim.runFor(100), sim.readable(1)), 'readable again once leases resume');
});

t.test('leases: a leader without lease acks calls an election', async (t) => {
  const sim = newSim(3);
  settle(sim, allRanks(3));
  const epoch = sim.status(0)!.epoch;
  const cutAt = sim.nowMs;
  sim.block(2, 0); // rank 2's acks never reach the leader
  sim.runUntil(() => sim.status(0)!.epoch > epoch, 5_000);
  const tookMs = sim.nowMs - cutAt;
  t.ok(tookMs <= 2_000 + 600 + 10, `leader called an election ${tookMs.toFixed(0)} ms after acks stopped (ack timeout 2 s)`);
  sim.healNetwork();
  t.equal(settle(sim, allRanks(3)), 0);
});

t.test('determinism: one seed, one execution', async (t) => {
  const scenario = {
    monitorCount: 5, seed: 12345, chaosMs: 8_000, dropRate: 0.1, duplicateRate: 0.1, delayMsMax: 50,
    partitionEveryMs: 1_000, crashEveryMs: 1_000, crashInPersistRate: 0.01, restartAfterMsMax: 3_000,
    diskLatencyMsMax: 5, proposalEveryMs: 50, retainedVersionsMax: 5, syncBytesMax: 20, keepDown: 2, keepDownIsolated: true,
  };
  const a = runChaos(scenario);
  const b = runChaos(scenario);
  t.same(a, b, 'same report, trace digest included');
  t.not(runChaos({ ...scenario, seed: 54321 }).trace, a.trace, 'another seed, another execution');
});
