/**
 * Copying one object between OSDs for recovery, in bounded pieces. The source reads a piece
 * (data from `offset`, omap after `omapAfter`, attrs with the first piece); the destination
 * applies it. An object that fits one piece is replaced in one transaction; a bigger one is
 * assembled in a temp object (pool -2) and moved into place by the last piece (clone, then remove
 * the temp), so a reader never sees a half-copied object and a crash leaves only a temp object.
 */
import { NacreError } from '@nacre/util';
import { Transaction, type ObjectId, type ObjectStore } from '@nacre/objectstore';
import type { Eversion } from './eversion.js';
import type { ObjectChunk } from './messages.js';
import { tempOid } from './object-name.js';
import { decodeObjectInfo } from './pg-codec.js';
import type { ObjRef } from './pg-types.js';
import { OBJECT_INFO_ATTR } from './store-layout.js';

/** omap entries per piece. */
export const copyOmapEntriesMax = 10_000;

export async function readChunk(
  store: ObjectStore, cid: string, oid: ObjectId, ref: ObjRef, pos: { offset: number; omapAfter: string; first: boolean }, chunkBytesMax: number,
): Promise<ObjectChunk> {
  if (!(await store.exists(cid, oid))) throw new NacreError(`object ${ref.name} not here`, { code: 'ENOENT' });
  const attrsMap = await store.getattrs(cid, oid);
  const oiBytes = attrsMap.get(OBJECT_INFO_ATTR);
  if (oiBytes === undefined) throw new NacreError(`object ${ref.name} has no object info`, { code: 'EIO' });
  const version = decodeObjectInfo(oiBytes).version;
  const sizeBytes = (await store.stat(cid, oid)).sizeBytes;
  const lengthBytes = Math.max(0, Math.min(chunkBytesMax, sizeBytes - pos.offset));
  const data = lengthBytes > 0 ? await store.read(cid, oid, pos.offset, lengthBytes) : Buffer.alloc(0);
  const dataDone = pos.offset + lengthBytes >= sizeBytes;
  let omap: [string, Buffer][] = [];
  let omapMore = false;
  if (dataDone) {
    const page = await store.omapGetRange(cid, oid, { ...(pos.omapAfter !== '' ? { after: pos.omapAfter } : {}), limitCount: copyOmapEntriesMax });
    omap = page.entries;
    omapMore = page.more;
  } else {
    omapMore = true;
  }
  return {
    oid: ref, version, sizeBytes, offset: pos.offset, data,
    attrs: pos.first ? [...attrsMap] : null,
    omap, omapAfter: omap.length > 0 ? omap[omap.length - 1]![0] : pos.omapAfter,
    first: pos.first, done: dataDone && !omapMore,
  };
}

/** Where the next piece starts, after `chunk`. */
export function nextPosition(chunk: ObjectChunk): { offset: number; omapAfter: string; first: boolean } {
  return { offset: chunk.offset + chunk.data.length, omapAfter: chunk.omapAfter, first: false };
}

export interface ApplyResult {
  /** Size of the object this OSD had before (for stats), -1 if it had none. */
  sizeBeforeBytes: number;
}

/**
 * Add the piece's store ops to `txn`. The caller adds the pgmeta changes (missing item, stats) to
 * the same transaction when `chunk.done`.
 */
export async function addChunkToTxn(store: ObjectStore, txn: Transaction, cid: string, oid: ObjectId, chunk: ObjectChunk): Promise<ApplyResult> {
  const exists = await store.exists(cid, oid);
  const sizeBeforeBytes = exists ? (await store.stat(cid, oid)).sizeBytes : -1;
  const single = chunk.first && chunk.done;
  const target = single ? oid : tempOid(oid);
  if (chunk.first) {
    if (single ? exists : await store.exists(cid, target)) txn.remove(cid, target);
    txn.touch(cid, target);
    if (chunk.attrs !== null && chunk.attrs.length > 0) txn.setattrs(cid, target, new Map(chunk.attrs));
  }
  if (chunk.data.length > 0) txn.write(cid, target, chunk.offset, chunk.data);
  if (chunk.omap.length > 0) txn.omapSetKeys(cid, target, new Map(chunk.omap));
  if (chunk.done) {
    txn.truncate(cid, target, chunk.sizeBytes);
    if (!single) {
      txn.clone(cid, target, oid);
      txn.remove(cid, target);
    }
  }
  return { sizeBeforeBytes };
}

export function describeVersion(v: Eversion): string {
  return `${v.epoch}'${v.v}`;
}
