/**
 * The ObjectStore interface shared by BlockStore (on disk) and MemStore (in memory). Both pass
 * one conformance suite. Reads see committed transactions only.
 */
import type { ObjectId } from './object-id.js';
import type { Transaction } from './txn.js';

export type StoreStatus = 'new' | 'opening' | 'open' | 'closing' | 'closed' | 'failed';

export interface StatFs {
  /** Raw capacity of the data area. */
  totalBytes: number;
  /** Bytes in allocated units (shared units count once). */
  allocatedBytes: number;
  /** Sum of object sizes (logical bytes; holes and sharing make this differ from allocated). */
  storedBytes: number;
  /** Bytes a normal write may still allocate (the shrink reserve is excluded). */
  availableBytes: number;
  objectCount: number;
}

export interface ObjectStat {
  sizeBytes: number;
  /** Bytes of units the object references (shared units count for every sharer). */
  allocatedBytes: number;
}

export interface ListObjectsOptions {
  /** Start at this position (inclusive); omit to start at the beginning. */
  start?: ObjectId;
  /** Page size (default 1000, at most listObjectsMax). */
  limitCount?: number;
}

export interface ObjectPage {
  objects: ObjectId[];
  /** Position of the next page (pass as `start`), or null at the end. */
  next: ObjectId | null;
}

export interface OmapRangeOptions {
  /** First key (inclusive). */
  start?: string;
  /** First key not returned (exclusive). */
  end?: string;
  /** Return only keys after this one (exclusive); used for paging. */
  after?: string;
  limitCount?: number;
}

export interface OmapPage {
  /** Entries in key order (UTF-8 byte order). */
  entries: Array<[string, Buffer]>;
  /** True if the range holds more entries than returned. */
  more: boolean;
}

export type FsckProblemKind =
  | 'leaked-unit' | 'unallocated-unit' | 'shared-unit' | 'refcount' | 'unit-out-of-range'
  | 'onode' | 'omap-orphan' | 'collection' | 'stats' | 'superblock' | 'allocator' | 'checksum';

export interface FsckProblem {
  kind: FsckProblemKind;
  message: string;
}

export interface FsckReport {
  clean: boolean;
  deep: boolean;
  /** The first problems found (at most fsckProblemsMax), and how many there were in all. */
  problems: FsckProblem[];
  problemCount: number;
  objectCount: number;
  collectionCount: number;
  /** Data units referenced by onodes (shared units once). */
  unitsReferenced: number;
  /** Units checked against their checksum (deep only). */
  unitsVerified: number;
}

export interface ObjectStore {
  readonly status: StoreStatus;
  mount(): Promise<void>;
  umount(): Promise<void>;
  statfs(): Promise<StatFs>;
  /** Resolves once every op is applied and on stable storage; rejects (changing nothing) otherwise. */
  queueTransaction(txn: Transaction): Promise<void>;
  listCollections(): Promise<string[]>;
  collectionExists(cid: string): Promise<boolean>;
  listObjects(cid: string, options?: ListObjectsOptions): Promise<ObjectPage>;
  exists(cid: string, oid: ObjectId): Promise<boolean>;
  stat(cid: string, oid: ObjectId): Promise<ObjectStat>;
  /** Read `lengthBytes` (default: to the end) at `offsetBytes`; short at the end of the object. */
  read(cid: string, oid: ObjectId, offsetBytes?: number, lengthBytes?: number): Promise<Buffer>;
  getattr(cid: string, oid: ObjectId, name: string): Promise<Buffer>;
  getattrs(cid: string, oid: ObjectId): Promise<Map<string, Buffer>>;
  /** Values of the given keys that exist. */
  omapGetValues(cid: string, oid: ObjectId, keys: string[]): Promise<Map<string, Buffer>>;
  omapGetRange(cid: string, oid: ObjectId, options?: OmapRangeOptions): Promise<OmapPage>;
  fsck(options?: { deep?: boolean }): Promise<FsckReport>;
}
