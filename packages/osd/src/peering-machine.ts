/**
 * The PG state machine (pure): events in, effects out, one explicit state at a time, and a
 * transition table that is checked on every step (an unlisted transition is a bug: assertion).
 *
 *   primary:  Initial/any ─interval→ GetInfo ─infos→ [GetLog ─merged→] [WaitUpThru ─map→] Activating
 *             Activating ─all acks→ Recovering ─done→ Clean (acting = size) | Active (undersized)
 *             GetInfo ─an OSD that may hold acked writes is down→ Down ─map→ GetInfo
 *             GetLog ─no log overlap→ Incomplete (asks for pg_temp) ─map→ GetInfo
 *             any ─interval with acting < min_size→ Peered (never active, invariant 2)
 *   replica:  any ─interval→ Stray ─activate→ ReplicaActive
 *   Backfilling and Scrubbing are reserved for the backfill and scrub work (never entered yet).
 *
 * The machine decides; the PG runtime (pg.ts) does the I/O its effects ask for and feeds the
 * results back as events. Replies from an older attempt carry an older `attempt` and are ignored.
 */
import { assert } from '@nacre/util';
import { compareVersions } from './eversion.js';
import type { PgInfo } from './pg-types.js';
import { buildPriorSet, type IntervalReport, type PriorSet } from './past-intervals.js';

export enum PgState {
  Initial = 'initial',
  Stray = 'stray',
  ReplicaActive = 'replica_active',
  GetInfo = 'get_info',
  GetLog = 'get_log',
  WaitUpThru = 'wait_up_thru',
  Activating = 'activating',
  Peered = 'peered',
  Recovering = 'recovering',
  Active = 'active',
  Clean = 'clean',
  Down = 'down',
  Incomplete = 'incomplete',
  Backfilling = 'backfilling',
  Scrubbing = 'scrubbing',
  Stopped = 'stopped',
}

export const ALL_PG_STATES: readonly PgState[] = Object.values(PgState);

/** The PG's placement in the current interval, as the runtime computed it from the map. */
export interface IntervalView {
  epoch: number;
  sameIntervalSince: number;
  up: readonly number[];
  acting: readonly number[];
  primary: number;
  upPrimary: number;
  size: number;
  minSize: number;
  whoami: number;
}

/** What the machine needs to know about the current map beyond the PG's own placement. */
export interface MapView {
  epoch: number;
  isUp: (osd: number) => boolean;
  /** up_thru of every existing OSD. */
  upThru: ReadonlyMap<number, number>;
}

export type PgEvent =
  | { type: 'interval'; view: IntervalView; map: MapView; ownInfo: PgInfo; ownReports: IntervalReport[] }
  | { type: 'map'; map: MapView; upSetChanged: boolean }
  | { type: 'info'; attempt: number; from: number; info: PgInfo | null; reports: IntervalReport[] }
  | { type: 'log_merged'; attempt: number; ok: boolean; info: PgInfo }
  | { type: 'activated'; attempt: number; from: number; missingCount: number; backfill: boolean }
  | { type: 'activate'; attempt: number }
  | { type: 'recovery_done'; attempt: number }
  | { type: 'recovery_needed'; attempt: number }
  | { type: 'stop' };

export type PgEventType = PgEvent['type'];
export const ALL_PG_EVENT_TYPES: readonly PgEventType[] = [
  'interval', 'map', 'info', 'log_merged', 'activated', 'activate', 'recovery_done', 'recovery_needed', 'stop',
];

export type PgEffect =
  | { kind: 'query'; attempt: number; osds: number[]; since: number }
  | { kind: 'fetch_log'; attempt: number; from: number }
  | { kind: 'request_up_thru'; attempt: number; epoch: number }
  /** Some OSD cannot be brought up to date from the log: ask for an acting set without it (pg_temp). */
  | { kind: 'request_pg_temp'; attempt: number; exclude: number[] }
  | { kind: 'activate'; attempt: number; peers: number[]; activationEpoch: number }
  | { kind: 'start_recovery'; attempt: number }
  | { kind: 'requeue_ops' }
  | { kind: 'reset_ops' }
  | { kind: 'state'; state: PgState };

type Table = Readonly<Record<PgState, Partial<Record<PgEventType, readonly PgState[]>>>>;

/** Where probing can lead at once (everything may already be known, e.g. a PG of one OSD). */
const PROBE_OUTCOMES: readonly PgState[] = [PgState.GetInfo, PgState.Down, PgState.GetLog, PgState.WaitUpThru, PgState.Activating, PgState.Recovering];
const ENTER_INTERVAL: readonly PgState[] = [...PROBE_OUTCOMES, PgState.Peered, PgState.Stray];
const STOP: readonly PgState[] = [PgState.Stopped];

/**
 * Every allowed transition: state → event → possible next states. An event not listed for a state
 * is ignored (the state stays). The exhaustive test walks every (state, event) pair.
 */
export const TRANSITIONS: Table = {
  [PgState.Initial]: { interval: ENTER_INTERVAL, stop: STOP },
  [PgState.Stray]: { interval: ENTER_INTERVAL, activate: [PgState.ReplicaActive], stop: STOP },
  [PgState.ReplicaActive]: { interval: ENTER_INTERVAL, stop: STOP },
  [PgState.GetInfo]: {
    interval: ENTER_INTERVAL,
    map: PROBE_OUTCOMES,
    info: PROBE_OUTCOMES,
    stop: STOP,
  },
  [PgState.GetLog]: { interval: ENTER_INTERVAL, log_merged: [PgState.WaitUpThru, PgState.Activating, PgState.Recovering, PgState.Incomplete], stop: STOP },
  [PgState.WaitUpThru]: { interval: ENTER_INTERVAL, map: [PgState.WaitUpThru, PgState.Activating, PgState.Recovering], stop: STOP },
  [PgState.Activating]: { interval: ENTER_INTERVAL, activated: [PgState.Activating, PgState.Recovering, PgState.Incomplete], stop: STOP },
  [PgState.Peered]: { interval: ENTER_INTERVAL, stop: STOP },
  [PgState.Recovering]: { interval: ENTER_INTERVAL, recovery_done: [PgState.Active, PgState.Clean], stop: STOP },
  [PgState.Active]: { interval: ENTER_INTERVAL, recovery_needed: [PgState.Recovering], stop: STOP },
  [PgState.Clean]: { interval: ENTER_INTERVAL, recovery_needed: [PgState.Recovering], stop: STOP },
  [PgState.Down]: { interval: ENTER_INTERVAL, map: PROBE_OUTCOMES, stop: STOP },
  [PgState.Incomplete]: { interval: ENTER_INTERVAL, map: [...PROBE_OUTCOMES, PgState.Incomplete], stop: STOP },
  [PgState.Backfilling]: { interval: ENTER_INTERVAL, stop: STOP },
  [PgState.Scrubbing]: { interval: ENTER_INTERVAL, stop: STOP },
  [PgState.Stopped]: {},
};

/** States in which the primary serves client ops. */
export const ACTIVE_STATES: ReadonlySet<PgState> = new Set([PgState.Recovering, PgState.Active, PgState.Clean]);

export interface PeeringData {
  view: IntervalView | null;
  map: MapView | null;
  /** Increases on every (re)start of peering; replies carry it. */
  attempt: number;
  ownInfo: PgInfo | null;
  infos: Map<number, PgInfo | null>;
  reports: IntervalReport[];
  /** How many of `reports` are this OSD's own (kept when peering restarts). */
  ownReportsCount: number;
  queried: Set<number>;
  prior: PriorSet | null;
  auth: number;
  activated: Set<number>;
  missingTotal: number;
}

export function emptyPeeringData(): PeeringData {
  return { view: null, map: null, attempt: 0, ownInfo: null, infos: new Map(), reports: [], ownReportsCount: 0, queried: new Set(), prior: null, auth: -1, activated: new Set(), missingTotal: 0 };
}

export class PeeringMachine {
  private stateValue: PgState;
  readonly data: PeeringData;

  constructor(init: { state?: PgState; data?: PeeringData } = {}) {
    this.stateValue = init.state ?? PgState.Initial;
    this.data = init.data ?? emptyPeeringData();
  }

  get state(): PgState {
    return this.stateValue;
  }

  get attempt(): number {
    return this.data.attempt;
  }

  handle(event: PgEvent): PgEffect[] {
    // A newer map is knowledge every state keeps, also those for which it is no transition: a PG
    // that is fetching a log when the map recording its up_thru arrives must see that up_thru when
    // the log is merged (otherwise it would wait for a map that never comes).
    if (event.type === 'map' && this.data.map !== null && event.map.epoch > this.data.map.epoch && this.stateValue !== PgState.Stopped) {
      this.data.map = event.map;
    }
    const allowed = TRANSITIONS[this.stateValue][event.type];
    if (allowed === undefined) return [];
    const effects: PgEffect[] = [];
    const next = this.dispatch(event, effects);
    if (next === null) return effects;
    assert(allowed.includes(next), () => `pg transition ${this.stateValue} --${event.type}--> ${next} is not in the table`);
    if (next !== this.stateValue) {
      this.stateValue = next;
      effects.push({ kind: 'state', state: next });
    }
    return effects;
  }

  /** Returns the next state, or null when the event is stale (no transition). */
  private dispatch(event: PgEvent, fx: PgEffect[]): PgState | null {
    switch (event.type) {
      case 'stop': return PgState.Stopped;
      case 'interval': return this.onInterval(event, fx);
      case 'map': return this.onMap(event, fx);
      case 'info': return this.onInfo(event, fx);
      case 'log_merged': return this.onLogMerged(event, fx);
      case 'activated': return this.onActivated(event, fx);
      case 'activate': return event.attempt === this.data.attempt ? PgState.ReplicaActive : null;
      case 'recovery_done': return event.attempt === this.data.attempt ? this.settledState() : null;
      case 'recovery_needed': return event.attempt === this.data.attempt ? PgState.Recovering : null;
    }
  }

  private onInterval(e: Extract<PgEvent, { type: 'interval' }>, fx: PgEffect[]): PgState {
    const d = this.data;
    d.attempt++;
    d.view = e.view;
    d.map = e.map;
    d.ownInfo = e.ownInfo;
    d.infos = new Map([[e.view.whoami, e.ownInfo]]);
    d.reports = [...e.ownReports];
    d.ownReportsCount = e.ownReports.length;
    d.queried = new Set([e.view.whoami]);
    d.prior = null;
    d.auth = -1;
    d.activated = new Set();
    d.missingTotal = 0;
    fx.push({ kind: 'reset_ops' });
    if (e.view.primary !== e.view.whoami) return PgState.Stray;
    if (e.view.acting.length < e.view.minSize) return PgState.Peered;
    return this.probe(fx);
  }

  /** Recompute the prior set; query new OSDs; decide. */
  private probe(fx: PgEffect[]): PgState {
    const d = this.data;
    const view = d.view!;
    let les = 0;
    for (const info of d.infos.values()) if (info !== null) les = Math.max(les, info.lastEpochStarted);
    d.prior = buildPriorSet({
      lastEpochStarted: les,
      sameIntervalSince: view.sameIntervalSince,
      reports: d.reports,
      isUp: d.map!.isUp,
      upThru: d.map!.upThru,
      up: view.up,
      acting: view.acting,
    });
    if (d.prior.blockedBy.length > 0) return PgState.Down;
    const fresh = d.prior.probe.filter((o) => !d.queried.has(o));
    if (fresh.length > 0) {
      for (const o of fresh) d.queried.add(o);
      fx.push({ kind: 'query', attempt: d.attempt, osds: fresh, since: Math.max(1, les) });
    }
    const waiting = d.prior.probe.some((o) => !d.infos.has(o));
    if (waiting) return PgState.GetInfo;
    return this.chooseAuth(fx);
  }

  private chooseAuth(fx: PgEffect[]): PgState {
    const d = this.data;
    const view = d.view!;
    let best = -1;
    let bestInfo: PgInfo | null = null;
    const order = [view.whoami, ...view.acting.filter((o) => o !== view.whoami), ...[...d.infos.keys()].sort((a, b) => a - b)];
    for (const osd of order) {
      const info = d.infos.get(osd);
      if (info === undefined || info === null) continue;
      if (bestInfo === null || info.lastEpochStarted > bestInfo.lastEpochStarted
        || (info.lastEpochStarted === bestInfo.lastEpochStarted && compareVersions(info.lastUpdate, bestInfo.lastUpdate) > 0)) {
        best = osd;
        bestInfo = info;
      }
    }
    d.auth = best < 0 ? view.whoami : best;
    if (d.auth !== view.whoami) {
      fx.push({ kind: 'fetch_log', attempt: d.attempt, from: d.auth });
      return PgState.GetLog;
    }
    return this.afterLog(fx);
  }

  private afterLog(fx: PgEffect[]): PgState {
    const d = this.data;
    if (this.upThruOk()) return this.startActivating(fx);
    fx.push({ kind: 'request_up_thru', attempt: d.attempt, epoch: d.map!.epoch });
    return PgState.WaitUpThru;
  }

  private upThruOk(): boolean {
    const d = this.data;
    return (d.map!.upThru.get(d.view!.whoami) ?? 0) >= d.view!.sameIntervalSince;
  }

  private startActivating(fx: PgEffect[]): PgState {
    const d = this.data;
    const view = d.view!;
    const peers = view.acting.filter((o) => o !== view.whoami);
    d.activated = new Set([view.whoami]);
    fx.push({ kind: 'activate', attempt: d.attempt, peers, activationEpoch: d.map!.epoch });
    if (peers.length === 0) return this.activatedAll(fx);
    return PgState.Activating;
  }

  private activatedAll(fx: PgEffect[]): PgState {
    fx.push({ kind: 'requeue_ops' }, { kind: 'start_recovery', attempt: this.data.attempt });
    return PgState.Recovering;
  }

  private settledState(): PgState {
    const view = this.data.view!;
    return view.acting.length >= view.size ? PgState.Clean : PgState.Active;
  }

  private onMap(e: Extract<PgEvent, { type: 'map' }>, fx: PgEffect[]): PgState | null {
    const d = this.data;
    d.map = e.map;
    switch (this.stateValue) {
      case PgState.WaitUpThru:
        return this.upThruOk() ? this.startActivating(fx) : PgState.WaitUpThru;
      case PgState.GetInfo:
        // An OSD we asked may have restarted (and lost the question): ask everyone again.
        return e.upSetChanged ? this.restartProbe(fx) : PgState.GetInfo;
      case PgState.Down:
      case PgState.Incomplete:
        if (!e.upSetChanged) return this.stateValue;
        return this.restartProbe(fx);
      default:
        return null;
    }
  }

  /** Start peering over (same interval): forget answers, ask again. */
  private restartProbe(fx: PgEffect[]): PgState {
    const d = this.data;
    d.attempt++;
    d.infos = new Map([[d.view!.whoami, d.ownInfo]]);
    d.reports = d.reports.slice(0, d.ownReportsCount);
    d.queried = new Set([d.view!.whoami]);
    return this.probe(fx);
  }

  private onInfo(e: Extract<PgEvent, { type: 'info' }>, fx: PgEffect[]): PgState | null {
    const d = this.data;
    if (e.attempt !== d.attempt || !d.queried.has(e.from) || d.infos.has(e.from)) return null;
    d.infos.set(e.from, e.info);
    d.reports.push(...e.reports);
    return this.probe(fx);
  }

  private onLogMerged(e: Extract<PgEvent, { type: 'log_merged' }>, fx: PgEffect[]): PgState | null {
    const d = this.data;
    if (e.attempt !== d.attempt) return null;
    if (!e.ok) {
      fx.push({ kind: 'request_pg_temp', attempt: e.attempt, exclude: [d.view!.whoami] });
      return PgState.Incomplete;
    }
    d.ownInfo = e.info;
    d.infos.set(d.view!.whoami, e.info);
    return this.afterLog(fx);
  }

  private onActivated(e: Extract<PgEvent, { type: 'activated' }>, fx: PgEffect[]): PgState | null {
    const d = this.data;
    if (e.attempt !== d.attempt || d.activated.has(e.from) || !d.view!.acting.includes(e.from)) return null;
    // A replica whose log does not overlap needs a backfill, which this version does not do:
    // serve from OSDs that are complete instead (pg_temp), like Ceph does while it backfills.
    if (e.backfill) {
      fx.push({ kind: 'request_pg_temp', attempt: e.attempt, exclude: [e.from] });
      return PgState.Incomplete;
    }
    d.activated.add(e.from);
    d.missingTotal += e.missingCount;
    if (d.view!.acting.every((o) => d.activated.has(o))) return this.activatedAll(fx);
    return PgState.Activating;
  }
}
