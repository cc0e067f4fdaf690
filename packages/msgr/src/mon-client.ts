/**
 * MonClient — the monitor session every daemon and client shares (what Ceph calls MonClient):
 *
 * - **Hunting.** Connect to any monitor of a list: try them in random order (the one that just
 *   failed last), each with a short connect timeout, with jittered exponential backoff between
 *   rounds; when the session drops (monitor killed, link lost and not re-established), hunt again.
 *   A monitor that answers EAGAIN (no quorum) or does not answer within `attemptTimeoutMs` makes
 *   the session move to another one. A refused key (EPERM) is final: nobody will accept it.
 * - **Commands and requests.** `command(prefix, args)` and `request(def, payload)` retry on a lost
 *   session, EAGAIN and attempt timeouts until their deadline, then fail with one ETIMEDOUT line
 *   that names the last error. Every command carries a `cmdId` (entity, random incarnation,
 *   counter) kept across retries, so a monitor can answer a resent mutating command with the
 *   original result (proto MonCommand.cmdId). `request()` is for requests that are safe to resend
 *   (osd_boot, osd_alive, pg_temp: all state assertions).
 * - **OSDMap subscription.** `subscribeOsdMap()` subscribes from the epoch we have; pushed bundles
 *   are applied strictly in epoch order (one at a time), each epoch published with a 'map' event;
 *   a gap (an incremental that does not follow) or a bundle that stops short triggers
 *   `mon.get_osdmap` from our epoch (the monitor answers with a full map if we are too far
 *   behind). After every (re)connect the subscription is renewed; it is also renewed every
 *   `subscribeRenewMs`, which catches a monitor that silently stopped pushing.
 * - `waitForEpoch(e)` resolves once we have epoch ≥ e, asking monitors for it meanwhile.
 *
 * ```ts
 * const msgr = createMessenger({ entity: 'client.admin', key }, { env });
 * await msgr.start();
 * const mc = new MonClient({ mons: conf.monHosts(), fsid: conf.fsid }, { env, messenger: msgr });
 * await mc.start();                          // first session (hunting), or ETIMEDOUT / EPERM
 * const map = await mc.subscribeOsdMap();    // first map
 * mc.on('map', (m, prev) => console.log(`epoch ${prev?.epoch} → ${m.epoch}`));
 * const { data } = await mc.command('osd pool ls', {});
 * await mc.stop();
 * ```
 *
 * The MonClient borrows the messenger (an OSD's messenger also serves peers and clients) and owns
 * only its session connection and the `mon.osdmap` handler; one MonClient per messenger.
 */
import { randomFillSync } from 'node:crypto';
import {
  MonCommandMsg,
  MonGetOsdMap,
  MonOsdMap,
  MonSubscribe,
  type CommandArg,
  type MonCommandReply,
  type OnewayDef,
  type OsdMapBundle,
  type RequestDef,
} from '@nacre/proto';
import { applyIncremental, decodeIncremental, decodeOsdMap, type OsdMap } from '@nacre/osdmap';
import { AssertionFailure, NacreError, type Env, type ErrorCode, type Logger, type TimerHandle } from '@nacre/util';
import type { Connection, MessageContext } from './connection.js';
import { backoffDelayMs, resolveRetryPolicy } from './limits.js';
import { ListenerSet } from './listener-set.js';
import type { Messenger } from './messenger.js';
import { TimerSet } from './timer-set.js';

export interface MonClientOptions {
  /** Default deadline of command(), request() and send() when the caller gives none. */
  commandTimeoutMs: number;
  /**
   * Longest one attempt on one monitor waits for its reply before the session moves to another
   * monitor (a hung or partitioned monitor must not eat the whole deadline). Commands that take
   * longer than this on a healthy monitor are resent (same cmdId) — keep it above a Paxos round.
   */
  attemptTimeoutMs: number;
  /** Time one monitor gets to accept the connection and authenticate while hunting. */
  huntConnectTimeoutMs: number;
  /** Backoff between hunting rounds (and between retries of one command): first delay … */
  huntDelayMsMin: number;
  /** … doubling up to this. */
  huntDelayMsMax: number;
  /** While someone waits for a newer epoch, ask a monitor for maps this often. */
  mapPollIntervalMs: number;
  /** Renew the OSDMap subscription this often (a monitor that stopped pushing is noticed). */
  subscribeRenewMs: number;
  /** After a subscribe reply names a newer epoch, wait this long for the push before fetching. */
  pushGraceMs: number;
  /** Received map bundles waiting to be applied; beyond it bundles are dropped and fetched later. */
  bundlesQueuedMax: number;
  /** Callers waiting in waitForEpoch / for a session (each holds a timer); more fail with EAGAIN. */
  waitersMax: number;
}

export const defaultMonClientOptions: Readonly<MonClientOptions> = Object.freeze({
  commandTimeoutMs: 30_000,
  attemptTimeoutMs: 10_000,
  huntConnectTimeoutMs: 2_000,
  huntDelayMsMin: 50,
  huntDelayMsMax: 2_000,
  mapPollIntervalMs: 1_000,
  subscribeRenewMs: 30_000,
  pushGraceMs: 200,
  bundlesQueuedMax: 64,
  waitersMax: 65_536,
});

export interface MonClientInit extends Partial<MonClientOptions> {
  /** Monitor addresses (`host:port`), e.g. `ClusterConf.monHosts()`. */
  mons: readonly string[];
  /** The cluster's fsid: maps of another cluster are refused. Adopted from the first map if unset. */
  fsid?: string;
}

export interface MonClientComponents {
  env: Env;
  /** A running messenger; the MonClient connects out through it as the messenger's entity. */
  messenger: Messenger;
  /**
   * Fills the command-id incarnation. Defaults to node:crypto: Env.random is a seeded PRNG, and two
   * clients seeded alike would send identical command ids, so the monitor would answer the second
   * client's new command with the first one's recorded result. Simulations may inject a source.
   */
  secureRandom?: (buf: Buffer) => void;
}

export type MonClientStatus = 'idle' | 'hunting' | 'open' | 'failed' | 'stopped';

export interface MonRequestOptions {
  /** Deadline for the whole call, retries included (default commandTimeoutMs). */
  timeoutMs?: number;
}

export interface MonSessionInfo {
  /** Address of the monitor we are talking to. */
  addr: string;
  /** Its entity name (`mon.b`). */
  peer: string;
}

/** Monitor addresses one client may be given (bounds the hunting round). */
export const monAddrsMax = 64;

/** Codes after which a command is resent (to another monitor if the session is still up). */
const retryableCodes: ReadonlySet<ErrorCode> = new Set(['EAGAIN', 'ESHUTDOWN', 'ECONNREFUSED', 'ETIMEDOUT', 'ESTALE']);

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export class MonClient {
  readonly options: MonClientOptions;
  private statusValue: MonClientStatus = 'idle';
  private readonly mons: string[];
  private fsid: string | null;
  private readonly env: Env;
  private readonly messenger: Messenger;
  private readonly log: Logger;
  private readonly timers: TimerSet;
  private session: Connection | null = null;
  private sessionAddr: string | null = null;
  private lastFailedAddr: string | null = null;
  private failure: NacreError | null = null;
  private lastHuntError: NacreError | null = null;
  private hunting = false;
  private readonly sessionWaiters = new Set<Waiter<Connection>>();
  private readonly epochWaiters = new Map<Waiter<OsdMap>, number>();
  private mapValue: OsdMap | null = null;
  private wantOsdMap = false;
  private renewTimer: TimerHandle | null = null;
  private pollTimer: TimerHandle | null = null;
  private fetching: Promise<void> | null = null;
  private mapChain: Promise<void> = Promise.resolve();
  private bundlesQueued = 0;
  /** 64 random bits (hex), unique per MonClient: with the counter it makes command ids unique. */
  private readonly cmdIncarnation: string;
  private cmdCounter = 0;
  private readonly mapListeners: ListenerSet<[OsdMap, OsdMap | null]>;
  private readonly sessionListeners: ListenerSet<[MonSessionInfo]>;
  private readonly sleepers = new Set<() => void>();

  constructor(init: MonClientInit, components: MonClientComponents) {
    const { mons, fsid, ...overrides } = init;
    this.options = resolveMonClientOptions(overrides);
    if (mons.length === 0) throw new NacreError('no monitor addresses given (mon_host in nacre.conf)', { code: 'EINVAL' });
    if (mons.length > monAddrsMax) throw new NacreError(`too many monitor addresses (monAddrsMax=${monAddrsMax})`, { code: 'EINVAL' });
    this.mons = [...new Set(mons)];
    this.fsid = fsid ?? null;
    this.env = components.env;
    this.messenger = components.messenger;
    this.log = this.env.logger.child({ sub: 'monc' });
    this.timers = new TimerSet(this.env.timers);
    const incarnation = Buffer.alloc(8);
    (components.secureRandom ?? randomFillSync)(incarnation);
    this.cmdIncarnation = incarnation.toString('hex');
    this.mapListeners = new ListenerSet('map', this.log);
    this.sessionListeners = new ListenerSet('session', this.log);
  }

  get status(): MonClientStatus {
    return this.statusValue;
  }

  /** The newest OSDMap we have (null before the first one arrives). */
  get osdmap(): OsdMap | null {
    return this.mapValue;
  }

  /** Epoch of `osdmap`, 0 without a map. */
  get epoch(): number {
    return this.mapValue?.epoch ?? 0;
  }

  /** The monitor we talk to, or null while hunting. */
  get sessionInfo(): MonSessionInfo | null {
    const s = this.session;
    return s !== null && s.state === 'open' && this.sessionAddr !== null ? { addr: this.sessionAddr, peer: s.peer ?? '?' } : null;
  }

  /**
   * 'map': every new epoch, in order (`prev` is the map it replaced; a full map after a gap skips
   * epochs, compare `prev.epoch`). 'session': a monitor session opened (also after a reconnect).
   * Returns the function that removes the listener.
   */
  on(event: 'map', listener: (map: OsdMap, prev: OsdMap | null) => void): () => void;
  on(event: 'session', listener: (info: MonSessionInfo) => void): () => void;
  on(event: 'map' | 'session', listener: ((map: OsdMap, prev: OsdMap | null) => void) | ((info: MonSessionInfo) => void)): () => void {
    if (event === 'map') return this.mapListeners.add(listener as (map: OsdMap, prev: OsdMap | null) => void);
    return this.sessionListeners.add(listener as (info: MonSessionInfo) => void);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Start hunting and wait for the first session. Fails with ETIMEDOUT (no monitor reachable in
   * `timeoutMs`, naming the last error) or EPERM (key refused); the MonClient is stopped then.
   */
  async start(opts: MonRequestOptions = {}): Promise<void> {
    if (this.statusValue !== 'idle') throw new NacreError(`MonClient cannot start while ${this.statusValue}`, { code: 'EINVAL' });
    this.messenger.handle(MonOsdMap, (bundle, ctx) => this.onPush(bundle, ctx));
    this.statusValue = 'hunting';
    this.startHunting();
    try {
      await this.waitForSession(opts.timeoutMs ?? this.options.commandTimeoutMs);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Close the session, cancel timers, fail every waiter with ESHUTDOWN. Idempotent. */
  async stop(): Promise<void> {
    if (this.statusValue === 'stopped') return;
    const wasStarted = this.statusValue !== 'idle';
    this.statusValue = 'stopped';
    const err = new NacreError('monitor client stopped', { code: 'ESHUTDOWN' });
    this.failWaiters(err);
    this.timers.cancelAll();
    this.renewTimer = null;
    this.pollTimer = null;
    for (const wake of [...this.sleepers]) wake();
    const s = this.session;
    this.session = null;
    s?.close('monitor client stopped');
    if (wasStarted) this.messenger.unhandle(MonOsdMap);
    this.mapListeners.clear();
    this.sessionListeners.clear();
    await this.mapChain;
  }

  private get stopped(): boolean {
    return this.statusValue === 'stopped' || this.statusValue === 'failed';
  }

  private failWaiters(err: NacreError): void {
    for (const w of [...this.sessionWaiters]) {
      w.timer.cancel();
      w.reject(err);
    }
    this.sessionWaiters.clear();
    for (const w of [...this.epochWaiters.keys()]) {
      w.timer.cancel();
      w.reject(err);
    }
    this.epochWaiters.clear();
  }

  // ---------------------------------------------------------------- hunting

  private startHunting(): void {
    if (this.hunting || this.stopped) return;
    this.hunting = true;
    void this.huntLoop().finally(() => {
      this.hunting = false;
    });
  }

  /** Random order, the monitor that just failed last (it is the least likely to answer). */
  private huntOrder(): string[] {
    const order = [...this.mons];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.env.random.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const failed = this.lastFailedAddr;
    if (failed !== null && order.length > 1) {
      const k = order.indexOf(failed);
      if (k >= 0) order.push(...order.splice(k, 1));
    }
    return order;
  }

  private async huntLoop(): Promise<void> {
    const policy = resolveRetryPolicy({ delayMsMin: this.options.huntDelayMsMin, delayMsMax: this.options.huntDelayMsMax });
    for (let round = 1; this.statusValue === 'hunting'; round++) {
      for (const addr of this.huntOrder()) {
        if (this.statusValue !== 'hunting') return;
        if (await this.tryMonitor(addr)) return;
      }
      if (this.statusValue !== 'hunting') return;
      this.log.debug({ round, err: this.lastHuntError?.message }, 'no monitor answered; backing off');
      await this.sleep(backoffDelayMs(policy, round, this.env.random.next()));
    }
  }

  /** One connect + authenticate attempt; true if it became the session. */
  private async tryMonitor(addr: string): Promise<boolean> {
    let conn: Connection;
    try {
      conn = this.messenger.connect(addr, { retry: { attemptsMax: 1, connectTimeoutMs: this.options.huntConnectTimeoutMs } });
    } catch (err) {
      this.lastHuntError = asNacreError(err);
      if (this.lastHuntError.code === 'ESHUTDOWN') this.failForGood(this.lastHuntError);
      return false;
    }
    const timeoutMs = this.options.huntConnectTimeoutMs * 2; // connect, then the handshake
    const outcome = await this.withTimeout(conn.ready(), timeoutMs, () => new NacreError(`monitor ${addr} did not authenticate us within ${timeoutMs} ms`, { code: 'ETIMEDOUT' }));
    if (outcome !== null) {
      conn.close('hunting moved on');
      this.lastFailedAddr = addr;
      this.lastHuntError = outcome;
      this.log.debug({ addr, err: outcome.message }, 'monitor unreachable');
      if (outcome.code === 'EPERM') this.failForGood(new NacreError(`${this.messenger.entity}: authentication refused by monitor ${addr}: ${outcome.message}`, { code: 'EPERM', cause: outcome }));
      return false;
    }
    if (this.statusValue !== 'hunting') {
      conn.close('monitor client stopped');
      return false;
    }
    if (conn.peerKind !== 'mon') {
      conn.close('not a monitor');
      this.lastHuntError = new NacreError(`${addr} is ${conn.peer}, not a monitor`, { code: 'EPROTO' });
      this.log.warn({ addr, peer: conn.peer }, 'address in the monitor list is not a monitor');
      return false;
    }
    this.adoptSession(conn, addr);
    return true;
  }

  private adoptSession(conn: Connection, addr: string): void {
    this.session = conn;
    this.sessionAddr = addr;
    this.statusValue = 'open';
    this.lastHuntError = null;
    this.log.info({ addr, peer: conn.peer }, 'monitor session open');
    conn.onClose((_c, err) => this.sessionLost(conn, err));
    // The same monitor again after a dropped link: renew what the old link carried.
    conn.onOpen(() => {
      if (this.session === conn) this.sessionOpened(conn);
    });
    this.sessionOpened(conn);
  }

  private sessionOpened(conn: Connection): void {
    for (const w of [...this.sessionWaiters]) {
      w.timer.cancel();
      w.resolve(conn);
    }
    this.sessionWaiters.clear();
    if (this.wantOsdMap) this.renewSubscription(conn);
    this.sessionListeners.emit({ addr: this.sessionAddr!, peer: conn.peer ?? '?' });
  }

  private sessionLost(conn: Connection, err: NacreError): void {
    if (this.session !== conn) return;
    this.session = null;
    this.lastFailedAddr = this.sessionAddr;
    this.sessionAddr = null;
    if (this.stopped) return;
    if (err.code === 'EPERM') {
      this.failForGood(new NacreError(`${this.messenger.entity}: authentication refused by a monitor: ${err.message}`, { code: 'EPERM', cause: err }));
      return;
    }
    this.log.info({ err: err.message }, 'monitor session lost; hunting');
    this.statusValue = 'hunting';
    this.startHunting();
  }

  /** Key refused (or messenger gone): nothing will work; every caller gets this error. */
  private failForGood(err: NacreError): void {
    if (this.stopped) return;
    this.log.warn(err.message);
    this.failure = err;
    this.statusValue = 'failed';
    this.failWaiters(err);
    this.timers.cancelAll();
    for (const wake of [...this.sleepers]) wake();
  }

  /**
   * Leave a monitor that answers EAGAIN or does not answer: close the session (the close handler
   * starts hunting, with this monitor tried last).
   */
  private rotate(conn: Connection, why: string): void {
    if (this.session !== conn || this.mons.length < 2) return;
    this.log.info({ addr: this.sessionAddr, why }, 'moving to another monitor');
    conn.close(`moving to another monitor: ${why}`);
  }

  /** The open session, waiting for one up to `timeoutMs` (ETIMEDOUT names the last hunting error). */
  waitForSession(timeoutMs: number): Promise<Connection> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.statusValue === 'stopped' || this.statusValue === 'idle') {
      return Promise.reject(new NacreError(`monitor client is ${this.statusValue}`, { code: 'ESHUTDOWN' }));
    }
    const s = this.session;
    if (s !== null && s.state === 'open') return Promise.resolve(s);
    if (this.sessionWaiters.size >= this.options.waitersMax) {
      return Promise.reject(new NacreError(`too many callers waiting for a monitor session (waitersMax=${this.options.waitersMax})`, { code: 'EAGAIN' }));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter<Connection> = {
        resolve,
        reject,
        timer: this.timers.setTimeout(() => {
          this.sessionWaiters.delete(w);
          const last = this.lastHuntError !== null ? ` (last error: ${this.lastHuntError.message})` : '';
          reject(new NacreError(`no monitor of ${this.mons.join(',')} answered within ${timeoutMs} ms${last}`, { code: 'ETIMEDOUT' }));
        }, Math.max(1, Math.ceil(timeoutMs))),
      };
      this.sessionWaiters.add(w);
    });
  }

  // ---------------------------------------------------------------- commands and requests

  /** A fresh idempotency token: entity, incarnation (random per MonClient), counter. */
  nextCommandId(): string {
    return `${this.messenger.entity}:${this.cmdIncarnation}:${++this.cmdCounter}`;
  }

  /**
   * Run a monitor command (`osd pool create`, `status`, …). Retried with the same cmdId on a lost
   * session, EAGAIN or a silent monitor until the deadline; a monitor's other errors (EINVAL,
   * ENOENT, EEXIST, EPERM …) are returned as they are.
   */
  command(prefix: string, args: Record<string, CommandArg> = {}, opts: MonRequestOptions = {}): Promise<MonCommandReply> {
    return this.requestLabelled(MonCommandMsg, { prefix, args, cmdId: this.nextCommandId() }, opts, `mon command '${prefix}'`);
  }

  /**
   * Send any request of the monitor vocabulary (mon.osd_boot, mon.osd_alive, …), retried like
   * command() — so only requests that are safe to resend.
   */
  request<Req, Rep>(def: RequestDef<Req, Rep>, payload: Req, opts: MonRequestOptions = {}): Promise<Rep> {
    return this.requestLabelled(def, payload, opts, def.type);
  }

  /** Send a one-way message (beacon, failure report, pg stats) on the session, waiting for one up to the deadline. */
  async send<P>(def: OnewayDef<P>, payload: P, opts: MonRequestOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.options.commandTimeoutMs;
    const deadline = this.env.clock.monotonicMs() + timeoutMs;
    for (;;) {
      const conn = await this.waitForSession(Math.max(1, Math.ceil(deadline - this.env.clock.monotonicMs())));
      try {
        await conn.send(def, payload);
        return;
      } catch (err) {
        const e = asNacreError(err);
        if (!retryableCodes.has(e.code) || this.stopped || this.env.clock.monotonicMs() >= deadline) throw e;
      }
    }
  }

  private async requestLabelled<Req, Rep>(def: RequestDef<Req, Rep>, payload: Req, opts: MonRequestOptions, what: string): Promise<Rep> {
    const timeoutMs = opts.timeoutMs ?? this.options.commandTimeoutMs;
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) throw new NacreError(`timeoutMs must be a positive integer, got ${timeoutMs}`, { code: 'EINVAL' });
    const deadline = this.env.clock.monotonicMs() + timeoutMs;
    const policy = resolveRetryPolicy({ delayMsMin: this.options.huntDelayMsMin, delayMsMax: this.options.huntDelayMsMax });
    let lastErr: NacreError | null = null;
    for (let attempt = 1; ; attempt++) {
      const remainingMs = Math.ceil(deadline - this.env.clock.monotonicMs());
      if (remainingMs <= 0) throw deadlineError(what, timeoutMs, lastErr);
      let conn: Connection;
      try {
        conn = await this.waitForSession(remainingMs);
      } catch (err) {
        const e = asNacreError(err);
        if (e.code === 'ETIMEDOUT') throw deadlineError(what, timeoutMs, lastErr ?? e);
        throw e;
      }
      const attemptMs = Math.max(1, Math.ceil(Math.min(deadline - this.env.clock.monotonicMs(), this.options.attemptTimeoutMs)));
      try {
        return await conn.request(def, payload, { timeoutMs: attemptMs });
      } catch (err) {
        const e = asNacreError(err);
        if (this.failure !== null) throw this.failure;
        if (this.statusValue === 'stopped') throw new NacreError(`${what}: monitor client stopped`, { code: 'ESHUTDOWN', cause: e });
        if (!retryableCodes.has(e.code)) throw e;
        // An attempt cut short by the deadline says less than what made us retry before it.
        const cutShort = e.code === 'ETIMEDOUT' && attemptMs < this.options.attemptTimeoutMs;
        if (!(cutShort && lastErr !== null)) lastErr = e;
        this.log.debug({ what, attempt, err: e.message }, 'retrying on another attempt');
        // Still connected: the monitor itself said EAGAIN or stayed silent — ask another one.
        if (conn.state === 'open') this.rotate(conn, e.message);
        const pauseMs = Math.min(backoffDelayMs(policy, attempt, this.env.random.next()), deadline - this.env.clock.monotonicMs());
        if (pauseMs > 0) await this.sleep(pauseMs);
      }
    }
  }

  // ---------------------------------------------------------------- OSDMap

  /**
   * Follow the OSDMap from now on and resolve with the current map (waiting for the first one up
   * to `timeoutMs`). Calling it again just returns the current map.
   */
  async subscribeOsdMap(opts: MonRequestOptions = {}): Promise<OsdMap> {
    if (!this.wantOsdMap) {
      this.wantOsdMap = true;
      const s = this.session;
      if (s !== null && s.state === 'open') this.renewSubscription(s);
      this.renewTimer = this.timers.setInterval(() => {
        const cur = this.session;
        if (cur !== null && cur.state === 'open') this.renewSubscription(cur);
      }, this.options.subscribeRenewMs);
    }
    return this.waitForEpoch(1, opts.timeoutMs ?? this.options.commandTimeoutMs);
  }

  private renewSubscription(conn: Connection): void {
    const since = this.epoch;
    conn.request(MonSubscribe, { osdmapSince: since }, { timeoutMs: this.options.attemptTimeoutMs }).then(
      ({ epoch }) => {
        if (epoch <= this.epoch) return;
        // The monitor pushes what we lack; fetch ourselves only if the push does not come.
        this.timers.setTimeout(() => {
          if (this.epoch < epoch) void this.fetchMaps(epoch);
        }, this.options.pushGraceMs);
      },
      (err: unknown) => {
        if (this.stopped || this.session !== conn) return;
        this.log.debug({ err: (err as Error).message }, 'subscribe failed; will retry');
        this.timers.setTimeout(() => {
          if (this.session === conn && conn.state === 'open' && !this.stopped) this.renewSubscription(conn);
        }, this.options.mapPollIntervalMs);
      },
    );
  }

  /** A monitor pushed maps (any monitor: committed epochs are the same everywhere). */
  private onPush(bundle: OsdMapBundle, ctx: MessageContext): void {
    if (this.stopped) return;
    if (this.bundlesQueued >= this.options.bundlesQueuedMax) {
      this.log.warn({ from: ctx.peer, bundlesQueuedMax: this.options.bundlesQueuedMax }, 'map bundle queue full; dropping a push (will fetch)');
      void this.fetchMaps(bundle.lastEpoch);
      return;
    }
    this.enqueueBundle(bundle, true);
  }

  private enqueueBundle(bundle: OsdMapBundle, fetchOnGap: boolean): Promise<void> {
    this.bundlesQueued++;
    const run = this.mapChain.then(() => this.applyBundle(bundle, fetchOnGap)).finally(() => {
      this.bundlesQueued--;
    });
    this.mapChain = run.catch(() => {});
    return run;
  }

  /**
   * Apply one bundle to our map, in order: a full map newer than ours replaces it; incrementals
   * at or below our epoch are skipped, the next one is applied, anything later is a gap.
   */
  private async applyBundle(bundle: OsdMapBundle, fetchOnGap: boolean): Promise<void> {
    if (this.stopped) return;
    let gap = false;
    try {
      let map = this.mapValue;
      if (bundle.full !== undefined) {
        const full = decodeOsdMap(bundle.full);
        if (!this.acceptFsid(full)) return;
        if (map === null || full.epoch > map.epoch) {
          this.publish(full);
          map = full;
        }
      }
      for (const bytes of bundle.incrementals) {
        const inc = decodeIncremental(bytes);
        if (map === null) {
          gap = true;
          break;
        }
        if (inc.epoch <= map.epoch) continue;
        if (inc.epoch !== map.epoch + 1) {
          gap = true;
          break;
        }
        map = applyIncremental(map, inc);
        this.publish(map);
      }
    } catch (err) {
      if (err instanceof AssertionFailure) throw err;
      // A map we cannot decode or apply: never half-apply; get a full map instead.
      this.log.error({ err: (err as Error).message }, 'bad map bundle from monitor; fetching a full map');
      if (fetchOnGap) await this.fetchFrom(0);
      return;
    }
    if (fetchOnGap && (gap || this.epoch < bundle.lastEpoch)) {
      this.log.debug({ have: this.epoch, lastEpoch: bundle.lastEpoch, gap }, 'map gap; fetching');
      await this.fetchFrom(this.epoch);
      if (this.epoch < bundle.lastEpoch) await this.fetchFrom(0);
    }
  }

  private acceptFsid(map: OsdMap): boolean {
    if (this.fsid === null) {
      this.fsid = map.fsid;
      return true;
    }
    if (map.fsid === this.fsid) return true;
    this.log.error({ expected: this.fsid, got: map.fsid }, 'monitor sent a map of another cluster; ignored');
    return false;
  }

  private publish(map: OsdMap): void {
    const prev = this.mapValue;
    this.mapValue = map;
    for (const [w, epoch] of [...this.epochWaiters]) {
      if (map.epoch < epoch) continue;
      this.epochWaiters.delete(w);
      w.timer.cancel();
      w.resolve(map);
    }
    this.mapListeners.emit(map, prev);
  }

  /** Ask the session's monitor for maps after `since` and apply them (inside the map chain). */
  private async fetchFrom(since: number): Promise<void> {
    const conn = this.session;
    if (conn === null || conn.state !== 'open') return;
    let bundle: OsdMapBundle;
    try {
      bundle = await conn.request(MonGetOsdMap, { since }, { timeoutMs: this.options.attemptTimeoutMs });
    } catch (err) {
      this.log.debug({ since, err: (err as Error).message }, 'get_osdmap failed');
      return;
    }
    await this.applyBundle(bundle, false);
  }

  /** Fetch (once at a time) until we have `target` or the monitor has nothing newer. */
  private fetchMaps(target: number): Promise<void> {
    if (this.fetching !== null || this.stopped) return this.fetching ?? Promise.resolve();
    const run = (async () => {
      this.bundlesQueued++;
      const step = this.mapChain.then(async () => {
        await this.fetchFrom(this.epoch);
        if (this.epoch < target) await this.fetchFrom(0);
      }).finally(() => {
        this.bundlesQueued--;
      });
      this.mapChain = step.catch(() => {});
      await step;
    })().finally(() => {
      this.fetching = null;
    });
    this.fetching = run;
    return run;
  }

  /**
   * Ask a monitor for every epoch after ours (retried like request()) and apply them; resolves with
   * the newest map. For "was this pool just created?" lookups that cannot wait for a push.
   */
  async refreshOsdMap(opts: MonRequestOptions = {}): Promise<OsdMap> {
    const bundle = await this.request(MonGetOsdMap, { since: this.epoch }, opts);
    await this.enqueueBundle(bundle, true);
    if (this.mapValue === null) throw new NacreError('the monitor sent no OSDMap', { code: 'EPROTO' });
    return this.mapValue;
  }

  /**
   * Resolve with the map once we have epoch ≥ `epoch` (at once if we do), asking monitors for it
   * every mapPollIntervalMs meanwhile; ETIMEDOUT after `timeoutMs`.
   */
  waitForEpoch(epoch: number, timeoutMs: number = this.options.commandTimeoutMs): Promise<OsdMap> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.statusValue === 'stopped') return Promise.reject(new NacreError('monitor client stopped', { code: 'ESHUTDOWN' }));
    const map = this.mapValue;
    if (map !== null && map.epoch >= epoch) return Promise.resolve(map);
    if (this.epochWaiters.size >= this.options.waitersMax) {
      return Promise.reject(new NacreError(`too many callers waiting for an OSDMap (waitersMax=${this.options.waitersMax})`, { code: 'EAGAIN' }));
    }
    const p = new Promise<OsdMap>((resolve, reject) => {
      const w: Waiter<OsdMap> = {
        resolve,
        reject,
        timer: this.timers.setTimeout(() => {
          this.epochWaiters.delete(w);
          reject(new NacreError(`no OSDMap epoch >= ${epoch} within ${timeoutMs} ms (have ${this.epoch})`, { code: 'ETIMEDOUT' }));
        }, Math.max(1, timeoutMs)),
      };
      this.epochWaiters.set(w, epoch);
    });
    void this.fetchMaps(epoch);
    this.ensurePolling();
    return p;
  }

  private ensurePolling(): void {
    if (this.pollTimer !== null) return;
    this.pollTimer = this.timers.setInterval(() => {
      if (this.epochWaiters.size === 0) {
        this.pollTimer?.cancel();
        this.pollTimer = null;
        return;
      }
      const target = Math.max(...this.epochWaiters.values());
      void this.fetchMaps(target);
    }, this.options.mapPollIntervalMs);
  }

  // ---------------------------------------------------------------- helpers

  /** Sleep on the injected timers; stop() wakes every sleeper. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.sleepers.delete(wake);
        timer.cancel();
        resolve();
      };
      const timer = this.timers.setTimeout(wake, Math.max(1, ms));
      this.sleepers.add(wake);
    });
  }

  /** null if `p` resolved within `ms`, else the error it failed with (or the timeout error). */
  private withTimeout(p: Promise<void>, ms: number, onTimeout: () => NacreError): Promise<NacreError | null> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(() => resolve(onTimeout()), ms);
      p.then(
        () => {
          timer.cancel();
          resolve(null);
        },
        (err: unknown) => {
          timer.cancel();
          resolve(asNacreError(err));
        },
      );
    });
  }
}

export function resolveMonClientOptions(overrides: Partial<MonClientOptions> = {}): MonClientOptions {
  const o: MonClientOptions = { ...defaultMonClientOptions };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as unknown as Record<string, number>)[k] = v;
  for (const [k, v] of Object.entries(o)) {
    if (!(Number.isSafeInteger(v) && v > 0)) throw new NacreError(`MonClient option ${k} must be a positive integer, got ${v}`, { code: 'EINVAL' });
  }
  if (o.huntDelayMsMax < o.huntDelayMsMin) throw new NacreError('huntDelayMsMax must be >= huntDelayMsMin', { code: 'EINVAL' });
  return o;
}

function asNacreError(err: unknown): NacreError {
  if (err instanceof NacreError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as { message?: unknown })?.message;
  return new NacreError(typeof message === 'string' ? message : String(err), {
    code: typeof code === 'string' && /^E[A-Z]+$/.test(code) ? (code as ErrorCode) : 'EIO',
    cause: err,
  });
}

function deadlineError(what: string, timeoutMs: number, last: NacreError | null): NacreError {
  const why = last !== null ? `: ${last.message}` : '';
  return new NacreError(`${what} did not complete within ${timeoutMs} ms${why}`, { code: 'ETIMEDOUT', cause: last ?? undefined });
}
