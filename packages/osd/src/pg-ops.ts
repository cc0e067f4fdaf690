/**
 * Client ops on the primary: wait for the PG to be active, recover the object first if some copy
 * lacks it, answer resends from the log (reqid dup detection), then run the op under the object's
 * lock — every op on one object waits for the previous one to finish, so no op ever sees (or
 * returns) a write that is not yet on every acting OSD.
 *
 * A write is evaluated (op-eval.ts), given the next version, turned into one store transaction
 * (mutations + object info + log entry + info + log trim) that is queued locally and shipped to
 * every acting replica in the same order; the client hears `ok` only when all of them committed
 * (invariant 1). If a replica fails, the write waits for the new interval and the client is told
 * to retry: its resend (same reqid) is then answered from the log if the write survived peering.
 */
import { NacreError, assert } from '@nacre/util';
import { Transaction } from '@nacre/objectstore';
import { WRITE_SUB_OPS, type ObjectOp, type OpReply, type SubOpResult } from '@nacre/proto';
import { ev, ZERO_VERSION } from './eversion.js';
import { OsdRepOp, asWire, repOpToWire, type RepOp } from './messages.js';
import { addMutations, type Mutation } from './mutations.js';
import { objectKeyText } from './object-name.js';
import { evaluateOp, type EvalOutcome } from './op-eval.js';
import { encodeObjectInfo, recordableResults } from './pg-codec.js';
import { PgState } from './peering-machine.js';
import { logTrimBatch, type Pg } from './pg.js';
import { spaceNeededBytes } from './space-guard.js';
import { reqidText, type LogEntry, type ObjRef } from './pg-types.js';
import { OBJECT_INFO_ATTR, PgMetaWriter } from './store-layout.js';

/** Per-OSD write admission: bounds writes sent to replicas and not yet acknowledged. */
export class WriteThrottle {
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  constructor(readonly max: number) {}

  async acquire(): Promise<void> {
    while (this.inFlight >= this.max) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight++;
  }

  release(): void {
    assert(this.inFlight > 0, 'write throttle released more than acquired');
    this.inFlight--;
    this.waiters.shift()?.();
  }

  get count(): number {
    return this.inFlight;
  }
}

interface OpState {
  /** Per object: the tail of its op chain. */
  locks: Map<string, Promise<void>>;
  /** Writes in flight by reqid: a resend waits for the original. */
  inflight: Map<string, Promise<OpReply>>;
}

const opStates = new WeakMap<Pg, OpState>();

function opState(pg: Pg): OpState {
  let s = opStates.get(pg);
  if (s === undefined) {
    s = { locks: new Map(), inflight: new Map() };
    opStates.set(pg, s);
  }
  return s;
}

/** Run `fn` after every earlier op on the object finished. */
async function withObjectLock<T>(pg: Pg, key: string, fn: () => Promise<T>): Promise<T> {
  const s = opState(pg);
  const prev = s.locks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = prev.then(() => mine);
  s.locks.set(key, tail);
  await prev;
  try {
    return await fn();
  } finally {
    release();
    if (s.locks.get(key) === tail) s.locks.delete(key);
  }
}

export interface OpContext {
  ref: ObjRef;
  throttle: WriteThrottle;
}

function retry(pg: Pg): OpReply {
  return { kind: 'retry', epoch: pg.host.map().epoch };
}

/** Make sure the object is present where the op needs it; false if the interval ended first. */
async function ensureRecovered(pg: Pg, key: string, isWrite: boolean, attempt: number): Promise<boolean> {
  for (;;) {
    if (pg.machine.attempt !== attempt) return false;
    const needed = isWrite ? pg.missingAnywhere(key) : pg.missing.has(key);
    if (!needed) return true;
    if (await pg.recoverObject(key, attempt)) continue;
    // Unfound for now: wait for recovery progress or a new interval.
    await Promise.race([pg.recoveryProgress(), pg.intervalEnded()]);
  }
}

export async function doOp(pg: Pg, req: ObjectOp, ctx: OpContext): Promise<OpReply> {
  if (!(await pg.waitActive())) return retry(pg);
  const attempt = pg.machine.attempt;
  const key = objectKeyText(ctx.ref);
  const isWrite = req.ops.some((o) => WRITE_SUB_OPS.has(o.op));
  if (!(await ensureRecovered(pg, key, isWrite, attempt))) return retry(pg);
  if (!isWrite) return withObjectLock(pg, key, () => runRead(pg, req, ctx, attempt));
  const reqid = reqidText(req.reqid);
  const done = answerFromLog(pg, reqid, req.ops.length);
  if (done !== null) return done;
  const s = opState(pg);
  const pending = s.inflight.get(reqid);
  if (pending !== undefined) return pending;
  const p = withObjectLock(pg, key, async () => {
    const again = answerFromLog(pg, reqid, req.ops.length);
    if (again !== null) return again;
    return runWrite(pg, req, ctx, attempt, reqid);
  });
  s.inflight.set(reqid, p);
  try {
    return await p;
  } finally {
    if (s.inflight.get(reqid) === p) s.inflight.delete(reqid);
  }
}

/** A resend of a write already in the log: the original version, and its results if they were recorded. */
function answerFromLog(pg: Pg, reqid: string, subOps: number): OpReply | null {
  const hit = pg.log.findReqid(reqid);
  if (hit === undefined) return null;
  const results = (hit.results as SubOpResult[] | undefined) ?? Array.from({ length: subOps }, (): SubOpResult => ({}));
  return { kind: 'ok', version: hit.version.v, results };
}

async function runRead(pg: Pg, req: ObjectOp, ctx: OpContext, attempt: number): Promise<OpReply> {
  if (pg.machine.attempt !== attempt) return retry(pg);
  const out = await evaluateOp(pg.host.store, pg.cid, pg.oidOf(ctx.ref), req.ops, { objectSizeBytesMax: pg.host.config.objectSizeBytesMax }, false);
  if (pg.machine.attempt !== attempt) return retry(pg);
  return { kind: 'ok', version: out.infoBefore?.version.v ?? 0, results: out.results };
}

async function runWrite(pg: Pg, req: ObjectOp, ctx: OpContext, attempt: number, reqid: string): Promise<OpReply> {
  if (pg.machine.attempt !== attempt) return retry(pg);
  const out = await evaluateOp(pg.host.store, pg.cid, pg.oidOf(ctx.ref), req.ops, { objectSizeBytesMax: pg.host.config.objectSizeBytesMax }, true);
  await ctx.throttle.acquire();
  let releaseSpace: (() => void) | null = null;
  try {
    const peers = pg.view!.acting.filter((o) => o !== pg.host.whoami);
    releaseSpace = await pg.host.space.admit(spaceNeededBytes(out.mutations), peers);
    if (pg.machine.attempt !== attempt || !pg.isActive) return retry(pg);
    return await replicate(pg, ctx.ref, out, reqid, attempt, releaseSpace);
  } finally {
    releaseSpace?.();
    ctx.throttle.release();
  }
}

/**
 * Assign the version and queue the write everywhere, synchronously up to the sends (so versions
 * reach the local store and every replica in the same order), then wait for every commit.
 */
async function replicate(pg: Pg, ref: ObjRef, out: EvalOutcome, reqid: string, attempt: number, committedLocally: () => void): Promise<OpReply> {
  const map = pg.host.map();
  const view = pg.view!;
  const version = ev(map.epoch, pg.info.lastUpdate.v + 1);
  const mtimeMs = Math.floor(pg.host.env.clock.wallMs());
  const mutations: Mutation[] = [...out.mutations];
  if (out.existsAfter) mutations.push({ m: 'setattrs', attrs: [[OBJECT_INFO_ATTR, encodeObjectInfo({ version, mtimeMs })]] });
  const results = recordableResults(out.results);
  const entry: LogEntry = {
    version, prior: out.existedBefore ? (out.infoBefore?.version ?? ZERO_VERSION) : ZERO_VERSION,
    op: out.existsAfter ? 'modify' : 'delete', oid: ref, reqid, mtimeMs, ...(results !== undefined ? { results } : {}),
  };
  const objectsDelta = (out.existsAfter ? 1 : 0) - (out.existedBefore ? 1 : 0);
  const bytesDelta = out.sizeAfter - out.sizeBefore;
  const meta = new PgMetaWriter().addEntry(entry);
  pg.log.append(entry);
  trimForWrite(pg, meta);
  pg.info = {
    ...pg.info, lastUpdate: version, logTail: pg.log.tail,
    objects: Math.max(0, pg.info.objects + objectsDelta), bytes: Math.max(0, pg.info.bytes + bytesDelta),
  };
  meta.setInfo(pg.info);
  const txn = new Transaction();
  addMutations(txn, pg.cid, pg.oidOf(ref), mutations);
  meta.applyTo(txn, pg.cid);
  const local = pg.host.store.queueTransaction(txn).catch((err: unknown) => {
    // The log already holds this entry: a store that cannot apply an evaluated write is a broken
    // OSD (Ceph asserts too). Crash rather than keep serving from a log that lies.
    assert(false, `pg ${pg.pgid}: local commit of ${version.epoch}'${version.v} failed: ${(err as Error).message}`);
  });
  const repop: RepOp = { pgid: pg.pgid, epoch: map.epoch, since: view.sameIntervalSince, entry, mutations, trimTo: pg.log.tail, objectsDelta, bytesDelta };
  const wire = asWire<RepOp>(repOpToWire(repop));
  const peers = view.acting.filter((o) => o !== pg.host.whoami);
  // Settle handlers attach now: a replica may fail while the local commit is still pending.
  const remote = Promise.all(peers.map((osd) => pg.host.request(osd, OsdRepOp, wire, pg.host.config.repopTimeoutMs)
    .then((r) => pg.host.space.notePeer(osd, r.permille))))
    .then(() => null, (err: unknown) => err as Error);
  await local;
  committedLocally();
  const err = await remote;
  if (err !== null) {
    pg.log_.info({ version: `${version.epoch}'${version.v}`, err: err.message }, 'replica did not commit; waiting for the next interval');
    if (pg.machine.attempt === attempt) await pg.intervalEnded();
    return retry(pg);
  }
  return { kind: 'ok', version: version.v, results: out.results };
}

/** Keep the log bounded: long while degraded (a returning OSD catches up from it), short when clean. */
function trimForWrite(pg: Pg, meta: PgMetaWriter): void {
  const cfg = pg.host.config;
  const keep = pg.state === PgState.Clean ? cfg.pgLogEntriesMin : cfg.pgLogEntriesMax;
  if (pg.log.length >= keep + logTrimBatch) pg.trimLogCount(keep, meta);
}

export function checkNotSnap(req: ObjectOp): void {
  if (req.snapId !== undefined) throw new NacreError('reads at a snapshot are not supported yet', { code: 'ENOTSUP' });
}
