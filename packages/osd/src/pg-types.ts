/**
 * The PG's persistent vocabulary: log entries, the PG info, missing items, dups. These are what
 * peering exchanges and what the pgmeta object holds (store-layout.ts).
 */
import type { Eversion } from './eversion.js';

/** An object inside a PG: placement hash and store name (the pool is the PG's). */
export interface ObjRef {
  readonly hash: number;
  readonly name: string;
}

export type LogOp = 'modify' | 'delete';

export interface LogEntry {
  readonly version: Eversion;
  /** The object's version before this entry (zero: it did not exist). Used to roll back divergence. */
  readonly prior: Eversion;
  readonly op: LogOp;
  readonly oid: ObjRef;
  /** Canonical reqid text `client/inc/tid` (null for internal writes). */
  readonly reqid: string | null;
  readonly mtimeMs: number;
  /** The reply's per-sub-op results when small (answers a resend after the entry left the primary). */
  readonly results?: readonly unknown[];
}

export interface DupEntry {
  readonly reqid: string;
  readonly version: Eversion;
  readonly results?: readonly unknown[];
}

export interface PgInfo {
  readonly pgid: string;
  /** Newest entry applied to this OSD's log. */
  readonly lastUpdate: Eversion;
  /** The log holds entries (logTail, lastUpdate]. */
  readonly logTail: Eversion;
  /**
   * Epoch of the last activation of this PG that this OSD took part in (Ceph last_epoch_started).
   * Written before the OSD acknowledges activation, so every write of an interval is on OSDs whose
   * info carries that interval's activation epoch.
   */
  readonly lastEpochStarted: number;
  /** Epoch at which the PG was last seen clean by its primary (informational). */
  readonly lastEpochClean: number;
  /** Objects and logical bytes in this OSD's copy (one replica). */
  readonly objects: number;
  readonly bytes: number;
}

export interface MissingItem {
  readonly oid: ObjRef;
  /** Version the object must reach. */
  readonly need: Eversion;
  /** Version this OSD holds (zero: none). */
  readonly have: Eversion;
}

export function emptyPgInfo(pgid: string): PgInfo {
  const zero = { epoch: 0, v: 0 };
  return { pgid, lastUpdate: zero, logTail: zero, lastEpochStarted: 0, lastEpochClean: 0, objects: 0, bytes: 0 };
}

export function reqidText(r: { client: string; inc: number; tid: number }): string {
  return `${r.client}/${r.inc}/${r.tid}`;
}
