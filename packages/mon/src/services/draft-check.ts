/**
 * The check that makes the diff approach safe: after a proposal's bytes are applied to the
 * committed state (as every monitor will apply them), the result must be what the command
 * handlers built in the draft. Replay is deterministic by construction, so this — not replay — is
 * what catches a transaction that loses part of a change (a field the diff forgot, an overlay
 * dropped); a reply would otherwise describe a state the cluster never reaches.
 *
 * Compared: the OSDMap (canonical bytes, ignoring the epoch stamp, poolMax of pools that never
 * reached an epoch, and the insertion order of overlay tables), OSD metadata, auth, config and the
 * monmap. Not the command log, whose eviction happens only on apply.
 */
import { encodeOsdMap, type OsdMap } from '@nacre/osdmap';
import type { MonState } from './mon-state.js';
import { stableJson } from './osdmap-diff.js';

function sorted<V>(m: ReadonlyMap<string, V>): Map<string, V> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function canonicalMap(m: OsdMap, like: OsdMap): Buffer {
  return encodeOsdMap({
    ...m, epoch: like.epoch, modifiedMs: like.modifiedMs, poolMax: like.poolMax,
    pgTemp: sorted(m.pgTemp), primaryTemp: sorted(m.primaryTemp), pgUpmap: sorted(m.pgUpmap), pgUpmapItems: sorted(m.pgUpmapItems),
  });
}

function tableJson<K, V>(t: ReadonlyMap<K, V>, show: (v: V) => unknown): string {
  return stableJson([...t].map(([k, v]) => [String(k), show(v)]).sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)));
}

/** What differs between the draft's state and the applied one, or undefined. */
export function draftMismatch(work: MonState, next: MonState): string | undefined {
  if (!canonicalMap(work.osdmap, next.osdmap).equals(canonicalMap(next.osdmap, next.osdmap))) return 'osdmap';
  if (tableJson(work.osdMeta, (v) => v) !== tableJson(next.osdMeta, (v) => v)) return 'osd metadata';
  const auth = (v: { key: Buffer; caps: unknown }): unknown => [v.key.toString('hex'), v.caps];
  if (tableJson(work.auth, auth) !== tableJson(next.auth, auth)) return 'auth';
  if (tableJson(work.config, (v) => v) !== tableJson(next.config, (v) => v)) return 'config';
  if (stableJson(work.monmap) !== stableJson(next.monmap)) return 'monmap';
  return undefined;
}
