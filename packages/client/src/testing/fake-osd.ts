/**
 * A fake OSD for client tests: a real messenger (`osd.N`) answering the OSD's client vocabulary
 * (osd.op, osd.pg_ls, osd.watch, osd.notify, osd.notify_ack) from the shared FakeObjectStore.
 * It routes like the real one — an op for a PG it is not the acting primary of, in its own view
 * of the map, gets `{ kind: 'retry', epoch }` — and answers a reqid it has seen with the original
 * reply. Its view of the map is the cluster's newest unless `pinEpoch` holds it back (a lagging
 * OSD). Fault hooks: `delayMs`, `onOp` (answer, fail, or hold an op), watches dropped when the
 * PG's interval changes (as the real OSD does).
 */
import {
  OsdNotify, OsdNotifyAck, OsdOpMsg, OsdPgLs, OsdWatch, OsdWatchEvent, osdPublicMessages,
  type EntityName, type NotifyReply, type ObjectLocator, type ObjectOp, type OpReply, type PgLsReply,
} from '@nacre/proto';
import { createMessenger, type Connection, type KeyLookup, type Messenger, type Transport } from '@nacre/msgr';
import type { FakeMonCluster } from '@nacre/msgr/testing';
import { formatPgId, objectToPg, parsePgId, pgToUpActing, type OsdMap } from '@nacre/osdmap';
import { NacreError, type Env, type Logger } from '@nacre/util';
import { objectKey, type FakeObjectStore } from './fake-object-store.js';

export interface FakeOpRecord {
  osd: number;
  reqid: string;
  epoch: number;
  pgid: string;
  ops: string[];
  /** What the fake answered: 'ok', 'retry', 'dup' (from the reqid table) or an error code. */
  outcome: string;
}

/** What an `onOp` hook may decide: answer with this, throw, 'hold' (never answer), or undefined (proceed). */
export type FakeOpDecision = OpReply | Error | 'hold' | undefined;

interface FakeWatch {
  watcher: EntityName;
  cookie: number;
  conn: Connection;
  pgid: string;
  oid: ObjectLocator;
}

export class FakeOsd {
  private msgr: Messenger | null = null;
  private addr: string | null = null;
  /** Hold the OSD's view of the map at this epoch (null: follow the cluster). */
  pinEpoch: number | null = null;
  delayMs = 0;
  onOp: ((req: ObjectOp, osd: FakeOsd) => FakeOpDecision | Promise<FakeOpDecision>) | null = null;
  readonly watches = new Map<string, FakeWatch>();
  private nextNotifyId = 1;
  private readonly notifies = new Map<number, { waiting: Map<string, { watcher: EntityName; cookie: number }>; acks: { watcher: EntityName; cookie: number; reply: Buffer }[]; done: () => void }>();
  private readonly held = new Set<() => void>();

  constructor(
    readonly id: number,
    private readonly mon: FakeMonCluster,
    private readonly store: FakeObjectStore,
    private readonly log: FakeOpRecord[],
    private readonly opts: { listen: string; keyring: KeyLookup; transport?: Transport; env: Env; logger?: Logger },
  ) {}

  get running(): boolean {
    return this.msgr !== null;
  }

  get address(): string {
    if (this.addr === null) throw new NacreError(`osd.${this.id} never started`, { code: 'EINVAL' });
    return this.addr;
  }

  get messenger(): Messenger | null {
    return this.msgr;
  }

  /** The map this OSD acts on. */
  view(): OsdMap {
    if (this.pinEpoch !== null) {
      const m = this.mon.mapAt(this.pinEpoch);
      if (m !== undefined) return m;
    }
    return this.mon.map;
  }

  async start(): Promise<void> {
    if (this.msgr !== null) return;
    const env = this.opts.logger ? { ...this.opts.env, logger: this.opts.logger } : this.opts.env;
    const msgr = createMessenger(
      { entity: `osd.${this.id}`, keyring: this.opts.keyring, listen: this.addr ?? this.opts.listen, vocabulary: osdPublicMessages },
      { env, ...(this.opts.transport ? { transport: this.opts.transport } : {}) },
    );
    msgr.handle(OsdOpMsg, (req) => this.handleOp(req));
    msgr.handle(OsdPgLs, (req) => this.handlePgLs(req));
    msgr.handle(OsdWatch, (req, ctx) => this.handleWatch(req, ctx.peer, ctx.conn));
    msgr.handle(OsdNotify, (req) => this.handleNotify(req));
    msgr.handle(OsdNotifyAck, (req, ctx) => this.handleAck(req.notifyId, ctx.peer, req.cookie, req.reply));
    await msgr.start();
    this.msgr = msgr;
    const a = msgr.address!;
    this.addr = `${a.host}:${a.port}`;
  }

  /** Stop listening and drop every connection (a killed OSD). Held ops are released unanswered. */
  async stop(): Promise<void> {
    const msgr = this.msgr;
    if (msgr === null) return;
    this.msgr = null;
    this.watches.clear();
    for (const release of [...this.held]) release();
    for (const n of this.notifies.values()) n.done();
    await msgr.stop();
  }

  /** Drop the watches of PGs whose acting set or primary changed between two maps. */
  onMapChange(prev: OsdMap, next: OsdMap): void {
    for (const [key, w] of [...this.watches]) {
      const pg = parsePgId(w.pgid);
      const a = next.pools.has(pg.pool) ? pgToUpActing(next, pg) : null;
      const b = prev.pools.has(pg.pool) ? pgToUpActing(prev, pg) : null;
      if (a === null || b === null || a.actingPrimary !== b.actingPrimary || a.acting.join() !== b.acting.join()) this.watches.delete(key);
    }
  }

  private route(req: { epoch: number; pgid: string; oid?: ObjectLocator }): { kind: 'retry'; epoch: number } | { map: OsdMap; poolId: number } {
    const map = this.view();
    const pgid = parsePgId(req.pgid);
    if (!map.pools.has(pgid.pool)) throw new NacreError(`pool ${pgid.pool} does not exist`, { code: 'ENOENT' });
    if (req.oid !== undefined) {
      const actual = objectToPg(map, pgid.pool, req.oid.name, { ...(req.oid.key ? { key: req.oid.key } : {}), ...(req.oid.namespace ? { namespace: req.oid.namespace } : {}) });
      if (formatPgId(actual) !== req.pgid) {
        if (req.epoch < map.epoch) return { kind: 'retry', epoch: map.epoch };
        throw new NacreError(`object ${req.oid.name} does not map to pg ${req.pgid}`, { code: 'EINVAL' });
      }
    }
    if (pgToUpActing(map, pgid).actingPrimary !== this.id) return { kind: 'retry', epoch: map.epoch };
    return { map, poolId: pgid.pool };
  }

  private async handleOp(req: ObjectOp): Promise<OpReply> {
    const rec: FakeOpRecord = { osd: this.id, reqid: `${req.reqid.client}/${req.reqid.inc}/${req.reqid.tid}`, epoch: req.epoch, pgid: req.pgid, ops: req.ops.map((o) => o.op), outcome: '?' };
    this.log.push(rec);
    try {
      if (this.onOp !== null) {
        const d = await this.onOp(req, this);
        if (d === 'hold') {
          await new Promise<void>((resolve) => this.held.add(resolve));
          rec.outcome = 'held';
          throw new NacreError('osd stopped', { code: 'ESHUTDOWN' });
        }
        if (d instanceof Error) throw d;
        if (d !== undefined) {
          rec.outcome = d.kind;
          return d;
        }
      }
      if (this.delayMs > 0) await new Promise<void>((resolve) => this.opts.env.timers.setTimeout(resolve, this.delayMs));
      const r = this.route(req);
      if ('kind' in r) {
        rec.outcome = 'retry';
        return r;
      }
      const dup = this.store.replyFor(req.reqid);
      if (dup !== undefined) {
        rec.outcome = 'dup';
        return dup;
      }
      const out = this.store.apply(r.poolId, req.oid, req.ops);
      const reply: OpReply = { kind: 'ok', version: out.version, results: out.results };
      if (req.ops.some((o) => !['read', 'stat', 'getxattr', 'getxattrs', 'omap_get_vals', 'omap_get_keys', 'omap_get_vals_by_keys', 'assert_exists', 'assert_version', 'cmpxattr'].includes(o.op))) {
        this.store.remember(req.reqid, reply);
      }
      rec.outcome = 'ok';
      return reply;
    } catch (err) {
      if (rec.outcome === '?') rec.outcome = (err as NacreError).code ?? 'error';
      throw err;
    }
  }

  private handlePgLs(req: { epoch: number; pgid: string; cursor: string; max: number }): PgLsReply {
    const r = this.route(req);
    if ('kind' in r) return r;
    const names: ObjectLocator[] = [];
    for (const o of this.store.objects.values()) {
      if (o.poolId !== r.poolId) continue;
      const pg = formatPgId(objectToPg(r.map, r.poolId, o.oid.name, { ...(o.oid.key ? { key: o.oid.key } : {}), ...(o.oid.namespace ? { namespace: o.oid.namespace } : {}) }));
      if (pg === req.pgid) names.push(o.oid);
    }
    const sortKey = (l: ObjectLocator): string => objectKey(0, l);
    names.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
    const after = names.filter((l) => req.cursor === '' || sortKey(l) > req.cursor);
    const page = after.slice(0, req.max);
    return { kind: 'ok', entries: page, next: after.length > req.max ? sortKey(page[page.length - 1]!) : null };
  }

  private handleWatch(req: { epoch: number; pgid: string; oid: ObjectLocator; cookie: number; watch: boolean }, peer: EntityName, conn: Connection): { kind: 'ok' } | { kind: 'retry'; epoch: number } {
    const r = this.route(req);
    if ('kind' in r) return r;
    const key = `${peer}#${req.cookie}`;
    if (!req.watch) {
      this.watches.delete(key);
      return { kind: 'ok' };
    }
    if (this.store.get(r.poolId, req.oid) === undefined) throw new NacreError(`object ${req.oid.name} does not exist`, { code: 'ENOENT' });
    this.watches.set(key, { watcher: peer, cookie: req.cookie, conn, pgid: req.pgid, oid: req.oid });
    conn.onClose(() => {
      if (this.watches.get(key)?.conn === conn) this.watches.delete(key);
    });
    return { kind: 'ok' };
  }

  private async handleNotify(req: { epoch: number; pgid: string; oid: ObjectLocator; payload: Buffer; timeoutMs: number }): Promise<NotifyReply> {
    const r = this.route(req);
    if ('kind' in r) return r;
    const notifyId = this.nextNotifyId++;
    const targets = [...this.watches.values()].filter((w) => objectKey(0, w.oid) === objectKey(0, req.oid));
    const waiting = new Map(targets.map((w) => [`${w.watcher}#${w.cookie}`, { watcher: w.watcher, cookie: w.cookie }]));
    const acks: { watcher: EntityName; cookie: number; reply: Buffer }[] = [];
    await new Promise<void>((resolve) => {
      const timer = this.opts.env.timers.setTimeout(() => done(), req.timeoutMs);
      const done = (): void => {
        timer.cancel();
        this.notifies.delete(notifyId);
        resolve();
      };
      this.notifies.set(notifyId, { waiting, acks, done });
      if (waiting.size === 0) done();
      for (const w of targets) w.conn.send(OsdWatchEvent, { oid: req.oid, cookie: w.cookie, notifyId, payload: req.payload }).catch(() => {});
    });
    return { kind: 'ok', acks, missed: [...waiting.values()] };
  }

  private handleAck(notifyId: number, peer: EntityName, cookie: number, reply: Buffer): void {
    const n = this.notifies.get(notifyId);
    if (n === undefined) return;
    const key = `${peer}#${cookie}`;
    const w = n.waiting.get(key);
    if (w === undefined) return;
    n.waiting.delete(key);
    n.acks.push({ watcher: peer, cookie, reply: Buffer.from(reply) });
    if (n.waiting.size === 0) n.done();
  }
}
