/**
 * Metadata key schema of the BlockStore (LevelDB via `level`, binary keys and values).
 *
 *   key                                              value (msgpack unless noted)
 *   ───────────────────────────────────────────────  ─────────────────────────────────────────────
 *   'S'                                              superblock record {formatVersion, uuid,
 *                                                    unitSizeBytes, unitCount, reserveUnits}
 *   'T'                                              totals {storedBytes, objectCount}
 *   'B' chunk:u32be                                  freelist bitmap chunk, raw 128 bytes, bit u%1024
 *                                                    LSB-first; 1 = unit used (bitmap-allocator.ts)
 *   'R' unit:u32be                                   reference count (u32be raw) of a data unit
 *                                                    shared by clones; absent = 1 if used
 *   'C' cid 0x00                                     collection record {}
 *   'O' cid 0x00 objkey                              onode (onode.ts)
 *   'M' cid 0x00 objkey omapkey                      omap value (raw bytes); omapkey = UTF-8
 *
 *   objkey = object-id.ts encodeObjectKey (prefix-free), so an object's omap entries are exactly
 *   the keys starting with 'M' cid 0x00 objkey, and lie in [that prefix, prefix 0xFF) because
 *   UTF-8 never contains 0xFF. Collection ids use [A-Za-z0-9_.-], so 'C'/'O'/'M' cid 0x00 prefixes
 *   of different collections never nest.
 */
import type { ObjectId } from './object-id.js';
import { encodeObjectKey } from './object-id.js';

export const keySuperblock = Buffer.from('S');
export const keyTotals = Buffer.from('T');
export const prefixBitmap = 0x42; // 'B'
export const prefixRefcount = 0x52; // 'R'
export const prefixCollection = 0x43; // 'C'
export const prefixOnode = 0x4f; // 'O'
export const prefixOmap = 0x4d; // 'M'

function prefixU32(prefix: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = prefix;
  b.writeUInt32BE(value, 1);
  return b;
}

export function bitmapKey(chunkIndex: number): Buffer {
  return prefixU32(prefixBitmap, chunkIndex);
}

export function refcountKey(unit: number): Buffer {
  return prefixU32(prefixRefcount, unit);
}

/** [gte, lt) of all keys with a one-byte prefix. */
export function prefixRange(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
}

function collPart(prefix: number, cid: string): Buffer {
  return Buffer.concat([Buffer.from([prefix]), Buffer.from(cid, 'latin1'), Buffer.from([0])]);
}

export function collectionKey(cid: string): Buffer {
  return collPart(prefixCollection, cid);
}

export function decodeCollectionKey(key: Buffer): string {
  return key.subarray(1, key.length - 1).toString('latin1');
}

export function onodePrefix(cid: string): Buffer {
  return collPart(prefixOnode, cid);
}

export function onodeKey(cid: string, oid: ObjectId): Buffer {
  return Buffer.concat([onodePrefix(cid), encodeObjectKey(oid)]);
}

export function omapObjectPrefix(cid: string, oid: ObjectId): Buffer {
  return Buffer.concat([collPart(prefixOmap, cid), encodeObjectKey(oid)]);
}

export function omapKey(objectPrefix: Buffer, key: string): Buffer {
  return Buffer.concat([objectPrefix, Buffer.from(key, 'utf8')]);
}

/** Upper bound (exclusive) of every key that starts with `prefix`, for prefixes of our schema. */
export function prefixEnd(prefix: Buffer): Buffer {
  return Buffer.concat([prefix, Buffer.from([0xff])]);
}

/** Exclusive end of a collection's onode range: the 0x00 terminator bumped to 0x01. */
export function collectionRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = 0x01;
  return end;
}
