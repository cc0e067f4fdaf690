/**
 * Public methods validate arguments and lifecycle state, then call the `_method` of the concrete
 * store (the abstract-level pattern). Concrete stores only implement; they may assume valid input.
 */
import { NacreError } from '@nacre/util';
import { validateCollectionId, validateObjectId, type ObjectId } from './object-id.js';
import { listObjectsMax, omapKeyBytesMax, omapRangeEntriesMax, attrNameBytesMax } from './limits.js';
import { Transaction, validateTransaction } from './txn.js';
import type {
  FsckReport, ListObjectsOptions, ObjectPage, ObjectStat, ObjectStore, OmapPage, OmapRangeOptions,
  StatFs, StoreStatus,
} from './types.js';

export const listObjectsDefaultCount = 1000;

function invalid(message: string): NacreError {
  return new NacreError(message, { code: 'EINVAL' });
}

export abstract class ObjectStoreBase implements ObjectStore {
  protected _status: StoreStatus = 'new';

  get status(): StoreStatus {
    return this._status;
  }

  protected requireOpen(): void {
    if (this._status === 'failed') throw new NacreError('store failed after an I/O error; remount', { code: 'EIO' });
    if (this._status !== 'open') throw new NacreError(`store is ${this._status}, not open`, { code: 'ESHUTDOWN' });
  }

  async mount(): Promise<void> {
    if (this._status !== 'new' && this._status !== 'closed') {
      throw new NacreError(`cannot mount a store that is ${this._status}`, { code: 'EBUSY' });
    }
    this._status = 'opening';
    try {
      await this._mount();
      this._status = 'open';
    } catch (err) {
      this._status = 'closed';
      throw err;
    }
  }

  async umount(): Promise<void> {
    if (this._status !== 'open' && this._status !== 'failed') {
      throw new NacreError(`cannot umount a store that is ${this._status}`, { code: 'EBUSY' });
    }
    this._status = 'closing';
    try {
      await this._umount();
    } finally {
      this._status = 'closed';
    }
  }

  async statfs(): Promise<StatFs> {
    this.requireOpen();
    return this._statfs();
  }

  async queueTransaction(txn: Transaction): Promise<void> {
    this.requireOpen();
    validateTransaction(txn);
    if (txn.empty) return;
    return this._queueTransaction(txn);
  }

  async listCollections(): Promise<string[]> {
    this.requireOpen();
    return this._listCollections();
  }

  async collectionExists(cid: string): Promise<boolean> {
    this.requireOpen();
    validateCollectionId(cid);
    return this._collectionExists(cid);
  }

  async listObjects(cid: string, options: ListObjectsOptions = {}): Promise<ObjectPage> {
    this.requireOpen();
    validateCollectionId(cid);
    if (options.start !== undefined) validateObjectId(options.start);
    const limitCount = options.limitCount ?? listObjectsDefaultCount;
    if (!Number.isInteger(limitCount) || limitCount < 1 || limitCount > listObjectsMax) {
      throw invalid(`limitCount must be 1..${listObjectsMax}`);
    }
    if (!(await this._collectionExists(cid))) throw new NacreError(`collection ${cid} not found`, { code: 'ENOENT' });
    return this._listObjects(cid, options.start, limitCount);
  }

  async exists(cid: string, oid: ObjectId): Promise<boolean> {
    this.checkObject(cid, oid);
    return this._exists(cid, oid);
  }

  async stat(cid: string, oid: ObjectId): Promise<ObjectStat> {
    this.checkObject(cid, oid);
    return this._stat(cid, oid);
  }

  async read(cid: string, oid: ObjectId, offsetBytes = 0, lengthBytes?: number): Promise<Buffer> {
    this.checkObject(cid, oid);
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw invalid(`bad read offset ${String(offsetBytes)}`);
    if (lengthBytes !== undefined && (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0)) {
      throw invalid(`bad read length ${String(lengthBytes)}`);
    }
    return this._read(cid, oid, offsetBytes, lengthBytes);
  }

  async getattr(cid: string, oid: ObjectId, name: string): Promise<Buffer> {
    this.checkObject(cid, oid);
    if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > attrNameBytesMax) throw invalid('bad attr name');
    const attrs = await this._getattrs(cid, oid);
    const value = attrs.get(name);
    if (value === undefined) throw new NacreError(`attr '${name}' not found`, { code: 'ENOENT' });
    return value;
  }

  async getattrs(cid: string, oid: ObjectId): Promise<Map<string, Buffer>> {
    this.checkObject(cid, oid);
    return this._getattrs(cid, oid);
  }

  async omapGetValues(cid: string, oid: ObjectId, keys: string[]): Promise<Map<string, Buffer>> {
    this.checkObject(cid, oid);
    if (!Array.isArray(keys) || keys.length > omapRangeEntriesMax) throw invalid('bad omap key list');
    for (const k of keys) if (typeof k !== 'string' || Buffer.byteLength(k) > omapKeyBytesMax) throw invalid('bad omap key');
    return this._omapGetValues(cid, oid, keys);
  }

  async omapGetRange(cid: string, oid: ObjectId, options: OmapRangeOptions = {}): Promise<OmapPage> {
    this.checkObject(cid, oid);
    for (const k of [options.start, options.end, options.after]) {
      if (k !== undefined && (typeof k !== 'string' || Buffer.byteLength(k) > omapKeyBytesMax)) throw invalid('bad omap range key');
    }
    const limitCount = options.limitCount ?? omapRangeEntriesMax;
    if (!Number.isInteger(limitCount) || limitCount < 1 || limitCount > omapRangeEntriesMax) {
      throw invalid(`limitCount must be 1..${omapRangeEntriesMax}`);
    }
    return this._omapGetRange(cid, oid, { ...options, limitCount });
  }

  async fsck(options: { deep?: boolean } = {}): Promise<FsckReport> {
    this.requireOpen();
    return this._fsck(options.deep === true);
  }

  private checkObject(cid: string, oid: ObjectId): void {
    this.requireOpen();
    validateCollectionId(cid);
    validateObjectId(oid);
  }

  protected abstract _mount(): Promise<void>;
  protected abstract _umount(): Promise<void>;
  protected abstract _statfs(): Promise<StatFs>;
  protected abstract _queueTransaction(txn: Transaction): Promise<void>;
  protected abstract _listCollections(): Promise<string[]>;
  protected abstract _collectionExists(cid: string): Promise<boolean>;
  protected abstract _listObjects(cid: string, start: ObjectId | undefined, limitCount: number): Promise<ObjectPage>;
  protected abstract _exists(cid: string, oid: ObjectId): Promise<boolean>;
  /** ENOENT if the object is absent. */
  protected abstract _stat(cid: string, oid: ObjectId): Promise<ObjectStat>;
  protected abstract _read(cid: string, oid: ObjectId, offsetBytes: number, lengthBytes: number | undefined): Promise<Buffer>;
  protected abstract _getattrs(cid: string, oid: ObjectId): Promise<Map<string, Buffer>>;
  protected abstract _omapGetValues(cid: string, oid: ObjectId, keys: string[]): Promise<Map<string, Buffer>>;
  protected abstract _omapGetRange(cid: string, oid: ObjectId, options: OmapRangeOptions & { limitCount: number }): Promise<OmapPage>;
  protected abstract _fsck(deep: boolean): Promise<FsckReport>;
}

export function notFound(what: string): NacreError {
  return new NacreError(`${what} not found`, { code: 'ENOENT' });
}
