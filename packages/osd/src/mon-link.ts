/**
 * What the OSD needs from the monitors, as one narrow seam (MonLink), and an implementation over
 * the OSD's own messenger: hunt for a reachable monitor, keep the map subscription alive across
 * reconnects, retry requests on another monitor. A MonClient from @nacre/msgr can replace it by
 * implementing the same interface.
 */
import { NacreError, type Env, type Logger, type TimerHandle } from '@nacre/util';
import {
  MonGetOsdMap, MonOsdAlive, MonOsdBeacon, MonOsdBoot, MonOsdFailure, MonOsdMap, MonOsdPgTemp, MonPgStats, MonSubscribe,
  type OsdBoot, type OsdFailure, type OsdMapBundle, type PgStatsReport, type PgTempRequest,
} from '@nacre/proto';
import type { Connection, Messenger } from '@nacre/msgr';

export interface MonLink {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Register; resolves with the epoch that marks this OSD up. */
  boot(req: OsdBoot): Promise<{ epoch: number }>;
  /**
   * Receive map bundles. `since()` is asked at every (re)subscription (after reconnects, or when
   * resubscribe() is called) so the monitor sends what is missing.
   */
  subscribe(since: () => number, onMaps: (bundle: OsdMapBundle) => void): void;
  resubscribe(): void;
  getMaps(since: number): Promise<OsdMapBundle>;
  beacon(epoch: number): void;
  reportFailure(report: OsdFailure): void;
  /** Ask the monitor to record up_thru ≥ `upThru` for this OSD. */
  alive(upThru: number): Promise<{ epoch: number }>;
  pgTemp(req: PgTempRequest): Promise<{ epoch: number }>;
  pgStats(report: PgStatsReport): void;
}

export interface MessengerMonLinkOptions {
  osd: number;
  /** Monitor addresses (`host:port`); tried in order, then round robin. */
  mons: string[];
  /** Attempts per request before it fails (each on the next monitor). */
  requestAttemptsMax?: number;
  requestTimeoutMs?: number;
}

/** Monitors are few; the hunt list is bounded. */
const monsMax = 16;

export class MessengerMonLink implements MonLink {
  private conn: Connection | null = null;
  private monIndex = 0;
  private running = false;
  private sinceFn: (() => number) | null = null;
  private onMaps: ((b: OsdMapBundle) => void) | null = null;
  private readonly log: Logger;
  private huntTimer: TimerHandle | null = null;
  private readonly attemptsMax: number;
  private readonly timeoutMs: number;

  constructor(private readonly msgr: Messenger, private readonly env: Env, private readonly opts: MessengerMonLinkOptions) {
    if (opts.mons.length === 0 || opts.mons.length > monsMax) throw new NacreError(`need 1..${monsMax} monitor addresses`, { code: 'EINVAL' });
    this.log = env.logger.child({ sub: 'monlink' });
    this.attemptsMax = opts.requestAttemptsMax ?? 2 * opts.mons.length + 2;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    msgr.handle(MonOsdMap, (bundle, ctx) => {
      if (ctx.peerKind === 'mon') this.onMaps?.(bundle);
    });
  }

  async start(): Promise<void> {
    this.running = true;
    this.monIndex = Math.floor(this.env.random.next() * this.opts.mons.length);
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.huntTimer?.cancel();
    this.conn?.close('osd stopping');
    this.conn = null;
  }

  private connect(): void {
    if (!this.running) return;
    const addr = this.opts.mons[this.monIndex % this.opts.mons.length]!;
    const conn = this.msgr.connect(addr, { retry: { attemptsMax: 3, delayMsMin: 100, delayMsMax: 1000 } });
    this.conn = conn;
    conn.onOpen(() => {
      this.log.debug({ mon: conn.peer }, 'connected to monitor');
      this.sendSubscribe();
    });
    conn.onClose((_c, err) => {
      if (this.conn !== conn || !this.running) return;
      this.log.info({ addr, err: err.message }, 'monitor connection lost; hunting');
      this.hunt();
    });
  }

  private hunt(): void {
    this.conn?.close('hunting');
    this.conn = null;
    this.monIndex++;
    this.huntTimer?.cancel();
    this.huntTimer = this.env.timers.setTimeout(() => {
      this.huntTimer = null;
      this.connect();
    }, 50);
  }

  private current(): Connection {
    if (this.conn === null) {
      if (!this.running) throw new NacreError('mon link stopped', { code: 'ESHUTDOWN' });
      this.connect();
    }
    return this.conn!;
  }

  private sendSubscribe(): void {
    if (this.sinceFn === null || this.conn === null) return;
    const conn = this.conn;
    conn.request(MonSubscribe, { osdmapSince: this.sinceFn() }, { timeoutMs: this.timeoutMs }).catch((err: unknown) => {
      this.log.debug({ err: (err as Error).message }, 'subscribe failed');
    });
  }

  subscribe(since: () => number, onMaps: (b: OsdMapBundle) => void): void {
    this.sinceFn = since;
    this.onMaps = onMaps;
    if (this.conn?.state === 'open') this.sendSubscribe();
  }

  resubscribe(): void {
    this.sendSubscribe();
  }

  /** A request, retried on the next monitor after connection-level failures or EAGAIN. */
  private async call<Req, Rep>(def: Parameters<Connection['request']>[0] & { __types?: { req: Req; rep: Rep } }, payload: Req): Promise<Rep> {
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < this.attemptsMax && this.running; attempt++) {
      const conn = this.current();
      try {
        return (await conn.request(def as never, payload as never, { timeoutMs: this.timeoutMs })) as Rep;
      } catch (err) {
        lastErr = err;
        const code = (err as { code?: string }).code;
        if (code !== 'EAGAIN' && code !== 'ETIMEDOUT' && code !== 'ECONNREFUSED' && code !== 'ESHUTDOWN') throw err;
        if (this.conn === conn) this.hunt();
        await new Promise<void>((resolve) => this.env.timers.setTimeout(resolve, 200));
      }
    }
    throw lastErr ?? new NacreError('mon link stopped', { code: 'ESHUTDOWN' });
  }

  boot(req: OsdBoot): Promise<{ epoch: number }> {
    return this.call(MonOsdBoot, req);
  }

  getMaps(since: number): Promise<OsdMapBundle> {
    return this.call(MonGetOsdMap, { since });
  }

  alive(upThru: number): Promise<{ epoch: number }> {
    return this.call(MonOsdAlive, { osd: this.opts.osd, upThru });
  }

  pgTemp(req: PgTempRequest): Promise<{ epoch: number }> {
    return this.call(MonOsdPgTemp, req);
  }

  private oneway<P>(send: (conn: Connection) => Promise<void>, what: string): void {
    if (this.conn === null || this.conn.state !== 'open') return;
    send(this.conn).catch((err: unknown) => this.log.debug({ err: (err as Error).message }, `${what} not sent`));
  }

  beacon(epoch: number): void {
    this.oneway((c) => c.send(MonOsdBeacon, { osd: this.opts.osd, epoch }), 'beacon');
  }

  reportFailure(report: OsdFailure): void {
    this.oneway((c) => c.send(MonOsdFailure, report), 'failure report');
  }

  pgStats(report: PgStatsReport): void {
    this.oneway((c) => c.send(MonPgStats, report), 'pg stats');
  }
}
