/**
 * The OSD daemon: store, messengers (public + heartbeat), monitor link, map processing, PGs.
 *
 * ```ts
 * const osd = createOsd({ id: 0, mons: ['127.0.0.1:6789'], keyring, publicAddr: '127.0.0.1:0', hbAddr: '127.0.0.1:0', host: 'host-a' })
 *   ({ env: realEnv(createLogger('osd.0')), store: new BlockStore('/var/lib/nacre/osd.0') });
 * await osd.start();   // mounts, boots, serves
 * await osd.stop();
 * ```
 */
import { AssertionFailure, NacreError, assert, type Env, type Logger, type TimerHandle } from '@nacre/util';
import {
  applyIncremental, decodeIncremental, decodeOsdMap, formatPgId, osdIsUp, parsePgId, pgToUpActing, rawHashToPgSeed, type OsdMap,
} from '@nacre/osdmap';
import { Transaction, type ObjectStore } from '@nacre/objectstore';
import {
  OsdNotify, OsdNotifyAck, OsdOpMsg, OsdPgLs, OsdWatch, entityKindOf, pgLsEntriesMax,
  type EntityName, type ObjectOp, type OpReply, type OsdMapBundle, type PgLs, type PgLsReply, type RequestDef,
} from '@nacre/proto';
import { createMessenger, formatAddress, type Connection, type KeyLookup, type Messenger, type MessengerLimits, type Transport } from '@nacre/msgr';
import { resolveOsdConfig, type OsdConfig } from './config.js';
import { Heartbeat } from './heartbeat.js';
import { MapHistory } from './map-history.js';
import {
  OsdAdmin, OsdPeerInfo, OsdPgActivate, OsdPgLog, OsdPgQuery, OsdPull, OsdPush, OsdRepOp, asWire, chunkToWire,
  pgLogReplyToWire, pgQueryReplyToWire, pgActivateReplyToWire, type ObjectChunk, type PgActivateReply, type PgLogReply, type PgQueryReply,
} from './messages.js';
import { MonClientLink, type MonLink } from './mon-link.js';
import { locatorOf, objectKeyText, placementHashOf, storeNameOf } from './object-name.js';
import { emptyPgInfo } from './pg-types.js';
import { Pg, type PgHost } from './pg.js';
import { WriteThrottle, checkNotSnap, doOp } from './pg-ops.js';
import { PgState, type MapView } from './peering-machine.js';
import { IntervalTracker } from './interval-tracker.js';
import { createPgTxn, loadPg, META_CID, OSD_FORMAT_VERSION, pgidOfCollection, SUPERBLOCK_NAME } from './store-layout.js';
import { metaOid } from './map-history.js';
import { pgPackr } from './pg-codec.js';
import { WatchRegistry } from './watch.js';
import { SpaceGuard } from './space-guard.js';
import { runAdmin } from './admin.js';

export type OsdStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface OsdInit {
  id: number;
  /** Monitor addresses (`host:port`). */
  mons: string[];
  /** The cluster's fsid (maps of another cluster are refused); adopted from the first map if unset. */
  fsid?: string;
  /** Keys of everyone allowed to connect (clients, OSDs, monitors), and ours. */
  keyring: KeyLookup;
  /** Our own key (default: keyring.keyOf('osd.<id>')). */
  key?: Buffer;
  /** Public address (clients and peers), `host:port`; port 0 picks one. */
  publicAddr: string;
  /** Heartbeat address, `host:port`; port 0 picks one. */
  hbAddr: string;
  /** CRUSH location. */
  host: string;
  rack?: string;
  root?: string;
  /** CRUSH weight, 16.16 (default 1.0). */
  weight?: number;
  deviceClass?: string;
  config?: Partial<OsdConfig>;
  messengerLimits?: Partial<MessengerLimits>;
}

export interface OsdComponents {
  env: Env;
  store: ObjectStore;
  /** Public and heartbeat transports (default: WebSockets). */
  transport?: Transport;
  hbTransport?: Transport;
  /** Replace the monitor link (tests, or a MonClient); default: over the public messenger. */
  monLink?: (msgr: Messenger) => MonLink;
}

interface EpochWaiter { epoch: number; resolve: () => void; reject: (err: Error) => void; timer: TimerHandle }

/** Pools × PGs an OSD instantiates (bounds memory and per-epoch work). */
export const pgsPerOsdMax = 100_000;

export class Osd implements PgHost {
  readonly whoami: number;
  readonly config: OsdConfig;
  readonly env: Env;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly history: MapHistory;
  readonly msgr: Messenger;
  readonly hbMsgr: Messenger;
  readonly monLink: MonLink;
  readonly pgs = new Map<string, Pg>();
  readonly watches: WatchRegistry;
  readonly space: SpaceGuard;
  private readonly heartbeat: Heartbeat;
  private readonly throttle: WriteThrottle;
  private statusValue: OsdStatus = 'idle';
  private uuid = '';
  /** Random per process start: lets the monitor tell a restart from a resent boot. */
  private readonly bootId: string;
  private epochWaiters: EpochWaiter[] = [];
  private mapChain: Promise<void> = Promise.resolve();
  private pendingMaps: OsdMap[] = [];
  private readonly peerConns = new Map<number, { addr: string; conn: Connection }>();
  private timers: TimerHandle[] = [];
  private booting = false;
  private lastBootMs = -Infinity;
  private upThruRequested = 0;
  private fetchingMaps = false;
  private mountedHere = false;
  private mapViewCache: { epoch: number; view: MapView } | null = null;

  constructor(readonly init: OsdInit, components: OsdComponents) {
    this.whoami = init.id;
    this.config = resolveOsdConfig(init.config);
    this.env = components.env;
    this.store = components.store;
    this.logger = components.env.logger;
    this.history = new MapHistory(this.config.mapHistoryEpochsMax);
    this.bootId = randomUuid(this.env);
    const entity = `osd.${init.id}`;
    const key = init.key ?? init.keyring.keyOf(entity as EntityName);
    if (key === undefined) throw new NacreError(`no key for ${entity}`, { code: 'EINVAL' });
    this.msgr = createMessenger(
      { entity, key, keyring: init.keyring, listen: init.publicAddr, ...(init.messengerLimits ? { limits: init.messengerLimits } : {}) },
      { env: this.env, ...(components.transport ? { transport: components.transport } : {}) },
    );
    this.hbMsgr = createMessenger(
      { entity, key, keyring: init.keyring, listen: init.hbAddr },
      { env: this.env, ...(components.hbTransport ?? components.transport ? { transport: components.hbTransport ?? components.transport! } : {}) },
    );
    this.monLink = components.monLink?.(this.msgr) ?? new MonClientLink(this.msgr, this.env, { osd: init.id, mons: init.mons, ...(init.fsid !== undefined ? { fsid: init.fsid } : {}) });
    this.watches = new WatchRegistry(this.env.timers, this.config.notifiesInFlightMax);
    this.throttle = new WriteThrottle(this.config.writesInFlightMax);
    this.space = new SpaceGuard(this.store, this.config.fullRatioPercent);
    this.heartbeat = new Heartbeat({
      whoami: this.whoami, config: this.config, env: this.env, logger: this.logger, hbMsgr: this.hbMsgr,
      map: () => this.history.newest, peers: () => this.pgPeers(),
      hbAddrOf: (osd) => this.request(osd, OsdPeerInfo, {}, this.config.heartbeatGraceMs).then((r) => r.hbAddr),
      reportFailure: (target, failedForMs, immediate) => this.monLink.reportFailure({ target, failedForMs, epoch: this.epoch, immediate }),
    });
    this.registerHandlers();
  }

  get status(): OsdStatus {
    return this.statusValue;
  }

  get epoch(): number {
    return this.history.newestEpoch;
  }

  get publicAddress(): string {
    const a = this.msgr.address;
    return a === null ? this.init.publicAddr : formatAddress(a);
  }

  get hbAddress(): string {
    const a = this.hbMsgr.address;
    return a === null ? this.init.hbAddr : formatAddress(a);
  }

  get storeUuid(): string {
    return this.uuid;
  }

  map(): OsdMap {
    const m = this.history.newest;
    if (m === null) throw new NacreError(`osd.${this.whoami} has no map yet`, { code: 'EAGAIN' });
    return m;
  }

  mapView(): MapView {
    const map = this.map();
    if (this.mapViewCache?.epoch === map.epoch) return this.mapViewCache.view;
    const upThru = new Map<number, number>();
    for (let i = 0; i < map.maxOsd; i++) if (map.osds[i]!.exists) upThru.set(i, map.osds[i]!.upThru);
    const view: MapView = { epoch: map.epoch, isUp: (o) => osdIsUp(map, o), upThru };
    this.mapViewCache = { epoch: map.epoch, view };
    return view;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    assert(this.statusValue === 'idle', `osd.${this.whoami} cannot start while ${this.statusValue}`);
    this.statusValue = 'starting';
    if (this.store.status !== 'open') {
      await this.store.mount();
      this.mountedHere = true;
    }
    await this.loadSuperblock();
    await this.history.load(this.store, this.logger);
    await this.loadPgs();
    await this.msgr.start();
    await this.hbMsgr.start();
    this.statusValue = 'running';
    this.monLink.onMap((m) => this.onMap(m));
    await this.monLink.start();
    this.heartbeat.start();
    this.timers.push(this.env.timers.setInterval(() => this.monLink.beacon(this.epoch), this.config.beaconIntervalMs));
    this.timers.push(this.env.timers.setInterval(() => void this.sendStats(), this.config.statsIntervalMs));
    this.logger.info({ osd: this.whoami, addr: this.publicAddress, hb: this.hbAddress, pgs: this.pgs.size, epoch: this.epoch }, 'osd started');
    void this.boot();
  }

  async stop(): Promise<void> {
    if (this.statusValue !== 'running') return;
    this.statusValue = 'stopping';
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.heartbeat.stop();
    for (const w of this.epochWaiters.splice(0)) {
      w.timer.cancel();
      w.reject(new NacreError(`osd.${this.whoami} stopping`, { code: 'ESHUTDOWN' }));
    }
    for (const pg of this.pgs.values()) pg.stop();
    await this.monLink.stop();
    await this.msgr.stop();
    await this.hbMsgr.stop();
    await this.mapChain.catch(() => {});
    if (this.mountedHere) await this.store.umount();
    this.statusValue = 'stopped';
    this.logger.info({ osd: this.whoami }, 'osd stopped');
  }

  private async loadSuperblock(): Promise<void> {
    if (!(await this.store.collectionExists(META_CID))) {
      const uuid = randomUuid(this.env);
      const txn = new Transaction().createCollection(META_CID)
        .omapSetKeys(META_CID, metaOid(SUPERBLOCK_NAME), { sb: pgPackr.pack({ osd: this.whoami, uuid, formatVersion: OSD_FORMAT_VERSION }) });
      await this.store.queueTransaction(txn);
      this.uuid = uuid;
      this.logger.info({ uuid }, 'new OSD store initialised');
      return;
    }
    const raw = (await this.store.omapGetValues(META_CID, metaOid(SUPERBLOCK_NAME), ['sb'])).get('sb');
    if (raw === undefined) throw new NacreError('store has no OSD superblock', { code: 'EIO' });
    const sb = pgPackr.unpack(raw) as { osd: number; uuid: string; formatVersion: number };
    if (sb.formatVersion !== OSD_FORMAT_VERSION) throw new NacreError(`unsupported OSD format ${sb.formatVersion}`, { code: 'EIO' });
    if (sb.osd !== this.whoami) throw new NacreError(`this store belongs to osd.${sb.osd}, not osd.${this.whoami}`, { code: 'EINVAL' });
    this.uuid = sb.uuid;
  }

  private async loadPgs(): Promise<void> {
    for (const cid of await this.store.listCollections()) {
      const pgid = pgidOfCollection(cid);
      if (pgid === null) continue;
      const loaded = await loadPg(this.store, pgid);
      const pg = new Pg(this, pgid, loaded);
      pg.seedFromHistory(this.history);
      this.pgs.set(pgid, pg);
    }
  }

  // ------------------------------------------------------------------ boot and maps

  private async boot(): Promise<void> {
    if (this.booting || this.statusValue !== 'running') return;
    const now = this.env.clock.monotonicMs();
    if (now - this.lastBootMs < 2000) return;
    this.booting = true;
    this.lastBootMs = now;
    try {
      const r = await this.monLink.boot({
        osd: this.whoami, addr: this.publicAddress, host: this.init.host,
        ...(this.init.rack !== undefined ? { rack: this.init.rack } : {}),
        ...(this.init.root !== undefined ? { root: this.init.root } : {}),
        weight: this.init.weight ?? 0x10000,
        ...(this.init.deviceClass !== undefined ? { deviceClass: this.init.deviceClass } : {}),
        uuid: this.uuid,
        bootId: this.bootId,
      });
      this.logger.info({ epoch: r.epoch }, 'boot acknowledged');
      if (r.epoch > this.epoch) void this.fetchMaps();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'boot failed; will retry');
    } finally {
      this.booting = false;
    }
  }

  private needsBoot(map: OsdMap): boolean {
    const me = map.osds[this.whoami];
    return me === undefined || !me.exists || !me.up || me.addr !== this.publicAddress;
  }

  /** Maps from the monitor link, one epoch at a time; processed in batches, in order. */
  private onMap(map: OsdMap): void {
    this.pendingMaps.push(map);
    if (this.pendingMaps.length > 1) return;
    this.mapChain = this.mapChain.then(() => this.processMaps(this.pendingMaps.splice(0))).catch((err: unknown) => {
      if (err instanceof AssertionFailure) throw err;
      this.logger.error({ err }, 'map processing failed');
    });
  }

  /** Ask the monitors for what we lack (after a gap, or because a peer or client is ahead). */
  private async fetchMaps(): Promise<void> {
    if (this.fetchingMaps || this.statusValue !== 'running') return;
    this.fetchingMaps = true;
    try {
      const maps = this.bundleToMaps(await this.monLink.getMaps(this.epoch));
      for (const m of maps) this.onMap(m);
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'map fetch failed');
    } finally {
      this.fetchingMaps = false;
    }
  }

  /** Decode a bundle into consecutive maps after our newest (skipping what we hold). */
  private bundleToMaps(bundle: OsdMapBundle): OsdMap[] {
    const out: OsdMap[] = [];
    let cur = this.history.newest;
    if (bundle.full !== undefined) {
      const full = decodeOsdMap(bundle.full);
      if (cur === null || full.epoch > cur.epoch) {
        out.push(full);
        cur = full;
      }
    }
    for (const bytes of bundle.incrementals) {
      const inc = decodeIncremental(bytes);
      if (cur === null || inc.epoch <= cur.epoch) continue;
      if (inc.epoch !== cur.epoch + 1) break;
      cur = applyIncremental(cur, inc);
      out.push(cur);
    }
    return out;
  }

  /** A map after a gap: try to get the epochs in between from the monitors first. */
  private async fillGap(next: OsdMap): Promise<OsdMap[]> {
    const newest = this.history.newest;
    if (newest === null || next.epoch === newest.epoch + 1) return [];
    try {
      return this.bundleToMaps(await this.monLink.getMaps(newest.epoch)).filter((m) => m.epoch < next.epoch);
    } catch (err) {
      this.logger.info({ from: newest.epoch, to: next.epoch, err: (err as Error).message }, 'cannot fill the map gap; peering treats it conservatively');
      return [];
    }
  }

  private async processMaps(incoming: OsdMap[]): Promise<void> {
    if (this.statusValue !== 'running' || incoming.length === 0) return;
    const prev = this.history.newest;
    const txn = new Transaction();
    const added: OsdMap[] = [];
    for (const map of incoming) {
      if (map.epoch <= this.history.newestEpoch) continue;
      if (prev !== null && map.fsid !== prev.fsid) {
        this.logger.error({ ours: prev.fsid, theirs: map.fsid }, 'map of another cluster ignored (wrong data directory or monitors?)');
        continue;
      }
      for (const m of await this.fillGap(map)) if (this.history.add(m, txn)) added.push(m);
      if (this.history.add(map, txn)) added.push(map);
    }
    if (added.length === 0) return;
    const final = added[added.length - 1]!;
    this.logger.debug({ from: added[0]!.epoch, to: final.epoch, upThru: final.osds[this.whoami]?.upThru }, 'maps applied');
    this.history.trim(txn, this.oldestNeededEpoch());
    const changed = new Set<Pg>();
    for (const map of added) for (const pg of this.pgs.values()) if (pg.addEpoch(map)) changed.add(pg);
    for (const pg of this.createPgs(final, txn)) changed.add(pg);
    await this.store.queueTransaction(txn);
    this.afterMaps(prev, final, changed);
  }

  /**
   * Maps older than every local PG's last activation are not needed for peering. PGs we hold but
   * no longer serve (strays) do not pin history: they only answer queries, from what they saw.
   */
  private oldestNeededEpoch(): number {
    let oldest = this.epoch;
    for (const pg of this.pgs.values()) {
      const v = pg.view;
      if (v !== null && !v.up.includes(this.whoami) && !v.acting.includes(this.whoami)) continue;
      oldest = Math.min(oldest, Math.max(1, pg.info.lastEpochStarted - 1));
    }
    return oldest;
  }

  /** Instantiate the PGs the final map places on this OSD (up or acting) that we do not hold yet. */
  private createPgs(map: OsdMap, txn: Transaction): Pg[] {
    const out: Pg[] = [];
    for (const pool of map.pools.values()) {
      for (let seed = 0; seed < pool.pgNum; seed++) {
        const pgid = formatPgId({ pool: pool.id, seed });
        if (this.pgs.has(pgid)) continue;
        const m = pgToUpActing(map, { pool: pool.id, seed });
        if (!m.up.includes(this.whoami) && !m.acting.includes(this.whoami)) continue;
        assert(this.pgs.size < pgsPerOsdMax, `osd.${this.whoami} holds too many PGs (pgsPerOsdMax=${pgsPerOsdMax})`);
        const info = emptyPgInfo(pgid);
        createPgTxn(txn, info);
        const pg = new Pg(this, pgid, { info, entries: [], dups: [], missing: [] });
        pg.seedFromHistory(this.history);
        this.pgs.set(pgid, pg);
        out.push(pg);
      }
    }
    return out;
  }

  private afterMaps(prev: OsdMap | null, map: OsdMap, changed: Set<Pg>): void {
    const upSetChanged = prev === null || upSetDiffers(prev, map);
    this.closeStalePeerConns(map);
    for (const pg of this.pgs.values()) {
      const wasPrimary = pg.isPrimary;
      pg.afterMaps(map, changed.has(pg), upSetChanged);
      if (changed.has(pg) && wasPrimary) this.watches.dropPg(pg.pgid);
    }
    const ready = this.epochWaiters.filter((w) => w.epoch <= map.epoch);
    this.epochWaiters = this.epochWaiters.filter((w) => w.epoch > map.epoch);
    for (const w of ready) {
      w.timer.cancel();
      w.resolve();
    }
    if (this.needsBoot(map)) void this.boot();
  }

  waitForEpoch(epoch: number): Promise<void> {
    if (epoch <= this.epoch) return Promise.resolve();
    if (this.epochWaiters.length >= this.config.opsWaitingForMapMax) {
      return Promise.reject(new NacreError('too many requests waiting for a newer map', { code: 'EAGAIN' }));
    }
    void this.fetchMaps();
    return new Promise((resolve, reject) => {
      const timer = this.env.timers.setTimeout(() => {
        this.epochWaiters = this.epochWaiters.filter((w) => w.timer !== timer);
        reject(new NacreError(`osd.${this.whoami} did not get map epoch ${epoch} in time`, { code: 'ETIMEDOUT' }));
      }, this.config.opWaitMsMax);
      this.epochWaiters.push({ epoch, resolve, reject, timer });
    });
  }

  requestUpThru(epoch: number): void {
    if (epoch <= this.upThruRequested) return;
    this.logger.debug({ upThru: epoch, requestedBefore: this.upThruRequested }, 'asking for up_thru');
    this.upThruRequested = epoch;
    this.monLink.alive(epoch).then(
      (r) => {
        this.logger.debug({ upThru: epoch, epoch: r.epoch }, 'up_thru answered');
        if (r.epoch > this.epoch) void this.fetchMaps();
      },
      (err: unknown) => {
        this.logger.warn({ err: (err as Error).message }, 'up_thru request failed; will ask again');
        this.upThruRequested = 0;
        this.env.timers.setTimeout(() => this.retryUpThru(), 1000);
      },
    );
  }

  private retryUpThru(): void {
    for (const pg of this.pgs.values()) if (pg.state === PgState.WaitUpThru) return this.requestUpThru(this.epoch);
  }

  pgChanged(_pg: Pg): void {
    // Stats go out on the next timer tick; nothing to do eagerly.
  }

  requestPgTemp(pgid: string, osds: number[]): void {
    this.monLink.pgTemp({ epoch: this.epoch, pgTemp: [[pgid, osds]] }).then(
      (r) => { if (r.epoch > this.epoch) void this.fetchMaps(); },
      (err: unknown) => this.logger.warn({ pgid, osds, err: (err as Error).message }, 'pg_temp request failed'),
    );
  }

  // ------------------------------------------------------------------ peers

  private closeStalePeerConns(map: OsdMap): void {
    for (const [osd, pc] of this.peerConns) {
      if (!osdIsUp(map, osd) || map.osds[osd]!.addr !== pc.addr) {
        pc.conn.close('peer down or moved');
        this.peerConns.delete(osd);
      }
    }
  }

  private peerConn(osd: number): Connection {
    const map = this.map();
    if (!osdIsUp(map, osd)) throw new NacreError(`osd.${osd} is down`, { code: 'EAGAIN' });
    const addr = map.osds[osd]!.addr;
    const cached = this.peerConns.get(osd);
    if (cached !== undefined && cached.addr === addr && cached.conn.state !== 'closed' && cached.conn.state !== 'failed') return cached.conn;
    cached?.conn.close('replaced');
    const conn = this.msgr.connect(addr, { expectPeer: `osd.${osd}` });
    this.peerConns.set(osd, { addr, conn });
    return conn;
  }

  request<Req, Rep>(osd: number, def: RequestDef<Req, Rep>, payload: Req, timeoutMs: number): Promise<Rep> {
    try {
      return this.peerConn(osd).request(def, payload, { timeoutMs });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Up OSDs sharing a PG with us (heartbeat peers). */
  private pgPeers(): Set<number> {
    const out = new Set<number>();
    for (const pg of this.pgs.values()) {
      const v = pg.view;
      if (v === null || (!v.up.includes(this.whoami) && !v.acting.includes(this.whoami))) continue;
      for (const o of [...v.up, ...v.acting]) if (o !== this.whoami && o >= 0) out.add(o);
    }
    return out;
  }

  private osdOf(peer: EntityName): number {
    if (entityKindOf(peer) !== 'osd') throw new NacreError(`${peer} is not an OSD`, { code: 'EPERM' });
    return Number(peer.slice(4));
  }

  // ------------------------------------------------------------------ handlers

  private registerHandlers(): void {
    this.msgr.handle(OsdOpMsg, (req) => this.handleOp(req));
    this.msgr.handle(OsdPgLs, (req) => this.handlePgLs(req));
    this.msgr.handle(OsdWatch, async (req, ctx) => {
      const r = await this.primaryPgFor(req);
      if ('retry' in r) return r.retry;
      const key = `${r.pg.pgid}/${objectKeyText(r.ref)}`;
      if (req.watch) {
        if (!(await this.store.exists(r.pg.cid, r.pg.oidOf(r.ref)))) throw new NacreError('object does not exist', { code: 'ENOENT' });
        this.watches.watch(key, ctx.peer, req.cookie, ctx.conn);
      } else {
        this.watches.unwatch(key, ctx.peer, req.cookie);
      }
      return { kind: 'ok' as const };
    });
    this.msgr.handle(OsdNotify, async (req) => {
      const r = await this.primaryPgFor(req);
      if ('retry' in r) return r.retry;
      return this.watches.notify(`${r.pg.pgid}/${objectKeyText(r.ref)}`, req.oid, Buffer.from(req.payload), req.timeoutMs);
    });
    this.msgr.handle(OsdNotifyAck, (req, ctx) => this.watches.ack(req.notifyId, ctx.peer, req.cookie, req.reply));
    this.registerPeerHandlers();
    this.msgr.handle(OsdAdmin, (req, ctx) => {
      if (ctx.peer !== 'client.admin') throw new NacreError('osd.admin is for client.admin only', { code: 'EPERM' });
      return runAdmin(this, req);
    });
  }

  private registerPeerHandlers(): void {
    this.msgr.handle(OsdPeerInfo, () => ({ hbAddr: this.hbAddress }));
    this.msgr.handle(OsdPgQuery, async (req) => {
      await this.waitForEpoch(req.epoch);
      const pg = this.pgs.get(req.pgid);
      const reply: PgQueryReply = pg !== undefined ? pg.handleQuery() : { info: null, reports: this.reportsFromHistory(req.pgid) };
      return asWire<PgQueryReply>(pgQueryReplyToWire(reply));
    });
    this.msgr.handle(OsdPgLog, (req) => {
      const pg = this.pgs.get(req.pgid);
      if (pg === undefined) throw new NacreError(`pg ${req.pgid} not here`, { code: 'ENOENT' });
      return asWire<PgLogReply>(pgLogReplyToWire(pg.handleLogRequest()));
    });
    this.msgr.handle(OsdPgActivate, async (req, ctx) => {
      const pg = await this.pgAfterEpoch(req.pgid, req.epoch);
      return asWire<PgActivateReply>(pgActivateReplyToWire(await pg.handleActivate(req, this.osdOf(ctx.peer))));
    });
    this.msgr.handle(OsdRepOp, async (req, ctx) => (await this.pgAfterEpoch(req.pgid, req.epoch)).handleRepOp(req, this.osdOf(ctx.peer)));
    this.msgr.handle(OsdPush, async (req, ctx) => (await this.pgAfterEpoch(req.pgid, req.epoch)).handlePush(req, this.osdOf(ctx.peer)));
    this.msgr.handle(OsdPull, async (req) => {
      const pg = this.pgs.get(req.pgid);
      if (pg === undefined) throw new NacreError(`pg ${req.pgid} not here`, { code: 'ENOENT' });
      return asWire<ObjectChunk>(chunkToWire(await pg.handlePull(req.oid, req)));
    });
  }

  /** The PG, once our map has the sender's epoch (keeps arrival order: see Pg.inOrder). */
  private async pgAfterEpoch(pgid: string, epoch: number): Promise<Pg> {
    const now = this.pgs.get(pgid);
    if (now !== undefined) return now;
    await this.waitForEpoch(epoch);
    const pg = this.pgs.get(pgid);
    if (pg === undefined) throw new NacreError(`pg ${pgid} not here`, { code: 'ESTALE' });
    return pg;
  }

  private reportsFromHistory(pgid: string): PgQueryReply['reports'] {
    let parsed;
    try {
      parsed = parsePgId(pgid);
    } catch {
      return [];
    }
    const tracker = new IntervalTracker();
    const probe = new Pg(this, formatPgId(parsed), { info: emptyPgInfo(pgid), entries: [], dups: [], missing: [] });
    for (const [a, b] of this.history.runs()) for (let e = a; e <= b; e++) tracker.add(probe.epochView(this.history.get(e)!));
    return tracker.reports(1, tracker.sameIntervalSince - 1);
  }

  /** Routing checks shared by every client request: map epoch, pool, PG, primary, object name. */
  private async route(req: { epoch: number; pgid: string; oid: ObjectOp['oid'] }): Promise<{ pg: Pg; ref: { hash: number; name: string } } | { retry: { kind: 'retry'; epoch: number } }> {
    if (req.epoch > this.epoch) await this.waitForEpoch(req.epoch);
    const map = this.map();
    const retry = { retry: { kind: 'retry' as const, epoch: map.epoch } };
    const pgid = parsePgId(req.pgid);
    const pool = map.pools.get(pgid.pool);
    if (pool === undefined) throw new NacreError(`pool ${pgid.pool} does not exist`, { code: 'ENOENT' });
    if (pgid.seed >= pool.pgNum) {
      if (req.epoch < map.epoch) return retry;
      throw new NacreError(`pg ${req.pgid} does not exist (pg_num ${pool.pgNum})`, { code: 'EINVAL' });
    }
    const name = storeNameOf(req.oid);
    const hash = placementHashOf(pool, req.oid);
    if (rawHashToPgSeed(pool, hash) !== pgid.seed) {
      if (req.epoch < map.epoch) return retry;
      throw new NacreError(`object ${req.oid.name.slice(0, 64)} does not map to pg ${req.pgid}`, { code: 'EINVAL' });
    }
    if (pgToUpActing(map, pgid).actingPrimary !== this.whoami) return retry;
    const pg = this.pgs.get(formatPgId(pgid));
    if (pg === undefined) return retry;
    return { pg, ref: { hash, name } };
  }

  private async primaryPgFor(req: { epoch: number; pgid: string; oid: ObjectOp['oid'] }): Promise<{ pg: Pg; ref: { hash: number; name: string } } | { retry: { kind: 'retry'; epoch: number } }> {
    const r = await this.route(req);
    if ('retry' in r) return r;
    if (!(await r.pg.waitActive())) return { retry: { kind: 'retry', epoch: this.epoch } };
    return r;
  }

  private async handleOp(req: ObjectOp): Promise<OpReply> {
    checkNotSnap(req);
    const r = await this.route(req);
    if ('retry' in r) return r.retry;
    return doOp(r.pg, req, { ref: r.ref, throttle: this.throttle });
  }

  private async handlePgLs(req: PgLs): Promise<PgLsReply> {
    if (req.epoch > this.epoch) await this.waitForEpoch(req.epoch);
    const map = this.map();
    const pgid = parsePgId(req.pgid);
    if (!map.pools.has(pgid.pool)) throw new NacreError(`pool ${pgid.pool} does not exist`, { code: 'ENOENT' });
    const pg = this.pgs.get(formatPgId(pgid));
    if (pg === undefined || pgToUpActing(map, pgid).actingPrimary !== this.whoami) return { kind: 'retry', epoch: map.epoch };
    if (!(await pg.waitActive())) return { kind: 'retry', epoch: this.epoch };
    while (pg.missing.size > 0 && pg.isActive) await Promise.race([pg.recoveryProgress(), pg.intervalEnded()]);
    if (!pg.isActive) return { kind: 'retry', epoch: this.epoch };
    return listPg(pg, req.cursor, Math.min(req.max, pgLsEntriesMax));
  }

  // ------------------------------------------------------------------ stats

  private async sendStats(): Promise<void> {
    if (this.statusValue !== 'running' || this.history.newest === null) return;
    const pgs = [];
    for (const pg of this.pgs.values()) {
      if (!pg.isPrimary) continue;
      pgs.push({ pgid: pg.pgid, state: pg.stateWords(), objects: pg.info.objects, bytes: pg.info.bytes, lastUpdate: `${pg.info.lastUpdate.epoch}'${pg.info.lastUpdate.v}` });
    }
    try {
      const s = await this.store.statfs();
      this.monLink.pgStats({
        osd: this.whoami, epoch: this.epoch, pgs,
        statfs: { capacityBytes: s.totalBytes, allocatedBytes: s.allocatedBytes, storedBytes: s.storedBytes, objects: s.objectCount },
      });
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'stats not sent');
    }
  }
}

async function listPg(pg: Pg, cursor: string, max: number): Promise<PgLsReply> {
  let start = undefined;
  if (cursor !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(cursor);
    } catch {
      throw new NacreError('bad pg_ls cursor', { code: 'EINVAL' });
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'number' || typeof parsed[1] !== 'string' || parsed[1] === '') {
      throw new NacreError('bad pg_ls cursor', { code: 'EINVAL' });
    }
    start = pg.oidOf({ hash: parsed[0] >>> 0, name: parsed[1] });
  }
  const entries = [];
  let next: string | null = null;
  // pgmeta (pool -1) and temp objects (pool -2) sort first; they are skipped, not listed.
  let pos = start;
  for (;;) {
    const page = await pg.host.store.listObjects(pg.cid, { ...(pos !== undefined ? { start: pos } : {}), limitCount: Math.min(max + 3 - entries.length, 10_000) });
    for (const oid of page.objects) {
      if (oid.pool !== pg.poolId) continue;
      if (entries.length === max) {
        next = JSON.stringify([oid.hash, oid.name]);
        break;
      }
      entries.push(locatorOf(oid.name));
    }
    if (next !== null || page.next === null) break;
    pos = page.next;
  }
  return { kind: 'ok', entries, next };
}

function upSetDiffers(a: OsdMap, b: OsdMap): boolean {
  const n = Math.max(a.maxOsd, b.maxOsd);
  for (let i = 0; i < n; i++) if (osdIsUp(a, i) !== osdIsUp(b, i)) return true;
  return false;
}

function randomUuid(env: Env): string {
  const b = Buffer.alloc(16);
  env.random.fill(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `createOsd(init)(components)`: configuration apart from the injected environment. */
export function createOsd(init: OsdInit): (components: OsdComponents) => Osd {
  return (components) => new Osd(init, components);
}
