/**
 * What the OSD needs from the monitors, as one narrow seam (MonLink), implemented over the shared
 * MonClient of @nacre/msgr (hunting, failover, in-order map subscription, retried requests).
 * Tests may plug in another implementation.
 */
import { NacreError, type Env, type Logger, type TimerHandle } from '@nacre/util';
import type { OsdMap } from '@nacre/osdmap';
import {
  MonGetOsdMap, MonOsdAlive, MonOsdBeacon, MonOsdBoot, MonOsdFailure, MonOsdPgTemp, MonPgStats,
  type OsdBoot, type OsdFailure, type OsdMapBundle, type PgStatsReport, type PgTempRequest,
} from '@nacre/proto';
import { MonClient, type Messenger } from '@nacre/msgr';

export interface MonLink {
  /** Begin talking to the monitors (in the background: a daemon keeps hunting until one answers). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Every new map, in epoch order (a jump when the monitor sent a full map after a gap). */
  onMap(listener: (map: OsdMap) => void): void;
  /** Ask for maps after `since` (to fill a gap in the OSD's own history). */
  getMaps(since: number): Promise<OsdMapBundle>;
  /** Register; resolves with the epoch that marks this OSD up. */
  boot(req: OsdBoot): Promise<{ epoch: number }>;
  /** Ask the monitor to record up_thru ≥ `upThru` for this OSD. */
  alive(upThru: number): Promise<{ epoch: number }>;
  pgTemp(req: PgTempRequest): Promise<{ epoch: number }>;
  beacon(epoch: number): void;
  reportFailure(report: OsdFailure): void;
  pgStats(report: PgStatsReport): void;
}

export interface MonClientLinkOptions {
  osd: number;
  mons: string[];
  fsid?: string;
  /** Deadline of boot/alive/pg_temp requests (each is retried across monitors until then). */
  requestTimeoutMs?: number;
}

/** After a failed first session, try again this often (a daemon never gives up on its monitors). */
const restartDelayMs = 1000;

export class MonClientLink implements MonLink {
  private monc: MonClient | null = null;
  private running = false;
  private readonly listeners: Array<(map: OsdMap) => void> = [];
  private readonly log: Logger;
  private retryTimer: TimerHandle | null = null;
  private readonly timeoutMs: number;

  constructor(private readonly msgr: Messenger, private readonly env: Env, private readonly opts: MonClientLinkOptions) {
    if (opts.mons.length === 0) throw new NacreError('no monitor addresses', { code: 'EINVAL' });
    this.log = env.logger.child({ sub: 'monlink' });
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  onMap(listener: (map: OsdMap) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    this.running = true;
    this.open();
  }

  private open(): void {
    if (!this.running) return;
    const monc = new MonClient({ mons: this.opts.mons, ...(this.opts.fsid !== undefined ? { fsid: this.opts.fsid } : {}) }, { env: this.env, messenger: this.msgr });
    this.monc = monc;
    monc.on('map', (map) => {
      for (const l of this.listeners) l(map);
    });
    monc.start({ timeoutMs: 30_000 }).then(
      () => monc.subscribeOsdMap({ timeoutMs: 60_000 }).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'no map yet')),
      (err: unknown) => {
        if (this.monc !== monc || !this.running) return;
        this.log.warn({ err: (err as Error).message }, 'no monitor reachable; still trying');
        this.monc = null;
        this.retryTimer = this.env.timers.setTimeout(() => this.open(), restartDelayMs);
      },
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.retryTimer?.cancel();
    const m = this.monc;
    this.monc = null;
    await m?.stop();
  }

  private client(): MonClient {
    if (this.monc === null) throw new NacreError('no monitor session', { code: 'EAGAIN' });
    return this.monc;
  }

  async getMaps(since: number): Promise<OsdMapBundle> {
    return this.client().request(MonGetOsdMap, { since }, { timeoutMs: this.timeoutMs });
  }

  async boot(req: OsdBoot): Promise<{ epoch: number }> {
    return this.client().request(MonOsdBoot, req, { timeoutMs: this.timeoutMs });
  }

  async alive(upThru: number): Promise<{ epoch: number }> {
    return this.client().request(MonOsdAlive, { osd: this.opts.osd, upThru }, { timeoutMs: this.timeoutMs });
  }

  async pgTemp(req: PgTempRequest): Promise<{ epoch: number }> {
    return this.client().request(MonOsdPgTemp, req, { timeoutMs: this.timeoutMs });
  }

  private oneway(what: string, send: (m: MonClient) => Promise<void>): void {
    const m = this.monc;
    if (m === null || m.sessionInfo === null) return;
    send(m).catch((err: unknown) => this.log.debug({ err: (err as Error).message }, `${what} not sent`));
  }

  beacon(epoch: number): void {
    this.oneway('beacon', (m) => m.send(MonOsdBeacon, { osd: this.opts.osd, epoch }, { timeoutMs: 5000 }));
  }

  reportFailure(report: OsdFailure): void {
    this.oneway('failure report', (m) => m.send(MonOsdFailure, report, { timeoutMs: 5000 }));
  }

  pgStats(report: PgStatsReport): void {
    this.oneway('pg stats', (m) => m.send(MonPgStats, report, { timeoutMs: 5000 }));
  }
}
