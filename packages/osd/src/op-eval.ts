/**
 * Evaluating a client's compound op against one object: sub-ops run in order against a view of
 * the object (the committed state plus the op's own earlier sub-ops), reads return results,
 * writes become absolute mutations (mutations.ts). The first failing sub-op fails the whole op
 * with its code and nothing is written (the mutations are only applied after evaluation). The
 * caller (the primary) assigns the version and adds the object info.
 *
 * Semantics (Ceph's where it has one): write_full keeps xattrs and omap; zero never extends an
 * object and is a no-op on a missing one; read with length 0 reads to the end; setxattr, omap_set,
 * write, append, truncate and create make the object; remove, rmxattr, omap_rm, omap_clear,
 * reads and guards need it (ENOENT); a missing xattr is ENOENT for getxattr/rmxattr and compares
 * as empty in cmpxattr, where `cmp` is `stored <op> given` in byte order.
 */
import { NacreError } from '@nacre/util';
import type { ObjectId, ObjectStore } from '@nacre/objectstore';
import { opDataBytesMax, type SubOp, type SubOpResult } from '@nacre/proto';
import { decodeObjectInfo, type ObjectInfo } from './pg-codec.js';
import type { Mutation } from './mutations.js';
import { OBJECT_INFO_ATTR, USER_ATTR_PREFIX } from './store-layout.js';

/** User xattrs per object (they live in the onode; the object info takes one more). */
export const userXattrsPerObjectMax = 255;

export interface EvalOutcome {
  results: SubOpResult[];
  mutations: Mutation[];
  isWrite: boolean;
  existedBefore: boolean;
  existsAfter: boolean;
  sizeBefore: number;
  sizeAfter: number;
  /** Object info before the op (null: the object did not exist). */
  infoBefore: ObjectInfo | null;
}

export interface EvalLimits {
  objectSizeBytesMax: number;
}

interface OmapOverlay {
  cleared: boolean;
  sets: Map<string, Buffer>;
  rms: Set<string>;
}

const err = (code: 'ENOENT' | 'EEXIST' | 'EINVAL' | 'EFBIG' | 'ERANGE' | 'ECANCELED' | 'ENOSPC', msg: string): NacreError => new NacreError(msg, { code });

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

class ObjectView {
  exists: boolean;
  sizeBytes: number;
  /** Size of the committed object the data mutations apply to (0 once removed). */
  baseSizeBytes: number;
  baseGone = false;
  dataMuts: Mutation[] = [];
  attrs: Map<string, Buffer> | null = null;
  omap: OmapOverlay = { cleared: false, sets: new Map(), rms: new Set() };
  readonly mutations: Mutation[] = [];

  constructor(readonly store: ObjectStore, readonly cid: string, readonly oid: ObjectId, existed: boolean, size: number, readonly info: ObjectInfo | null) {
    this.exists = existed;
    this.sizeBytes = size;
    this.baseSizeBytes = size;
    // No committed object: nothing to read from the store (data, xattrs and omap start empty).
    this.baseGone = !existed;
  }

  get version(): number {
    return this.info?.version.v ?? 0;
  }

  async userAttrs(): Promise<Map<string, Buffer>> {
    if (this.attrs === null) {
      const all = !this.baseGone ? await this.store.getattrs(this.cid, this.oid) : new Map<string, Buffer>();
      this.attrs = new Map();
      for (const [k, v] of all) if (k !== OBJECT_INFO_ATTR && k.startsWith(USER_ATTR_PREFIX)) this.attrs.set(k.slice(1), v);
    }
    return this.attrs;
  }

  create(): void {
    if (this.exists) return;
    this.exists = true;
    this.mutations.push({ m: 'touch' });
  }

  removeAll(): void {
    this.mutations.push({ m: 'remove' });
    this.exists = false;
    this.sizeBytes = 0;
    this.baseSizeBytes = 0;
    this.baseGone = true;
    this.dataMuts = [];
    this.attrs = new Map();
    this.omap = { cleared: true, sets: new Map(), rms: new Set() };
  }

  dataMutation(mu: Mutation, newSize: number): void {
    this.exists = true;
    this.mutations.push(mu);
    this.dataMuts.push(mu);
    this.sizeBytes = newSize;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.sizeBytes || length === 0) return Buffer.alloc(0);
    const len = Math.min(length, this.sizeBytes - offset);
    if (this.dataMuts.length === 0 && !this.baseGone) return this.store.read(this.cid, this.oid, offset, len);
    const buf = Buffer.alloc(len);
    if (!this.baseGone && offset < this.baseSizeBytes) (await this.store.read(this.cid, this.oid, offset, len)).copy(buf);
    let size = this.baseSizeBytes;
    for (const mu of this.dataMuts) {
      if (mu.m === 'write') {
        copyOverlap(buf, offset, mu.data, mu.offset);
        size = Math.max(size, mu.offset + mu.data.length);
      } else if (mu.m === 'zero') {
        fillOverlap(buf, offset, mu.offset, mu.length);
      } else if (mu.m === 'truncate') {
        if (mu.size < size) fillOverlap(buf, offset, mu.size, size - mu.size);
        size = mu.size;
      }
    }
    return buf;
  }
}

function copyOverlap(buf: Buffer, bufOffset: number, data: Buffer, dataOffset: number): void {
  const start = Math.max(bufOffset, dataOffset);
  const end = Math.min(bufOffset + buf.length, dataOffset + data.length);
  if (start < end) data.copy(buf, start - bufOffset, start - dataOffset, end - dataOffset);
}

function fillOverlap(buf: Buffer, bufOffset: number, offset: number, length: number): void {
  const start = Math.max(bufOffset, offset);
  const end = Math.min(bufOffset + buf.length, offset + length);
  if (start < end) buf.fill(0, start - bufOffset, end - bufOffset);
}

/** Load the object's committed state (exists, size, object info). */
export async function loadObjectState(store: ObjectStore, cid: string, oid: ObjectId): Promise<{ exists: boolean; sizeBytes: number; info: ObjectInfo | null }> {
  if (!(await store.exists(cid, oid))) return { exists: false, sizeBytes: 0, info: null };
  const st = await store.stat(cid, oid);
  const attrs = await store.getattrs(cid, oid);
  const raw = attrs.get(OBJECT_INFO_ATTR);
  return { exists: true, sizeBytes: st.sizeBytes, info: raw === undefined ? null : decodeObjectInfo(raw) };
}

export async function evaluateOp(store: ObjectStore, cid: string, oid: ObjectId, ops: readonly SubOp[], limits: EvalLimits, isWrite: boolean): Promise<EvalOutcome> {
  const base = await loadObjectState(store, cid, oid);
  const view = new ObjectView(store, cid, oid, base.exists, base.sizeBytes, base.info);
  const results: SubOpResult[] = [];
  for (let i = 0; i < ops.length; i++) {
    try {
      results.push(await evalSubOp(view, ops[i]!, limits));
    } catch (e) {
      if (e instanceof NacreError) throw new NacreError(`op ${i} (${ops[i]!.op}): ${e.message}`, { code: e.code, cause: e });
      throw e;
    }
  }
  return {
    results, mutations: view.mutations, isWrite, existedBefore: base.exists, existsAfter: view.exists,
    sizeBefore: base.sizeBytes, sizeAfter: view.exists ? view.sizeBytes : 0, infoBefore: base.info,
  };
}

function needExists(view: ObjectView): void {
  if (!view.exists) throw err('ENOENT', 'object does not exist');
}

function checkEnd(offset: number, length: number, limits: EvalLimits): void {
  if (offset + length > limits.objectSizeBytesMax) {
    throw err('EFBIG', `end ${offset + length} is beyond the object size limit ${limits.objectSizeBytesMax}`);
  }
}

async function evalSubOp(view: ObjectView, op: SubOp, limits: EvalLimits): Promise<SubOpResult> {
  switch (op.op) {
    case 'create':
      if (view.exists && op.exclusive) throw err('EEXIST', 'object exists');
      view.create();
      return {};
    case 'write_full':
      checkEnd(0, op.data.length, limits);
      view.create();
      view.dataMutation({ m: 'truncate', size: 0 }, 0);
      if (op.data.length > 0) view.dataMutation({ m: 'write', offset: 0, data: op.data }, op.data.length);
      return {};
    case 'write':
      return writeAt(view, op.offset, op.data, limits);
    case 'append':
      return writeAt(view, view.exists ? view.sizeBytes : 0, op.data, limits);
    case 'truncate':
      checkEnd(op.size, 0, limits);
      view.create();
      view.dataMutation({ m: 'truncate', size: op.size }, op.size);
      return {};
    case 'zero': {
      checkEnd(op.offset, op.length, limits);
      if (!view.exists || op.offset >= view.sizeBytes || op.length === 0) return {};
      const length = Math.min(op.length, view.sizeBytes - op.offset);
      view.dataMutation({ m: 'zero', offset: op.offset, length }, view.sizeBytes);
      return {};
    }
    case 'remove':
      needExists(view);
      view.removeAll();
      return {};
    default:
      return evalMetaOp(view, op);
  }
}

function writeAt(view: ObjectView, offset: number, data: Buffer, limits: EvalLimits): SubOpResult {
  checkEnd(offset, data.length, limits);
  view.create();
  if (data.length > 0) view.dataMutation({ m: 'write', offset, data }, Math.max(view.sizeBytes, offset + data.length));
  return {};
}

async function evalMetaOp(view: ObjectView, op: SubOp): Promise<SubOpResult> {
  switch (op.op) {
    case 'read': {
      needExists(view);
      const length = op.length === 0 ? Math.max(0, view.sizeBytes - op.offset) : op.length;
      if (length > opDataBytesMax) throw err('EFBIG', `read of ${length} bytes exceeds ${opDataBytesMax} per sub-op; read in pieces`);
      return { data: await view.read(op.offset, length) };
    }
    case 'stat':
      needExists(view);
      return { size: view.sizeBytes, mtimeMs: view.info?.mtimeMs ?? 0, version: view.version };
    case 'assert_exists':
      needExists(view);
      return {};
    case 'assert_version':
      needExists(view);
      if (view.version !== op.version) throw err('ERANGE', `object version is ${view.version}, not ${op.version}`);
      return {};
    default:
      return evalAttrOp(view, op);
  }
}

const cmpPass: Record<'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte', (c: number) => boolean> = {
  eq: (c) => c === 0, ne: (c) => c !== 0, gt: (c) => c > 0, gte: (c) => c >= 0, lt: (c) => c < 0, lte: (c) => c <= 0,
};

async function evalAttrOp(view: ObjectView, op: SubOp): Promise<SubOpResult> {
  switch (op.op) {
    case 'getxattr': {
      needExists(view);
      const v = (await view.userAttrs()).get(op.name);
      if (v === undefined) throw err('ENOENT', `no xattr '${op.name}'`);
      return { value: v };
    }
    case 'getxattrs':
      needExists(view);
      return { attrs: [...(await view.userAttrs())].sort(([a], [b]) => byteCompare(a, b)) };
    case 'setxattr': {
      if (Buffer.byteLength(op.name) > 255) throw err('EINVAL', 'xattr names are at most 255 bytes');
      const attrs = await view.userAttrs();
      if (!attrs.has(op.name) && attrs.size >= userXattrsPerObjectMax) throw err('ENOSPC', `an object holds at most ${userXattrsPerObjectMax} xattrs`);
      view.create();
      attrs.set(op.name, op.value);
      view.mutations.push({ m: 'setattrs', attrs: [[USER_ATTR_PREFIX + op.name, op.value]] });
      return {};
    }
    case 'rmxattr': {
      needExists(view);
      const attrs = await view.userAttrs();
      if (!attrs.delete(op.name)) throw err('ENOENT', `no xattr '${op.name}'`);
      view.mutations.push({ m: 'rmattr', name: USER_ATTR_PREFIX + op.name });
      return {};
    }
    case 'cmpxattr': {
      needExists(view);
      const stored = (await view.userAttrs()).get(op.name) ?? Buffer.alloc(0);
      if (!cmpPass[op.cmp](Buffer.compare(stored, op.value))) throw err('ECANCELED', `xattr '${op.name}' comparison (${op.cmp}) failed`);
      return {};
    }
    default:
      return evalOmapOp(view, op);
  }
}

async function evalOmapOp(view: ObjectView, op: SubOp): Promise<SubOpResult> {
  switch (op.op) {
    case 'omap_set':
      view.create();
      for (const [k, v] of op.entries) {
        view.omap.sets.set(k, v);
        view.omap.rms.delete(k);
      }
      view.mutations.push({ m: 'omap_set', entries: op.entries });
      return {};
    case 'omap_rm':
      needExists(view);
      for (const k of op.keys) {
        view.omap.sets.delete(k);
        view.omap.rms.add(k);
      }
      view.mutations.push({ m: 'omap_rm', keys: op.keys });
      return {};
    case 'omap_clear':
      needExists(view);
      view.omap = { cleared: true, sets: new Map(), rms: new Set() };
      view.mutations.push({ m: 'omap_clear' });
      return {};
    case 'omap_get_vals_by_keys':
      needExists(view);
      return { entries: await omapByKeys(view, op.keys), more: false };
    case 'omap_get_vals':
      needExists(view);
      return omapRange(view, op.after, op.prefix, op.max, true);
    case 'omap_get_keys': {
      needExists(view);
      const r = await omapRange(view, op.after, '', op.max, false);
      return { keys: (r as { entries: [string, Buffer][]; more: boolean }).entries.map(([k]) => k), more: (r as { more: boolean }).more };
    }
    default:
      throw err('EINVAL', `unknown sub-op ${(op as { op: string }).op}`);
  }
}

async function omapByKeys(view: ObjectView, keys: readonly string[]): Promise<[string, Buffer][]> {
  const o = view.omap;
  const fromBase = keys.filter((k) => !o.sets.has(k) && !o.rms.has(k));
  const base = o.cleared || view.baseGone || fromBase.length === 0 ? new Map<string, Buffer>() : await view.store.omapGetValues(view.cid, view.oid, fromBase);
  const out: [string, Buffer][] = [];
  for (const k of new Set(keys)) {
    const v = o.sets.get(k) ?? (o.rms.has(k) || o.cleared ? undefined : base.get(k));
    if (v !== undefined) out.push([k, v]);
  }
  return out.sort(([a], [b]) => byteCompare(a, b));
}

/** Keys > after that start with prefix, at most max, merged with this op's own omap changes. */
async function omapRange(view: ObjectView, after: string, prefix: string, max: number, withValues: boolean): Promise<SubOpResult> {
  const o = view.omap;
  const inRange = (k: string): boolean => byteCompare(k, after) > 0 && k.startsWith(prefix);
  const merged = new Map<string, Buffer>();
  let baseMore = false;
  if (!o.cleared && !view.baseGone) {
    const start = byteCompare(prefix, after) > 0 ? prefix : undefined;
    const page = await view.store.omapGetRange(view.cid, view.oid, {
      ...(start !== undefined ? { start } : {}),
      ...(after !== '' ? { after } : {}),
      limitCount: Math.min(100_000, max + o.rms.size + 1),
    });
    for (const [k, v] of page.entries) {
      if (!k.startsWith(prefix)) {
        if (byteCompare(k, prefix) > 0) break;
        continue;
      }
      if (!o.rms.has(k)) merged.set(k, v);
    }
    baseMore = page.more && page.entries.length > 0 && page.entries[page.entries.length - 1]![0].startsWith(prefix);
  }
  for (const [k, v] of o.sets) if (inRange(k)) merged.set(k, v);
  const sorted = [...merged].filter(([k]) => inRange(k)).sort(([a], [b]) => byteCompare(a, b));
  const more = sorted.length > max || baseMore;
  const entries = sorted.slice(0, max);
  void withValues;
  return { entries, more };
}
