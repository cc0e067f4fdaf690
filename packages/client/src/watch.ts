/**
 * Watches (Ceph's linger ops): a registration on the object's primary that must outlive map
 * changes and reconnects. The OSD keeps a watch in memory, bound to our connection, and drops it
 * when the connection closes or the PG's interval changes — so the client re-sends it (it is
 * idempotent) whenever the PG's acting set or primary moves, when the connection to the primary
 * opens again, and every `watchRenewMs` as a safety net. Notifies arrive as `osd.watch_event`;
 * the callback's return value is sent back as the ack's reply.
 */
import {
  OsdNotify, OsdNotifyAck, OsdWatch, type EntityName, type NotifyResult, type ObjectLocator, type WatchEvent,
} from '@nacre/proto';
import type { Connection, MessageContext } from '@nacre/msgr';
import { objectToPg, type OsdMap } from '@nacre/osdmap';
import { AssertionFailure, NacreError, type Env, type Logger, type TimerHandle } from '@nacre/util';
import { randomSafeInteger, targetMoved, type Objecter, type OpContext, type Target } from './objecter.js';
import type { ClientOptions } from './options.js';
import { toBuffer, type BytesLike } from './validate.js';

export interface NotifyEvent {
  notifyId: number;
  cookie: number;
  payload: Buffer;
}

/** What a watcher answers: bytes for the notifier (or nothing). */
export type WatchCallback = (event: NotifyEvent) => BytesLike | void | Promise<BytesLike | void>;

export interface WatchOptions {
  /** Re-registration failed for good (e.g. the object was removed: ENOENT); the watch is over. */
  onError?: (err: NacreError) => void;
  timeoutMs?: number;
}

export type WatchStatus = 'active' | 'failed' | 'closed';

export interface NotifyReplyInfo {
  /** Watchers that acknowledged, with their reply bytes. */
  acks: { watcher: EntityName; cookie: number; reply: Buffer }[];
  /** Watchers that did not answer within the timeout. */
  missed: { watcher: EntityName; cookie: number }[];
}

/** A registered watch. `unwatch()` ends it. */
export class Watch {
  /** @internal */
  constructor(private readonly linger: Linger, private readonly registry: WatchRegistry) {}

  get cookie(): number {
    return this.linger.cookie;
  }

  get status(): WatchStatus {
    return this.linger.status;
  }

  /** Why the watch failed (status 'failed'), else null. */
  get error(): NacreError | null {
    return this.linger.error;
  }

  /** Remove the registration on the OSD. Idempotent. */
  unwatch(opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.registry.unwatch(this.linger, opts.timeoutMs);
  }
}

interface Linger {
  cookie: number;
  ctx: OpContext;
  oid: ObjectLocator;
  callback: WatchCallback;
  onError: ((err: NacreError) => void) | null;
  status: WatchStatus;
  error: NacreError | null;
  target: Target | null;
  registering: Promise<void> | null;
  again: boolean;
}

export class WatchRegistry {
  private readonly lingers = new Map<number, Linger>();
  /**
   * OSDs key a watch by (entity, cookie), and several processes may share an entity name
   * (`client.admin`), so cookies start at a random point of the 53-bit space instead of 1.
   */
  private nextCookie: number;
  private renewTimer: TimerHandle | null = null;
  private readonly unsubscribers: (() => void)[] = [];
  private readonly log: Logger;
  private closed = false;

  constructor(
    private readonly objecter: Objecter,
    private readonly options: ClientOptions,
    private readonly env: Env,
    secureRandom: (buf: Buffer) => void,
  ) {
    this.log = env.logger.child({ sub: 'watch' });
    // Below 2^52 so that counting up stays a safe integer for a very long time.
    this.nextCookie = Math.floor(randomSafeInteger(secureRandom) / 2) + 1;
    this.unsubscribers.push(objecter.onMapChange((map) => this.onMap(map)));
    this.unsubscribers.push(objecter.sessions.onReopen((osd) => this.onReopen(osd)));
  }

  get size(): number {
    return this.lingers.size;
  }

  close(): void {
    this.closed = true;
    this.renewTimer?.cancel();
    this.renewTimer = null;
    for (const u of this.unsubscribers.splice(0)) u();
    for (const l of this.lingers.values()) l.status = 'closed';
    this.lingers.clear();
  }

  async watch(ctx: OpContext, oid: ObjectLocator, callback: WatchCallback, opts: WatchOptions): Promise<Watch> {
    if (this.closed) throw new NacreError('client closed', { code: 'ESHUTDOWN' });
    if (this.lingers.size >= this.options.watchesMax) {
      throw new NacreError(`too many watches (watchesMax=${this.options.watchesMax})`, { code: 'ENOSPC' });
    }
    const linger: Linger = {
      cookie: this.nextCookie++, ctx, oid, callback, onError: opts.onError ?? null,
      status: 'active', error: null, target: null, registering: null, again: false,
    };
    this.lingers.set(linger.cookie, linger);
    try {
      await this.register(linger, true, opts.timeoutMs ?? this.options.opTimeoutMs);
    } catch (err) {
      this.lingers.delete(linger.cookie);
      linger.status = 'failed';
      throw err;
    }
    this.ensureRenewTimer();
    return new Watch(linger, this);
  }

  async unwatch(linger: Linger, timeoutMs = this.options.opTimeoutMs): Promise<void> {
    if (linger.status === 'closed') return;
    const wasActive = linger.status === 'active';
    linger.status = 'closed';
    this.lingers.delete(linger.cookie);
    if (!wasActive || this.closed) return;
    try {
      await this.send(linger, false, timeoutMs);
    } catch (err) {
      if ((err as NacreError).code !== 'ENOENT') throw err;
    }
  }

  async notify(ctx: OpContext, oid: ObjectLocator, payload: Buffer, timeoutMs: number): Promise<NotifyReplyInfo> {
    if (this.closed) throw new NacreError('client closed', { code: 'ESHUTDOWN' });
    // The OSD answers after `timeoutMs` at the latest; the call gets that plus a normal op's time.
    const callMs = timeoutMs + this.options.opTimeoutMs;
    const reply = await this.objecter.call<NotifyResult>({
      what: `notify '${oid.name}' in pool ${ctx.poolName}`, poolId: ctx.poolId, resendOn: 'primary',
      deadlineMs: this.env.clock.monotonicMs() + callMs, timeoutMs: callMs,
      locate: (map) => pgOf(map, ctx, oid),
      send: (conn, target, remainingMs) => conn.request(OsdNotify, { epoch: target.epoch, pgid: target.pgidText, oid, payload, timeoutMs }, { timeoutMs: remainingMs }),
    });
    return { acks: reply.acks, missed: reply.missed };
  }

  /** A notify reached one of our watches: run its callback, then ack on the same connection. */
  onWatchEvent(ev: WatchEvent, msgCtx: MessageContext): void {
    const linger = this.lingers.get(ev.cookie);
    if (linger === undefined || linger.status !== 'active') return;
    const ack = (reply: Buffer): void => {
      const target = linger.target;
      const map = this.objecter.map;
      msgCtx.conn.send(OsdNotifyAck, {
        epoch: map.epoch, pgid: target?.pgidText ?? '0.0', oid: linger.oid, notifyId: ev.notifyId, cookie: ev.cookie, reply,
      }).catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'notify ack not sent'));
    };
    const failed = (err: unknown): void => {
      if (err instanceof AssertionFailure) throw err;
      this.log.error({ err, cookie: ev.cookie }, 'watch callback failed; acking with an empty reply');
      ack(Buffer.alloc(0));
    };
    let result: ReturnType<WatchCallback>;
    try {
      result = linger.callback({ notifyId: ev.notifyId, cookie: ev.cookie, payload: Buffer.from(ev.payload) });
    } catch (err) {
      failed(err);
      return;
    }
    Promise.resolve(result).then(
      (r) => ack(r === undefined || r === null ? Buffer.alloc(0) : toBuffer(r, 'watch reply')),
      failed,
    );
  }

  /** Register (or re-register) with the current primary; at most one registration at a time per watch. */
  private register(linger: Linger, first: boolean, timeoutMs: number): Promise<void> {
    if (linger.registering !== null) {
      linger.again = true;
      return linger.registering;
    }
    const run = (async () => {
      do {
        linger.again = false;
        await this.send(linger, true, timeoutMs);
      } while (linger.again && linger.status === 'active');
    })();
    linger.registering = run;
    const clear = (): void => {
      linger.registering = null;
    };
    run.then(clear, clear);
    if (first) return run;
    return run.catch((err: unknown) => this.registrationFailed(linger, err as NacreError));
  }

  private async send(linger: Linger, watch: boolean, timeoutMs: number): Promise<void> {
    const { ctx, oid } = linger;
    await this.objecter.call({
      what: `${watch ? 'watch' : 'unwatch'} '${oid.name}' in pool ${ctx.poolName}`, poolId: ctx.poolId, resendOn: 'interval',
      deadlineMs: this.env.clock.monotonicMs() + timeoutMs, timeoutMs,
      locate: (map) => pgOf(map, ctx, oid),
      send: async (conn: Connection, target: Target, remainingMs: number) => {
        const r = await conn.request(OsdWatch, { epoch: target.epoch, pgid: target.pgidText, oid, cookie: linger.cookie, watch }, { timeoutMs: remainingMs });
        if (r.kind === 'ok' && watch) linger.target = target;
        return r;
      },
    });
  }

  private registrationFailed(linger: Linger, err: NacreError): void {
    if (linger.status !== 'active') return;
    this.log.warn({ cookie: linger.cookie, oid: linger.oid.name, err: err.message }, 'watch re-registration failed');
    // A timeout may heal with the next map or renewal; anything else (ENOENT: object removed) ends the watch.
    if (err.code !== 'ETIMEDOUT') {
      linger.status = 'failed';
      linger.error = err;
      this.lingers.delete(linger.cookie);
    }
    try {
      linger.onError?.(err);
    } catch (e) {
      if (e instanceof AssertionFailure) throw e;
      this.log.error({ err: e }, 'watch onError callback failed');
    }
  }

  private onMap(map: OsdMap): void {
    for (const linger of this.lingers.values()) {
      if (linger.target === null || linger.status !== 'active') continue;
      const pool = map.pools.get(linger.ctx.poolId);
      if (pool === undefined) {
        this.registrationFailed(linger, new NacreError(`pool ${linger.ctx.poolName} was removed`, { code: 'ENOENT' }));
        continue;
      }
      const next = this.objecter.targetOf(map, pool, pgOf(map, linger.ctx, linger.oid));
      if (targetMoved(linger.target, next, 'interval')) void this.register(linger, false, this.options.opTimeoutMs);
    }
  }

  private onReopen(osd: number): void {
    for (const linger of this.lingers.values()) {
      if (linger.status === 'active' && linger.target?.primary === osd) void this.register(linger, false, this.options.opTimeoutMs);
    }
  }

  private ensureRenewTimer(): void {
    if (this.renewTimer !== null || this.closed) return;
    this.renewTimer = this.env.timers.setInterval(() => {
      if (this.lingers.size === 0) {
        this.renewTimer?.cancel();
        this.renewTimer = null;
        return;
      }
      for (const linger of this.lingers.values()) void this.register(linger, false, this.options.opTimeoutMs);
    }, this.options.watchRenewMs);
  }
}

function pgOf(map: OsdMap, ctx: OpContext, oid: ObjectLocator): ReturnType<typeof objectToPg> {
  return objectToPg(map, ctx.poolId, oid.name, { ...(oid.key !== undefined ? { key: oid.key } : {}), ...(oid.namespace !== undefined ? { namespace: oid.namespace } : {}) });
}
