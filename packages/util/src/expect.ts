/**
 * Checks for decoded, untrusted values (peer messages, bytes read back from disk): each turns an
 * `unknown` into a typed value or throws NacreError EINVAL naming the field, e.g.
 * `bad payload: pool.size must be an integer in 1..10`. Used by message definitions (@nacre/proto)
 * and by every decoder of stored or received structures, so bad input always gets one clear error
 * and never reaches code that trusts it (DESIGN §4.6).
 */
import { NacreError } from './errors.js';

export function bad(what: string, expectation: string): never {
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

