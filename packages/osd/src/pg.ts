/**
 * One PG on one OSD: its persistent state (info, log, missing set), its interval tracking, the
 * peering machine and the I/O the machine's effects ask for — querying peers, fetching and merging
 * the authoritative log, activating replicas, recovering objects — plus the replica side of every
 * primary→replica message. Client ops are in pg-ops.ts; object copies in object-copy.ts.
 */
import { NacreError, type Env, type Logger } from '@nacre/util';
import { pgToUpActing, type OsdMap } from '@nacre/osdmap';
import { Transaction, type ObjectId, type ObjectStore } from '@nacre/objectstore';
import type { RequestDef } from '@nacre/proto';
import type { OsdConfig } from './config.js';
import { compareVersions, formatVersion, versionLte, type Eversion } from './eversion.js';
import { IntervalTracker } from './interval-tracker.js';
import { mergeLog, type LogView } from './log-merge.js';
import type { MapHistory } from './map-history.js';
import {
  OsdPgActivate, OsdPgLog, OsdPgQuery, OsdPull, OsdPush, asWire, pgActivateToWire, pushToWire,
  type ObjectChunk, type PgActivate, type Pull, type PgActivateReply, type PgLogReply, type PgMsgBase, type PgQueryReply, type Push, type RepOp, type RepOpReply,
} from './messages.js';
import { addMutations } from './mutations.js';
import { addChunkToTxn, nextPosition, readChunk } from './object-copy.js';
import { objectKeyText, storeOid } from './object-name.js';
import { objRefToWire } from './pg-codec.js';
import type { PgEpochView } from './past-intervals.js';
import { PeeringMachine, PgState, ACTIVE_STATES, type IntervalView, type MapView, type PgEffect, type PgEvent } from './peering-machine.js';
import { PgLog } from './pg-log.js';
import type { MissingItem, ObjRef, PgInfo } from './pg-types.js';
import { PgMetaWriter, pgCollection, type LoadedPg } from './store-layout.js';
import type { SpaceGuard } from './space-guard.js';

/** What a PG needs from its OSD. */
export interface PgHost {
  readonly whoami: number;
  readonly config: OsdConfig;
  readonly env: Env;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly history: MapHistory;
  map(): OsdMap;
  mapView(): MapView;
  /** A request to another OSD's public endpoint. */
  request<Req, Rep>(osd: number, def: RequestDef<Req, Rep>, payload: Req, timeoutMs: number): Promise<Rep>;
  waitForEpoch(epoch: number): Promise<void>;
  requestUpThru(epoch: number): void;
  /** A PG changed state (stats, heartbeat peers). */
  pgChanged(pg: Pg): void;
  /** Ask the monitors for a pg_temp entry (an empty list removes it). */
  requestPgTemp(pgid: string, osds: number[]): void;
  readonly space: SpaceGuard;
}

/** Extra entries a log may hold beyond its bound before a trim (trims are batched). */
export const logTrimBatch = 64;

const stale = (why: string): NacreError => new NacreError(`stale: ${why}`, { code: 'ESTALE' });

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export class Pg {
  readonly cid: string;
  readonly poolId: number;
  readonly seed: number;
  info: PgInfo;
  readonly log: PgLog;
  readonly missing = new Map<string, MissingItem>();
  readonly machine = new PeeringMachine();
  readonly tracker = new IntervalTracker();
  view: IntervalView | null = null;
  /** Primary: what each acting peer is missing (from activation), what probed peers reported. */
  readonly peerMissing = new Map<number, Map<string, MissingItem>>();
  readonly peerInfos = new Map<number, PgInfo>();
  /** Peers (besides acting ones) known to hold objects: the auth peer's missing set. */
  authPeer = -1;
  authMissing = new Map<string, MissingItem>();
  /** Log tail of the authoritative OSD (what a complete copy must reach). */
  private authTail: Eversion = { epoch: 0, v: 0 };
  private readonly recovering = new Map<string, Promise<boolean>>();
  private recoveryAttempt = -1;
  /** Objects no reachable OSD has at the needed version. */
  readonly unfound = new Set<string>();
  /** Ops waiting for the PG to become active (resolved true) or for a new interval (false). */
  private activeWaiters: Array<(ok: boolean) => void> = [];
  private intervalWaiters: Array<() => void> = [];
  private recoveryWaiters: Array<() => void> = [];
  private inbox: Promise<void> = Promise.resolve();
  readonly log_: Logger;

  constructor(readonly host: PgHost, readonly pgid: string, loaded: LoadedPg) {
    const dot = pgid.indexOf('.');
    this.poolId = Number(pgid.slice(0, dot));
    this.seed = parseInt(pgid.slice(dot + 1), 16);
    this.cid = pgCollection(pgid);
    this.info = loaded.info;
    this.log = new PgLog(host.config.pgLogEntriesMax + logTrimBatch, host.config.pgLogDupsMax);
    this.log.reset(loaded.info.logTail, loaded.entries, loaded.dups);
    for (const m of loaded.missing) this.missing.set(objectKeyText(m.oid), m);
    this.log_ = host.logger.child({ pg: pgid });
  }

  get state(): PgState {
    return this.machine.state;
  }

  get isPrimary(): boolean {
    return this.view !== null && this.view.primary === this.host.whoami;
  }

  get isActive(): boolean {
    return this.isPrimary && ACTIVE_STATES.has(this.machine.state);
  }

  oidOf(ref: ObjRef): ObjectId {
    return storeOid(this.poolId, ref.hash, ref.name);
  }

  // ------------------------------------------------------------------ maps and intervals

  /** This PG's placement in `map`. */
  epochView(map: OsdMap): PgEpochView {
    const pool = map.pools.get(this.poolId);
    if (pool === undefined || this.seed >= pool.pgNum) {
      return { epoch: map.epoch, up: [], acting: [], upPrimary: -1, primary: -1, size: 0, minSize: 1, primaryUpThru: 0, primaryUpFrom: 0 };
    }
    const m = pgToUpActing(map, { pool: this.poolId, seed: this.seed });
    const p = m.actingPrimary >= 0 && m.actingPrimary < map.maxOsd ? map.osds[m.actingPrimary]! : null;
    const upFrom = (o: number): number => (o >= 0 && o < map.maxOsd ? map.osds[o]!.upFrom : 0);
    return {
      epoch: map.epoch, up: m.up, acting: m.acting, upPrimary: m.upPrimary, primary: m.actingPrimary,
      size: pool.size, minSize: pool.minSize, primaryUpThru: p?.upThru ?? 0, primaryUpFrom: p?.upFrom ?? 0,
      upFroms: [...m.up.map(upFrom), ...m.acting.map(upFrom)],
    };
  }

  /** Feed one epoch (in order); true if a new interval started. */
  addEpoch(map: OsdMap): boolean {
    return this.tracker.add(this.epochView(map));
  }

  /** Seed the interval tracker from the stored map history (when the PG is loaded or created). */
  seedFromHistory(history: MapHistory): void {
    const from = Math.max(history.oldestEpoch, this.info.lastEpochStarted > 0 ? this.info.lastEpochStarted - 1 : 0);
    for (const [a, b] of history.runs()) {
      for (let e = Math.max(a, from); e <= b; e++) this.tracker.add(this.epochView(history.get(e)!));
    }
  }

  /** After a batch of epochs: tell the machine about a new interval or just the new map. */
  afterMaps(map: OsdMap, intervalChanged: boolean, upSetChanged: boolean): void {
    const cur = this.tracker.current;
    if (cur === null) return;
    if (intervalChanged || this.view === null) {
      this.view = {
        epoch: map.epoch, sameIntervalSince: this.tracker.sameIntervalSince, up: cur.up, acting: cur.acting,
        primary: cur.primary, upPrimary: cur.upPrimary, size: cur.size, minSize: cur.minSize, whoami: this.host.whoami,
      };
      this.tracker.trimBefore(this.info.lastEpochStarted);
      this.handle({
        type: 'interval', view: this.view, map: this.host.mapView(), ownInfo: this.info,
        ownReports: this.tracker.reports(1, this.view.sameIntervalSince - 1),
      });
    } else {
      this.view = { ...this.view, epoch: map.epoch };
      this.handle({ type: 'map', map: this.host.mapView(), upSetChanged });
      if (upSetChanged && this.isActive && this.unfound.size > 0) {
        // An OSD came or went: objects nobody had may be findable now.
        this.unfound.clear();
        this.recoveryAttempt = -1;
        void this.recoveryLoop(this.machine.attempt);
      }
    }
  }

  handle(event: PgEvent): void {
    const effects = this.machine.handle(event);
    for (const fx of effects) this.runEffect(fx);
  }

  private runEffect(fx: PgEffect): void {
    switch (fx.kind) {
      case 'state':
        this.log_.debug({ state: fx.state, attempt: this.machine.attempt }, 'pg state');
        this.host.pgChanged(this);
        return;
      case 'reset_ops': return this.resetForInterval();
      case 'query': for (const osd of fx.osds) void this.queryPeer(osd, fx.attempt); return;
      case 'fetch_log': void this.fetchLog(fx.from, fx.attempt); return;
      case 'request_up_thru': this.host.requestUpThru(fx.epoch); return;
      case 'request_pg_temp': return this.requestPgTemp(fx.exclude);
      case 'activate': void this.activate(fx.peers, fx.activationEpoch, fx.attempt); return;
      case 'start_recovery': void this.recoveryLoop(fx.attempt); return;
      case 'requeue_ops': return this.wakeActiveWaiters(true);
    }
  }

  private resetForInterval(): void {
    this.peerMissing.clear();
    this.peerInfos.clear();
    this.authPeer = -1;
    this.authMissing.clear();
    this.unfound.clear();
    this.wakeActiveWaiters(false);
    for (const w of this.intervalWaiters.splice(0)) w();
    for (const w of this.recoveryWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------ waiting (used by pg-ops)

  /**
   * Resolves true once active; false if the interval changes first or after opWaitMsMax (the op
   * is then answered `retry`, and a client still interested resends it).
   */
  waitActive(): Promise<boolean> {
    if (this.isActive) return Promise.resolve(true);
    if (this.activeWaiters.length >= this.host.config.pgOpsWaitingMax) {
      return Promise.reject(new NacreError(`pg ${this.pgid}: too many ops waiting (pgOpsWaitingMax=${this.host.config.pgOpsWaitingMax})`, { code: 'EAGAIN' }));
    }
    return new Promise((resolve) => {
      const waiter = (ok: boolean): void => {
        timer.cancel();
        resolve(ok);
      };
      const timer = this.host.env.timers.setTimeout(() => {
        const i = this.activeWaiters.indexOf(waiter);
        if (i >= 0) this.activeWaiters.splice(i, 1);
        resolve(false);
      }, this.host.config.opWaitMsMax);
      this.activeWaiters.push(waiter);
    });
  }

  /** Resolves when the current interval ends. */
  intervalEnded(): Promise<void> {
    return new Promise((resolve) => this.intervalWaiters.push(resolve));
  }

  private wakeActiveWaiters(ok: boolean): void {
    for (const w of this.activeWaiters.splice(0)) w(ok);
  }

  // ------------------------------------------------------------------ primary: peering I/O

  private base(): PgMsgBase {
    const map = this.host.map();
    return { pgid: this.pgid, epoch: map.epoch, since: this.view?.sameIntervalSince ?? 0 };
  }

  private retryDelayMs(): number {
    return Math.min(2000, Math.max(100, Math.floor(this.host.config.peerRequestTimeoutMs / 10)));
  }

  private stillOn(attempt: number): boolean {
    return this.machine.attempt === attempt && this.machine.state !== PgState.Stopped;
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => this.host.env.timers.setTimeout(resolve, ms));
  }

  private async queryPeer(osd: number, attempt: number): Promise<void> {
    while (this.stillOn(attempt)) {
      try {
        const reply = await this.host.request(osd, OsdPgQuery, { ...this.base(), from: 1 }, this.host.config.peerRequestTimeoutMs);
        if (!this.stillOn(attempt)) return;
        if (reply.info !== null) this.peerInfos.set(osd, reply.info);
        this.handle({ type: 'info', attempt, from: osd, info: reply.info, reports: reply.reports });
        return;
      } catch (err) {
        this.log_.debug({ osd, err: (err as Error).message }, 'pg query failed; retrying');
        if (!this.host.mapView().isUp(osd)) return;
        await this.sleep(this.retryDelayMs());
      }
    }
  }

  private async fetchLog(osd: number, attempt: number): Promise<void> {
    while (this.stillOn(attempt)) {
      let reply: PgLogReply;
      try {
        reply = await this.host.request(osd, OsdPgLog, this.base(), this.host.config.peerRequestTimeoutMs);
      } catch (err) {
        this.log_.debug({ osd, err: (err as Error).message }, 'log fetch failed; retrying');
        await this.sleep(this.retryDelayMs());
        continue;
      }
      if (!this.stillOn(attempt)) return;
      this.authPeer = osd;
      this.authTail = reply.tail;
      this.authMissing = new Map(reply.missing.map((m) => [objectKeyText(m.oid), m]));
      const view: LogView = { tail: reply.tail, head: reply.entries.length > 0 ? reply.entries[reply.entries.length - 1]!.version : reply.tail, entries: reply.entries };
      const ok = await this.adoptLog(view, null);
      if (!this.stillOn(attempt)) return;
      this.handle({ type: 'log_merged', attempt, ok, info: this.info });
      return;
    }
  }

  /**
   * Merge `auth` into this OSD's log and persist (missing items, removed objects, the adopted log,
   * and les when activating). False if the logs do not overlap (backfill needed).
   */
  private async adoptLog(auth: LogView, activationEpoch: number | null): Promise<boolean> {
    const local: LogView = { tail: this.log.tail, head: this.log.head, entries: this.log.entries };
    const r = mergeLog(local, this.missing, auth);
    if (r.kind === 'backfill') {
      this.log_.warn({ reason: r.reason }, 'logs do not overlap: this copy needs a backfill');
      return false;
    }
    const meta = new PgMetaWriter();
    const txn = new Transaction();
    let objectsDelta = 0;
    let bytesDelta = 0;
    for (const ref of r.removeObjects) {
      const oid = this.oidOf(ref);
      if (await this.host.store.exists(this.cid, oid)) {
        bytesDelta -= (await this.host.store.stat(this.cid, oid)).sizeBytes;
        objectsDelta--;
        txn.remove(this.cid, oid);
      }
      meta.removeMissing(ref);
    }
    const authKeys = new Set(auth.entries.map((e) => formatVersion(e.version)));
    const localKeys = new Set(this.log.entries.map((e) => formatVersion(e.version)));
    for (const e of this.log.entries) if (!authKeys.has(formatVersion(e.version))) meta.removeEntry(e);
    for (const e of auth.entries) if (!localKeys.has(formatVersion(e.version))) meta.addEntry(e);
    for (const m of r.missingSet) meta.setMissing(m);
    // No await from here to the queueing: memory and the transaction change together.
    this.info = {
      ...this.info, lastUpdate: auth.head, logTail: auth.tail,
      objects: Math.max(0, this.info.objects + objectsDelta), bytes: Math.max(0, this.info.bytes + bytesDelta),
      lastEpochStarted: activationEpoch ?? this.info.lastEpochStarted,
    };
    meta.setInfo(this.info);
    meta.applyTo(txn, this.cid);
    this.log.reset(auth.tail, auth.entries, this.log.dups);
    for (const ref of r.removeObjects) this.missing.delete(objectKeyText(ref));
    for (const m of r.missingSet) this.missing.set(objectKeyText(m.oid), m);
    if (r.divergent.length > 0) this.log_.info({ divergent: r.divergent.map((e) => formatVersion(e.version)) }, 'rolling back divergent entries');
    await this.host.store.queueTransaction(txn);
    return true;
  }

  private async activate(peers: number[], activationEpoch: number, attempt: number): Promise<void> {
    // Our own les first: it must be on disk before any write of this interval.
    this.info = { ...this.info, lastEpochStarted: activationEpoch };
    const txn = new Transaction();
    new PgMetaWriter().setInfo(this.info).applyTo(txn, this.cid);
    await this.host.store.queueTransaction(txn);
    this.tracker.trimBefore(activationEpoch);
    for (const osd of peers) void this.activatePeer(osd, activationEpoch, attempt);
  }

  private async activatePeer(osd: number, activationEpoch: number, attempt: number): Promise<void> {
    while (this.stillOn(attempt)) {
      const msg: PgActivate = { ...this.base(), activationEpoch, info: this.info, tail: this.log.tail, entries: [...this.log.entries] };
      let reply: PgActivateReply;
      try {
        reply = await this.host.request(osd, OsdPgActivate, asWire<PgActivate>(pgActivateToWire(msg)), this.host.config.peerRequestTimeoutMs);
      } catch (err) {
        this.log_.debug({ osd, err: (err as Error).message }, 'activation failed; retrying');
        await this.sleep(this.retryDelayMs());
        continue;
      }
      if (!this.stillOn(attempt)) return;
      this.peerMissing.set(osd, new Map(reply.missing.map((m) => [objectKeyText(m.oid), m])));
      this.handle({ type: 'activated', attempt, from: osd, missingCount: reply.missing.length, backfill: reply.backfill });
      return;
    }
  }

  // ------------------------------------------------------------------ primary: pg_temp

  /** Can `info` be brought up to date from a log whose tail is `tail`? */
  private completeFor(info: PgInfo | undefined, tail: Eversion): boolean {
    return info !== undefined && compareVersions(info.lastUpdate, tail) >= 0;
  }

  /**
   * Some OSD needs a backfill: ask for an acting set of OSDs that can be brought up to date from
   * the log (the authoritative one first when we are the one lacking), up to the pool size.
   */
  private requestPgTemp(exclude: readonly number[]): void {
    const v = this.view!;
    const selfOk = !exclude.includes(this.host.whoami);
    const tail = selfOk ? this.log.tail : this.authTail;
    const isUp = this.host.mapView().isUp;
    const order = [...(selfOk ? [this.host.whoami] : []), ...(this.authPeer >= 0 ? [this.authPeer] : []), ...v.acting, ...[...this.peerInfos.keys()].sort((a, b) => a - b)];
    const wanted: number[] = [];
    for (const osd of order) {
      if (wanted.length >= v.size || wanted.includes(osd) || exclude.includes(osd) || !isUp(osd)) continue;
      // Activated peers are complete; others if their log reaches the tail.
      const ok = osd === this.host.whoami ? selfOk : this.peerMissing.has(osd) || this.completeFor(this.peerInfos.get(osd), tail);
      if (ok) wanted.push(osd);
    }
    if (wanted.length < v.minSize || sameMembers(wanted, v.acting)) {
      this.log_.warn({ wanted, acting: v.acting, exclude }, 'a copy needs a backfill and not enough complete OSDs remain: incomplete');
      return;
    }
    this.log_.info({ pgTemp: wanted, exclude }, 'asking for pg_temp: these copies need a backfill');
    this.host.requestPgTemp(this.pgid, wanted);
  }

  /** Active with a pg_temp: drop it once every up OSD can be brought up to date from our log. */
  private maybeClearPgTemp(): void {
    const v = this.view!;
    if (!this.host.map().pgTemp.has(this.pgid)) return;
    if (sameMembers(v.up, v.acting)) return this.host.requestPgTemp(this.pgid, []);
    const ready = v.up.every((o) => v.acting.includes(o) || this.completeFor(this.peerInfos.get(o), this.log.tail));
    if (ready) this.host.requestPgTemp(this.pgid, []);
  }

  // ------------------------------------------------------------------ primary: recovery

  /** Is `key` missing on this OSD or on any acting peer? */
  missingAnywhere(key: string): boolean {
    if (this.missing.has(key)) return true;
    for (const m of this.peerMissing.values()) if (m.has(key)) return true;
    return false;
  }

  totalMissing(): number {
    let n = this.missing.size;
    for (const m of this.peerMissing.values()) n += m.size;
    return n;
  }

  /** Recover one object everywhere (deduplicated); true when done, false if it cannot be now. */
  recoverObject(key: string, attempt: number): Promise<boolean> {
    let p = this.recovering.get(key);
    if (p === undefined) {
      p = this.doRecoverObject(key, attempt).finally(() => this.recovering.delete(key));
      this.recovering.set(key, p);
    }
    return p;
  }

  private async doRecoverObject(key: string, attempt: number): Promise<boolean> {
    const own = this.missing.get(key);
    if (own !== undefined && !(await this.pullObject(own, attempt))) {
      this.unfound.add(key);
      return false;
    }
    for (const [osd, m] of this.peerMissing) {
      const item = m.get(key);
      if (item === undefined) continue;
      if (!(await this.pushObject(osd, item, attempt))) return false;
      m.delete(key);
    }
    this.unfound.delete(key);
    for (const w of this.recoveryWaiters.splice(0)) w();
    return true;
  }

  private pullSources(item: MissingItem): number[] {
    const key = objectKeyText(item.oid);
    const out: number[] = [];
    for (const [osd, m] of this.peerMissing) if (!m.has(key)) out.push(osd);
    if (this.authPeer >= 0 && !this.authMissing.has(key) && !out.includes(this.authPeer)) out.push(this.authPeer);
    for (const [osd, info] of this.peerInfos) {
      if (!out.includes(osd) && osd !== this.host.whoami && versionLte(item.need, info.lastUpdate)) out.push(osd);
    }
    const view = this.host.mapView();
    return out.filter((o) => view.isUp(o));
  }

  private async pullObject(item: MissingItem, attempt: number): Promise<boolean> {
    for (const osd of this.pullSources(item)) {
      if (!this.stillOn(attempt)) return false;
      try {
        if (await this.pullFrom(osd, item, attempt)) return true;
      } catch (err) {
        this.log_.debug({ osd, oid: item.oid.name, err: (err as Error).message }, 'pull failed');
      }
    }
    return false;
  }

  private async pullFrom(osd: number, item: MissingItem, attempt: number): Promise<boolean> {
    let pos = { offset: 0, omapAfter: '', first: true };
    for (;;) {
      const pull = asWire<Pull>({ ...this.base(), oid: objRefToWire(item.oid), ...pos });
      const chunk = await this.host.request(osd, OsdPull, pull, this.host.config.peerRequestTimeoutMs);
      if (!this.stillOn(attempt)) return false;
      if (compareVersions(chunk.version, item.need) < 0) return false;
      await this.applyChunk(chunk, this.missing);
      if (chunk.done) return true;
      pos = nextPosition(chunk);
    }
  }

  private async pushObject(osd: number, item: MissingItem, attempt: number): Promise<boolean> {
    let pos = { offset: 0, omapAfter: '', first: true };
    try {
      for (;;) {
        if (!this.stillOn(attempt)) return false;
        const chunk = await readChunk(this.host.store, this.cid, this.oidOf(item.oid), item.oid, pos, this.host.config.recoveryChunkBytesMax);
        await this.host.request(osd, OsdPush, asWire<Push>(pushToWire({ ...this.base(), chunk })), this.host.config.peerRequestTimeoutMs);
        if (chunk.done) return true;
        pos = nextPosition(chunk);
      }
    } catch (err) {
      this.log_.debug({ osd, oid: item.oid.name, err: (err as Error).message }, 'push failed');
      return false;
    }
  }

  /** Apply a received piece; the last one clears the missing item and fixes the stats. */
  private async applyChunk(chunk: ObjectChunk, missing: Map<string, MissingItem>): Promise<void> {
    const txn = new Transaction();
    const oid = this.oidOf(chunk.oid);
    const r = await addChunkToTxn(this.host.store, txn, this.cid, oid, chunk);
    if (chunk.done) {
      // From here to the queueing, no await: the info we write is derived from the current one
      // (writes may have moved lastUpdate meanwhile), and memory changes with it.
      this.info = {
        ...this.info,
        objects: this.info.objects + (r.sizeBeforeBytes < 0 ? 1 : 0),
        bytes: Math.max(0, this.info.bytes + chunk.sizeBytes - Math.max(0, r.sizeBeforeBytes)),
      };
      new PgMetaWriter().removeMissing(chunk.oid).setInfo(this.info).applyTo(txn, this.cid);
    }
    await this.host.store.queueTransaction(txn);
    if (chunk.done) missing.delete(objectKeyText(chunk.oid));
  }

  private async recoveryLoop(attempt: number): Promise<void> {
    if (this.recoveryAttempt === attempt) return;
    this.recoveryAttempt = attempt;
    const limit = this.host.config.recoveryOpsInFlightMax;
    while (this.stillOn(attempt)) {
      const keys = new Set<string>(this.missing.keys());
      for (const m of this.peerMissing.values()) for (const k of m.keys()) keys.add(k);
      for (const k of this.unfound) keys.delete(k);
      if (keys.size === 0) break;
      const batch = [...keys].slice(0, limit);
      const done = await Promise.all(batch.map((k) => this.recoverObject(k, attempt)));
      // A peer that refuses pushes (down, full) must not make this loop spin.
      if (!done.some(Boolean)) await this.sleep(this.retryDelayMs());
    }
    if (!this.stillOn(attempt)) return;
    if (this.totalMissing() === 0) {
      this.info = { ...this.info, lastEpochClean: this.host.map().epoch };
      this.handle({ type: 'recovery_done', attempt });
      this.maybeClearPgTemp();
      this.host.pgChanged(this);
    } else {
      this.log_.warn({ unfound: this.unfound.size }, 'objects unfound: waiting for an OSD that has them');
      this.host.pgChanged(this);
    }
  }

  // ------------------------------------------------------------------ replica side

  /** Check that a primary's message belongs to our current interval (after waiting for its map). */
  private async admitFromPrimary(msg: PgMsgBase, fromOsd: number): Promise<void> {
    await this.host.waitForEpoch(msg.epoch);
    const v = this.view;
    if (v === null || this.tracker.sameIntervalSince > msg.epoch) throw stale(`interval changed after epoch ${msg.epoch}`);
    if (v.primary !== fromOsd) throw stale(`osd.${fromOsd} is not the primary of ${this.pgid}`);
    if (!v.acting.includes(this.host.whoami)) throw stale(`osd.${this.host.whoami} is not acting for ${this.pgid}`);
  }

  /** Run `admit` in arrival order; its result (a completion) is awaited outside the queue. */
  private inOrder<T>(admit: () => Promise<{ done: Promise<T> }>): Promise<T> {
    const admitted = this.inbox.then(admit);
    this.inbox = admitted.then(() => undefined, () => undefined);
    return admitted.then((a) => a.done);
  }

  handleQuery(): PgQueryReply {
    const since = this.view?.sameIntervalSince ?? this.tracker.lastEpoch + 1;
    return { info: this.info, reports: this.tracker.reports(1, since - 1) };
  }

  handleLogRequest(): PgLogReply {
    return { info: this.info, tail: this.log.tail, entries: [...this.log.entries], missing: [...this.missing.values()] };
  }

  handleActivate(msg: PgActivate, fromOsd: number): Promise<PgActivateReply> {
    return this.inOrder<PgActivateReply>(async () => {
      await this.admitFromPrimary(msg, fromOsd);
      const attempt = this.machine.attempt;
      const auth: LogView = { tail: msg.tail, head: msg.info.lastUpdate, entries: msg.entries };
      const ok = await this.adoptLog(auth, msg.activationEpoch);
      if (!ok) return { done: Promise.resolve({ missing: [], backfill: true }) };
      this.handle({ type: 'activate', attempt });
      return { done: Promise.resolve({ missing: [...this.missing.values()], backfill: false }) };
    });
  }

  handleRepOp(msg: RepOp, fromOsd: number): Promise<RepOpReply> {
    return this.inOrder(async () => {
      await this.admitFromPrimary(msg, fromOsd);
      if (this.machine.state !== PgState.ReplicaActive) throw stale(`pg ${this.pgid} is not active here (${this.machine.state})`);
      if (compareVersions(msg.entry.version, this.log.head) <= 0) {
        throw new NacreError(`repop ${formatVersion(msg.entry.version)} is not after ${formatVersion(this.log.head)}`, { code: 'EINVAL' });
      }
      return { done: this.applyRepOp(msg) };
    });
  }

  private async applyRepOp(msg: RepOp): Promise<RepOpReply> {
    const key = objectKeyText(msg.entry.oid);
    const txn = new Transaction();
    const meta = new PgMetaWriter().addEntry(msg.entry);
    const wasMissing = this.missing.has(key);
    if (wasMissing) {
      // Should not happen (the primary recovers an object before writing it); keep it missing.
      const m: MissingItem = { oid: msg.entry.oid, need: msg.entry.version, have: this.missing.get(key)!.have };
      meta.setMissing(m);
      this.missing.set(key, m);
    } else {
      addMutations(txn, this.cid, this.oidOf(msg.entry.oid), msg.mutations);
    }
    this.log.append(msg.entry);
    this.trimLogTo(msg.trimTo, meta);
    this.info = {
      ...this.info, lastUpdate: msg.entry.version, logTail: this.log.tail,
      objects: Math.max(0, this.info.objects + msg.objectsDelta), bytes: Math.max(0, this.info.bytes + msg.bytesDelta),
    };
    meta.setInfo(this.info);
    const metaOnly = new Transaction();
    meta.applyTo(txn, this.cid);
    meta.applyTo(metaOnly, this.cid);
    try {
      await this.host.store.queueTransaction(txn);
    } catch (err) {
      // The data did not fit (or the store refused it): keep the log entry, mark the object
      // missing so a later recovery brings it, and tell the primary it is not durable here.
      this.log_.error({ version: formatVersion(msg.entry.version), err: (err as Error).message }, 'replicated write failed here; object marked missing');
      const m: MissingItem = { oid: msg.entry.oid, need: msg.entry.version, have: msg.entry.prior };
      new PgMetaWriter().setMissing(m).applyTo(metaOnly, this.cid);
      this.missing.set(key, m);
      await this.host.store.queueTransaction(metaOnly);
      throw err;
    }
    if (wasMissing) throw new NacreError(`object ${msg.entry.oid.name} is missing here`, { code: 'EIO' });
    return { permille: await this.host.space.permille() };
  }

  /** Trim the log up to `tail` (entries ≤ tail leave; reqids go to dups); records the key changes. */
  trimLogTo(tail: Eversion, meta: PgMetaWriter): number {
    let drop = 0;
    while (drop < this.log.length && compareVersions(this.log.entries[drop]!.version, tail) <= 0) drop++;
    return this.trimLogCount(this.log.length - drop, meta);
  }

  trimLogCount(keep: number, meta: PgMetaWriter): number {
    const t = this.log.trimTo(keep);
    for (const e of t.removed) meta.removeEntry(e);
    for (const d of t.dupsAdded) meta.addDup(d);
    for (const d of t.dupsRemoved) meta.removeDup(d);
    return t.removed.length;
  }

  handlePush(msg: Push, fromOsd: number): Promise<Record<string, never>> {
    return this.inOrder(async () => {
      await this.admitFromPrimary(msg, fromOsd);
      return { done: this.applyChunk(msg.chunk, this.missing).then(() => ({})) };
    });
  }

  async handlePull(oid: ObjRef, pos: { offset: number; omapAfter: string; first: boolean }): Promise<ObjectChunk> {
    if (this.missing.has(objectKeyText(oid))) throw new NacreError(`object ${oid.name} is missing here`, { code: 'ENOENT' });
    return readChunk(this.host.store, this.cid, this.oidOf(oid), oid, pos, this.host.config.recoveryChunkBytesMax);
  }

  // ------------------------------------------------------------------ reporting

  /** Ceph-style state words for `nacre status`. */
  stateWords(): string[] {
    const s = this.machine.state;
    const v = this.view;
    const undersized = v !== null && v.acting.length < v.size;
    const remapped = v !== null && !sameMembers(v.up, v.acting) ? ['remapped'] : [];
    switch (s) {
      case PgState.Clean: return ['active', 'clean', ...remapped];
      case PgState.Active: return [...(undersized ? ['active', 'undersized', 'degraded'] : ['active']), ...remapped];
      case PgState.Recovering: {
        const w = ['active', 'recovering', 'degraded'];
        if (undersized) w.push('undersized');
        if (this.unfound.size > 0) w.push('recovery_unfound');
        return [...w, ...remapped];
      }
      case PgState.Activating: return ['activating'];
      case PgState.GetInfo: case PgState.GetLog: case PgState.WaitUpThru: return ['peering'];
      case PgState.Peered: return ['undersized', 'peered'];
      case PgState.Down: return ['down'];
      case PgState.Incomplete: return ['incomplete'];
      case PgState.ReplicaActive: return ['replica'];
      case PgState.Stray: return ['stray'];
      default: return [s];
    }
  }

  /** Wait until some recovery finished (or the interval ended). */
  recoveryProgress(): Promise<void> {
    return new Promise((resolve) => this.recoveryWaiters.push(resolve));
  }

  stop(): void {
    this.handle({ type: 'stop' });
    this.resetForInterval();
  }
}
