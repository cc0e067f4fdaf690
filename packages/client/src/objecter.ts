/**
 * The objecter: sends requests to the acting primary of a PG and keeps them going across map
 * changes (Ceph's Objecter, without its threads). For every call:
 *
 *   placement from our map (objectToPg → pgToUpActing) ─► primary's connection ─► request
 *     ├─ reply ok                     → done
 *     ├─ { retry, epoch } newer       → wait for that epoch, recompute, resend (same reqid)
 *     ├─ { retry } not newer          → the PG is not ready there yet: back off, resend
 *     ├─ link lost / OSD unreachable  → back off (or until the next map), resend
 *     ├─ new map moves the primary    → resend to the new primary at once (same reqid)
 *     ├─ error with a code            → that error (ENOENT, EEXIST, ECANCELED, ERANGE, …)
 *     └─ deadline                     → ETIMEDOUT, one line naming the PG, OSD and last reason
 *
 * Resending is safe because an op carries its reqid (client, incarnation, tid) and the OSD answers
 * a reqid it already applied with the original result. The in-flight window bounds what is
 * outstanding; callers beyond it wait.
 */
import { OsdOpMsg, type ObjectLocator, type ObjectOp, type OpReply, type ReqId, type SnapContext, type SubOp, type SubOpResult } from '@nacre/proto';
import type { Connection, MonClient } from '@nacre/msgr';
import { formatPgId, objectToPg, osdIsUp, pgToUpActing, type OsdMap, type PgId, type Pool } from '@nacre/osdmap';
import { NacreError, type Env, type ErrorCode, type Logger, type TimerHandle } from '@nacre/util';
import { OpWindow } from './op-window.js';
import type { ClientOptions } from './options.js';
import { OsdSessions } from './osd-sessions.js';

/** Where a request goes in one map epoch. */
export interface Target {
  poolId: number;
  pgid: PgId;
  /** `1.2a` */
  pgidText: string;
  primary: number;
  acting: number[];
  epoch: number;
}

export interface RetryReply {
  kind: 'retry';
  epoch: number;
}

export interface CallSpec<T> {
  /** For messages: `write_full 'foo' in pool rbd`. */
  what: string;
  poolId: number;
  /** Which PG (throws ENOENT if the pool is gone). */
  locate: (map: OsdMap, pool: Pool) => PgId;
  /** One attempt at `target`; resolves with the reply (which may be a retry). */
  send: (conn: Connection, target: Target, remainingMs: number) => Promise<T | RetryReply>;
  /** Monotonic ms. */
  deadlineMs: number;
  timeoutMs: number;
  /** Resend when the primary changes (ops), or on any acting-set change (watches: the OSD drops them). */
  resendOn: 'primary' | 'interval';
}

export interface OpContext {
  poolId: number;
  poolName: string;
  namespace?: string;
}

export interface OpOptions {
  timeoutMs?: number;
  snapc?: SnapContext;
  snapId?: number;
  /** For messages (defaults to the first sub-op's name). */
  what?: string;
}

export interface OpOutcome {
  version: number;
  results: SubOpResult[];
}

/** Codes after which the same request is sent again (they say nothing about the op itself). */
const resendCodes: ReadonlySet<ErrorCode> = new Set(['EAGAIN', 'ECONNREFUSED', 'ESHUTDOWN', 'ETIMEDOUT', 'ESTALE']);

const kicked = Symbol('kicked');

interface ActiveCall {
  spec: CallSpec<unknown>;
  target: Target | null;
  /** Set while an attempt is in flight: resolve to abandon it and resend. */
  kick: (() => void) | null;
  /** Set while pausing: any new map ends the pause. */
  wakeOnMap: (() => void) | null;
}

export class Objecter {
  readonly window: OpWindow;
  readonly sessions: OsdSessions;
  readonly incarnation: number;
  private tid = 0;
  private readonly active = new Set<ActiveCall>();
  private closedErr: NacreError | null = null;
  private readonly unsubscribeMap: () => void;
  private readonly log: Logger;
  private readonly mapListeners = new Set<(map: OsdMap) => void>();

  constructor(
    private readonly monc: MonClient,
    private readonly entity: ReqId['client'],
    private readonly options: ClientOptions,
    private readonly env: Env,
    sessions: OsdSessions,
    /** Source of the reqid incarnation (see connect's `secureRandom`). */
    secureRandom: (buf: Buffer) => void,
  ) {
    this.log = env.logger.child({ sub: 'objecter' });
    this.window = new OpWindow(options.opsInFlightMax, options.opBytesInFlightMax, options.opWaitersMax, env.timers);
    this.sessions = sessions;
    // 53 random bits: a restarted client, or another process with the same entity name, never
    // reuses an (inc, tid) — the OSD would answer its new op with an old op's recorded result.
    // Not from env.random: equally seeded PRNGs (simulations, tests) would collide.
    this.incarnation = randomSafeInteger(secureRandom);
    this.unsubscribeMap = monc.on('map', (map) => this.onMap(map));
  }

  get map(): OsdMap {
    const m = this.monc.osdmap;
    if (m === null) throw new NacreError('no OSDMap yet', { code: 'EAGAIN' });
    return m;
  }

  /** Listeners told after the objecter has reacted to a new map (watches use it). */
  onMapChange(listener: (map: OsdMap) => void): () => void {
    this.mapListeners.add(listener);
    return () => this.mapListeners.delete(listener);
  }

  nextReqId(): ReqId {
    return { client: this.entity, inc: this.incarnation, tid: ++this.tid };
  }

  /** Stop: every call in progress and every window waiter fails with ESHUTDOWN. */
  close(): void {
    if (this.closedErr !== null) return;
    this.closedErr = new NacreError('client closed', { code: 'ESHUTDOWN' });
    this.unsubscribeMap();
    this.window.close(this.closedErr);
    for (const call of this.active) {
      call.kick?.();
      call.wakeOnMap?.();
    }
    this.sessions.closeAll('client closing');
    this.mapListeners.clear();
  }

  /** One object operation (sub-ops applied atomically by the primary). */
  async operate(ctx: OpContext, oid: ObjectLocator, ops: SubOp[], opts: OpOptions = {}): Promise<OpOutcome> {
    if (this.closedErr !== null) throw this.closedErr;
    const timeoutMs = opts.timeoutMs ?? this.options.opTimeoutMs;
    const what = `${opts.what ?? ops.map((o) => o.op).join('+')} '${oid.name.length > 80 ? oid.name.slice(0, 80) + '…' : oid.name}' in pool ${ctx.poolName}`;
    const deadlineMs = this.env.clock.monotonicMs() + timeoutMs;
    let bytes = 0;
    for (const s of ops) {
      if ('data' in s) bytes += s.data.length;
      else if (s.op === 'read') bytes += s.length;
    }
    let release: () => void;
    try {
      release = await this.window.acquire(bytes, timeoutMs);
    } catch (err) {
      const e = err as NacreError;
      throw new NacreError(`${what}: ${e.message}`, { code: e.code, cause: e });
    }
    try {
      const reqid = this.nextReqId();
      const isWrite = ops.some((s) => writeSubOps.has(s.op));
      const reply = await this.call<OpReply>({
        what, poolId: ctx.poolId, deadlineMs, timeoutMs, resendOn: 'primary',
        locate: (map) => objectToPg(map, ctx.poolId, oid.name, { ...(oid.key !== undefined ? { key: oid.key } : {}), ...(oid.namespace !== undefined ? { namespace: oid.namespace } : {}) }),
        send: (conn, target, remainingMs) => {
          const payload: ObjectOp = {
            epoch: target.epoch, pgid: target.pgidText, oid, ops, reqid,
            ...(isWrite && opts.snapc !== undefined ? { snapc: opts.snapc } : {}),
            ...(!isWrite && opts.snapId !== undefined ? { snapId: opts.snapId } : {}),
          };
          return conn.request(OsdOpMsg, payload, { timeoutMs: remainingMs });
        },
      });
      if (reply.kind !== 'ok') throw new NacreError(`${what}: unexpected reply`, { code: 'EPROTO' });
      return { version: reply.version, results: reply.results };
    } finally {
      release();
    }
  }

  /** The target of a PG in `map` (primary -1 when the PG has none). */
  targetOf(map: OsdMap, pool: Pool, pgid: PgId): Target {
    const m = pgToUpActing(map, pgid);
    return { poolId: pool.id, pgid: m.pgid, pgidText: formatPgId(m.pgid), primary: m.actingPrimary, acting: m.acting, epoch: map.epoch };
  }

  /** Run one request against the acting primary until it succeeds, fails with a code, or times out. */
  async call<T>(spec: CallSpec<T>): Promise<T> {
    const call: ActiveCall = { spec: spec as CallSpec<unknown>, target: null, kick: null, wakeOnMap: null };
    this.active.add(call);
    let lastReason = 'no attempt yet';
    try {
      for (let attempt = 0; ;) {
        if (this.closedErr !== null) throw this.closedErr;
        const remainingMs = Math.ceil(spec.deadlineMs - this.env.clock.monotonicMs());
        if (remainingMs <= 0) throw this.timeoutError(spec, call.target, lastReason);
        const map = this.map;
        const pool = map.pools.get(spec.poolId);
        if (pool === undefined) throw new NacreError(`${spec.what}: pool ${spec.poolId} does not exist (epoch ${map.epoch})`, { code: 'ENOENT' });
        const target = this.targetOf(map, pool, spec.locate(map, pool));
        call.target = target;
        const addr = target.primary >= 0 && osdIsUp(map, target.primary) ? map.osds[target.primary]!.addr : '';
        if (addr === '') {
          lastReason = `pg ${target.pgidText} has no acting primary in epoch ${map.epoch}`;
          await this.pause(call, null, remainingMs);
          continue;
        }
        let outcome: T | RetryReply | typeof kicked;
        let conn: Connection | null = null;
        try {
          conn = this.sessions.get(target.primary, addr);
          outcome = await this.attempt(call, spec.send(conn, target, remainingMs));
        } catch (err) {
          const e = err as NacreError;
          if (this.closedErr !== null) throw this.closedErr;
          // The connection itself failed (refused, lost, or another daemon now answers at that
          // address — EPERM from the handshake): the OSD never judged the op, so try again
          // once a map or the backoff says where to go. Anything the OSD answered is final.
          const transportFailure = conn !== null && conn.error !== null;
          if (!transportFailure && (typeof e.code !== 'string' || !resendCodes.has(e.code))) throw withContext(e, spec.what);
          lastReason = `osd.${target.primary}: ${e.message}`;
          attempt++;
          await this.pause(call, attempt, remainingMs);
          continue;
        }
        if (outcome === kicked) {
          lastReason = `map epoch ${this.map.epoch} moved pg ${target.pgidText}`;
          continue;
        }
        if (isRetry(outcome)) {
          lastReason = `osd.${target.primary} answered retry at its epoch ${outcome.epoch}`;
          if (outcome.epoch > map.epoch) {
            await this.monc.waitForEpoch(outcome.epoch, remainingMs).catch(() => {});
          } else {
            attempt++;
            await this.pause(call, attempt, remainingMs);
          }
          continue;
        }
        return outcome;
      }
    } finally {
      this.active.delete(call);
    }
  }

  /** Await the request, or a new map that moves its target (then resend). */
  private attempt<T>(call: ActiveCall, request: Promise<T>): Promise<T | typeof kicked> {
    return new Promise((resolve, reject) => {
      let settled = false;
      call.kick = () => {
        if (settled) return;
        settled = true;
        call.kick = null;
        resolve(kicked);
      };
      request.then(
        (v) => {
          if (settled) return;
          settled = true;
          call.kick = null;
          resolve(v);
        },
        (err: unknown) => {
          if (settled) return; // abandoned attempt: its failure no longer matters
          settled = true;
          call.kick = null;
          reject(err);
        },
      );
    });
  }

  /** Wait for the next map, or `backoff(attempt)` if given — whichever comes first — within the deadline. */
  private pause(call: ActiveCall, attempt: number | null, remainingMs: number): Promise<void> {
    const o = this.options;
    const delayMs = attempt === null
      ? remainingMs
      : Math.round(Math.min(o.retryDelayMsMin * 2 ** Math.min(attempt - 1, 20), o.retryDelayMsMax) * (0.5 + this.env.random.next() / 2));
    const waitMs = Math.max(1, Math.min(delayMs, remainingMs));
    if (attempt === null) void this.monc.waitForEpoch(this.map.epoch + 1, waitMs).catch(() => {});
    return new Promise((resolve) => {
      let timer: TimerHandle | null = null;
      const done = (): void => {
        call.wakeOnMap = null;
        timer?.cancel();
        resolve();
      };
      call.wakeOnMap = done;
      timer = this.env.timers.setTimeout(done, waitMs);
    });
  }

  private onMap(map: OsdMap): void {
    this.sessions.prune(map);
    for (const call of this.active) {
      if (call.wakeOnMap !== null) {
        call.wakeOnMap();
        continue;
      }
      if (call.kick === null || call.target === null) continue;
      if (this.moved(call, map)) call.kick();
    }
    for (const l of [...this.mapListeners]) l(map);
  }

  private moved(call: ActiveCall, map: OsdMap): boolean {
    const pool = map.pools.get(call.spec.poolId);
    if (pool === undefined) return true; // resend: the loop reports ENOENT
    let next: Target;
    try {
      next = this.targetOf(map, pool, call.spec.locate(map, pool));
    } catch {
      return true;
    }
    return targetMoved(call.target!, next, call.spec.resendOn);
  }

  private timeoutError(spec: CallSpec<unknown>, target: Target | null, lastReason: string): NacreError {
    const where = target === null ? '' : ` (pg ${target.pgidText}, osd.${target.primary}, epoch ${target.epoch})`;
    return new NacreError(`${spec.what} timed out after ${spec.timeoutMs} ms${where}: ${lastReason}`, { code: 'ETIMEDOUT' });
  }
}

const writeSubOps: ReadonlySet<SubOp['op']> = new Set([
  'create', 'write_full', 'write', 'append', 'truncate', 'zero', 'remove', 'setxattr', 'rmxattr', 'omap_set', 'omap_rm', 'omap_clear',
]);

/** A uniformly random integer in [1, 2^53). */
export function randomSafeInteger(secureRandom: (buf: Buffer) => void): number {
  const b = Buffer.alloc(8);
  secureRandom(b);
  const v = (b.readUInt32BE(0) & 0x1fffff) * 0x1_0000_0000 + b.readUInt32BE(4);
  return v === 0 ? 1 : v;
}

export function targetMoved(prev: Target, next: Target, on: 'primary' | 'interval'): boolean {
  if (prev.pgidText !== next.pgidText || prev.primary !== next.primary) return true;
  if (on === 'primary') return false;
  return prev.acting.length !== next.acting.length || prev.acting.some((o, i) => next.acting[i] !== o);
}

function isRetry(v: unknown): v is RetryReply {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'retry';
}

/** Prefix the op's description unless the message already says what failed. */
function withContext(err: NacreError, what: string): NacreError {
  if (!(err instanceof Error)) return new NacreError(`${what}: ${String(err)}`, { code: 'EIO' });
  if (typeof err.code !== 'string') return new NacreError(`${what}: ${err.message}`, { code: 'EIO', cause: err });
  return new NacreError(`${what}: ${err.message}`, { code: err.code, cause: err });
}
