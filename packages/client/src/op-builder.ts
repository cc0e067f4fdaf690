/**
 * Compound operations on one object, applied atomically by the primary OSD (all or nothing):
 *
 * ```ts
 * const op = new ObjectOperation()
 *   .cmpXattr('lock', 'eq', 'free')      // guard: ECANCELED if the lock is taken
 *   .setXattr('lock', 'client.a')
 *   .write(0, header);
 * const { version, results } = await io.operate('rbd_header.1', op);
 * ```
 *
 * Guards: `assertExists` (ENOENT), `assertVersion(v)` (ERANGE if the object's version differs),
 * `cmpXattr` (ECANCELED on mismatch). Each builder method checks its arguments at once
 * (EINVAL, ENAMETOOLONG, EFBIG); `results[i]` is the result of the i-th sub-op (see OpResult).
 */
import { subOpsMax, type SubOp } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import {
  checkOmapCount, checkOmapKey, checkOmapValue, checkUnsigned, checkXattrName, checkXattrValue, toBuffer, type BytesLike,
} from './validate.js';

export type XattrComparison = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

const cmps: readonly XattrComparison[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'];
const writeOps: ReadonlySet<SubOp['op']> = new Set([
  'create', 'write_full', 'write', 'append', 'truncate', 'zero', 'remove', 'setxattr', 'rmxattr', 'omap_set', 'omap_rm', 'omap_clear',
]);

export class ObjectOperation {
  private readonly list: SubOp[] = [];

  /** The sub-ops in order (what goes on the wire). */
  get subOps(): readonly SubOp[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
  }

  /** Does any sub-op change the object? */
  get isWrite(): boolean {
    return this.list.some((s) => writeOps.has(s.op));
  }

  /** Payload bytes carried (for the in-flight window). */
  get dataBytes(): number {
    let n = 0;
    for (const s of this.list) {
      if ('data' in s) n += s.data.length;
      else if (s.op === 'setxattr') n += s.value.length;
      else if (s.op === 'omap_set') for (const [, v] of s.entries) n += v.length;
    }
    return n;
  }

  /** Bytes a read sub-op may bring back (for the in-flight window). */
  get readBytes(): number {
    let n = 0;
    for (const s of this.list) if (s.op === 'read') n += s.length;
    return n;
  }

  private add(op: SubOp): this {
    if (this.list.length >= subOpsMax) throw new NacreError(`a compound op holds at most ${subOpsMax} sub-ops`, { code: 'EINVAL' });
    this.list.push(op);
    return this;
  }

  /** Create the object (EEXIST if it exists and `exclusive`). */
  create(exclusive = false): this {
    return this.add({ op: 'create', exclusive });
  }

  /** Replace the whole object with `data`. */
  writeFull(data: BytesLike): this {
    return this.add({ op: 'write_full', data: toBuffer(data, 'data') });
  }

  write(offsetBytes: number, data: BytesLike): this {
    checkUnsigned(offsetBytes, 'offset');
    return this.add({ op: 'write', offset: offsetBytes, data: toBuffer(data, 'data') });
  }

  append(data: BytesLike): this {
    return this.add({ op: 'append', data: toBuffer(data, 'data') });
  }

  truncate(sizeBytes: number): this {
    checkUnsigned(sizeBytes, 'size');
    return this.add({ op: 'truncate', size: sizeBytes });
  }

  zero(offsetBytes: number, lengthBytes: number): this {
    checkUnsigned(offsetBytes, 'offset');
    checkUnsigned(lengthBytes, 'length');
    return this.add({ op: 'zero', offset: offsetBytes, length: lengthBytes });
  }

  remove(): this {
    return this.add({ op: 'remove' });
  }

  /** Bytes [offset, offset+length) that exist (short at the end of the object). Result `{ data }`. */
  read(offsetBytes: number, lengthBytes: number): this {
    checkUnsigned(offsetBytes, 'offset');
    checkUnsigned(lengthBytes, 'length');
    return this.add({ op: 'read', offset: offsetBytes, length: lengthBytes });
  }

  /** Result `{ size, mtimeMs, version }`. */
  stat(): this {
    return this.add({ op: 'stat' });
  }

  /** Result `{ value }`; ENOENT if the xattr is missing. */
  getXattr(name: string): this {
    checkXattrName(name);
    return this.add({ op: 'getxattr', name });
  }

  /** Result `{ attrs: [name, value][] }`. */
  getXattrs(): this {
    return this.add({ op: 'getxattrs' });
  }

  setXattr(name: string, value: BytesLike): this {
    checkXattrName(name);
    const v = toBuffer(value, 'xattr value');
    checkXattrValue(v);
    return this.add({ op: 'setxattr', name, value: v });
  }

  rmXattr(name: string): this {
    checkXattrName(name);
    return this.add({ op: 'rmxattr', name });
  }

  /** Result `{ entries: [key, value][], more }`: keys after `after` starting with `prefix`, at most `max`. */
  omapGetVals(opts: { after?: string; prefix?: string; max: number }): this {
    checkOmapKey(opts.after ?? '');
    checkOmapKey(opts.prefix ?? '');
    checkOmapCount(opts.max);
    if (!(Number.isSafeInteger(opts.max) && opts.max > 0)) throw new NacreError('omap max must be a positive integer', { code: 'EINVAL' });
    return this.add({ op: 'omap_get_vals', after: opts.after ?? '', prefix: opts.prefix ?? '', max: opts.max });
  }

  /** Result `{ keys, more }`. */
  omapGetKeys(opts: { after?: string; max: number }): this {
    checkOmapKey(opts.after ?? '');
    checkOmapCount(opts.max);
    if (!(Number.isSafeInteger(opts.max) && opts.max > 0)) throw new NacreError('omap max must be a positive integer', { code: 'EINVAL' });
    return this.add({ op: 'omap_get_keys', after: opts.after ?? '', max: opts.max });
  }

  /** Result `{ entries }` for the keys that exist. */
  omapGetValsByKeys(keys: readonly string[]): this {
    checkOmapCount(keys.length);
    for (const k of keys) checkOmapKey(k);
    return this.add({ op: 'omap_get_vals_by_keys', keys: [...keys] });
  }

  omapSet(entries: OmapEntries): this {
    const list = omapEntryList(entries);
    checkOmapCount(list.length);
    for (const [k, v] of list) {
      checkOmapKey(k);
      checkOmapValue(v);
    }
    return this.add({ op: 'omap_set', entries: list });
  }

  omapRm(keys: readonly string[]): this {
    checkOmapCount(keys.length);
    for (const k of keys) checkOmapKey(k);
    return this.add({ op: 'omap_rm', keys: [...keys] });
  }

  omapClear(): this {
    return this.add({ op: 'omap_clear' });
  }

  /** Guard: ENOENT if the object does not exist. */
  assertExists(): this {
    return this.add({ op: 'assert_exists' });
  }

  /** Guard: ERANGE unless the object's version is exactly `version` (from stat or a previous op). */
  assertVersion(version: number): this {
    checkUnsigned(version, 'version');
    return this.add({ op: 'assert_version', version });
  }

  /** Guard: ECANCELED unless `xattr <cmp> value` (byte-wise comparison; a missing xattr is empty). */
  cmpXattr(name: string, cmp: XattrComparison, value: BytesLike): this {
    checkXattrName(name);
    if (!cmps.includes(cmp)) throw new NacreError(`cmpxattr comparison must be one of ${cmps.join(', ')}`, { code: 'EINVAL' });
    const v = toBuffer(value, 'cmpxattr value');
    checkXattrValue(v);
    return this.add({ op: 'cmpxattr', name, cmp, value: v });
  }
}

export type OmapEntries = ReadonlyMap<string, BytesLike> | Readonly<Record<string, BytesLike>> | readonly (readonly [string, BytesLike])[];

export function omapEntryList(entries: OmapEntries): [string, Buffer][] {
  const pairs: (readonly [string, BytesLike])[] = entries instanceof Map
    ? [...(entries as ReadonlyMap<string, BytesLike>)]
    : Array.isArray(entries) ? [...(entries as readonly (readonly [string, BytesLike])[])] : Object.entries(entries as Record<string, BytesLike>);
  return pairs.map(([k, v]) => [k, toBuffer(v, `omap value of ${k}`)]);
}
