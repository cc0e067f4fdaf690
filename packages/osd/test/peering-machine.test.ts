/**
 * The PG state machine: every (state, event) pair against the transition table, and the peering
 * scenarios the issue names (restart, replica death, primary death, Down, WaitUpThru, min_size).
 */
import t from 'tap';
import {
  ALL_PG_EVENT_TYPES, ALL_PG_STATES, PeeringMachine, PgState, TRANSITIONS, emptyPeeringData, emptyPgInfo, ev,
  type IntervalReport, type IntervalView, type MapView, type PgEffect, type PgEvent, type PgEventType, type PgInfo, type PeeringData,
} from '@nacre/osd';

const PG = '1.0';
const info = (lu: [number, number], les = 0): PgInfo => ({ ...emptyPgInfo(PG), lastUpdate: ev(lu[0], lu[1]), lastEpochStarted: les });

function mapView(epoch: number, down: number[] = [], upThru: Record<number, number> = {}): MapView {
  const ut = new Map<number, number>();
  for (let o = 0; o < 6; o++) ut.set(o, upThru[o] ?? 0);
  return { epoch, isUp: (o) => o >= 0 && o < 6 && !down.includes(o), upThru: ut };
}

function view(acting: number[], opts: { whoami?: number; epoch?: number; since?: number; size?: number; minSize?: number } = {}): IntervalView {
  return {
    epoch: opts.epoch ?? 10, sameIntervalSince: opts.since ?? 10, up: acting, acting, primary: acting[0] ?? -1, upPrimary: acting[0] ?? -1,
    size: opts.size ?? 3, minSize: opts.minSize ?? 2, whoami: opts.whoami ?? acting[0] ?? 0,
  };
}

const noReports = (from: number, to: number): IntervalReport[] => [{ fromEpoch: from, toEpoch: to, intervals: [] }];

function intervalEvent(v: IntervalView, m: MapView, own: PgInfo, reports = noReports(1, v.sameIntervalSince - 1)): PgEvent {
  return { type: 'interval', view: v, map: m, ownInfo: own, ownReports: reports };
}

const kinds = (fx: PgEffect[]): string[] => fx.map((f) => f.kind);

t.test('every state × event pair stays inside the transition table', async (t) => {
  let pairs = 0;
  for (const state of ALL_PG_STATES) {
    for (const type of ALL_PG_EVENT_TYPES) {
      for (const variant of eventVariants(type)) {
        const m = new PeeringMachine({ state, data: dataFor() });
        const before = m.state;
        let threw: unknown = null;
        try {
          m.handle(variant);
        } catch (err) {
          threw = err;
        }
        t.equal(threw, null, `${state} --${type}--> must not throw`);
        const allowed = TRANSITIONS[state][type];
        if (allowed === undefined) t.equal(m.state, before, `${state} ignores ${type}`);
        else t.ok(m.state === before || allowed.includes(m.state), `${state} --${type}--> ${m.state} is listed`);
        pairs++;
      }
    }
  }
  t.ok(pairs >= ALL_PG_STATES.length * ALL_PG_EVENT_TYPES.length, `${pairs} pairs checked`);
  // Every listed target is a real state, and Stopped absorbs everything.
  for (const [s, row] of Object.entries(TRANSITIONS)) {
    for (const targets of Object.values(row)) for (const x of targets ?? []) t.ok(ALL_PG_STATES.includes(x), `${s} → ${x} exists`);
  }
  t.same(Object.keys(TRANSITIONS[PgState.Stopped]), [], 'stopped has no way out');
});

/** Data shaped like a primary mid-peering of acting [0,1,2] at attempt 5. */
function dataFor(): PeeringData {
  const d = emptyPeeringData();
  d.view = view([0, 1, 2]);
  d.map = mapView(10, [], { 0: 10 });
  d.attempt = 5;
  d.ownInfo = info([5, 7], 5);
  d.infos = new Map([[0, d.ownInfo]]);
  d.reports = noReports(1, 9);
  d.ownReportsCount = 1;
  d.queried = new Set([0, 1, 2]);
  return d;
}

function eventVariants(type: PgEventType): PgEvent[] {
  const m = mapView(11, [], { 0: 10 });
  switch (type) {
    case 'interval': return [
      intervalEvent(view([0, 1, 2], { epoch: 11, since: 11 }), m, info([5, 7], 5)),
      intervalEvent(view([1, 0, 2], { epoch: 11, since: 11, whoami: 0 }), m, info([5, 7], 5)),
      intervalEvent(view([0], { epoch: 11, since: 11 }), m, info([5, 7], 5)),
    ];
    case 'map': return [{ type, map: m, upSetChanged: false }, { type, map: mapView(11, [2], { 0: 10 }), upSetChanged: true }];
    case 'info': return [
      { type, attempt: 5, from: 1, info: info([5, 7], 5), reports: noReports(1, 9) },
      { type, attempt: 4, from: 1, info: info([5, 8], 5), reports: [] },
    ];
    case 'log_merged': return [{ type, attempt: 5, ok: true, info: info([5, 8], 5) }, { type, attempt: 5, ok: false, info: info([5, 7], 5) }];
    case 'activated': return [
      { type, attempt: 5, from: 1, missingCount: 0, backfill: false },
      { type, attempt: 5, from: 1, missingCount: 0, backfill: true },
      { type, attempt: 3, from: 2, missingCount: 1, backfill: false },
    ];
    case 'activate': return [{ type, attempt: 5 }, { type, attempt: 1 }];
    case 'recovery_done': return [{ type, attempt: 5 }, { type, attempt: 2 }];
    case 'recovery_needed': return [{ type, attempt: 5 }];
    case 'stop': return [{ type }];
  }
}

t.test('happy path: probe, own log is authoritative, activate, recover, clean', async (t) => {
  const m = new PeeringMachine();
  const m0 = mapView(10, [], { 0: 10 });
  let fx = m.handle(intervalEvent(view([0, 1, 2]), m0, info([5, 7], 5)));
  t.equal(m.state, PgState.GetInfo);
  const q = fx.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  t.same(q.osds, [1, 2], 'queries the other acting OSDs');
  fx = m.handle({ type: 'info', attempt: q.attempt, from: 1, info: info([5, 7], 5), reports: noReports(1, 9) });
  t.equal(m.state, PgState.GetInfo, 'still waiting for osd.2');
  fx = m.handle({ type: 'info', attempt: q.attempt, from: 2, info: info([5, 6], 5), reports: noReports(1, 9) });
  t.equal(m.state, PgState.Activating, 'own log is newest; up_thru already recorded');
  const act = fx.find((f) => f.kind === 'activate') as Extract<PgEffect, { kind: 'activate' }>;
  t.same(act.peers, [1, 2]);
  m.handle({ type: 'activated', attempt: act.attempt, from: 1, missingCount: 0, backfill: false });
  t.equal(m.state, PgState.Activating);
  fx = m.handle({ type: 'activated', attempt: act.attempt, from: 2, missingCount: 1, backfill: false });
  t.equal(m.state, PgState.Recovering);
  t.same(kinds(fx).filter((k) => k !== 'state'), ['requeue_ops', 'start_recovery']);
  m.handle({ type: 'recovery_done', attempt: act.attempt });
  t.equal(m.state, PgState.Clean);
});

t.test('primary died: the replica with the newest log (highest les first) is authoritative', async (t) => {
  const m = new PeeringMachine();
  // osd.1 is the new primary; osd.2 has a newer log than osd.1; osd.3 has a longer but older-les log.
  const v = view([1, 2, 3], { since: 12, epoch: 12 });
  let fx = m.handle(intervalEvent(v, mapView(12, [0], { 1: 12 }), info([5, 7], 5)));
  const q = fx.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  m.handle({ type: 'info', attempt: q.attempt, from: 2, info: info([5, 9], 5), reports: noReports(1, 11) });
  fx = m.handle({ type: 'info', attempt: q.attempt, from: 3, info: info([6, 3], 3), reports: noReports(1, 11) });
  t.equal(m.state, PgState.GetLog);
  const fl = fx.find((f) => f.kind === 'fetch_log') as Extract<PgEffect, { kind: 'fetch_log' }>;
  t.equal(fl.from, 2, 'fetches the log of osd.2 (les 5, newest last_update), not osd.3 (les 3)');
  fx = m.handle({ type: 'log_merged', attempt: q.attempt, ok: true, info: info([5, 9], 5) });
  t.equal(m.state, PgState.Activating);
});

t.test('an OSD of a past read-write interval is down and nobody else can vouch: Down, then up again', async (t) => {
  const m = new PeeringMachine();
  // Past interval [3..9]: acting [4,5] went rw (primary 4 had up_thru 3). Both are down now.
  const reports: IntervalReport[] = [{ fromEpoch: 1, toEpoch: 9, intervals: [{ first: 3, last: 9, up: [4, 5], acting: [4, 5], primary: 4, maybeWentRw: true }] }];
  const fx = m.handle(intervalEvent(view([0, 1, 2]), mapView(10, [4, 5], { 0: 10 }), info([0, 0], 0), reports));
  t.equal(m.state, PgState.Down);
  t.notOk(kinds(fx).includes('query'), 'does not even start querying');
  m.handle({ type: 'map', map: mapView(11, [4, 5], { 0: 10 }), upSetChanged: false });
  t.equal(m.state, PgState.Down, 'nothing changed');
  const fx2 = m.handle({ type: 'map', map: mapView(12, [5], { 0: 10 }), upSetChanged: true });
  t.equal(m.state, PgState.GetInfo, 'osd.4 is back: probe again');
  const q = fx2.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  t.ok(q.osds.includes(4), 'and ask osd.4');
});

t.test('a newer last_epoch_started from a peer makes older intervals irrelevant', async (t) => {
  const m = new PeeringMachine();
  const reports: IntervalReport[] = [{ fromEpoch: 1, toEpoch: 9, intervals: [
    { first: 3, last: 5, up: [4, 5], acting: [4, 5], primary: 4, maybeWentRw: true },
    { first: 6, last: 9, up: [1, 2], acting: [1, 2], primary: 1, maybeWentRw: true },
  ] }];
  // osd.4 and osd.5 are down; the interval they served ended before osd.1 activated at epoch 7.
  const fx = m.handle(intervalEvent(view([0, 1, 2]), mapView(10, [4, 5], { 0: 10 }), info([2, 3], 2), reports));
  t.equal(m.state, PgState.Down, 'with only our own les (2), the old interval blocks');
  void fx;
  const m2 = new PeeringMachine();
  const fxb = m2.handle(intervalEvent(view([0, 1, 2]), mapView(10, [4, 5], { 0: 10 }), info([7, 4], 7), reports));
  t.equal(m2.state, PgState.GetInfo, 'with les 7 the old interval does not matter');
  const q = fxb.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  t.same(q.osds, [1, 2]);
});

t.test('up_thru must be recorded before activation', async (t) => {
  const m = new PeeringMachine();
  let fx = m.handle(intervalEvent(view([0, 1, 2]), mapView(10, [], { 0: 3 }), info([5, 7], 5)));
  const q = fx.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  m.handle({ type: 'info', attempt: q.attempt, from: 1, info: info([5, 7], 5), reports: [] });
  fx = m.handle({ type: 'info', attempt: q.attempt, from: 2, info: info([5, 7], 5), reports: [] });
  t.equal(m.state, PgState.WaitUpThru);
  t.ok(kinds(fx).includes('request_up_thru'));
  m.handle({ type: 'map', map: mapView(11, [], { 0: 3 }), upSetChanged: false });
  t.equal(m.state, PgState.WaitUpThru);
  fx = m.handle({ type: 'map', map: mapView(12, [], { 0: 11 }), upSetChanged: false });
  t.equal(m.state, PgState.Activating);
});

t.test('the map recording up_thru arrives while the log is being fetched: activate when it is merged', async (t) => {
  const m = new PeeringMachine();
  const fx = m.handle(intervalEvent(view([0, 1, 2], { since: 6, epoch: 9 }), mapView(9, [], { 0: 0 }), info([0, 0], 0)));
  const q = fx.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  m.handle({ type: 'info', attempt: q.attempt, from: 1, info: info([5, 7], 5), reports: [] });
  m.handle({ type: 'info', attempt: q.attempt, from: 2, info: info([5, 6], 5), reports: [] });
  t.equal(m.state, PgState.GetLog, 'fetching the log of osd.1');
  m.handle({ type: 'map', map: mapView(10, [], { 0: 8 }), upSetChanged: false });
  t.equal(m.state, PgState.GetLog, 'a map is no transition while fetching');
  m.handle({ type: 'log_merged', attempt: q.attempt, ok: true, info: info([5, 7], 5) });
  t.equal(m.state, PgState.Activating, 'up_thru 8 ≥ interval start 6 was seen: no waiting for another map');
});

t.test('fewer than min_size acting: peered, never active', async (t) => {
  const m = new PeeringMachine();
  const fx = m.handle(intervalEvent(view([0], { size: 3, minSize: 2 }), mapView(10, [1, 2], { 0: 10 }), info([5, 7], 5)));
  t.equal(m.state, PgState.Peered);
  t.notOk(kinds(fx).includes('activate'));
});

t.test('replica: stray until activated; stale replies are ignored; a new interval resets', async (t) => {
  const m = new PeeringMachine();
  m.handle(intervalEvent(view([1, 0, 2], { whoami: 0 }), mapView(10), info([5, 7], 5)));
  t.equal(m.state, PgState.Stray);
  m.handle({ type: 'activate', attempt: m.attempt - 1 });
  t.equal(m.state, PgState.Stray, 'an activation from an older attempt is ignored');
  m.handle({ type: 'activate', attempt: m.attempt });
  t.equal(m.state, PgState.ReplicaActive);
  const fx = m.handle(intervalEvent(view([0, 2], { whoami: 0, epoch: 11, since: 11 }), mapView(11, [1], { 0: 11 }), info([5, 7], 5)));
  t.equal(m.state, PgState.GetInfo, 'becomes primary when the old one dies');
  t.ok(kinds(fx).includes('reset_ops'));
});

t.test('a replica that needs a backfill: incomplete, and ask for a pg_temp without it', async (t) => {
  const m = new PeeringMachine();
  let fx = m.handle(intervalEvent(view([0, 1]), mapView(10, [2], { 0: 10 }), info([5, 7], 5)));
  const q = fx.find((f) => f.kind === 'query') as Extract<PgEffect, { kind: 'query' }>;
  fx = m.handle({ type: 'info', attempt: q.attempt, from: 1, info: info([1, 1], 1), reports: [] });
  t.equal(m.state, PgState.Activating);
  fx = m.handle({ type: 'activated', attempt: q.attempt, from: 1, missingCount: 0, backfill: true });
  t.equal(m.state, PgState.Incomplete);
  t.same(fx.find((f) => f.kind === 'request_pg_temp'), { kind: 'request_pg_temp', attempt: q.attempt, exclude: [1] });
});
