/**
 * MonitorCore driven by hand, event by event: the driver contract (output commit, persist ids,
 * timer tokens), the store layout round trip, proposals, bad input, and the small pure pieces.
 */
import t from 'tap';
import {
  MonitorCore, PAXOS_DEFAULTS, STORE_KEYS, checkPaxosMessage, emptyPersistedState, nextProposalNumber,
  persistedStateFromEntries, resolveConfig, valueKey,
} from '@nacre/mon';
import type { MonitorEffect, PaxosMessage, StoreValue } from '@nacre/mon';

const outward = new Set(['send', 'committed', 'snapshotInstalled', 'proposalCommitted', 'proposalFailed', 'readable', 'role']);

function kinds(effects: MonitorEffect[]): string[] {
  return effects.map((e) => e.kind);
}

function sends(effects: MonitorEffect[]): Array<{ to: number; message: PaxosMessage }> {
  return effects.flatMap((e) => (e.kind === 'send' ? [{ to: e.to, message: e.message }] : []));
}

/** A tiny driver: applies persists to a Map and acknowledges them at once. */
class Driver {
  readonly store = new Map<string, StoreValue>();
  readonly log: MonitorEffect[] = [];
  constructor(readonly core: MonitorCore) {}

  feed(effects: MonitorEffect[]): MonitorEffect[] {
    const all: MonitorEffect[] = [];
    let queue = effects;
    while (queue.length > 0) {
      const next: MonitorEffect[] = [];
      for (const e of queue) {
        all.push(e);
        if (e.kind === 'persist') {
          for (const w of e.writes) (w.op === 'put' ? this.store.set(w.key, w.value) : this.store.delete(w.key));
          next.push(...this.core.handle({ kind: 'persisted', persistId: e.persistId }));
        }
      }
      queue = next;
    }
    this.log.push(...all);
    return all;
  }
}

t.test('output commit: nothing outward leaves before the persist it depends on is durable', async (t) => {
  const core = new MonitorCore({ rank: 1, monitorCount: 3 });
  const boot = core.handle({ kind: 'boot', persisted: emptyPersistedState() });
  t.same(kinds(boot).filter((k) => outward.has(k)), [], 'boot: the epoch write is pending, no propose yet');
  const p1 = boot.find((e) => e.kind === 'persist');
  t.ok(p1 !== undefined && p1.kind === 'persist' && p1.writes.some((w) => w.key === STORE_KEYS.electionEpoch));
  const released = core.handle({ kind: 'persisted', persistId: (p1 as { persistId: number }).persistId });
  t.same(sends(released).map((s) => [s.to, s.message.op]), [[0, 'propose'], [2, 'propose']], 'proposes after the epoch is durable');

  // Rank 0 proposes: we defer. The ack waits for nothing new (epoch 1 already durable).
  const ack = core.handle({ kind: 'message', from: 0, message: { op: 'propose', epoch: 1 } });
  t.same(sends(ack).map((s) => [s.to, s.message.op]), [[0, 'ack']]);

  // Victory with the first collect: we promise pn 100, which must be durable before `last` goes.
  const victory = core.handle({
    kind: 'message', from: 0,
    message: { op: 'victory', epoch: 2, quorum: [0, 1, 2], collect: { pn: 100, firstCommitted: 1, lastCommitted: 0 } },
  });
  t.same(sends(victory), [], 'no last before the promise is durable');
  const persist = victory.filter((e) => e.kind === 'persist');
  t.equal(persist.length, 1, 'epoch and promise written in one batch');
  const keys = persist.flatMap((e) => (e.kind === 'persist' ? e.writes.map((w) => w.key) : []));
  t.ok(keys.includes(STORE_KEYS.electionEpoch) && keys.includes(STORE_KEYS.acceptedPn));
  const after = core.handle({ kind: 'persisted', persistId: (persist[0] as { persistId: number }).persistId });
  t.same(kinds(after).filter((k) => outward.has(k)), ['role', 'send'], 'then the role change and the last');
  const last = sends(after)[0]!.message;
  t.match(last, { op: 'last', epoch: 2, pn: 100, acceptedPn: 100, lastCommitted: 0 });

  // Begin: accept is held until the pending value is durable, and the lease is dropped.
  const begin = core.handle({
    kind: 'message', from: 0, message: { op: 'begin', epoch: 2, pn: 100, version: 1, value: new Uint8Array([7]), lastCommitted: 0 },
  });
  t.same(sends(begin), []);
  const pend = begin.find((e) => e.kind === 'persist') as Extract<MonitorEffect, { kind: 'persist' }>;
  t.match(pend.writes, [{ op: 'put', key: STORE_KEYS.pending, value: { version: 1, pn: 100 } }]);
  const acc = core.handle({ kind: 'persisted', persistId: pend.persistId });
  t.match(sends(acc), [{ to: 0, message: { op: 'accept', epoch: 2, pn: 100, version: 1 } }]);

  // Commit: the committed notification comes after the commit is durable, with the value applied in the same batch.
  const commit = core.handle({ kind: 'message', from: 0, message: { op: 'commit', epoch: 2, pn: 100, version: 1, value: new Uint8Array([7]) } });
  t.notOk(commit.some((e) => e.kind === 'committed'), 'no committed notification yet');
  const cp = commit.find((e) => e.kind === 'persist') as Extract<MonitorEffect, { kind: 'persist' }>;
  t.same(cp.apply?.commits.map((c) => c.version), [1], 'the service change rides in the same batch');
  t.ok(cp.writes.some((w) => w.key === valueKey(1)) && cp.writes.some((w) => w.key === STORE_KEYS.lastCommitted));
  const done = core.handle({ kind: 'persisted', persistId: cp.persistId });
  t.match(done, [{ kind: 'committed', version: 1 }]);
  t.equal(core.status().lastCommitted, 1);
});

t.test('persisted ids must come in order', async (t) => {
  const core = new MonitorCore({ rank: 0, monitorCount: 3 });
  core.handle({ kind: 'boot', persisted: emptyPersistedState() });
  t.throws(() => core.handle({ kind: 'persisted', persistId: 5 }), /out of order/);
});

t.test('a single monitor leads alone; its commits survive a restart through the store layout', async (t) => {
  const core = new MonitorCore({ rank: 0, monitorCount: 1 });
  const d = new Driver(core);
  d.feed(core.handle({ kind: 'boot', persisted: emptyPersistedState() }));
  t.equal(core.status().role, 'leader');
  t.equal(core.status().phase, 'active');
  t.ok(d.log.some((e) => e.kind === 'readable' && e.readable), 'readable');
  for (let i = 1; i <= 3; i++) {
    const out = d.feed(core.handle({ kind: 'propose', proposalId: i, value: new Uint8Array([i]) }));
    t.match(out.filter((e) => e.kind === 'proposalCommitted'), [{ proposalId: i, version: i }]);
  }
  t.equal(d.store.get(STORE_KEYS.lastCommitted), 3);

  // Backpressure: alone, the leader waits for the disk before it begins the next value.
  const slow = [4, 5, 6].flatMap((i) => core.handle({ kind: 'propose', proposalId: i, value: new Uint8Array([i]) }));
  t.equal(core.status().lastCommitted, 4, 'one commit ahead of the disk, no more');
  t.equal(core.status().queuedProposals, 2, 'the rest wait in the queue');
  d.feed(slow);
  t.equal(core.status().lastCommitted, 6, 'and go once the disk catches up');

  const restarted = new MonitorCore({ rank: 0, monitorCount: 1 });
  const persisted = persistedStateFromEntries(d.store.entries());
  t.equal(persisted.lastCommitted, 6);
  t.ok(persisted.electionEpoch >= 2 && persisted.electionEpoch % 2 === 0);
  const d2 = new Driver(restarted);
  d2.feed(restarted.handle({ kind: 'boot', persisted }));
  t.equal(restarted.status().lastCommitted, 6);
  t.ok(restarted.status().epoch > persisted.electionEpoch, 'a restart starts a new election epoch');
  t.same(restarted.committedValue(2), new Uint8Array([2]));
  t.ok(restarted.status().acceptedPn > persisted.acceptedPn, 'and a new, higher proposal number');
});

t.test('proposals: not leader, queue full, too large', async (t) => {
  const peon = new MonitorCore({ rank: 2, monitorCount: 3 });
  peon.handle({ kind: 'boot', persisted: emptyPersistedState() });
  peon.handle({ kind: 'persisted', persistId: 1 });
  peon.handle({ kind: 'message', from: 0, message: { op: 'propose', epoch: 1 } });
  const v = peon.handle({ kind: 'message', from: 0, message: { op: 'victory', epoch: 2, quorum: [0, 1, 2], collect: { pn: 100, firstCommitted: 1, lastCommitted: 0 } } });
  peon.handle({ kind: 'persisted', persistId: (v.find((e) => e.kind === 'persist') as { persistId: number }).persistId });
  t.match(peon.handle({ kind: 'propose', proposalId: 9, value: new Uint8Array(1) }),
    [{ kind: 'proposalFailed', proposalId: 9, outcome: 'notCommitted', reason: 'notLeader', leader: 0 }], 'a peon names the leader');

  // A leader of three, active, with proposals waiting for accepts that never come.
  const leader = new MonitorCore({ rank: 0, monitorCount: 3, proposalQueueMax: 1, valueBytesMax: 4 });
  const d = new Driver(leader);
  d.feed(leader.handle({ kind: 'boot', persisted: emptyPersistedState() }));
  d.feed(leader.handle({ kind: 'message', from: 1, message: { op: 'ack', epoch: 1 } }));
  d.feed(leader.handle({ kind: 'message', from: 2, message: { op: 'ack', epoch: 1 } }));
  t.equal(leader.status().role, 'leader');
  const pn = leader.status().acceptedPn;
  for (const from of [1, 2]) {
    d.feed(leader.handle({ kind: 'message', from, message: { op: 'last', epoch: 2, pn, acceptedPn: pn, firstCommitted: 1, lastCommitted: 0 } }));
  }
  t.equal(leader.status().phase, 'active');
  t.match(d.feed(leader.handle({ kind: 'propose', proposalId: 1, value: new Uint8Array(5) })),
    [{ kind: 'proposalFailed', proposalId: 1, reason: 'tooLarge' }]);
  const begun = d.feed(leader.handle({ kind: 'propose', proposalId: 2, value: new Uint8Array(1) }));
  t.same(sends(begun).map((x) => x.message.op), ['begin', 'begin'], 'the first goes out at once');
  d.feed(leader.handle({ kind: 'propose', proposalId: 3, value: new Uint8Array(1) }));
  t.equal(leader.status().queuedProposals, 1, 'the second waits (one value in flight)');
  t.match(d.feed(leader.handle({ kind: 'propose', proposalId: 4, value: new Uint8Array(1) })),
    [{ kind: 'proposalFailed', proposalId: 4, outcome: 'notCommitted', reason: 'queueFull' }], 'the third is refused');
  // An election ends the term: the queued one never left, the one in flight may yet commit.
  const lost = d.feed(leader.handle({ kind: 'message', from: 1, message: { op: 'propose', epoch: 5 } }));
  t.match(lost.filter((e) => e.kind === 'proposalFailed'), [
    { proposalId: 3, outcome: 'notCommitted', reason: 'leadershipLost' },
    { proposalId: 2, outcome: 'unknown', reason: 'leadershipLost' },
  ]);
});

t.test('bad input from peers is dropped with a log line, never thrown', async (t) => {
  const core = new MonitorCore({ rank: 0, monitorCount: 3 });
  core.handle({ kind: 'boot', persisted: emptyPersistedState() });
  const bad: unknown[] = [
    null, 'x', { op: 'nope' }, { op: 'begin', epoch: 'two' }, { op: 'propose', epoch: 2 },
    { op: 'victory', epoch: 2, quorum: [2, 1], collect: { pn: 1, firstCommitted: 1, lastCommitted: 0 } },
    { op: 'victory', epoch: 2, quorum: [0, 7], collect: { pn: 1, firstCommitted: 1, lastCommitted: 0 } },
    { op: 'sync', epoch: 2, sync: { firstVersion: 3, values: [new Uint8Array(1)], snapshot: { version: 5, data: new Uint8Array(0) } } },
    { op: 'last', epoch: 2, pn: 1, acceptedPn: 1, firstCommitted: 1, lastCommitted: 0, pending: { version: 0, pn: 1, value: new Uint8Array(0) } },
    { op: 'commit', epoch: 2, pn: 1, version: -1, value: new Uint8Array(0) },
  ];
  for (const m of bad) {
    const out = core.handle({ kind: 'message', from: 1, message: m as PaxosMessage });
    t.match(out, [{ kind: 'log', level: 'warn', message: 'dropped a malformed monitor message' }], JSON.stringify(m));
  }
  for (const from of [0, 3, -1, 1.5]) {
    const out = core.handle({ kind: 'message', from, message: { op: 'propose', epoch: 9 } });
    t.match(out, [{ kind: 'log', level: 'warn' }], `sender rank ${from} refused`);
  }
  t.equal(checkPaxosMessage({ op: 'ack', epoch: 3 }, 3), undefined, 'a good message passes');
});

t.test('stale timer tokens are ignored', async (t) => {
  const core = new MonitorCore({ rank: 1, monitorCount: 3 });
  const boot = core.handle({ kind: 'boot', persisted: emptyPersistedState() });
  const timer = boot.find((e) => e.kind === 'setTimer') as Extract<MonitorEffect, { kind: 'setTimer' }>;
  t.equal(timer.timer, 'election');
  t.same(core.handle({ kind: 'timer', timer: 'election', token: timer.token + 100 }), [], 'unknown token: nothing');
  const fired = core.handle({ kind: 'timer', timer: 'election', token: timer.token });
  t.ok(fired.some((e) => e.kind === 'persist'), 'the real token restarts the election (new epoch persisted)');
  t.equal(core.status().epoch, 3);
  t.same(core.handle({ kind: 'timer', timer: 'election', token: timer.token }), [], 'a timer fires once');
});

t.test('proposal numbers: Ceph scheme, unique per rank, increasing', async (t) => {
  t.equal(nextProposalNumber(0, 0), 100);
  t.equal(nextProposalNumber(0, 2), 102);
  t.equal(nextProposalNumber(102, 0), 200);
  t.equal(nextProposalNumber(199, 1), 201);
  t.equal(nextProposalNumber(201, 1), 301);
  const seen = new Set<number>();
  for (let rank = 0; rank < 5; rank++) {
    let pn = 0;
    for (let i = 0; i < 20; i++) {
      const next = nextProposalNumber(pn, rank);
      t.ok(next > pn && next % 100 === rank && !seen.has(next));
      seen.add(next);
      pn = next;
    }
  }
});

t.test('config: defaults from Ceph, validated', async (t) => {
  const c = resolveConfig({ rank: 0, monitorCount: 3 });
  t.equal(c.leaseMs, PAXOS_DEFAULTS.leaseMs);
  t.equal(c.leaseRenewMs, 3000);
  t.equal(c.leaseAckTimeoutMs, 10_000);
  t.equal(c.acceptTimeoutMs, 10_000);
  t.equal(c.majority, 2);
  t.throws(() => resolveConfig({ rank: 3, monitorCount: 3 }), { code: 'EINVAL' });
  t.throws(() => resolveConfig({ rank: 0, monitorCount: 3, leaseRenewFactor: 1 }), { code: 'EINVAL' });
  t.throws(() => resolveConfig({ rank: 0, monitorCount: 0 }), { code: 'EINVAL' });
});

t.test('store layout: read-back checks catch a damaged store', async (t) => {
  t.same(persistedStateFromEntries([]), emptyPersistedState());
  const entries: Array<[string, StoreValue]> = [
    [STORE_KEYS.firstCommitted, 2], [STORE_KEYS.lastCommitted, 3],
    [valueKey(2), new Uint8Array([2])], [valueKey(3), new Uint8Array([3])], [valueKey(1), new Uint8Array([1])],
    [STORE_KEYS.acceptedPn, 200], [STORE_KEYS.pending, { version: 4, pn: 200, value: new Uint8Array([4]) }],
  ];
  const s = persistedStateFromEntries(entries);
  t.same([...s.values.keys()], [2, 3], 'only first..last_committed are loaded');
  t.match(s.pending, { version: 4, pn: 200 });
  t.throws(() => persistedStateFromEntries(entries.filter(([k]) => k !== valueKey(3))), /committed value 3 is missing/);
  t.throws(() => persistedStateFromEntries([[STORE_KEYS.lastCommitted, 'x' as unknown as number]]), /non-count/);
  t.equal(persistedStateFromEntries([[STORE_KEYS.lastCommitted, 0], [STORE_KEYS.pending, { version: 1, pn: 5, value: new Uint8Array(0) }], [STORE_KEYS.acceptedPn, 5]]).pending?.pn, 5);
});
