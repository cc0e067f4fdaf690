/**
 * The ops of a transaction, applied to a TxnState during the prepare step of a group commit
 * (block-store.ts has the commit protocol). Every unit an op writes goes to a freshly allocated
 * unit: the committed state is never modified in place. Ops that read existing units (partial
 * writes, zero, truncate) check their checksums first, so corruption is never copied forward.
 */
import { assert, NacreError } from '@nacre/util';
import type { Level } from 'level';
import type { BitmapAllocator } from './bitmap-allocator.js';
import type { BlockFile } from './block-file.js';
import { checksum64 } from './checksum.js';
import { collectionRangeEnd, omapObjectPrefix, onodeKey, onodePrefix, prefixEnd } from './keys.js';
import { objectSizeBytesMax, omapCloneEntriesMax, unitSizeBytes } from './limits.js';
import { sameObjectId, type ObjectId } from './object-id.js';
import { HOLE, Onode, unitCountFor } from './onode.js';
import { notFound } from './store-base.js';
import type { TxnState } from './txn-state.js';
import type { Transaction, TxnOp } from './txn.js';

/** Runs at least this large are written through the thread pool while the main thread checksums. */
export const asyncWriteBytesMin = 1024 * 1024;

/** What the ops need from the store. */
export interface ApplyDeps {
  allocator: BitmapAllocator;
  file: BlockFile;
  meta: Level<Buffer, Buffer>;
  /** Fill `target` with logical units first..last of the object, checking every checksum (EIO). */
  readUnitsVerified(cid: string, oid: ObjectId, onode: Onode, firstUnit: number, lastUnit: number, target: Buffer): void;
  /** Tests only (BlockStoreOptions.beforeAsyncWrite). */
  beforeAsyncWrite?: () => Promise<void>;
}

export class TxnApplier {
  constructor(private readonly deps: ApplyDeps) {}

  async applyTransaction(state: TxnState, txn: Transaction): Promise<void> {
    const useReserve = txn.shrinkOnly;
    for (const op of txn.ops) await this.applyOp(state, op, useReserve);
  }

  /** Dispatcher: each op kind has its own leaf. */
  private async applyOp(state: TxnState, op: TxnOp, useReserve: boolean): Promise<void> {
    if (op.op === 'createCollection') {
      if (state.collectionExists(op.cid)) throw new NacreError(`collection ${op.cid} exists`, { code: 'EEXIST' });
      state.setCollection(op.cid, true);
      return;
    }
    if (!state.collectionExists(op.cid)) throw notFound(`collection ${op.cid}`);
    switch (op.op) {
      case 'removeCollection': return this.opRemoveCollection(state, op.cid);
      case 'touch': this.onodeForUpdate(state, op.cid, op.oid, true); return;
      case 'write': return this.opWrite(state, op.cid, op.oid, op.offsetBytes, op.data, useReserve);
      case 'zero': return this.opZero(state, op.cid, op.oid, op.offsetBytes, op.lengthBytes, useReserve);
      case 'truncate': return this.opTruncate(state, op.cid, op.oid, op.sizeBytes);
      case 'remove': return this.opRemove(state, op.cid, op.oid);
      case 'clone': return this.opClone(state, op.cid, op.oid, op.dst);
      case 'setattrs': return this.opSetattrs(state, op.cid, op.oid, op.attrs);
      case 'rmattr': return this.opRmattr(state, op.cid, op.oid, op.name);
      case 'omapSetKeys': return this.opOmapSet(state, op.cid, op.oid, op.entries);
      case 'omapRmKeys': return this.opOmapRm(state, op.cid, op.oid, op.keys);
      case 'omapClear': return this.opOmapClear(state, op.cid, op.oid);
    }
  }

  /** A private copy of the object's onode inside `state`, created if `create` and absent. */
  private onodeForUpdate(state: TxnState, cid: string, oid: ObjectId, create: boolean): { key: Buffer; onode: Onode } {
    const key = onodeKey(cid, oid);
    const k = key.toString('latin1');
    const own = state.onodes.get(k);
    if (own !== undefined && own.onode !== null) return { key, onode: own.onode };
    const current = state.getOnode(key);
    let onode: Onode;
    if (current === null) {
      if (!create) throw notFound(`object ${oid.name}`);
      onode = Onode.empty();
      state.objectCountDelta++;
    } else {
      onode = current.copy();
    }
    state.putOnode(cid, oid, key, onode);
    return { key, onode };
  }

  private setSize(state: TxnState, onode: Onode, sizeBytes: number): void {
    assert(sizeBytes <= objectSizeBytesMax, 'object size beyond the limit');
    state.storedBytesDelta += sizeBytes - onode.sizeBytes;
    onode.sizeBytes = sizeBytes;
    onode.resizeMap(sizeBytes);
  }

  private allocate(state: TxnState, count: number, useReserve: boolean): number[] {
    const units = this.deps.allocator.allocate(count, { useReserve });
    if (units === null) {
      throw new NacreError(`no space for ${count} units (${this.deps.allocator.availableCount} available)`, { code: 'ENOSPC' });
    }
    state.allocated.push(...units);
    return units;
  }

  /**
   * Current content of logical unit `lu` as a private 32 KiB buffer (zeros for a hole). The unit
   * may have been written earlier in this group: writes in flight land first.
   */
  private async unitForUpdate(state: TxnState, cid: string, oid: ObjectId, onode: Onode, lu: number): Promise<Buffer> {
    const buf = Buffer.alloc(unitSizeBytes);
    if (lu < onode.units.length && onode.units[lu] !== HOLE) {
      await state.settleWrites();
      this.deps.readUnitsVerified(cid, oid, onode, lu, lu, buf);
    }
    return buf;
  }

  /**
   * Write whole-unit buffers for logical units, each to a fresh unit, and repoint the onode.
   * Large runs go to the thread pool and are checksummed meanwhile; they stay in flight in
   * `state` (the next transaction of the group proceeds meanwhile) until the flush or a read of
   * the group's units settles them. A refused transaction's writes settle before its units are
   * released (BlockStore.commitGroup).
   */
  private async placeUnits(state: TxnState, onode: Onode, logical: number[], buffers: Uint8Array[], useReserve: boolean): Promise<void> {
    const phys = this.allocate(state, logical.length, useReserve);
    const writes: Array<Promise<void>> = [];
    let runStart = 0;
    for (let i = 1; i <= phys.length; i++) {
      if (i === phys.length || phys[i] !== phys[i - 1]! + 1) {
        const run = buffers.slice(runStart, i);
        if ((i - runStart) * unitSizeBytes >= asyncWriteBytesMin) {
          const unit = phys[runStart]!;
          const hold = this.deps.beforeAsyncWrite;
          writes.push(hold === undefined ? this.deps.file.writeUnitsAsync(unit, run) : hold().then(() => this.deps.file.writeUnitsAsync(unit, run)));
        }
        else this.deps.file.writeUnits(phys[runStart]!, run);
        runStart = i;
      }
    }
    for (const w of writes) state.addPendingWrite(w);
    const csums = buffers.map((b) => checksum64(b));
    for (let i = 0; i < logical.length; i++) {
      const lu = logical[i]!;
      const old = onode.units[lu]!;
      if (old !== HOLE) state.unref(old);
      onode.units[lu] = phys[i]!;
      onode.csums[lu] = csums[i]!;
    }
    state.dataBytesWritten += logical.length * unitSizeBytes;
  }

  private async opWrite(state: TxnState, cid: string, oid: ObjectId, offsetBytes: number, data: Uint8Array, useReserve: boolean): Promise<void> {
    const { onode } = this.onodeForUpdate(state, cid, oid, true);
    if (data.length === 0) return;
    const src = Buffer.from(data.buffer, data.byteOffset, data.length);
    const endBytes = offsetBytes + data.length;
    if (endBytes > onode.sizeBytes) this.setSize(state, onode, endBytes);
    const firstUnit = Math.floor(offsetBytes / unitSizeBytes);
    const lastUnit = Math.floor((endBytes - 1) / unitSizeBytes);
    const logical: number[] = [];
    const buffers: Uint8Array[] = [];
    for (let lu = firstUnit; lu <= lastUnit; lu++) {
      const unitStart = lu * unitSizeBytes;
      const from = Math.max(offsetBytes, unitStart);
      const to = Math.min(endBytes, unitStart + unitSizeBytes);
      let buf: Buffer;
      if (to - from === unitSizeBytes) {
        buf = src.subarray(from - offsetBytes, to - offsetBytes);
      } else {
        buf = await this.unitForUpdate(state, cid, oid, onode, lu);
        src.copy(buf, from - unitStart, from - offsetBytes, to - offsetBytes);
      }
      logical.push(lu);
      buffers.push(buf);
    }
    await this.placeUnits(state, onode, logical, buffers, useReserve);
  }

  private async opZero(state: TxnState, cid: string, oid: ObjectId, offsetBytes: number, lengthBytes: number, useReserve: boolean): Promise<void> {
    const { onode } = this.onodeForUpdate(state, cid, oid, true);
    if (lengthBytes === 0) return;
    const endBytes = offsetBytes + lengthBytes;
    if (endBytes > onode.sizeBytes) this.setSize(state, onode, endBytes);
    const firstUnit = Math.floor(offsetBytes / unitSizeBytes);
    const lastUnit = Math.floor((endBytes - 1) / unitSizeBytes);
    const logical: number[] = [];
    const buffers: Uint8Array[] = [];
    for (let lu = firstUnit; lu <= lastUnit; lu++) {
      const phys = onode.units[lu]!;
      if (phys === HOLE) continue;
      const unitStart = lu * unitSizeBytes;
      const from = Math.max(offsetBytes, unitStart);
      const to = Math.min(endBytes, unitStart + unitSizeBytes);
      if (to - from === unitSizeBytes) {
        state.unref(phys);
        onode.units[lu] = HOLE;
        onode.csums[lu] = 0n;
        continue;
      }
      const buf = await this.unitForUpdate(state, cid, oid, onode, lu);
      buf.fill(0, from - unitStart, to - unitStart);
      logical.push(lu);
      buffers.push(buf);
    }
    if (logical.length > 0) await this.placeUnits(state, onode, logical, buffers, useReserve);
  }

  private async opTruncate(state: TxnState, cid: string, oid: ObjectId, sizeBytes: number): Promise<void> {
    const { onode } = this.onodeForUpdate(state, cid, oid, true);
    if (sizeBytes < onode.sizeBytes) {
      const keepUnits = unitCountFor(sizeBytes);
      for (let lu = keepUnits; lu < onode.units.length; lu++) {
        const phys = onode.units[lu]!;
        if (phys !== HOLE) state.unref(phys);
        onode.units[lu] = HOLE;
      }
      // Bytes past the end of the last unit must read as zeros if the object grows again.
      const tailFrom = sizeBytes % unitSizeBytes;
      const lastLu = keepUnits - 1;
      if (tailFrom !== 0 && onode.units[lastLu] !== HOLE) {
        const buf = await this.unitForUpdate(state, cid, oid, onode, lastLu);
        if (buf.subarray(tailFrom).some((b) => b !== 0)) {
          buf.fill(0, tailFrom);
          // Truncates may always use the reserve: they never grow the store in the end.
          await this.placeUnits(state, onode, [lastLu], [buf], true);
        }
      }
    }
    this.setSize(state, onode, sizeBytes);
  }

  /** Drop an object's data references, omap and onode. */
  private dropObject(state: TxnState, cid: string, oid: ObjectId, key: Buffer, onode: Onode): void {
    for (const phys of onode.units) if (phys !== HOLE) state.unref(phys);
    state.storedBytesDelta -= onode.sizeBytes;
    state.objectCountDelta--;
    const omapPrefix = omapObjectPrefix(cid, oid);
    if (onode.omap || state.omapDelta(omapPrefix) !== undefined) state.omapClear(omapPrefix);
    state.putOnode(cid, oid, key, null);
  }

  private opRemove(state: TxnState, cid: string, oid: ObjectId): void {
    const key = onodeKey(cid, oid);
    const onode = state.getOnode(key);
    if (onode === null) throw notFound(`object ${oid.name}`);
    this.dropObject(state, cid, oid, key, onode);
  }

  private async opClone(state: TxnState, cid: string, src: ObjectId, dst: ObjectId): Promise<void> {
    if (sameObjectId(src, dst)) throw new NacreError('clone source and destination are the same object', { code: 'EINVAL' });
    const srcOnode = state.getOnode(onodeKey(cid, src));
    if (srcOnode === null) throw notFound(`object ${src.name}`);
    const dstKey = onodeKey(cid, dst);
    const existing = state.getOnode(dstKey);
    if (existing !== null) this.dropObject(state, cid, dst, dstKey, existing);
    const copy = srcOnode.copy();
    for (const phys of copy.units) if (phys !== HOLE) state.ref(phys);
    state.storedBytesDelta += copy.sizeBytes;
    state.objectCountDelta++;
    state.putOnode(cid, dst, dstKey, copy);
    const dstPrefix = omapObjectPrefix(cid, dst);
    state.omapClear(dstPrefix);
    if (copy.omap) {
      for (const [k, v] of await this.currentOmap(state, omapObjectPrefix(cid, src))) state.omapSet(dstPrefix, k, v);
    }
  }

  /** The object's omap as `state` sees it (committed entries merged with uncommitted changes). */
  private async currentOmap(state: TxnState, objectPrefix: Buffer): Promise<Map<string, Buffer>> {
    const delta = state.omapDelta(objectPrefix);
    const out = new Map<string, Buffer>();
    if (delta === undefined || !delta.cleared) {
      for await (const [k, v] of this.deps.meta.iterator({ gte: objectPrefix, lt: prefixEnd(objectPrefix) })) {
        out.set(k.subarray(objectPrefix.length).toString('utf8'), v);
        if (out.size > omapCloneEntriesMax) throw new NacreError(`omap larger than ${omapCloneEntriesMax} entries`, { code: 'EFBIG' });
      }
    }
    for (const [k, v] of delta?.changes ?? []) {
      if (v === null) out.delete(k);
      else out.set(k, v);
    }
    return out;
  }

  private opSetattrs(state: TxnState, cid: string, oid: ObjectId, attrs: Map<string, Uint8Array>): void {
    const { onode } = this.onodeForUpdate(state, cid, oid, true);
    for (const [name, value] of attrs) onode.attrs.set(name, Buffer.from(value));
  }

  private opRmattr(state: TxnState, cid: string, oid: ObjectId, name: string): void {
    const { onode } = this.onodeForUpdate(state, cid, oid, false);
    onode.attrs.delete(name);
  }

  private opOmapSet(state: TxnState, cid: string, oid: ObjectId, entries: Map<string, Uint8Array>): void {
    const { onode } = this.onodeForUpdate(state, cid, oid, true);
    onode.omap = true;
    const prefix = omapObjectPrefix(cid, oid);
    for (const [k, v] of entries) state.omapSet(prefix, k, Buffer.from(v));
  }

  private opOmapRm(state: TxnState, cid: string, oid: ObjectId, keys: string[]): void {
    const { onode } = this.onodeForUpdate(state, cid, oid, false);
    if (!onode.omap) return;
    const prefix = omapObjectPrefix(cid, oid);
    for (const k of keys) state.omapSet(prefix, k, null);
  }

  private opOmapClear(state: TxnState, cid: string, oid: ObjectId): void {
    const { onode } = this.onodeForUpdate(state, cid, oid, false);
    if (onode.omap) state.omapClear(omapObjectPrefix(cid, oid));
    onode.omap = false;
  }

  private async opRemoveCollection(state: TxnState, cid: string): Promise<void> {
    const prefix = onodePrefix(cid);
    const pending = state.visibleOnodeEntries();
    for (const e of pending.values()) {
      if (e.cid === cid && e.onode !== null) throw new NacreError(`collection ${cid} is not empty`, { code: 'ENOTEMPTY' });
    }
    for await (const key of this.deps.meta.keys({ gte: prefix, lt: collectionRangeEnd(prefix) })) {
      const e = pending.get(key.toString('latin1'));
      if (e === undefined || e.onode !== null) throw new NacreError(`collection ${cid} is not empty`, { code: 'ENOTEMPTY' });
    }
    state.setCollection(cid, false);
  }
}
