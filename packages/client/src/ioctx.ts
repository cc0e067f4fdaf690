/**
 * IoCtx: the operations on the objects of one pool (librados' IoCtx). Every method validates its
 * arguments first (EINVAL, ENAMETOOLONG, EFBIG — nothing is sent), then runs as one atomic op on
 * the object's primary OSD through the objecter (placement, resend, timeout, window).
 *
 * ```ts
 * const io = await cluster.pool('rbd');
 * await io.writeFull('greeting', 'hello');
 * await io.append('greeting', ', world');
 * console.log((await io.read('greeting')).toString());      // hello, world
 * await io.setXattr('greeting', 'lang', 'en');
 * await io.omapSet('greeting', { a: '1', b: '2' });
 * for await (const o of io.listObjects()) console.log(o.name);
 * ```
 */
import type { ObjectLocator, SnapContext, SubOp, SubOpResult } from '@nacre/proto';
import type { MonClient } from '@nacre/msgr';
import { objectToUpActing, type PgMapping } from '@nacre/osdmap';
import { NacreError, type Env } from '@nacre/util';
import { listPoolObjects, type ListOptions } from './list.js';
import type { Objecter, OpContext, OpOutcome } from './objecter.js';
import { ObjectOperation, type OmapEntries } from './op-builder.js';
import type { ClientOptions } from './options.js';
import { checkObjectEnd, checkObjectName, checkUnsigned, type BytesLike } from './validate.js';
import type { NotifyReplyInfo, Watch, WatchCallback, WatchOptions, WatchRegistry } from './watch.js';

export interface ObjectStat {
  sizeBytes: number;
  mtimeMs: number;
  /** Changes with every write; use with `ObjectOperation.assertVersion`. */
  version: number;
}

export interface IoOptions {
  /** Deadline of this operation (default opTimeoutMs). */
  timeoutMs?: number;
  /** Locator key: place the object by this instead of its name (Ceph's object locator). */
  key?: string;
}

export interface ReadOptions extends IoOptions {
  offsetBytes?: number;
  /** Bytes to read (default: to the end of the object). */
  lengthBytes?: number;
}

export interface OmapPage {
  entries: Map<string, Buffer>;
  /** More entries follow: ask again with `after` = the last key. */
  more: boolean;
}

/** What an IoCtx needs from its Cluster. */
export interface ClientCore {
  objecter: Objecter;
  watches: WatchRegistry;
  monc: MonClient;
  options: ClientOptions;
  env: Env;
}

/** omap entries asked for when no `max` is given. */
const omapPageDefault = 1000;

export class IoCtx {
  private namespaceValue: string | undefined;
  private snapc: SnapContext | null = null;
  private readSnap: number | null = null;

  /** @internal Made by `Cluster.pool()`. */
  constructor(private readonly core: ClientCore, readonly poolId: number, readonly poolName: string) {}

  // ---------------------------------------------------------------- context

  get namespace(): string {
    return this.namespaceValue ?? '';
  }

  /** Objects of this IoCtx live in `ns` ('' = the default namespace). */
  setNamespace(ns: string): void {
    if (Buffer.byteLength(ns) > 256) throw new NacreError('namespace is longer than 256 bytes', { code: 'ENAMETOOLONG' });
    this.namespaceValue = ns === '' ? undefined : ns;
  }

  /** Self-managed snapshots: the context every write carries from now on (null: none). */
  setSnapContext(snapc: SnapContext | null): void {
    if (snapc !== null) {
      checkUnsigned(snapc.seq, 'snap seq');
      let prev = Number.POSITIVE_INFINITY;
      for (const s of snapc.snaps) {
        checkUnsigned(s, 'snap id');
        if (s >= prev || s > snapc.seq) throw new NacreError('snapc.snaps must be descending and not above seq', { code: 'EINVAL' });
        prev = s;
      }
    }
    this.snapc = snapc === null ? null : { seq: snapc.seq, snaps: [...snapc.snaps] };
  }

  get snapContext(): SnapContext | null {
    return this.snapc;
  }

  /** Reads see the objects as of this snapshot (null: the head). */
  setReadSnap(snapId: number | null): void {
    if (snapId !== null) checkUnsigned(snapId, 'snap id');
    this.readSnap = snapId;
  }

  get readSnapId(): number | null {
    return this.readSnap;
  }

  /** Allocate a self-managed snapshot id of this pool (a monitor command); returns the id. */
  async createSelfManagedSnap(opts: { timeoutMs?: number } = {}): Promise<number> {
    const reply = await this.core.monc.command('osd pool mksnap-selfmanaged', { pool: this.poolName }, opts);
    const snapId = (reply.data as { snapId?: unknown } | null)?.snapId;
    if (typeof snapId !== 'number' || !Number.isSafeInteger(snapId)) throw new NacreError('monitor answered mksnap-selfmanaged without a snapId', { code: 'EPROTO' });
    return snapId;
  }

  /** Where an object lives in the current map (like `nacre osd map`). */
  objectLocation(name: string, opts: { key?: string } = {}): PgMapping {
    checkObjectName(name);
    return objectToUpActing(this.core.objecter.map, this.poolId, name, this.hashOpts(opts.key));
  }

  // ---------------------------------------------------------------- compound ops

  /** Apply a compound op atomically; `results[i]` belongs to the i-th sub-op. */
  async operate(name: string, op: ObjectOperation, opts: IoOptions = {}): Promise<OpOutcome> {
    if (!(op instanceof ObjectOperation)) throw new NacreError('operate() takes an ObjectOperation', { code: 'EINVAL' });
    if (op.length === 0) throw new NacreError('empty compound op', { code: 'EINVAL' });
    return this.run(name, [...op.subOps], opts);
  }

  private async run(name: string, ops: SubOp[], opts: IoOptions, what?: string): Promise<OpOutcome> {
    checkObjectName(name);
    for (const s of ops) this.checkSubOp(s);
    const ctx: OpContext = { poolId: this.poolId, poolName: this.poolName, ...(this.namespaceValue !== undefined ? { namespace: this.namespaceValue } : {}) };
    return this.core.objecter.operate(ctx, this.locator(name, opts.key), ops, {
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(this.snapc !== null ? { snapc: this.snapc } : {}),
      ...(this.readSnap !== null ? { snapId: this.readSnap } : {}),
      ...(what !== undefined ? { what } : {}),
    });
  }

  /** Size limits that depend on the client's options (the builder checked the shapes). */
  private checkSubOp(s: SubOp): void {
    const o = this.core.options;
    const dataMax = (n: number, what: string): void => {
      if (n > o.opBytesMax) throw new NacreError(`${what} of ${n} bytes is larger than one op may carry (opBytesMax=${o.opBytesMax}); write it in parts`, { code: 'EFBIG' });
    };
    switch (s.op) {
      case 'write_full': dataMax(s.data.length, 'write_full'); checkObjectEnd(s.data.length, o.objectBytesMax, 'write_full'); break;
      case 'append': dataMax(s.data.length, 'append'); break;
      case 'write': dataMax(s.data.length, 'write'); checkObjectEnd(s.offset + s.data.length, o.objectBytesMax, `write at offset ${s.offset}`); break;
      case 'zero': checkObjectEnd(s.offset + s.length, o.objectBytesMax, `zero at offset ${s.offset}`); break;
      case 'truncate': checkObjectEnd(s.size, o.objectBytesMax, 'truncate'); break;
      case 'read':
        if (s.offset > o.objectBytesMax) throw new NacreError(`read offset ${s.offset} is beyond the object size limit of ${o.objectBytesMax} bytes`, { code: 'EINVAL' });
        if (s.length > o.opBytesMax) throw new NacreError(`read of ${s.length} bytes in one op exceeds opBytesMax=${o.opBytesMax}`, { code: 'EINVAL' });
        break;
      default: break;
    }
  }

  private locator(name: string, key: string | undefined): ObjectLocator {
    if (key !== undefined) checkObjectName(key);
    return {
      name,
      ...(key !== undefined ? { key } : {}),
      ...(this.namespaceValue !== undefined ? { namespace: this.namespaceValue } : {}),
    };
  }

  private hashOpts(key: string | undefined): { key?: string; namespace?: string } {
    return { ...(key !== undefined ? { key } : {}), ...(this.namespaceValue !== undefined ? { namespace: this.namespaceValue } : {}) };
  }

  // ---------------------------------------------------------------- data

  /** Replace the object's data (creating it). Returns the new version. */
  async writeFull(name: string, data: BytesLike, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().writeFull(data).subOps], opts)).version;
  }

  /** Write at an offset (creating the object, extending it as needed). */
  async write(name: string, data: BytesLike, offsetBytes: number, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().write(offsetBytes, data).subOps], opts)).version;
  }

  async append(name: string, data: BytesLike, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().append(data).subOps], opts)).version;
  }

  async truncate(name: string, sizeBytes: number, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().truncate(sizeBytes).subOps], opts)).version;
  }

  async zero(name: string, offsetBytes: number, lengthBytes: number, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().zero(offsetBytes, lengthBytes).subOps], opts)).version;
  }

  /** Create an empty object; EEXIST if it exists and `exclusive`. */
  async create(name: string, opts: IoOptions & { exclusive?: boolean } = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().create(opts.exclusive ?? false).subOps], opts)).version;
  }

  /** Remove the object (ENOENT if it does not exist). */
  async remove(name: string, opts: IoOptions = {}): Promise<void> {
    await this.run(name, [...new ObjectOperation().remove().subOps], opts);
  }

  async stat(name: string, opts: IoOptions = {}): Promise<ObjectStat> {
    const out = await this.run(name, [...new ObjectOperation().stat().subOps], opts);
    return statOf(out.results[0]);
  }

  /**
   * Read `lengthBytes` at `offsetBytes` (default: everything to the end). Short at the end of the
   * object. Large reads go in pieces of readChunkBytes, all of the same object version (if the
   * object changes in between, the read starts over, at most readRestartsMax times).
   */
  async read(name: string, opts: ReadOptions = {}): Promise<Buffer> {
    const offset = opts.offsetBytes ?? 0;
    checkUnsigned(offset, 'offset');
    if (opts.lengthBytes !== undefined) checkUnsigned(opts.lengthBytes, 'length');
    const chunk = this.core.options.readChunkBytes;
    if (opts.lengthBytes !== undefined && opts.lengthBytes <= chunk) {
      const out = await this.run(name, [...new ObjectOperation().read(offset, opts.lengthBytes).subOps], opts, 'read');
      return dataOf(out.results[0]);
    }
    for (let restart = 0; ; restart++) {
      try {
        return await this.readPieces(name, offset, opts.lengthBytes, opts);
      } catch (err) {
        if ((err as NacreError).code !== 'ERANGE' || restart + 1 >= this.core.options.readRestartsMax) throw err;
      }
    }
  }

  private async readPieces(name: string, offset: number, lengthBytes: number | undefined, opts: IoOptions): Promise<Buffer> {
    const chunk = this.core.options.readChunkBytes;
    const first = await this.run(name, [...new ObjectOperation().stat().read(offset, Math.min(chunk, lengthBytes ?? chunk)).subOps], opts, 'read');
    const size = statOf(first.results[0]).sizeBytes;
    const end = lengthBytes === undefined ? size : Math.min(size, offset + lengthBytes);
    const parts = [dataOf(first.results[1])];
    let pos = offset + parts[0]!.length;
    while (pos < end) {
      const op = new ObjectOperation().assertVersion(first.version).read(pos, Math.min(chunk, end - pos));
      const data = dataOf((await this.run(name, [...op.subOps], opts, 'read')).results[1]);
      if (data.length === 0) break;
      parts.push(data);
      pos += data.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  // ---------------------------------------------------------------- xattrs

  async getXattr(name: string, xattr: string, opts: IoOptions = {}): Promise<Buffer> {
    const out = await this.run(name, [...new ObjectOperation().getXattr(xattr).subOps], opts);
    return valueOf(out.results[0]);
  }

  async getXattrs(name: string, opts: IoOptions = {}): Promise<Map<string, Buffer>> {
    const out = await this.run(name, [...new ObjectOperation().getXattrs().subOps], opts);
    const r = out.results[0] as { attrs?: [string, Buffer][] } | undefined;
    return new Map((r?.attrs ?? []).map(([k, v]) => [k, Buffer.from(v)]));
  }

  async setXattr(name: string, xattr: string, value: BytesLike, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().setXattr(xattr, value).subOps], opts)).version;
  }

  async rmXattr(name: string, xattr: string, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().rmXattr(xattr).subOps], opts)).version;
  }

  // ---------------------------------------------------------------- omap

  /** One page of omap entries: keys after `after`, starting with `prefix`, at most `max`. */
  async omapGet(name: string, opts: IoOptions & { after?: string; prefix?: string; max?: number } = {}): Promise<OmapPage> {
    const op = new ObjectOperation().omapGetVals({ ...pick(opts, 'after', 'prefix'), max: opts.max ?? omapPageDefault });
    const r = (await this.run(name, [...op.subOps], opts)).results[0] as { entries?: [string, Buffer][]; more?: boolean } | undefined;
    return { entries: new Map((r?.entries ?? []).map(([k, v]) => [k, Buffer.from(v)])), more: r?.more === true };
  }

  async omapGetKeys(name: string, opts: IoOptions & { after?: string; max?: number } = {}): Promise<{ keys: string[]; more: boolean }> {
    const op = new ObjectOperation().omapGetKeys({ ...pick(opts, 'after'), max: opts.max ?? omapPageDefault });
    const r = (await this.run(name, [...op.subOps], opts)).results[0] as { keys?: string[]; more?: boolean } | undefined;
    return { keys: r?.keys ?? [], more: r?.more === true };
  }

  /** The values of these keys (missing keys are absent from the map). */
  async omapGetByKeys(name: string, keys: readonly string[], opts: IoOptions = {}): Promise<Map<string, Buffer>> {
    const r = (await this.run(name, [...new ObjectOperation().omapGetValsByKeys(keys).subOps], opts)).results[0] as { entries?: [string, Buffer][] } | undefined;
    return new Map((r?.entries ?? []).map(([k, v]) => [k, Buffer.from(v)]));
  }

  async omapSet(name: string, entries: OmapEntries, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().omapSet(entries).subOps], opts)).version;
  }

  async omapRm(name: string, keys: readonly string[], opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().omapRm(keys).subOps], opts)).version;
  }

  async omapClear(name: string, opts: IoOptions = {}): Promise<number> {
    return (await this.run(name, [...new ObjectOperation().omapClear().subOps], opts)).version;
  }

  // ---------------------------------------------------------------- listing, watch/notify

  /** Every object of the pool (this namespace unless `allNamespaces`), PG by PG, one page in memory. */
  listObjects(opts: ListOptions = {}): AsyncGenerator<ObjectLocator, void, undefined> {
    return listPoolObjects(this.core.objecter, this.opContext(), this.core.options, this.core.env, opts);
  }

  /**
   * Watch an object: `callback` runs for every notify; what it returns goes back to the notifier.
   * The watch follows the object's primary across map changes and reconnects.
   */
  async watch(name: string, callback: WatchCallback, opts: WatchOptions & { key?: string } = {}): Promise<Watch> {
    checkObjectName(name);
    return this.core.watches.watch(this.opContext(), this.locator(name, opts.key), callback, opts);
  }

  /** Notify the watchers of an object and wait up to `timeoutMs` for their acks. */
  async notify(name: string, payload: BytesLike = Buffer.alloc(0), opts: { timeoutMs?: number; key?: string } = {}): Promise<NotifyReplyInfo> {
    checkObjectName(name);
    const timeoutMs = opts.timeoutMs ?? this.core.options.notifyTimeoutMs;
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= 600_000)) throw new NacreError('notify timeoutMs must be 1..600000', { code: 'EINVAL' });
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    return this.core.watches.notify(this.opContext(), this.locator(name, opts.key), bytes, timeoutMs);
  }

  private opContext(): OpContext {
    return { poolId: this.poolId, poolName: this.poolName, ...(this.namespaceValue !== undefined ? { namespace: this.namespaceValue } : {}) };
  }
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function statOf(r: SubOpResult | undefined): ObjectStat {
  const s = r as { size?: unknown; mtimeMs?: unknown; version?: unknown } | undefined;
  if (typeof s?.size !== 'number') throw new NacreError('stat reply without a size', { code: 'EPROTO' });
  return { sizeBytes: s.size, mtimeMs: typeof s.mtimeMs === 'number' ? s.mtimeMs : 0, version: typeof s.version === 'number' ? s.version : 0 };
}

function dataOf(r: SubOpResult | undefined): Buffer {
  const d = (r as { data?: unknown } | undefined)?.data;
  if (!(d instanceof Uint8Array)) throw new NacreError('read reply without data', { code: 'EPROTO' });
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.length);
}

function valueOf(r: SubOpResult | undefined): Buffer {
  const v = (r as { value?: unknown } | undefined)?.value;
  if (!(v instanceof Uint8Array)) throw new NacreError('getxattr reply without a value', { code: 'EPROTO' });
  return Buffer.from(v);
}
