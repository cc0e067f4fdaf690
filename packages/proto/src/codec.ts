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
import type { ErrorCode } from '@nacre/util';
import { isEntityName, type EntityName } from './entity.js';

export { bad, expectArray, expectBool, expectBytes, expectInt, expectOneOf, expectRecord, expectString } from '@nacre/util';
import { bad } from '@nacre/util';

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
