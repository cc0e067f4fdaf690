/**
 * A transaction: an ordered list of ops applied atomically and durably by `queueTransaction`.
 * Later ops see the effects of earlier ones (write then clone clones the written data). If any op
 * fails (ENOENT, EEXIST, ENOTEMPTY, ENOSPC, EIO...) the whole transaction fails and nothing changes.
 *
 * Data buffers are referenced, not copied: do not modify them until the transaction settles.
 */
import { NacreError } from '@nacre/util';
import { validateCollectionId, validateObjectId, type ObjectId } from './object-id.js';
import {
  attrNameBytesMax, attrValueBytesMax, attrsPerObjectMax, objectSizeBytesMax, omapKeyBytesMax,
  omapValueBytesMax, txnDataBytesMax, txnOpsMax,
} from './limits.js';

export type TxnOp =
  | { op: 'createCollection'; cid: string }
  | { op: 'removeCollection'; cid: string }
  | { op: 'touch'; cid: string; oid: ObjectId }
  | { op: 'write'; cid: string; oid: ObjectId; offsetBytes: number; data: Uint8Array }
  | { op: 'zero'; cid: string; oid: ObjectId; offsetBytes: number; lengthBytes: number }
  | { op: 'truncate'; cid: string; oid: ObjectId; sizeBytes: number }
  | { op: 'remove'; cid: string; oid: ObjectId }
  | { op: 'clone'; cid: string; oid: ObjectId; dst: ObjectId }
  | { op: 'setattrs'; cid: string; oid: ObjectId; attrs: Map<string, Uint8Array> }
  | { op: 'rmattr'; cid: string; oid: ObjectId; name: string }
  | { op: 'omapSetKeys'; cid: string; oid: ObjectId; entries: Map<string, Uint8Array> }
  | { op: 'omapRmKeys'; cid: string; oid: ObjectId; keys: string[] }
  | { op: 'omapClear'; cid: string; oid: ObjectId };

export type TxnOpName = TxnOp['op'];

/** Ops that never need new space beyond the shrink reserve (so they work on a full store). */
const shrinkOps: ReadonlySet<TxnOpName> = new Set<TxnOpName>([
  'remove', 'truncate', 'rmattr', 'omapRmKeys', 'omapClear', 'removeCollection', 'zero',
]);

function invalid(message: string): NacreError {
  return new NacreError(message, { code: 'EINVAL' });
}

function checkRange(offsetBytes: number, lengthBytes: number, what: string): void {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw invalid(`${what}: bad offset ${String(offsetBytes)}`);
  if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0) throw invalid(`${what}: bad length ${String(lengthBytes)}`);
  if (offsetBytes + lengthBytes > objectSizeBytesMax) {
    throw new NacreError(`${what}: end ${offsetBytes + lengthBytes} beyond the object size limit ${objectSizeBytesMax}`, { code: 'EFBIG' });
  }
}

function toMap(entries: Map<string, Uint8Array> | Record<string, Uint8Array>): Map<string, Uint8Array> {
  return entries instanceof Map ? new Map(entries) : new Map(Object.entries(entries));
}

function checkAttrName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > attrNameBytesMax) {
    throw invalid(`bad attr name '${String(name)}'`);
  }
}

function checkOmapKey(key: string): void {
  if (typeof key !== 'string' || Buffer.byteLength(key) > omapKeyBytesMax) throw invalid('bad omap key');
  if (Buffer.from(key, 'utf8').toString('utf8') !== key) throw invalid('omap key is not well-formed Unicode');
}

function checkBytes(value: unknown, maxBytes: number, what: string): void {
  if (!(value instanceof Uint8Array)) throw invalid(`${what} must be a Uint8Array`);
  if (value.length > maxBytes) throw invalid(`${what} larger than ${maxBytes} bytes`);
}

/** Validate one op (shape and limits, not state). Throws EINVAL or EFBIG. */
export function validateOp(op: TxnOp): void {
  validateCollectionId(op.cid);
  switch (op.op) {
    case 'createCollection':
    case 'removeCollection':
      return;
    case 'touch': case 'remove': case 'omapClear':
      validateObjectId(op.oid);
      return;
    case 'write':
      validateObjectId(op.oid);
      if (!(op.data instanceof Uint8Array)) throw invalid('write data must be a Uint8Array');
      checkRange(op.offsetBytes, op.data.length, 'write');
      return;
    case 'zero':
      validateObjectId(op.oid);
      checkRange(op.offsetBytes, op.lengthBytes, 'zero');
      return;
    case 'truncate':
      validateObjectId(op.oid);
      checkRange(op.sizeBytes, 0, 'truncate');
      return;
    case 'clone':
      validateObjectId(op.oid);
      validateObjectId(op.dst);
      return;
    case 'setattrs':
      validateObjectId(op.oid);
      if (op.attrs.size > attrsPerObjectMax) throw invalid(`more than ${attrsPerObjectMax} attrs`);
      for (const [name, value] of op.attrs) { checkAttrName(name); checkBytes(value, attrValueBytesMax, 'attr value'); }
      return;
    case 'rmattr':
      validateObjectId(op.oid);
      checkAttrName(op.name);
      return;
    case 'omapSetKeys':
      validateObjectId(op.oid);
      for (const [key, value] of op.entries) { checkOmapKey(key); checkBytes(value, omapValueBytesMax, 'omap value'); }
      return;
    case 'omapRmKeys':
      validateObjectId(op.oid);
      if (!Array.isArray(op.keys)) throw invalid('omap keys must be an array');
      for (const key of op.keys) checkOmapKey(key);
      return;
    default: {
      const unknown: never = op;
      throw invalid(`unknown op ${String((unknown as { op?: unknown }).op)}`);
    }
  }
}

/** Validate a whole transaction (also done by queueTransaction). */
export function validateTransaction(txn: Transaction): void {
  if (!(txn instanceof Transaction)) throw invalid('not a Transaction');
  if (txn.ops.length > txnOpsMax) throw invalid(`transaction has more than ${txnOpsMax} ops`);
  let dataBytes = 0;
  for (const op of txn.ops) {
    validateOp(op);
    if (op.op === 'write') dataBytes += op.data.length;
  }
  if (dataBytes > txnDataBytesMax) throw invalid(`transaction carries more than ${txnDataBytesMax} bytes`);
}

export class Transaction {
  readonly ops: TxnOp[] = [];

  private push(op: TxnOp): this {
    validateOp(op);
    if (this.ops.length >= txnOpsMax) throw invalid(`transaction has more than ${txnOpsMax} ops`);
    this.ops.push(op);
    return this;
  }

  /** True if every op only shrinks the store: such a transaction may use the reserve. */
  get shrinkOnly(): boolean {
    return this.ops.every((op) => shrinkOps.has(op.op));
  }

  get empty(): boolean {
    return this.ops.length === 0;
  }

  createCollection(cid: string): this { return this.push({ op: 'createCollection', cid }); }
  /** Fails with ENOTEMPTY unless the collection holds no objects (after earlier ops). */
  removeCollection(cid: string): this { return this.push({ op: 'removeCollection', cid }); }
  /** Create the object if absent. */
  touch(cid: string, oid: ObjectId): this { return this.push({ op: 'touch', cid, oid }); }
  /** Write bytes (creates the object; extends its size if needed). */
  write(cid: string, oid: ObjectId, offsetBytes: number, data: Uint8Array): this {
    return this.push({ op: 'write', cid, oid, offsetBytes, data });
  }
  /** Zero a range (whole units become holes); extends the size like a write. */
  zero(cid: string, oid: ObjectId, offsetBytes: number, lengthBytes: number): this {
    return this.push({ op: 'zero', cid, oid, offsetBytes, lengthBytes });
  }
  /** Set the size (creates the object); bytes past the new end read as zeros if it grows later. */
  truncate(cid: string, oid: ObjectId, sizeBytes: number): this { return this.push({ op: 'truncate', cid, oid, sizeBytes }); }
  /** Remove the object with its attrs and omap (ENOENT if absent). */
  remove(cid: string, oid: ObjectId): this { return this.push({ op: 'remove', cid, oid }); }
  /** Make `dst` an independent copy of `src` (data, attrs, omap); replaces `dst` if it exists. */
  clone(cid: string, src: ObjectId, dst: ObjectId): this { return this.push({ op: 'clone', cid, oid: src, dst }); }
  setattrs(cid: string, oid: ObjectId, attrs: Map<string, Uint8Array> | Record<string, Uint8Array>): this {
    return this.push({ op: 'setattrs', cid, oid, attrs: toMap(attrs) });
  }
  setattr(cid: string, oid: ObjectId, name: string, value: Uint8Array): this {
    return this.setattrs(cid, oid, new Map([[name, value]]));
  }
  /** Remove one xattr (no error if it is absent; ENOENT if the object is). */
  rmattr(cid: string, oid: ObjectId, name: string): this { return this.push({ op: 'rmattr', cid, oid, name }); }
  /** Set omap entries (creates the object). */
  omapSetKeys(cid: string, oid: ObjectId, entries: Map<string, Uint8Array> | Record<string, Uint8Array>): this {
    return this.push({ op: 'omapSetKeys', cid, oid, entries: toMap(entries) });
  }
  omapRmKeys(cid: string, oid: ObjectId, keys: string[]): this { return this.push({ op: 'omapRmKeys', cid, oid, keys: [...keys] }); }
  omapClear(cid: string, oid: ObjectId): this { return this.push({ op: 'omapClear', cid, oid }); }
}
