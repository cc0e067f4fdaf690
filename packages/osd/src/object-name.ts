/**
 * Client object locators ↔ store object ids.
 *
 * A locator is `{ name, key?, namespace? }`; the store names objects `{pool, hash, name, snap,
 * shard}` without namespace or locator key. The store name is the plain name when neither is set
 * (the common case, and what `nacre store ls` shows), otherwise `\x01` + JSON `[namespace, key,
 * name]`. A plain name that itself starts with `\x01` also takes the JSON form, so the mapping is
 * one-to-one. `hash` is the placement hash of the locator (rjenkins of the key or name, with the
 * namespace), so objects sort by bit-reversed hash inside the PG collection: a PG is one range.
 *
 * Internal objects live in pools that client objects never use: the PG metadata object in pool
 * -1 (it sorts first) and recovery temp objects in pool -2.
 */
import { NacreError } from '@nacre/util';
import { objectHashInput, objectRawHash, type Pool } from '@nacre/osdmap';
import { NO_SHARD, SNAP_HEAD, objectNameBytesMax, type ObjectId } from '@nacre/objectstore';
import type { ObjectLocator } from '@nacre/proto';

const composedMark = '\u0001';

export const PGMETA_POOL = -1;
export const TEMP_POOL = -2;

export function storeNameOf(loc: ObjectLocator): string {
  if (typeof loc.name !== 'string' || loc.name.length === 0) throw new NacreError('object name must not be empty', { code: 'EINVAL' });
  const ns = loc.namespace ?? '';
  const key = loc.key ?? '';
  const plain = ns === '' && key === '' && !loc.name.startsWith(composedMark);
  const name = plain ? loc.name : composedMark + JSON.stringify([ns, key, loc.name]);
  if (Buffer.byteLength(name, 'utf8') > objectNameBytesMax) {
    throw new NacreError(`object name too long (${objectNameBytesMax} bytes with namespace and key)`, { code: 'ENAMETOOLONG' });
  }
  if (Buffer.from(name, 'utf8').toString('utf8') !== name) throw new NacreError('object name is not well-formed Unicode', { code: 'EINVAL' });
  return name;
}

export function locatorOf(storeName: string): ObjectLocator {
  if (!storeName.startsWith(composedMark)) return { name: storeName };
  const parsed = JSON.parse(storeName.slice(1)) as [string, string, string];
  return {
    name: parsed[2],
    ...(parsed[1] !== '' ? { key: parsed[1] } : {}),
    ...(parsed[0] !== '' ? { namespace: parsed[0] } : {}),
  };
}

export function placementHashOf(pool: Pool, loc: ObjectLocator): number {
  const opts: { namespace?: string; key?: string } = {};
  if (loc.namespace !== undefined) opts.namespace = loc.namespace;
  if (loc.key !== undefined) opts.key = loc.key;
  return objectRawHash(pool, objectHashInput(loc.name, opts));
}

export function storeOid(poolId: number, hash: number, storeName: string): ObjectId {
  return { pool: poolId, hash: hash >>> 0, name: storeName, snap: SNAP_HEAD, shard: NO_SHARD };
}

export function pgmetaOid(): ObjectId {
  return { pool: PGMETA_POOL, hash: 0, name: 'pgmeta', snap: SNAP_HEAD, shard: NO_SHARD };
}

export function tempOid(oid: ObjectId): ObjectId {
  return { ...oid, pool: TEMP_POOL };
}

/** Key text of an object inside its PG (pgmeta keys, maps): hash as 8 hex digits, a dot, the store name. */
export function objectKeyText(oid: { hash: number; name: string }): string {
  return `${(oid.hash >>> 0).toString(16).padStart(8, '0')}.${oid.name}`;
}

export function parseObjectKeyText(text: string): { hash: number; name: string } {
  const dot = text.indexOf('.');
  if (dot !== 8) throw new NacreError(`bad object key '${text.slice(0, 40)}'`, { code: 'EIO' });
  const hash = parseInt(text.slice(0, 8), 16);
  if (!Number.isInteger(hash)) throw new NacreError(`bad object key '${text.slice(0, 40)}'`, { code: 'EIO' });
  return { hash, name: text.slice(9) };
}
