/**
 * Decoding checks for the service layer's own encodings (snapshots, transactions): the proto
 * payload helpers, with their error re-labelled so a bad snapshot or value says what it was.
 * Every failure is a NacreError EINVAL; these bytes come from peers and from disk.
 */
import { Packr } from 'msgpackr';
import { NacreError } from '@nacre/util';

/** One msgpackr configuration for every service encoding: plain maps, no records, so bytes are stable. */
export const servicePackr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Run `decode` and turn any coded error into `bad <what>: …` (EINVAL). */
export function decodingAs<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof NacreError) throw new NacreError(`bad ${what}: ${err.message.replace(/^bad payload: /, '')}`, { code: 'EINVAL', cause: err });
    throw err;
  }
}

export function unpackRecord(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = servicePackr.unpack(bytes);
  } catch (err) {
    throw new NacreError(`bad ${what}: not msgpack (${(err as Error).message})`, { code: 'EINVAL', cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new NacreError(`bad ${what}: top level is not a map`, { code: 'EINVAL' });
  }
  return value as Record<string, unknown>;
}

export function expectPair(value: unknown, what: string): [unknown, unknown] {
  if (!Array.isArray(value) || value.length !== 2) throw new NacreError(`bad payload: ${what} must be a pair`, { code: 'EINVAL' });
  return [value[0], value[1]];
}

export function expectTuple(value: unknown, what: string, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) throw new NacreError(`bad payload: ${what} must be a list of ${length} items`, { code: 'EINVAL' });
  return value;
}

/** Copy a Buffer that may be a view into a larger received frame (so the frame can be freed). */
export function ownBytes(b: Uint8Array): Buffer {
  return Buffer.from(b);
}
