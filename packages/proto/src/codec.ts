/**
 * Small helpers to check a decoded payload before a handler sees it. A frame's payload is whatever
 * the peer's msgpack bytes said; a message definition's `decode` turns that `unknown` into its
 * typed payload with these helpers, so handlers never touch unchecked peer data (DESIGN §4.6:
 * bad input gets a clear error and changes nothing). Every failure is a NacreError with code
 * EINVAL naming the field, e.g. `bad payload: pool.size must be an integer in 1..10`.
 *
 * ```ts
 * const decode = (raw: unknown): PoolCreate => {
 *   const o = expectRecord(raw, 'payload');
 *   return { name: expectString(o['name'], 'name', { bytesMax: 256 }), size: expectInt(o['size'], 'size', { min: 1, max: 10 }) };
 * };
 * ```
 */
import { NacreError, type ErrorCode } from '@nacre/util';
import { isEntityName, type EntityName } from './entity.js';

function bad(what: string, expectation: string): never {
  throw new NacreError(`bad payload: ${what} must be ${expectation}`, { code: 'EINVAL' });
}

/** A plain object (a msgpack map), not an array, Buffer or null. */
export function expectRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    bad(what, 'a map');
  }
  return value as Record<string, unknown>;
}

export function expectString(value: unknown, what: string, opts: { bytesMax: number; bytesMin?: number }): string {
  if (typeof value !== 'string') bad(what, 'a string');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > opts.bytesMax || bytes < (opts.bytesMin ?? 0)) {
    bad(what, `a string of ${opts.bytesMin ?? 0}..${opts.bytesMax} bytes`);
  }
  return value;
}

/** A safe integer in [min, max] (msgpack ints decode as numbers up to 2^53; bigints are refused). */
export function expectInt(value: unknown, what: string, opts: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < opts.min || value > opts.max) {
    bad(what, `an integer in ${opts.min}..${opts.max}`);
  }
  return value;
}

export function expectBool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') bad(what, 'a boolean');
  return value;
}

/**
 * Binary data (msgpack bin). Returned as a Buffer view into the received frame — no copy; copy it
 * (`Buffer.from(b)`) before keeping a small slice for long, or the whole frame stays in memory.
 */
export function expectBytes(value: unknown, what: string, opts: { bytesMax: number; bytesMin?: number }): Buffer {
  if (!(value instanceof Uint8Array)) bad(what, 'binary data');
  if (value.length > opts.bytesMax || value.length < (opts.bytesMin ?? 0)) {
    bad(what, `binary data of ${opts.bytesMin ?? 0}..${opts.bytesMax} bytes`);
  }
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
}

/** An array of at most `itemsMax` items, each checked by `item`. */
export function expectArray<T>(value: unknown, what: string, opts: { itemsMax: number }, item: (v: unknown, what: string) => T): T[] {
  if (!Array.isArray(value)) bad(what, 'an array');
  if (value.length > opts.itemsMax) bad(what, `an array of at most ${opts.itemsMax} items`);
  return value.map((v, i) => item(v, `${what}[${i}]`));
}

export function expectOneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) bad(what, `one of ${allowed.join(', ')}`);
  return value as T;
}

export function expectEntityName(value: unknown, what: string): EntityName {
  if (!isEntityName(value)) bad(what, 'an entity name (mon.<id>, osd.<n> or client.<id>)');
  return value;
}

/**
 * Every error code a peer may send in an error reply. A code outside this set is replaced by EIO
 * on receipt, so code checks (`hasCode(err, 'ENOENT')`) on the receiving side stay meaningful.
 */
const errorCodeSet: Record<ErrorCode, true> = {
  EINVAL: true, ENOENT: true, EEXIST: true, EIO: true, ENOSPC: true, ETIMEDOUT: true, EPERM: true,
  EAGAIN: true, ENOTSUP: true, ESHUTDOWN: true, ERANGE: true, EBUSY: true, ECANCELED: true,
  ENOTEMPTY: true, EFBIG: true, ENAMETOOLONG: true, EPROTO: true, ECONNREFUSED: true, ESTALE: true, EDOM: true,
};

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(errorCodeSet) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(errorCodeSet, value);
}
