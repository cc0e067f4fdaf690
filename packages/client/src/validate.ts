/**
 * Client-side argument checks. The OSD checks everything again (it never trusts a peer), but
 * checking here gives the caller a clear error without a round trip, and keeps obviously bad
 * requests (a 3 KiB name, a negative offset) off the wire.
 */
import {
  objectNameBytesMax, omapEntriesPerOpMax, omapKeyBytesMax, omapValueBytesMax, xattrNameBytesMax, xattrValueBytesMax,
} from '@nacre/proto';
import { NacreError } from '@nacre/util';

export function checkObjectName(name: string): void {
  if (typeof name !== 'string') throw new NacreError('object name must be a string', { code: 'EINVAL' });
  if (name.length === 0) throw new NacreError('object name must not be empty', { code: 'EINVAL' });
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > objectNameBytesMax) {
    throw new NacreError(`object name of ${bytes} bytes is longer than ${objectNameBytesMax} bytes`, { code: 'ENAMETOOLONG' });
  }
}

/** A byte offset or length: a non-negative safe integer. */
export function checkUnsigned(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new NacreError(`${what} must be a non-negative integer, got ${String(value)}`, { code: 'EINVAL' });
  }
}

/** The end of a write/zero/truncate must stay within the object size limit (EFBIG, as Ceph). */
export function checkObjectEnd(endBytes: number, objectBytesMax: number, what: string): void {
  if (endBytes > objectBytesMax) {
    throw new NacreError(`${what} would reach byte ${endBytes}, beyond the object size limit of ${objectBytesMax} bytes`, { code: 'EFBIG' });
  }
}

export function checkXattrName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new NacreError('xattr name must be a non-empty string', { code: 'EINVAL' });
  if (Buffer.byteLength(name) > xattrNameBytesMax) throw new NacreError(`xattr name is longer than ${xattrNameBytesMax} bytes`, { code: 'ENAMETOOLONG' });
}

export function checkXattrValue(value: Buffer): void {
  if (value.length > xattrValueBytesMax) throw new NacreError(`xattr value of ${value.length} bytes is larger than ${xattrValueBytesMax} bytes`, { code: 'EFBIG' });
}

export function checkOmapKey(key: string): void {
  if (typeof key !== 'string') throw new NacreError('omap key must be a string', { code: 'EINVAL' });
  if (Buffer.byteLength(key) > omapKeyBytesMax) throw new NacreError(`omap key is longer than ${omapKeyBytesMax} bytes`, { code: 'ENAMETOOLONG' });
}

export function checkOmapValue(value: Buffer): void {
  if (value.length > omapValueBytesMax) throw new NacreError(`omap value of ${value.length} bytes is larger than ${omapValueBytesMax} bytes`, { code: 'EFBIG' });
}

export function checkOmapCount(count: number): void {
  if (count > omapEntriesPerOpMax) throw new NacreError(`${count} omap entries in one op; at most ${omapEntriesPerOpMax}`, { code: 'EINVAL' });
}

/** Strings are taken as UTF-8; Buffers and Uint8Arrays as they are (no copy for Buffers). */
export type BytesLike = Buffer | Uint8Array | string;

export function toBuffer(value: BytesLike, what: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  throw new NacreError(`${what} must be a Buffer, Uint8Array or string`, { code: 'EINVAL' });
}
