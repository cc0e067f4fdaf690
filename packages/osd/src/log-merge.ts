/**
 * Merging an OSD's PG log with the authoritative log chosen by peering (pure).
 *
 * Every OSD's log is a path through one tree of histories: a prefix shared with the authoritative
 * log, then possibly entries of its own that never became authoritative (a primary wrote them
 * locally, or to some replicas, and died before every acting OSD had them — so they were never
 * acknowledged). Merging:
 *
 *   1. If the local head is older than the authoritative tail, the logs do not overlap: the OSD
 *      cannot be brought up to date from the log (it needs a backfill).
 *   2. Walk the local log back from its head while entries are newer than the authoritative tail
 *      and absent from the authoritative log: these are divergent. If the walk reaches the local
 *      tail and that version is neither at/below the authoritative tail nor in the authoritative
 *      log, the divergence goes back into trimmed history: backfill.
 *   3. The newest common version `common` is where the walk stopped; if it is older than the
 *      authoritative tail, the entries in between are gone from both logs: backfill.
 *   4. Per object, the state the OSD must reach: the newest authoritative entry after `common`
 *      for it (modify → the object at that version is missing; delete → remove it here), else,
 *      for objects touched only by divergent entries, the state before the first divergent entry
 *      (its `prior`: zero → the object must not exist; else missing at `prior`).
 *   5. The OSD adopts the authoritative log as its own.
 *
 * Replicated objects are rolled back by fetching the authoritative copy (marking them missing),
 * never by undoing bytes locally, so a divergent write can never stay half-visible: until recovery
 * completes the object is missing, and ops on it wait.
 */
import { compareVersions, isZeroVersion, versionKey, type Eversion } from './eversion.js';
import { objectKeyText } from './object-name.js';
import type { LogEntry, MissingItem, ObjRef } from './pg-types.js';

export interface LogView {
  readonly tail: Eversion;
  readonly head: Eversion;
  readonly entries: readonly LogEntry[];
}

export type MergeResult =
  | { kind: 'backfill'; reason: string }
  | {
      kind: 'merged';
      /** Newest version both logs share. */
      common: Eversion;
      /** Local entries that were never authoritative (rolled back). */
      divergent: LogEntry[];
      /** Authoritative entries this OSD did not have. */
      added: LogEntry[];
      /** Missing items to set (replacing any existing item of the same object). */
      missingSet: MissingItem[];
      /** Objects that must not exist here: delete them if present, and drop any missing item. */
      removeObjects: ObjRef[];
    };

function logVersionSet(view: LogView): Set<string> {
  const s = new Set<string>();
  for (const e of view.entries) s.add(versionKey(e.version));
  return s;
}

export function mergeLog(local: LogView, localMissing: ReadonlyMap<string, MissingItem>, auth: LogView): MergeResult {
  if (compareVersions(local.head, auth.tail) < 0) {
    return { kind: 'backfill', reason: `local head ${fmt(local.head)} older than authoritative tail ${fmt(auth.tail)}` };
  }
  const authVersions = logVersionSet(auth);
  const isCommon = (v: Eversion): boolean => compareVersions(v, auth.tail) <= 0 || authVersions.has(versionKey(v));
  let i = local.entries.length - 1;
  while (i >= 0 && !isCommon(local.entries[i]!.version)) i--;
  if (i < 0 && !isCommon(local.tail)) {
    return { kind: 'backfill', reason: `divergence reaches past the local tail ${fmt(local.tail)}` };
  }
  const common = i >= 0 ? local.entries[i]!.version : local.tail;
  if (compareVersions(common, auth.tail) < 0) {
    // We share history only up to a point the authoritative log has trimmed: what happened between
    // there and its tail is unknown to us.
    return { kind: 'backfill', reason: `common point ${fmt(common)} is older than the authoritative tail ${fmt(auth.tail)}` };
  }
  const divergent = local.entries.slice(i + 1);
  const added = auth.entries.filter((e) => compareVersions(e.version, common) > 0);

  // Target state per object: authoritative entries win; otherwise the pre-divergence state.
  const target = new Map<string, { oid: ObjRef; exists: boolean; version: Eversion }>();
  for (const e of divergent) {
    const key = objectKeyText(e.oid);
    if (!target.has(key)) target.set(key, { oid: e.oid, exists: !isZeroVersion(e.prior), version: e.prior });
  }
  for (const e of added) {
    target.set(objectKeyText(e.oid), { oid: e.oid, exists: e.op === 'modify', version: e.version });
  }
  const localNewest = new Map<string, Eversion>();
  for (const e of local.entries) localNewest.set(objectKeyText(e.oid), e.op === 'modify' ? e.version : { epoch: 0, v: 0 });

  const missingSet: MissingItem[] = [];
  const removeObjects: ObjRef[] = [];
  for (const [key, t] of target) {
    if (!t.exists) {
      removeObjects.push(t.oid);
      continue;
    }
    const have = localMissing.get(key)?.have ?? localNewest.get(key) ?? { epoch: 0, v: 0 };
    missingSet.push({ oid: t.oid, need: t.version, have });
  }
  return { kind: 'merged', common, divergent, added, missingSet, removeObjects };
}

function fmt(v: Eversion): string {
  return `${v.epoch}'${v.v}`;
}
