/**
 * How an OSD lays out its store (see docs/osd.md):
 *
 *   collection `meta`
 *     object `osd_superblock`       omap `sb` → { osd, uuid, fsid, formatVersion }
 *     object `osdmap.<epoch>`       data = encoded full OSDMap (where a history run starts)
 *     object `inc_osdmap.<epoch>`   data = encoded incremental (epoch-1 → epoch)
 *   collection `<pgid>_head`         one per PG this OSD holds, e.g. `1.2a_head`
 *     pool -1 object `pgmeta`        omap:
 *         info                      → PgInfo
 *         log.<epoch10>.<v16>       → LogEntry          (the PG log, in version order)
 *         dup.<epoch10>.<v16>       → DupEntry          (reqids of trimmed entries)
 *         miss.<hash8>.<name>       → MissingItem       (objects this OSD must still recover)
 *     pool ≥ 0 objects              client objects; xattr `_` = object info, `_<name>` = user xattr
 *     pool -2 objects               recovery temp objects (a chunked copy in progress)
 *
 * The PG info, log entry and data of a write go in one store transaction, so after a crash the
 * log never claims a write the data lacks, nor the reverse.
 */
import { NacreError } from '@nacre/util';
import type { ObjectStore, Transaction } from '@nacre/objectstore';
import { versionKey } from './eversion.js';
import { objectKeyText, pgmetaOid } from './object-name.js';
import {
  dupFromWire, dupToWire, entryFromWire, entryToWire, fromDisk, infoFromWire, infoToWire, missingFromWire, missingToWire, pgPackr,
} from './pg-codec.js';
import type { DupEntry, LogEntry, MissingItem, ObjRef, PgInfo } from './pg-types.js';

export const META_CID = 'meta';
export const SUPERBLOCK_NAME = 'osd_superblock';
export const OSD_FORMAT_VERSION = 1;

/** The object info xattr (Ceph's `_`); user xattr `x` is stored as `_x`. */
export const OBJECT_INFO_ATTR = '_';
export const USER_ATTR_PREFIX = '_';

export const INFO_KEY = 'info';
const LOG_PREFIX = 'log.';
const DUP_PREFIX = 'dup.';
const MISS_PREFIX = 'miss.';
/** Pages read when loading a PG's pgmeta. */
const loadPageEntries = 10_000;

export function pgCollection(pgid: string): string {
  return `${pgid}_head`;
}

const pgCollectionRe = /^(\d+\.[0-9a-f]+)_head$/;

export function pgidOfCollection(cid: string): string | null {
  const m = pgCollectionRe.exec(cid);
  return m === null ? null : m[1]!;
}

export function logKey(e: LogEntry): string {
  return LOG_PREFIX + versionKey(e.version);
}

export function dupKey(d: DupEntry): string {
  return DUP_PREFIX + versionKey(d.version);
}

export function missingKey(oid: ObjRef): string {
  return MISS_PREFIX + objectKeyText(oid);
}

const pack = (v: unknown): Buffer => pgPackr.pack(v);

/** Accumulates pgmeta changes for one transaction. */
export class PgMetaWriter {
  private readonly sets = new Map<string, Buffer>();
  private readonly rms = new Set<string>();

  setInfo(info: PgInfo): this { return this.set(INFO_KEY, pack(infoToWire(info))); }
  addEntry(e: LogEntry): this { return this.set(logKey(e), pack(entryToWire(e))); }
  removeEntry(e: LogEntry): this { return this.rm(logKey(e)); }
  addDup(d: DupEntry): this { return this.set(dupKey(d), pack(dupToWire(d))); }
  removeDup(d: DupEntry): this { return this.rm(dupKey(d)); }
  setMissing(m: MissingItem): this { return this.set(missingKey(m.oid), pack(missingToWire(m))); }
  removeMissing(oid: ObjRef): this { return this.rm(missingKey(oid)); }

  private set(key: string, value: Buffer): this {
    this.rms.delete(key);
    this.sets.set(key, value);
    return this;
  }

  private rm(key: string): this {
    this.sets.delete(key);
    this.rms.add(key);
    return this;
  }

  get empty(): boolean {
    return this.sets.size === 0 && this.rms.size === 0;
  }

  /** Add the changes to `txn` (removals first, so a key removed then set ends up set). */
  applyTo(txn: Transaction, cid: string): void {
    const oid = pgmetaOid();
    if (this.rms.size > 0) txn.omapRmKeys(cid, oid, [...this.rms]);
    if (this.sets.size > 0) txn.omapSetKeys(cid, oid, this.sets);
  }
}

export interface LoadedPg {
  info: PgInfo;
  entries: LogEntry[];
  dups: DupEntry[];
  missing: MissingItem[];
}

async function readRange<T>(store: ObjectStore, cid: string, prefix: string, decode: (raw: unknown, what: string) => T): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  for (;;) {
    const page = await store.omapGetRange(cid, pgmetaOid(), { start: prefix, end, ...(after !== undefined ? { after } : {}), limitCount: loadPageEntries });
    for (const [k, v] of page.entries) out.push(fromDisk(v, `pgmeta ${cid} ${k}`, (raw) => decode(raw, k)));
    if (!page.more || page.entries.length === 0) return out;
    after = page.entries[page.entries.length - 1]![0];
  }
}

/** Read a PG's pgmeta (info, log, dups, missing). ENOENT if the collection has no pgmeta. */
export async function loadPg(store: ObjectStore, pgid: string): Promise<LoadedPg> {
  const cid = pgCollection(pgid);
  const infoBytes = (await store.omapGetValues(cid, pgmetaOid(), [INFO_KEY])).get(INFO_KEY);
  if (infoBytes === undefined) throw new NacreError(`pg ${pgid}: no info in pgmeta`, { code: 'ENOENT' });
  const info = fromDisk(infoBytes, `pgmeta ${cid} info`, (raw) => infoFromWire(raw));
  if (info.pgid !== pgid) throw new NacreError(`pg ${pgid}: pgmeta belongs to ${info.pgid}`, { code: 'EIO' });
  const entries = await readRange(store, cid, LOG_PREFIX, entryFromWire);
  const dups = await readRange(store, cid, DUP_PREFIX, dupFromWire);
  const missing = await readRange(store, cid, MISS_PREFIX, missingFromWire);
  return { info, entries, dups, missing };
}

/** Create a PG's collection and pgmeta (first time this OSD holds the PG). */
export function createPgTxn(txn: Transaction, info: PgInfo): void {
  const cid = pgCollection(info.pgid);
  txn.createCollection(cid);
  txn.touch(cid, pgmetaOid());
  new PgMetaWriter().setInfo(info).applyTo(txn, cid);
}
