/**
 * Object and collection names, their validation, and the byte encoding that fixes their sort order.
 *
 * An object is named `{pool, hash, name, snap, shard}` like Ceph's ghobject_t (without namespace,
 * locator key and generation). Objects sort by the bytes of their encoded key:
 *
 *   pool      i32, sign bit flipped, big-endian (so -1 < 0 < 1)
 *   hashRev   u32 big-endian of the *bit-reversed* 32-bit hash
 *   name      UTF-8 with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01 (prefix-free, and
 *             byte order of the escaped form equals byte order of the raw name)
 *   snap      u64 big-endian (SNAP_HEAD = 2^53-1 sorts after every clone, like Ceph's NOSNAP)
 *   shard     u8 = shard + 1 (NO_SHARD = -1 encodes as 0)
 *
 * Why bit-reversed: a PG holds the objects whose hash has given low bits (ceph_stable_mod), so
 * sorting by the reversed hash keeps each PG — and each child after a PG split — one contiguous
 * range. Backfill and scrub walk a collection in this order with a cursor. This is Ceph's choice
 * too (hobject_t sorts by get_bitwise_key = reversed hash).
 */
import { NacreError } from '@nacre/util';

/** The head (writable) version of an object; clones carry a real snap id below this. */
export const SNAP_HEAD = Number.MAX_SAFE_INTEGER;
/** Objects of replicated pools carry no shard. */
export const NO_SHARD = -1;
export const objectNameBytesMax = 2048;
export const collectionIdLengthMax = 128;
export const shardMax = 254;

export interface ObjectId {
  /** Pool id (signed 32-bit). */
  pool: number;
  /** 32-bit placement hash of the name (computed by the caller, e.g. rjenkins). */
  hash: number;
  /** Object name (non-empty UTF-8, at most objectNameBytesMax bytes). */
  name: string;
  /** Snapshot id; SNAP_HEAD for the head object. */
  snap: number;
  /** EC shard index, or NO_SHARD. */
  shard: number;
}

/** Convenience constructor with head snap and no shard by default. */
export function objectId(pool: number, hash: number, name: string, opts: { snap?: number; shard?: number } = {}): ObjectId {
  return { pool, hash: hash >>> 0, name, snap: opts.snap ?? SNAP_HEAD, shard: opts.shard ?? NO_SHARD };
}

function invalid(message: string): NacreError {
  return new NacreError(message, { code: 'EINVAL' });
}

export function validateObjectId(oid: ObjectId): void {
  if (typeof oid !== 'object' || oid === null) throw invalid('object id must be an object');
  const { pool, hash, name, snap, shard } = oid;
  if (!Number.isInteger(pool) || pool < -0x8000_0000 || pool > 0x7fff_ffff) throw invalid(`bad pool id ${String(pool)}`);
  if (!Number.isInteger(hash) || hash < 0 || hash > 0xffff_ffff) throw invalid(`bad object hash ${String(hash)}`);
  if (typeof name !== 'string' || name.length === 0) throw invalid('object name must be a non-empty string');
  const raw = Buffer.from(name, 'utf8');
  if (raw.length > objectNameBytesMax) throw invalid(`object name longer than ${objectNameBytesMax} bytes`);
  // Lone surrogates would not survive the UTF-8 key encoding and come back as a different name.
  if (raw.toString('utf8') !== name) throw invalid('object name is not well-formed Unicode');
  if (!Number.isSafeInteger(snap) || snap < 0) throw invalid(`bad snap id ${String(snap)}`);
  if (!Number.isInteger(shard) || shard < NO_SHARD || shard > shardMax) throw invalid(`bad shard ${String(shard)}`);
}

const collectionIdPattern = /^[A-Za-z0-9_.-]+$/;

/** Collection ids are short printable names such as `1.2a_head` or `2.7s3_head` or `meta`. */
export function validateCollectionId(cid: string): void {
  if (typeof cid !== 'string' || cid.length === 0 || cid.length > collectionIdLengthMax || !collectionIdPattern.test(cid)) {
    throw invalid(`bad collection id '${String(cid)}' (1..${collectionIdLengthMax} chars of [A-Za-z0-9_.-])`);
  }
}

export function reverseBits32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) >>> 0;
}

/** Encoded sort key of an object (see the header). Prefix-free, so omap keys can follow it. */
export function encodeObjectKey(oid: ObjectId): Buffer {
  const raw = Buffer.from(oid.name, 'utf8');
  let zeros = 0;
  for (const b of raw) if (b === 0) zeros++;
  const out = Buffer.allocUnsafe(8 + raw.length + zeros + 2 + 8 + 1);
  out.writeUInt32BE((oid.pool ^ 0x8000_0000) >>> 0, 0);
  out.writeUInt32BE(reverseBits32(oid.hash), 4);
  let p = 8;
  for (const b of raw) {
    out[p++] = b;
    if (b === 0) out[p++] = 0xff;
  }
  out[p++] = 0x00;
  out[p++] = 0x01;
  out.writeUInt32BE(Math.floor(oid.snap / 0x1_0000_0000), p);
  out.writeUInt32BE(oid.snap % 0x1_0000_0000, p + 4);
  p += 8;
  out[p++] = oid.shard + 1;
  return out;
}

/** Decode an object key starting at `offset`; returns the id and the offset just past it. */
export function decodeObjectKey(buf: Buffer, offset = 0): { oid: ObjectId; endOffset: number } {
  const fail = (): never => { throw new NacreError('malformed object key', { code: 'EIO' }); };
  if (buf.length < offset + 8 + 2 + 9) fail();
  const pool = (buf.readUInt32BE(offset) ^ 0x8000_0000) | 0;
  const hash = reverseBits32(buf.readUInt32BE(offset + 4));
  const name: number[] = [];
  let p = offset + 8;
  for (;;) {
    if (p + 1 >= buf.length) fail();
    const b = buf[p]!;
    if (b !== 0) { name.push(b); p++; continue; }
    const next = buf[p + 1]!;
    if (next === 0xff) { name.push(0); p += 2; continue; }
    if (next === 0x01) { p += 2; break; }
    fail();
  }
  if (p + 9 > buf.length) fail();
  const snap = buf.readUInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
  const shard = buf[p + 8]! - 1;
  const oid = { pool, hash, name: Buffer.from(name).toString('utf8'), snap, shard };
  return { oid, endOffset: p + 9 };
}

/** Total order of objects inside a collection (the listing order). */
export function compareObjectIds(a: ObjectId, b: ObjectId): number {
  return Buffer.compare(encodeObjectKey(a), encodeObjectKey(b));
}

export function sameObjectId(a: ObjectId, b: ObjectId): boolean {
  return a.pool === b.pool && a.hash === b.hash && a.name === b.name && a.snap === b.snap && a.shard === b.shard;
}

export function formatObjectId(oid: ObjectId): string {
  const snap = oid.snap === SNAP_HEAD ? 'head' : String(oid.snap);
  const shard = oid.shard === NO_SHARD ? '' : `(s${oid.shard})`;
  return `${oid.pool}:${oid.hash.toString(16).padStart(8, '0')}:${oid.name}:${snap}${shard}`;
}
