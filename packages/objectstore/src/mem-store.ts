/**
 * MemStore: the ObjectStore interface in memory, for fast tests of the layers above. Same
 * semantics as BlockStore (same conformance suite): 32 KiB unit accounting with the same shrink
 * reserve and ENOSPC rule, holes, atomic transactions, listing order, attrs and omap.
 *
 * Differences: nothing is durable; a transaction is applied when queued and an undo log rolls it
 * back if an op fails; clones copy their unit map (units are immutable buffers, so the copy shares
 * memory) but count as new allocation in statfs; `corruptForTesting` marks a unit so reads fail
 * with EIO, standing in for bit rot.
 */
import { assert, NacreError } from '@nacre/util';
import { unitSizeBytes } from './limits.js';
import { encodeObjectKey, decodeObjectKey, sameObjectId, type ObjectId, formatObjectId } from './object-id.js';
import { notFound, ObjectStoreBase } from './store-base.js';
import { shrinkReserveUnitsFor } from './mkfs.js';
import type { Transaction, TxnOp } from './txn.js';
import type { FsckReport, ObjectPage, ObjectStat, OmapPage, OmapRangeOptions, StatFs } from './types.js';

interface MemObject {
  oid: ObjectId;
  sizeBytes: number;
  /** Logical unit index → 32 KiB buffer (never modified once stored). */
  units: Map<number, Buffer>;
  attrs: Map<string, Buffer>;
  omap: Map<string, Buffer>;
  corrupt: Set<number>;
}

type Collection = Map<string, MemObject>;

interface UndoEntry {
  cid: string;
  /** Object key (latin1) or null for the collection itself. */
  key: string | null;
  previous: MemObject | Collection | undefined;
}

export interface MemStoreOptions {
  /** Capacity like a BlockStore device of this size (default 1 GiB). */
  sizeBytes?: number;
}

function copyObject(o: MemObject, oid = o.oid): MemObject {
  return { oid, sizeBytes: o.sizeBytes, units: new Map(o.units), attrs: new Map(o.attrs), omap: new Map(o.omap), corrupt: new Set(o.corrupt) };
}

export class MemStore extends ObjectStoreBase {
  private readonly collections = new Map<string, Collection>();
  private readonly dataUnits: number;
  private readonly reserveUnits: number;
  private usedUnits = 0;
  private storedBytes = 0;
  private objectCount = 0;
  private undo: UndoEntry[] | null = null;

  constructor(options: MemStoreOptions = {}) {
    super();
    const unitCount = Math.floor((options.sizeBytes ?? 1024 ** 3) / unitSizeBytes);
    assert(unitCount >= 64, 'MemStore needs at least 64 units');
    this.dataUnits = unitCount - 1;
    this.reserveUnits = shrinkReserveUnitsFor(unitCount);
  }

  protected async _mount(): Promise<void> {}
  protected async _umount(): Promise<void> {}

  protected async _statfs(): Promise<StatFs> {
    return {
      totalBytes: this.dataUnits * unitSizeBytes,
      allocatedBytes: this.usedUnits * unitSizeBytes,
      storedBytes: this.storedBytes,
      availableBytes: Math.max(0, this.dataUnits - this.usedUnits - this.reserveUnits) * unitSizeBytes,
      objectCount: this.objectCount,
    };
  }

  protected async _queueTransaction(txn: Transaction): Promise<void> {
    const saved = { usedUnits: this.usedUnits, storedBytes: this.storedBytes, objectCount: this.objectCount };
    this.undo = [];
    try {
      for (const op of txn.ops) this.applyOp(op, txn.shrinkOnly);
    } catch (err) {
      for (const u of this.undo.reverse()) this.restore(u);
      Object.assign(this, saved);
      throw err;
    } finally {
      this.undo = null;
    }
    // Resolve asynchronously like a real commit.
    await new Promise<void>((r) => setImmediate(r));
  }

  private restore(u: UndoEntry): void {
    if (u.key === null) {
      if (u.previous === undefined) this.collections.delete(u.cid);
      else this.collections.set(u.cid, u.previous as Collection);
      return;
    }
    const coll = this.collections.get(u.cid);
    assert(coll !== undefined, 'undo into a missing collection');
    if (u.previous === undefined) coll.delete(u.key);
    else coll.set(u.key, u.previous as MemObject);
  }

  private coll(cid: string): Collection {
    const c = this.collections.get(cid);
    if (c === undefined) throw notFound(`collection ${cid}`);
    return c;
  }

  /** A private, modifiable copy of the object for this transaction (created if asked). */
  private objectForUpdate(cid: string, oid: ObjectId, create: boolean): MemObject {
    const coll = this.coll(cid);
    const key = encodeObjectKey(oid).toString('latin1');
    const current = coll.get(key);
    if (current === undefined && !create) throw notFound(`object ${oid.name}`);
    const fresh = current === undefined
      ? { oid, sizeBytes: 0, units: new Map(), attrs: new Map(), omap: new Map(), corrupt: new Set<number>() }
      : copyObject(current);
    if (current === undefined) this.objectCount++;
    this.undo!.push({ cid, key, previous: current });
    coll.set(key, fresh);
    return fresh;
  }

  private takeUnits(count: number, useReserve: boolean): void {
    const limit = this.dataUnits - this.usedUnits - (useReserve ? 0 : this.reserveUnits);
    if (count > limit) throw new NacreError(`no space for ${count} units`, { code: 'ENOSPC' });
    this.usedUnits += count;
  }

  private setUnit(o: MemObject, lu: number, buf: Buffer | undefined, useReserve: boolean): void {
    const had = o.units.has(lu);
    if (buf === undefined) {
      if (had) { o.units.delete(lu); this.usedUnits--; }
    } else {
      if (!had) this.takeUnits(1, useReserve);
      o.units.set(lu, buf);
    }
    o.corrupt.delete(lu);
  }

  private unitBytes(o: MemObject, lu: number): Buffer {
    if (o.corrupt.has(lu)) throw new NacreError(`checksum mismatch in ${o.oid.name} at offset ${lu * unitSizeBytes}`, { code: 'EIO' });
    return Buffer.from(o.units.get(lu) ?? Buffer.alloc(unitSizeBytes));
  }

  private setSize(o: MemObject, sizeBytes: number): void {
    this.storedBytes += sizeBytes - o.sizeBytes;
    o.sizeBytes = sizeBytes;
  }

  private applyOp(op: TxnOp, useReserve: boolean): void {
    switch (op.op) {
      case 'createCollection':
        if (this.collections.has(op.cid)) throw new NacreError(`collection ${op.cid} exists`, { code: 'EEXIST' });
        this.undo!.push({ cid: op.cid, key: null, previous: undefined });
        this.collections.set(op.cid, new Map());
        return;
      case 'removeCollection': {
        const c = this.coll(op.cid);
        if (c.size > 0) throw new NacreError(`collection ${op.cid} is not empty`, { code: 'ENOTEMPTY' });
        this.undo!.push({ cid: op.cid, key: null, previous: c });
        this.collections.delete(op.cid);
        return;
      }
      case 'touch': this.objectForUpdate(op.cid, op.oid, true); return;
      case 'write': return this.write(op.cid, op.oid, op.offsetBytes, op.data, useReserve);
      case 'zero': return this.zero(op.cid, op.oid, op.offsetBytes, op.lengthBytes, useReserve);
      case 'truncate': return this.truncate(op.cid, op.oid, op.sizeBytes);
      case 'remove': return this.remove(op.cid, op.oid);
      case 'clone': return this.clone(op.cid, op.oid, op.dst);
      case 'setattrs': {
        const o = this.objectForUpdate(op.cid, op.oid, true);
        for (const [k, v] of op.attrs) o.attrs.set(k, Buffer.from(v));
        return;
      }
      case 'rmattr': this.objectForUpdate(op.cid, op.oid, false).attrs.delete(op.name); return;
      case 'omapSetKeys': {
        const o = this.objectForUpdate(op.cid, op.oid, true);
        for (const [k, v] of op.entries) o.omap.set(k, Buffer.from(v));
        return;
      }
      case 'omapRmKeys': {
        const o = this.objectForUpdate(op.cid, op.oid, false);
        for (const k of op.keys) o.omap.delete(k);
        return;
      }
      case 'omapClear': this.objectForUpdate(op.cid, op.oid, false).omap.clear(); return;
    }
  }

  private write(cid: string, oid: ObjectId, offsetBytes: number, data: Uint8Array, useReserve: boolean): void {
    const o = this.objectForUpdate(cid, oid, true);
    if (data.length === 0) return;
    const endBytes = offsetBytes + data.length;
    if (endBytes > o.sizeBytes) this.setSize(o, endBytes);
    const first = Math.floor(offsetBytes / unitSizeBytes);
    const last = Math.floor((endBytes - 1) / unitSizeBytes);
    const src = Buffer.from(data.buffer, data.byteOffset, data.length);
    // Count the space first so a write that does not fit changes nothing.
    let newUnits = 0;
    for (let lu = first; lu <= last; lu++) if (!o.units.has(lu)) newUnits++;
    this.takeUnits(newUnits, useReserve);
    this.usedUnits -= newUnits;
    for (let lu = first; lu <= last; lu++) {
      const unitStart = lu * unitSizeBytes;
      const from = Math.max(offsetBytes, unitStart);
      const to = Math.min(endBytes, unitStart + unitSizeBytes);
      const buf = to - from === unitSizeBytes ? Buffer.alloc(unitSizeBytes) : this.unitBytes(o, lu);
      src.copy(buf, from - unitStart, from - offsetBytes, to - offsetBytes);
      this.setUnit(o, lu, buf, true);
    }
  }

  private zero(cid: string, oid: ObjectId, offsetBytes: number, lengthBytes: number, useReserve: boolean): void {
    const o = this.objectForUpdate(cid, oid, true);
    if (lengthBytes === 0) return;
    const endBytes = offsetBytes + lengthBytes;
    if (endBytes > o.sizeBytes) this.setSize(o, endBytes);
    const first = Math.floor(offsetBytes / unitSizeBytes);
    const last = Math.floor((endBytes - 1) / unitSizeBytes);
    for (let lu = first; lu <= last; lu++) {
      if (!o.units.has(lu)) continue;
      const unitStart = lu * unitSizeBytes;
      const from = Math.max(offsetBytes, unitStart);
      const to = Math.min(endBytes, unitStart + unitSizeBytes);
      if (to - from === unitSizeBytes) { this.setUnit(o, lu, undefined, useReserve); continue; }
      const buf = this.unitBytes(o, lu);
      buf.fill(0, from - unitStart, to - unitStart);
      this.setUnit(o, lu, buf, useReserve);
    }
  }

  private truncate(cid: string, oid: ObjectId, sizeBytes: number): void {
    const o = this.objectForUpdate(cid, oid, true);
    if (sizeBytes < o.sizeBytes) {
      const keep = Math.ceil(sizeBytes / unitSizeBytes);
      for (const lu of [...o.units.keys()]) if (lu >= keep) this.setUnit(o, lu, undefined, true);
      const tailFrom = sizeBytes % unitSizeBytes;
      if (tailFrom !== 0 && o.units.has(keep - 1)) {
        const buf = this.unitBytes(o, keep - 1);
        buf.fill(0, tailFrom);
        this.setUnit(o, keep - 1, buf, true);
      }
    }
    this.setSize(o, sizeBytes);
  }

  private remove(cid: string, oid: ObjectId): void {
    const coll = this.coll(cid);
    const key = encodeObjectKey(oid).toString('latin1');
    const o = coll.get(key);
    if (o === undefined) throw notFound(`object ${oid.name}`);
    this.undo!.push({ cid, key, previous: o });
    coll.delete(key);
    this.usedUnits -= o.units.size;
    this.storedBytes -= o.sizeBytes;
    this.objectCount--;
  }

  private clone(cid: string, src: ObjectId, dst: ObjectId): void {
    if (sameObjectId(src, dst)) throw new NacreError('clone source and destination are the same object', { code: 'EINVAL' });
    const coll = this.coll(cid);
    const s = coll.get(encodeObjectKey(src).toString('latin1'));
    if (s === undefined) throw notFound(`object ${src.name}`);
    const dstKey = encodeObjectKey(dst).toString('latin1');
    if (coll.has(dstKey)) this.remove(cid, dst);
    this.takeUnits(s.units.size, false);
    this.undo!.push({ cid, key: dstKey, previous: undefined });
    coll.set(dstKey, copyObject(s, dst));
    this.storedBytes += s.sizeBytes;
    this.objectCount++;
  }

  // ───────────────────────────── reads ─────────────────────────────

  private object(cid: string, oid: ObjectId): MemObject {
    const o = this.coll(cid).get(encodeObjectKey(oid).toString('latin1'));
    if (o === undefined) throw notFound(`object ${oid.name}`);
    return o;
  }

  protected async _listCollections(): Promise<string[]> {
    return [...this.collections.keys()].sort();
  }

  protected async _collectionExists(cid: string): Promise<boolean> {
    return this.collections.has(cid);
  }

  protected async _listObjects(cid: string, start: ObjectId | undefined, limitCount: number): Promise<ObjectPage> {
    const from = start === undefined ? '' : encodeObjectKey(start).toString('latin1');
    const keys = [...this.coll(cid).keys()].filter((k) => k >= from).sort();
    const objects = keys.slice(0, limitCount).map((k) => decodeObjectKey(Buffer.from(k, 'latin1')).oid);
    const next = keys.length > limitCount ? decodeObjectKey(Buffer.from(keys[limitCount]!, 'latin1')).oid : null;
    return { objects, next };
  }

  protected async _exists(cid: string, oid: ObjectId): Promise<boolean> {
    return this.collections.get(cid)?.has(encodeObjectKey(oid).toString('latin1')) ?? false;
  }

  protected async _stat(cid: string, oid: ObjectId): Promise<ObjectStat> {
    const o = this.object(cid, oid);
    return { sizeBytes: o.sizeBytes, allocatedBytes: o.units.size * unitSizeBytes };
  }

  protected async _read(cid: string, oid: ObjectId, offsetBytes: number, lengthBytes: number | undefined): Promise<Buffer> {
    const o = this.object(cid, oid);
    const endBytes = Math.min(o.sizeBytes, lengthBytes === undefined ? o.sizeBytes : offsetBytes + lengthBytes);
    if (endBytes <= offsetBytes) return Buffer.alloc(0);
    const out = Buffer.alloc(endBytes - offsetBytes);
    const first = Math.floor(offsetBytes / unitSizeBytes);
    const last = Math.floor((endBytes - 1) / unitSizeBytes);
    for (let lu = first; lu <= last; lu++) {
      const unitStart = lu * unitSizeBytes;
      const from = Math.max(offsetBytes, unitStart);
      const to = Math.min(endBytes, unitStart + unitSizeBytes);
      if (!o.units.has(lu)) continue;
      this.unitBytes(o, lu).copy(out, from - offsetBytes, from - unitStart, to - unitStart);
    }
    return out;
  }

  protected async _getattrs(cid: string, oid: ObjectId): Promise<Map<string, Buffer>> {
    return new Map([...this.object(cid, oid).attrs].map(([k, v]) => [k, Buffer.from(v)]));
  }

  protected async _omapGetValues(cid: string, oid: ObjectId, keys: string[]): Promise<Map<string, Buffer>> {
    const o = this.object(cid, oid);
    const out = new Map<string, Buffer>();
    for (const k of keys) {
      const v = o.omap.get(k);
      if (v !== undefined) out.set(k, Buffer.from(v));
    }
    return out;
  }

  protected async _omapGetRange(cid: string, oid: ObjectId, options: OmapRangeOptions & { limitCount: number }): Promise<OmapPage> {
    const o = this.object(cid, oid);
    const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
    const inRange = (k: string): boolean => {
      const b = bytes(k);
      if (options.start !== undefined && Buffer.compare(b, bytes(options.start)) < 0) return false;
      if (options.after !== undefined && Buffer.compare(b, bytes(options.after)) <= 0) return false;
      if (options.end !== undefined && Buffer.compare(b, bytes(options.end)) >= 0) return false;
      return true;
    };
    const keys = [...o.omap.keys()].filter(inRange).sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
    const entries: Array<[string, Buffer]> = keys.slice(0, options.limitCount).map((k) => [k, Buffer.from(o.omap.get(k)!)]);
    return { entries, more: keys.length > options.limitCount };
  }

  protected async _fsck(deep: boolean): Promise<FsckReport> {
    const problems: FsckReport['problems'] = [];
    let objects = 0;
    let units = 0;
    let stored = 0;
    for (const [cid, coll] of this.collections) {
      for (const o of coll.values()) {
        objects++;
        units += o.units.size;
        stored += o.sizeBytes;
        if (deep) {
          for (const lu of o.corrupt) problems.push({ kind: 'checksum', message: `${cid}/${formatObjectId(o.oid)} offset ${lu * unitSizeBytes}: checksum mismatch` });
        }
      }
    }
    if (units !== this.usedUnits || stored !== this.storedBytes || objects !== this.objectCount) {
      problems.push({ kind: 'stats', message: 'totals do not match the objects' });
    }
    return {
      clean: problems.length === 0, deep, problems, problemCount: problems.length, objectCount: objects,
      collectionCount: this.collections.size, unitsReferenced: units, unitsVerified: deep ? units : 0,
    };
  }

  /** Test hook: make the unit under `offsetBytes` fail its checksum, like bit rot on disk. */
  corruptForTesting(cid: string, oid: ObjectId, offsetBytes: number): void {
    const o = this.object(cid, oid);
    const lu = Math.floor(offsetBytes / unitSizeBytes);
    assert(o.units.has(lu), 'no data unit at that offset');
    o.corrupt.add(lu);
  }
}
