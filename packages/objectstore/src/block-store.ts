/**
 * BlockStore: objects on one raw block file (32 KiB units, bitmap allocator, xxhash64 per unit),
 * metadata in LevelDB. On-disk layout: block-file.ts (data file, superblock) and keys.ts (metadata
 * key schema). docs/objectstore.md has the whole format and the crash-safety argument.
 *
 * Ops live in txn-apply.ts, store creation in mkfs.ts.
 *
 * Commit protocol for a group of transactions (one at a time; later arrivals form the next group):
 *   1. prepare each transaction in order against the group's uncommitted state: allocate fresh
 *      units for every unit it writes (copy-on-write, never in place), pwrite the data there,
 *      compute checksums, build new onodes; a failing transaction is dropped on its own (after
 *      its writes in flight landed). Large writes stay in flight on the thread pool while the
 *      next transactions are prepared; a read-modify-write of a unit waits for them first
 *   2. wait for every write of the group, then fdatasync the block file once for the group
 *   3. one LevelDB batch with sync:true: onodes, omap, refcounts, freelist chunks, totals
 *   4. only now return the units freed by the group to the in-memory allocator, resolve callers
 * A crash before 3 leaves the previous metadata, which references none of the new units; a crash
 * after 3 finds the data synced by 2. Either way no acknowledged transaction is lost and none is
 * half-applied, and the allocator never reuses a unit a committed onode still references.
 *
 * Clones share units: a unit referenced by more than one onode has a refcount key ('R'); every
 * write goes to a fresh unit anyway, so sharing needs no copy until the next write.
 *
 * Small overwrites are not deferred (no data in the metadata journal): they copy-on-write the
 * 32 KiB unit like any other write. fdatasync is cheap on our disks and the metadata batch costs
 * the same either way, so the deferred path would add a replay protocol for little gain.
 */
import { assert, NacreError, type Logger } from '@nacre/util';
import { BlockFile, blockFormatVersion, decodeBlockSuperblock } from './block-file.js';
import { BitmapAllocator, bitmapChunkUnits } from './bitmap-allocator.js';
import { checksum64, loadChecksum } from './checksum.js';
import {
  bitmapKey, collectionKey, collectionRangeEnd, decodeCollectionKey, keySuperblock, keyTotals, omapKey,
  omapObjectPrefix, onodeKey, onodePrefix, prefixBitmap, prefixCollection, prefixEnd, prefixRange,
  prefixRefcount, refcountKey,
} from './keys.js';
import { unitSizeBytes } from './limits.js';
import { decodeObjectKey, encodeObjectKey, type ObjectId } from './object-id.js';
import { HOLE, Onode } from './onode.js';
import { notFound, ObjectStoreBase } from './store-base.js';
import { TxnState, type CommittedView } from './txn-state.js';
import { TxnApplier } from './txn-apply.js';
import type { Transaction } from './txn.js';
import type { FsckReport, ObjectPage, ObjectStat, OmapPage, OmapRangeOptions, StatFs } from './types.js';
import { runFsck } from './fsck.js';
import {
  blockPath, metaFormatVersion, metaPackr as packr, mkfs, openDb, type Db, type MkfsOptions, type SuperRecord, type Totals,
} from './mkfs.js';

export { blockPath, deviceUnitsMin, metaFormatVersion, metaPath, mkfs, shrinkReserveUnitsFor, type MkfsOptions } from './mkfs.js';
export { asyncWriteBytesMin } from './txn-apply.js';

/** Transactions waiting for a commit; queueTransaction fails with EBUSY beyond this. */
export const txnQueueDepthMax = 4096;
/** Transactions in one commit group (one fdatasync + one metadata batch). */
export const groupTxnsMax = 256;
/** Data bytes in one commit group. */
export const groupDataBytesMax = 256 * 1024 * 1024;
/** Let other work run after this many bytes were written while preparing a group. */
const yieldEveryBytes = 16 * 1024 * 1024;
/**
 * Data flushes at least this large run fdatasync on the thread pool (the event loop keeps receiving
 * while the disk works); smaller ones stay synchronous, which measured faster for tiny writes.
 */
const asyncSyncBytesMin = 256 * 1024;
/**
 * Default of BlockStoreOptions.pipelinedReadBytesMin: reads at least this large are pipelined
 * (thread-pool reads of chunks overlap checksumming); smaller ones are one synchronous pread per
 * run, checked in place. Measured here (bench/objectstore, 2 vCPUs, virtio disk), a 4 MiB read
 * the synchronous way was faster warm (3970 vs 2560 MB/s) and cold (1880 vs 1500 MB/s); its
 * event-loop slice is the pread plus ~0.45 ms of hashing (1.5–2.5 ms cold on this disk).
 */
export const pipelinedReadBytesMinDefault = 8 * 1024 * 1024;
/**
 * An object whose physical runs average fewer units than this (copy-on-write overwrites scatter
 * units) is read with synchronous preads: a thread-pool hop per 32 KiB costs more than it hides.
 */
const pipelinedRunUnitsMin = 8;
/** Chunk of a pipelined read, and how many chunks are in flight. */
const readChunkUnits = 16;
const readChunksInFlightMax = 4;
/** A pipelined read that raced with unit reuse this many times falls back to a synchronous read. */
const readRetriesMax = 3;
/** Decoded onodes kept in memory (committed state only). */
export const onodeCacheEntriesMax = 8192;

const zeroUnit = Buffer.alloc(unitSizeBytes);

export interface BlockStoreOptions {
  logger?: Logger;
  /** Zero freed units (after the metadata that freed them is durable). */
  secureDelete?: boolean;
  /**
   * Called at the phases of every group commit. For fault-injection tests only (the crash test
   * kills the process at a chosen phase).
   */
  onCommitPhase?: (phase: 'data-written' | 'data-synced' | 'metadata-committed') => void;
  /**
   * Awaited after each chunk of a pipelined (≥ 1 MiB) read arrives, before its checksums are
   * checked. For tests only: lets a test hold a read while commits free and reuse its units.
   */
  onReadChunk?: () => Promise<void> | void;
  /**
   * Awaited before each thread-pool (≥ 1 MiB) data write is issued. For tests only: holds writes
   * in flight while later transactions of the group are prepared.
   */
  beforeAsyncWrite?: () => Promise<void>;
  /**
   * Reads at least this large go through the thread pool in chunks, so the event loop keeps
   * serving while a slow disk works (default pipelinedReadBytesMinDefault; lower it for disks
   * much slower than ~1 GB/s).
   */
  pipelinedReadBytesMin?: number;
}

interface Pending {
  txn: Transaction;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class BlockStore extends ObjectStoreBase implements CommittedView {
  private db: Db | undefined;
  private file: BlockFile | undefined;
  private allocatorState: BitmapAllocator | undefined;
  private superRecord: SuperRecord | undefined;
  private readonly collections = new Set<string>();
  private readonly refs = new Map<number, number>();
  private totals: Totals = { storedBytes: 0, objectCount: 0 };
  private readonly onodeCache = new Map<string, Onode>();
  private readonly queue: Pending[] = [];
  private commitLoopRunning = false;
  /** Bumped whenever freed units return to the allocator (they may be rewritten from then on). */
  private releaseEpoch = 0;
  /** Pipelined reads in flight: umount waits for them before closing the file descriptor. */
  private readonly readsInFlight = new Set<Promise<void>>();
  private lockTail: Promise<void> = Promise.resolve();
  private applier: TxnApplier | undefined;

  constructor(readonly dir: string, private readonly options: BlockStoreOptions = {}) {
    super();
  }

  static mkfs(dir: string, options: MkfsOptions): Promise<void> {
    return mkfs(dir, options);
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  protected async _mount(): Promise<void> {
    await loadChecksum();
    const file = BlockFile.open(blockPath(this.dir));
    let db: Db | undefined;
    try {
      const unit0 = Buffer.alloc(unitSizeBytes);
      file.readUnits(0, unit0);
      const sb = decodeBlockSuperblock(unit0);
      db = openDb(this.dir, false);
      await db.open();
      const raw = db.getSync(keySuperblock);
      if (raw === undefined) throw new NacreError('metadata has no superblock record', { code: 'EIO' });
      const rec = packr.unpack(raw) as SuperRecord;
      rec.uuid = Buffer.from(rec.uuid);
      if (rec.formatVersion !== metaFormatVersion || sb.formatVersion !== blockFormatVersion) {
        throw new NacreError(`unsupported format version ${rec.formatVersion}/${sb.formatVersion}`, { code: 'EIO' });
      }
      if (!rec.uuid.equals(sb.uuid) || rec.unitCount !== sb.unitCount || rec.unitSizeBytes !== unitSizeBytes
        || sb.unitSizeBytes !== unitSizeBytes || file.unitCount < rec.unitCount) {
        throw new NacreError('block file and metadata do not belong together', { code: 'EIO' });
      }
      await this.loadState(db, rec);
      this.options.logger?.info({ dir: this.dir, unitCount: rec.unitCount, objectCount: this.totals.objectCount }, 'objectstore mounted');
      this.db = db;
      this.file = file;
      this.superRecord = rec;
      this.applier = new TxnApplier({
        allocator: this.allocator, file, meta: db,
        ...(this.options.beforeAsyncWrite !== undefined ? { beforeAsyncWrite: this.options.beforeAsyncWrite } : {}),
        readUnitsVerified: (cid, oid, onode, first, last, target) => this.readUnitsVerified(cid, oid, onode, first, last, target),
      });
    } catch (err) {
      file.close();
      if (db !== undefined) await db.close();
      throw err;
    }
  }

  private async loadState(db: Db, rec: SuperRecord): Promise<void> {
    const allocator = new BitmapAllocator(rec.unitCount, rec.reserveUnits);
    const chunks = new Map<number, Uint8Array>();
    for await (const [key, value] of db.iterator(prefixRange(prefixBitmap))) chunks.set(key.readUInt32BE(1), Buffer.from(value));
    if (chunks.size !== allocator.chunkCount) throw new NacreError('freelist is incomplete', { code: 'EIO' });
    allocator.load(chunks);
    if (!allocator.isUsed(0)) throw new NacreError('freelist marks the superblock unit free', { code: 'EIO' });
    this.refs.clear();
    for await (const [key, value] of db.iterator(prefixRange(prefixRefcount))) this.refs.set(key.readUInt32BE(1), value.readUInt32BE(0));
    this.collections.clear();
    for await (const key of db.keys(prefixRange(prefixCollection))) this.collections.add(decodeCollectionKey(key));
    const totals = db.getSync(keyTotals);
    if (totals === undefined) throw new NacreError('metadata has no totals record', { code: 'EIO' });
    this.totals = packr.unpack(totals) as Totals;
    this.onodeCache.clear();
    this.allocatorState = allocator;
  }

  protected async _umount(): Promise<void> {
    // Let queued transactions finish; new ones are refused because the status is not 'open'.
    while (this.queue.length > 0 || this.commitLoopRunning) await this.withLock(async () => {});
    await Promise.allSettled([...this.readsInFlight]);
    await this.db?.close();
    this.file?.close();
    this.db = undefined;
    this.file = undefined;
    this.allocatorState = undefined;
    this.applier = undefined;
    this.onodeCache.clear();
  }

  private get allocator(): BitmapAllocator {
    assert(this.allocatorState !== undefined, 'store not mounted');
    return this.allocatorState;
  }

  private get meta(): Db {
    assert(this.db !== undefined, 'store not mounted');
    return this.db;
  }

  private get blockFile(): BlockFile {
    assert(this.file !== undefined, 'store not mounted');
    return this.file;
  }

  /** Serialises commit groups and fsck. */
  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.lockTail;
    let release!: () => void;
    this.lockTail = new Promise<void>((r) => { release = r; });
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  // ───────────────────────────── committed view ─────────────────────────────

  committedOnode(key: Buffer): Onode | null {
    const k = key.toString('latin1');
    const hit = this.onodeCache.get(k);
    if (hit !== undefined) {
      this.onodeCache.delete(k);
      this.onodeCache.set(k, hit);
      return hit;
    }
    const raw = this.meta.getSync(key);
    if (raw === undefined) return null;
    const onode = Onode.decode(raw);
    this.cacheOnode(k, onode);
    return onode;
  }

  private cacheOnode(k: string, onode: Onode | null): void {
    this.onodeCache.delete(k);
    if (onode === null) return;
    this.onodeCache.set(k, onode);
    if (this.onodeCache.size > onodeCacheEntriesMax) {
      const oldest = this.onodeCache.keys().next().value as string;
      this.onodeCache.delete(oldest);
    }
  }

  committedCollectionExists(cid: string): boolean {
    return this.collections.has(cid);
  }

  committedRefCount(unit: number): number {
    return this.refs.get(unit) ?? (this.allocator.isUsed(unit) ? 1 : 0);
  }

  // ───────────────────────────── reads ─────────────────────────────

  protected async _statfs(): Promise<StatFs> {
    const a = this.allocator;
    const dataUnits = a.unitCount - 1;
    return {
      totalBytes: dataUnits * unitSizeBytes,
      allocatedBytes: (a.unitCount - a.freeCount - 1) * unitSizeBytes,
      storedBytes: this.totals.storedBytes,
      availableBytes: a.availableCount * unitSizeBytes,
      objectCount: this.totals.objectCount,
    };
  }

  protected async _listCollections(): Promise<string[]> {
    return [...this.collections].sort();
  }

  protected async _collectionExists(cid: string): Promise<boolean> {
    return this.collections.has(cid);
  }

  private requireOnode(cid: string, oid: ObjectId): Onode {
    if (!this.collections.has(cid)) throw notFound(`collection ${cid}`);
    const onode = this.committedOnode(onodeKey(cid, oid));
    if (onode === null) throw notFound(`object ${oid.name}`);
    return onode;
  }

  protected async _listObjects(cid: string, start: ObjectId | undefined, limitCount: number): Promise<ObjectPage> {
    const prefix = onodePrefix(cid);
    const gte = start === undefined ? prefix : Buffer.concat([prefix, encodeObjectKey(start)]);
    const keys = await this.meta.keys({ gte, lt: collectionRangeEnd(prefix), limit: limitCount + 1 }).all();
    const objects = keys.map((k) => decodeObjectKey(k, prefix.length).oid);
    const next = objects.length > limitCount ? objects.pop()! : null;
    return { objects, next };
  }

  protected async _exists(cid: string, oid: ObjectId): Promise<boolean> {
    return this.collections.has(cid) && this.committedOnode(onodeKey(cid, oid)) !== null;
  }

  protected async _stat(cid: string, oid: ObjectId): Promise<ObjectStat> {
    const onode = this.requireOnode(cid, oid);
    return { sizeBytes: onode.sizeBytes, allocatedBytes: onode.allocatedBytes() };
  }

  protected async _getattrs(cid: string, oid: ObjectId): Promise<Map<string, Buffer>> {
    const onode = this.requireOnode(cid, oid);
    return new Map([...onode.attrs].map(([k, v]) => [k, Buffer.from(v)]));
  }

  /**
   * Small reads are synchronous from the onode lookup to the checksum check, so no commit can free
   * and reuse a unit between finding it in the onode and reading it. Large reads go through the
   * thread pool in chunks so the disk works while the main thread checksums; they detect a commit
   * that released units meanwhile (releaseEpoch) and start over, so they never return bytes of a
   * unit that was reused.
   */
  protected async _read(cid: string, oid: ObjectId, offsetBytes: number, lengthBytes: number | undefined): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const onode = this.requireOnode(cid, oid);
      if (offsetBytes >= onode.sizeBytes) return Buffer.alloc(0);
      const endBytes = Math.min(onode.sizeBytes, lengthBytes === undefined ? onode.sizeBytes : offsetBytes + lengthBytes);
      if (endBytes <= offsetBytes) return Buffer.alloc(0);
      const firstUnit = Math.floor(offsetBytes / unitSizeBytes);
      const lastUnit = Math.floor((endBytes - 1) / unitSizeBytes);
      const buf = Buffer.allocUnsafe((lastUnit - firstUnit + 1) * unitSizeBytes);
      const from = offsetBytes - firstUnit * unitSizeBytes;
      if (buf.length < (this.options.pipelinedReadBytesMin ?? pipelinedReadBytesMinDefault) || attempt >= readRetriesMax || fragmented(onode, firstUnit, lastUnit)) {
        this.readUnitsVerified(cid, oid, onode, firstUnit, lastUnit, buf);
        return buf.subarray(from, from + (endBytes - offsetBytes));
      }
      const epoch = this.releaseEpoch;
      let mismatch: NacreError | undefined;
      const reading = this.readUnitsPipelined(cid, oid, onode, firstUnit, lastUnit, buf);
      this.readsInFlight.add(reading);
      try {
        await reading;
      } catch (err) {
        if (!(err instanceof NacreError) || err.code !== 'EIO') throw err;
        mismatch = err;
      } finally {
        this.readsInFlight.delete(reading);
      }
      if (this.releaseEpoch !== epoch || this._status !== 'open') {
        this.requireOpen();
        continue;
      }
      if (mismatch !== undefined) throw mismatch;
      return buf.subarray(from, from + (endBytes - offsetBytes));
    }
  }

  /** Like readUnitsVerified, with up to readChunksInFlightMax thread-pool reads in flight. */
  private async readUnitsPipelined(cid: string, oid: ObjectId, onode: Onode, firstUnit: number, lastUnit: number, target: Buffer): Promise<void> {
    const chunks: Array<{ lu: number; count: number }> = [];
    let lu = firstUnit;
    while (lu <= lastUnit) {
      const phys = onode.units[lu]!;
      let end = lu + 1;
      if (phys === HOLE) {
        while (end <= lastUnit && onode.units[end] === HOLE) end++;
        target.fill(0, (lu - firstUnit) * unitSizeBytes, (end - firstUnit) * unitSizeBytes);
      } else {
        while (end <= lastUnit && end - lu < readChunkUnits && onode.units[end] === phys + (end - lu)) end++;
        chunks.push({ lu, count: end - lu });
      }
      lu = end;
    }
    const file = this.blockFile;
    const start = (c: { lu: number; count: number }): Promise<void> => {
      const at = (c.lu - firstUnit) * unitSizeBytes;
      return file.readUnitsAsync(onode.units[c.lu]!, target.subarray(at, at + c.count * unitSizeBytes));
    };
    const inFlight: Array<Promise<void>> = [];
    let next = 0;
    while (next < chunks.length && inFlight.length < readChunksInFlightMax) inFlight.push(start(chunks[next++]!));
    for (let i = 0; i < chunks.length; i++) {
      try {
        await inFlight.shift();
      } catch (err) {
        await Promise.allSettled(inFlight);
        throw err;
      }
      if (next < chunks.length) inFlight.push(start(chunks[next++]!));
      if (this.options.onReadChunk !== undefined) await this.options.onReadChunk();
      const c = chunks[i]!;
      for (let u = c.lu; u < c.lu + c.count; u++) {
        const o = (u - firstUnit) * unitSizeBytes;
        if (checksum64(target.subarray(o, o + unitSizeBytes)) !== onode.csums[u]) {
          await Promise.allSettled(inFlight);
          throw new NacreError(`checksum mismatch in ${cid}/${oid.name} at offset ${u * unitSizeBytes} (unit ${onode.units[u]})`, { code: 'EIO' });
        }
      }
    }
  }

  /** Fill `target` with logical units first..last of the object, checking every checksum. */
  private readUnitsVerified(cid: string, oid: ObjectId, onode: Onode, firstUnit: number, lastUnit: number, target: Buffer): void {
    let lu = firstUnit;
    while (lu <= lastUnit) {
      const phys = onode.units[lu]!;
      const at = (lu - firstUnit) * unitSizeBytes;
      if (phys === HOLE) {
        target.fill(0, at, at + unitSizeBytes);
        lu++;
        continue;
      }
      let runEnd = lu + 1;
      while (runEnd <= lastUnit && onode.units[runEnd] === phys + (runEnd - lu)) runEnd++;
      this.blockFile.readUnits(phys, target.subarray(at, at + (runEnd - lu) * unitSizeBytes));
      for (let u = lu; u < runEnd; u++) {
        const o = (u - firstUnit) * unitSizeBytes;
        if (checksum64(target.subarray(o, o + unitSizeBytes)) !== onode.csums[u]) {
          throw new NacreError(`checksum mismatch in ${cid}/${oid.name} at offset ${u * unitSizeBytes} (unit ${onode.units[u]})`, { code: 'EIO' });
        }
      }
      lu = runEnd;
    }
  }

  protected async _omapGetValues(cid: string, oid: ObjectId, keys: string[]): Promise<Map<string, Buffer>> {
    const onode = this.requireOnode(cid, oid);
    const out = new Map<string, Buffer>();
    if (!onode.omap) return out;
    const prefix = omapObjectPrefix(cid, oid);
    for (const key of keys) {
      const v = this.meta.getSync(omapKey(prefix, key));
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }

  protected async _omapGetRange(cid: string, oid: ObjectId, options: OmapRangeOptions & { limitCount: number }): Promise<OmapPage> {
    const onode = this.requireOnode(cid, oid);
    if (!onode.omap) return { entries: [], more: false };
    const prefix = omapObjectPrefix(cid, oid);
    const range: { gte?: Buffer; gt?: Buffer; lt: Buffer; limit: number } = { lt: prefixEnd(prefix), limit: options.limitCount + 1 };
    range.gte = omapKey(prefix, options.start ?? '');
    if (options.after !== undefined && (options.start === undefined || options.after >= options.start)) {
      delete range.gte;
      range.gt = omapKey(prefix, options.after);
    }
    if (options.end !== undefined) range.lt = omapKey(prefix, options.end);
    const rows = await this.meta.iterator(range).all();
    const entries: Array<[string, Buffer]> = rows.map(([k, v]) => [k.subarray(prefix.length).toString('utf8'), v]);
    const more = entries.length > options.limitCount;
    if (more) entries.pop();
    return { entries, more };
  }

  // ───────────────────────────── transactions ─────────────────────────────

  protected _queueTransaction(txn: Transaction): Promise<void> {
    if (this.queue.length >= txnQueueDepthMax) {
      throw new NacreError(`transaction queue full (${txnQueueDepthMax})`, { code: 'EBUSY' });
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ txn, resolve, reject });
      if (!this.commitLoopRunning) {
        this.commitLoopRunning = true;
        // Start after the current tick so transactions queued together share one commit.
        queueMicrotask(() => { void this.commitLoop(); });
      }
    });
  }

  private async commitLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await this.withLock(async () => {
          const group = this.takeGroup();
          if (group.length > 0) await this.commitGroup(group);
        });
      }
    } finally {
      this.commitLoopRunning = false;
    }
  }

  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    let dataBytes = 0;
    while (this.queue.length > 0 && group.length < groupTxnsMax) {
      const next = this.queue[0]!;
      const bytes = txnDataBytes(next.txn);
      if (group.length > 0 && dataBytes + bytes > groupDataBytesMax) break;
      dataBytes += bytes;
      group.push(this.queue.shift()!);
    }
    return group;
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    if (this._status === 'failed') {
      for (const p of group) p.reject(new NacreError('store failed after an I/O error', { code: 'EIO' }));
      return;
    }
    const state = new TxnState(null, this);
    const accepted: Pending[] = [];
    const refused = new Set<Pending>();
    let bytesSinceYield = 0;
    try {
      for (const p of group) {
        const child = state.fork();
        try {
          await this.applier!.applyTransaction(child, p.txn);
        } catch (err) {
          // Its writes in flight land before its units can be handed out again.
          await Promise.allSettled(child.pendingWrites);
          this.allocator.release(child.allocated);
          if (!(err instanceof NacreError)) throw err;
          refused.add(p);
          p.reject(err);
          continue;
        }
        state.absorb(child);
        accepted.push(p);
        bytesSinceYield += child.dataBytesWritten;
        if (bytesSinceYield >= yieldEveryBytes) {
          bytesSinceYield = 0;
          await new Promise<void>((r) => setImmediate(r));
        }
      }
      if (accepted.length > 0) await this.flush(state);
    } catch (err) {
      this.fail(err, group.filter((p) => !refused.has(p)));
      return;
    }
    for (const p of accepted) p.resolve();
  }

  /** An I/O or invariant failure while committing: stop accepting work; remount recovers. */
  private fail(err: unknown, unsettled: Pending[]): void {
    this._status = 'failed';
    this.options.logger?.error({ err }, 'objectstore commit failed; store is now failed');
    const error = err instanceof NacreError ? err : new NacreError(`commit failed: ${String(err)}`, { code: 'EIO', cause: err });
    for (const p of unsettled) p.reject(error);
    for (const p of this.queue.splice(0)) p.reject(error);
  }

  /** Steps 2–4 of the commit protocol for a prepared group. */
  private async flush(state: TxnState): Promise<void> {
    const phase = this.options.onCommitPhase;
    await state.settleWrites();
    phase?.('data-written');
    if (state.dataBytesWritten >= asyncSyncBytesMin) await this.blockFile.syncAsync();
    else if (state.dataBytesWritten > 0) this.blockFile.sync();
    phase?.('data-synced');
    const ops = await this.buildBatch(state);
    await this.meta.batch(ops, { sync: true });
    phase?.('metadata-committed');
    this.applyCommitted(state);
    if (this.options.secureDelete === true && state.freed.length > 0) {
      for (const u of state.freed) this.blockFile.writeUnits(u, [zeroUnit]);
      this.blockFile.sync();
    }
    if (state.freed.length > 0) this.releaseEpoch++;
    this.allocator.release(state.freed);
  }

  private async buildBatch(state: TxnState): Promise<Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }>> {
    const ops: Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }> = [];
    for (const e of state.onodes.values()) {
      ops.push(e.onode === null ? { type: 'del', key: e.key } : { type: 'put', key: e.key, value: e.onode.encode() });
    }
    for (const [cid, exists] of state.collections) {
      ops.push(exists ? { type: 'put', key: collectionKey(cid), value: packr.pack({}) } : { type: 'del', key: collectionKey(cid) });
    }
    for (const [unit, count] of state.refs) {
      if (count >= 2) {
        const v = Buffer.allocUnsafe(4);
        v.writeUInt32BE(count, 0);
        ops.push({ type: 'put', key: refcountKey(unit), value: v });
      } else if (this.refs.has(unit)) {
        ops.push({ type: 'del', key: refcountKey(unit) });
      }
    }
    for (const delta of state.omap.values()) {
      if (delta.cleared) {
        for await (const key of this.meta.keys({ gte: delta.objectPrefix, lt: prefixEnd(delta.objectPrefix) })) {
          const name = key.subarray(delta.objectPrefix.length).toString('utf8');
          if (!delta.changes.has(name)) ops.push({ type: 'del', key });
        }
      }
      for (const [name, value] of delta.changes) {
        const key = omapKey(delta.objectPrefix, name);
        ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
      }
    }
    // Freelist: the allocator already holds this group's allocations; units it freed become free
    // in the persisted bitmap now, and in memory only after the batch is durable.
    const dirty = new Set<number>();
    for (const u of state.allocated) dirty.add(Math.floor(u / bitmapChunkUnits));
    for (const u of state.freed) dirty.add(Math.floor(u / bitmapChunkUnits));
    const freedByChunk = new Map<number, number[]>();
    for (const u of state.freed) {
      const c = Math.floor(u / bitmapChunkUnits);
      let list = freedByChunk.get(c);
      if (list === undefined) freedByChunk.set(c, (list = []));
      list.push(u);
    }
    for (const c of dirty) {
      const bytes = this.allocator.chunkBytes(c);
      for (const u of freedByChunk.get(c) ?? []) {
        const bit = u - c * bitmapChunkUnits;
        assert((bytes[bit >>> 3]! & (1 << (bit & 7))) !== 0, `freeing unit ${u} that is not allocated`);
        bytes[bit >>> 3]! &= ~(1 << (bit & 7));
      }
      ops.push({ type: 'put', key: bitmapKey(c), value: bytes });
    }
    const totals: Totals = {
      storedBytes: this.totals.storedBytes + state.storedBytesDelta,
      objectCount: this.totals.objectCount + state.objectCountDelta,
    };
    assert(totals.storedBytes >= 0 && totals.objectCount >= 0, 'totals went negative');
    ops.push({ type: 'put', key: keyTotals, value: packr.pack(totals) });
    return ops;
  }

  /** Make the group's changes visible to readers (after the batch is durable). */
  private applyCommitted(state: TxnState): void {
    for (const [k, e] of state.onodes) this.cacheOnode(k, e.onode);
    for (const [cid, exists] of state.collections) {
      if (exists) this.collections.add(cid);
      else this.collections.delete(cid);
    }
    for (const [unit, count] of state.refs) {
      if (count >= 2) this.refs.set(unit, count);
      else this.refs.delete(unit);
    }
    this.totals = {
      storedBytes: this.totals.storedBytes + state.storedBytesDelta,
      objectCount: this.totals.objectCount + state.objectCountDelta,
    };
  }

  /**
   * Byte offset in the block file of the unit holding `offsetBytes` of the object, or null for a
   * hole. For tools and fault-injection tests (ceph-objectstore-tool style inspection).
   */
  async physicalOffsetOf(cid: string, oid: ObjectId, offsetBytes: number): Promise<number | null> {
    await this.stat(cid, oid);
    const onode = this.requireOnode(cid, oid);
    const lu = Math.floor(offsetBytes / unitSizeBytes);
    if (lu >= onode.units.length || onode.units[lu] === HOLE) return null;
    return onode.units[lu]! * unitSizeBytes + (offsetBytes % unitSizeBytes);
  }

  // ───────────────────────────── fsck ─────────────────────────────

  protected async _fsck(deep: boolean): Promise<FsckReport> {
    return this.withLock(() => runFsck({
      db: this.meta,
      file: this.blockFile,
      allocator: this.allocator,
      unitCount: this.superRecord!.unitCount,
      refs: this.refs,
      collections: this.collections,
      totals: this.totals,
    }, deep));
  }
}

function txnDataBytes(txn: Transaction): number {
  let n = 0;
  for (const op of txn.ops) if (op.op === 'write') n += op.data.length;
  return n;
}

/** True if units first..last of the object lie in short physical runs (see pipelinedRunUnitsMin). */
function fragmented(onode: Onode, firstUnit: number, lastUnit: number): boolean {
  let runs = 0;
  let units = 0;
  for (let lu = firstUnit; lu <= lastUnit; lu++) {
    const phys = onode.units[lu]!;
    if (phys === HOLE) continue;
    units++;
    if (lu === firstUnit || onode.units[lu - 1] !== phys - 1) runs++;
  }
  return runs > 0 && units / runs < pipelinedRunUnitsMin;
}
