/**
 * The incremental that turns one OSDMap into another: `diffOsdMaps(base, next)` returns an
 * OsdMapIncremental `inc` with `applyIncremental(base, inc)` equal to `next` in everything
 * placement and the daemons see (epoch and modifiedMs are the incremental's own).
 *
 * Why a diff instead of accumulating incremental fields command by command (Ceph's pending_inc):
 * the leader folds a whole batch of commands and reports into one proposal. Each change is applied
 * to a working copy of the map with the ordinary, validating `applyIncremental`; the batch's single
 * incremental is then the difference between the committed map and the working copy. Sequences like
 * "osd rm 3; osd create 3" or "pool create; pool rm" need no merge rules, and the result is exactly
 * what `applyIncremental` reproduces on every monitor and subscriber.
 *
 * Not carried: `poolMax` of a pool created and removed inside one batch (no epoch ever showed the
 * pool, so its id may be used again) and the insertion order of overlay tables.
 */
import { crushMapToJson } from '@nacre/crush';
import type { OsdInfo, OsdMap, OsdMapIncremental, OsdStateChange } from '@nacre/osdmap';

/** JSON with object keys sorted: a value-equality test for plain data (pools, profiles). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  });
}

export function sameCrush(a: OsdMap['crush'], b: OsdMap['crush']): boolean {
  return a === b || stableJson(crushMapToJson(a)) === stableJson(crushMapToJson(b));
}

const STATE_FIELDS = ['exists', 'up', 'addr', 'upFrom', 'upThru', 'downAt'] as const;

function osdStateChange(id: number, before: OsdInfo, after: OsdInfo): OsdStateChange | undefined {
  if (!after.exists) return before.exists ? { id, exists: false } : undefined;
  const change: OsdStateChange = { id };
  let changed = false;
  for (const f of STATE_FIELDS) {
    if (before[f] !== after[f]) {
      (change as unknown as Record<string, unknown>)[f] = after[f];
      changed = true;
    }
  }
  return changed ? change : undefined;
}

function overlayDiff<V>(
  before: ReadonlyMap<string, V>, after: ReadonlyMap<string, V>, removal: V, same: (a: V, b: V) => boolean,
): [string, V][] {
  const out: [string, V][] = [];
  for (const key of before.keys()) if (!after.has(key)) out.push([key, removal]);
  for (const [key, v] of after) {
    const old = before.get(key);
    if (old === undefined || !same(old, v)) out.push([key, v]);
  }
  return out;
}

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The incremental from `base` to `next` as epoch `epoch`, or undefined if they do not differ. */
export function diffOsdMaps(base: OsdMap, next: OsdMap, epoch: number, modifiedMs: number): OsdMapIncremental | undefined {
  const inc: OsdMapIncremental = { epoch, modifiedMs };
  let changed = false;
  const set = <K extends keyof OsdMapIncremental>(key: K, value: OsdMapIncremental[K] | undefined): void => {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) return;
    inc[key] = value;
    changed = true;
  };
  const flagsA = [...base.flags].sort().join(',');
  const flagsB = [...next.flags].sort().join(',');
  if (flagsA !== flagsB) {
    inc.newFlags = [...next.flags].sort(); // may be empty: clearing the last flag
    changed = true;
  }
  if (next.maxOsd !== base.maxOsd) set('newMaxOsd', next.maxOsd);
  if (!sameCrush(base.crush, next.crush)) set('newCrush', next.crush);

  set('removedPools', [...base.pools.keys()].filter((id) => !next.pools.has(id)));
  set('newPools', [...next.pools.values()].filter((p) => {
    const old = base.pools.get(p.id);
    return old === undefined || (old !== p && stableJson(old) !== stableJson(p));
  }));
  set('removedEcProfiles', [...base.ecProfiles.keys()].filter((n) => !next.ecProfiles.has(n)));
  set('newEcProfiles', [...next.ecProfiles].filter(([n, p]) => {
    const old = base.ecProfiles.get(n);
    return old === undefined || stableJson(old) !== stableJson(p);
  }));

  const states: OsdStateChange[] = [];
  const weights: [number, number][] = [];
  const affinities: [number, number][] = [];
  for (let id = 0; id < next.maxOsd; id++) {
    const before = id < base.maxOsd ? base.osds[id]! : undefined;
    const after = next.osds[id]!;
    // applyIncremental starts an OSD beyond the old max_osd from an empty entry; a field that
    // differs is always written, so "removed and created again in one batch" needs no special case.
    const from = before ?? emptyLike();
    const ch = osdStateChange(id, from, after);
    if (ch !== undefined) states.push(ch);
    if (after.exists && after.weight !== from.weight) weights.push([id, after.weight]);
    if (after.exists && after.primaryAffinity !== from.primaryAffinity) affinities.push([id, after.primaryAffinity]);
  }
  set('osdStates', states);
  set('newWeights', weights);
  set('newPrimaryAffinity', affinities);

  set('newPgTemp', overlayDiff<readonly number[]>(base.pgTemp, next.pgTemp, [], sameList).map(([k, v]) => [k, [...v]]));
  set('newPrimaryTemp', overlayDiff(base.primaryTemp, next.primaryTemp, -1, (a, b) => a === b));
  const upmap = overlayDiff<readonly number[] | null>(base.pgUpmap, next.pgUpmap, null, (a, b) => a !== null && b !== null && sameList(a, b));
  set('removedPgUpmap', upmap.filter(([, v]) => v === null).map(([k]) => k));
  set('newPgUpmap', upmap.filter(([, v]) => v !== null).map(([k, v]) => [k, [...v!]]));
  const items = overlayDiff<readonly (readonly [number, number])[] | null>(base.pgUpmapItems, next.pgUpmapItems, null,
    (a, b) => a !== null && b !== null && stableJson(a) === stableJson(b));
  set('removedPgUpmapItems', items.filter(([, v]) => v === null).map(([k]) => k));
  set('newPgUpmapItems', items.filter(([, v]) => v !== null).map(([k, v]) => [k, v!.map(([a, b]) => [a, b] as [number, number])]));
  return changed ? inc : undefined;
}

function emptyLike(): OsdInfo {
  return { exists: false, up: false, weight: 0, primaryAffinity: 0x10000, addr: '', upFrom: 0, upThru: 0, downAt: 0 };
}
