/**
 * A PG's log in memory: entries (tail, head] in version order, a reqid index over entries and
 * dups, and trimming with a bound. The pgmeta object holds the same entries (store-layout.ts); the
 * caller writes the keys this class reports in the transaction that changes the log, so memory
 * and disk never disagree after a commit.
 */
import { assert } from '@nacre/util';
import { compareVersions, formatVersion, versionLt, ZERO_VERSION, type Eversion } from './eversion.js';
import type { DupEntry, LogEntry } from './pg-types.js';

export interface LogTrim {
  /** Entries dropped from the log (delete their keys). */
  removed: LogEntry[];
  /** Dups added (their reqids) and dups dropped because of the dups bound. */
  dupsAdded: DupEntry[];
  dupsRemoved: DupEntry[];
}

export class PgLog {
  private entriesValue: LogEntry[] = [];
  private tailValue: Eversion = ZERO_VERSION;
  private readonly byReqid = new Map<string, LogEntry | DupEntry>();
  private dupsValue: DupEntry[] = [];

  constructor(readonly entriesMax: number, readonly dupsMax: number) {
    assert(entriesMax > 0 && dupsMax > 0, 'log bounds must be positive');
  }

  get entries(): readonly LogEntry[] {
    return this.entriesValue;
  }

  get dups(): readonly DupEntry[] {
    return this.dupsValue;
  }

  get tail(): Eversion {
    return this.tailValue;
  }

  get head(): Eversion {
    const n = this.entriesValue.length;
    return n === 0 ? this.tailValue : this.entriesValue[n - 1]!.version;
  }

  get length(): number {
    return this.entriesValue.length;
  }

  /** Replace everything (load from disk, or adopt an authoritative log). */
  reset(tail: Eversion, entries: readonly LogEntry[], dups: readonly DupEntry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const prev = i === 0 ? tail : entries[i - 1]!.version;
      assert(versionLt(prev, entries[i]!.version), () => `log entries out of order at ${formatVersion(entries[i]!.version)}`);
    }
    this.tailValue = tail;
    this.entriesValue = [...entries];
    this.dupsValue = [...dups].slice(-this.dupsMax);
    this.byReqid.clear();
    for (const d of this.dupsValue) this.byReqid.set(d.reqid, d);
    for (const e of this.entriesValue) if (e.reqid !== null) this.byReqid.set(e.reqid, e);
  }

  append(entry: LogEntry): void {
    assert(versionLt(this.head, entry.version), () => `log append ${formatVersion(entry.version)} not after head ${formatVersion(this.head)}`);
    assert(this.entriesValue.length < this.entriesMax + 1, 'log over its bound: trim before appending');
    this.entriesValue.push(entry);
    if (entry.reqid !== null) this.byReqid.set(entry.reqid, entry);
  }

  findReqid(reqid: string): LogEntry | DupEntry | undefined {
    return this.byReqid.get(reqid);
  }

  /** Entries newer than `after`. */
  entriesAfter(after: Eversion): LogEntry[] {
    let lo = 0;
    let hi = this.entriesValue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareVersions(this.entriesValue[mid]!.version, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.entriesValue.slice(lo);
  }

  /**
   * Drop the oldest entries until at most `keepCount` remain; their reqids move to the dups list
   * (bounded by dupsMax). Returns what changed so the caller can update the pgmeta keys.
   */
  trimTo(keepCount: number): LogTrim {
    const out: LogTrim = { removed: [], dupsAdded: [], dupsRemoved: [] };
    const dropCount = this.entriesValue.length - keepCount;
    if (dropCount <= 0) return out;
    out.removed = this.entriesValue.splice(0, dropCount);
    this.tailValue = out.removed[out.removed.length - 1]!.version;
    for (const e of out.removed) {
      if (e.reqid === null) continue;
      const dup: DupEntry = e.results !== undefined ? { reqid: e.reqid, version: e.version, results: e.results } : { reqid: e.reqid, version: e.version };
      this.dupsValue.push(dup);
      this.byReqid.set(e.reqid, dup);
      out.dupsAdded.push(dup);
    }
    const over = this.dupsValue.length - this.dupsMax;
    if (over > 0) {
      out.dupsRemoved = this.dupsValue.splice(0, over);
      for (const d of out.dupsRemoved) if (this.byReqid.get(d.reqid) === d) this.byReqid.delete(d.reqid);
    }
    // A dup added and dropped in the same trim needs no key at all.
    if (out.dupsRemoved.length > 0) {
      const dropped = new Set(out.dupsRemoved);
      const added = out.dupsAdded.filter((d) => !dropped.has(d));
      out.dupsRemoved = out.dupsRemoved.filter((d) => !out.dupsAdded.includes(d));
      out.dupsAdded = added;
    }
    return out;
  }
}
