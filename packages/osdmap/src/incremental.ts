/**
 * OSDMap incrementals: the delta from epoch e-1 to e. The monitor commits one incremental per
 * Paxos round; OSDs and clients apply them in order (a full map is sent when they are too far
 * behind). Applying is pure and validates everything, so a bad incremental never half-applies.
 */
import type { CrushMap } from '@nacre/crush';
import { NacreError } from '@nacre/util';
import { OSDMAP_FLAGS, emptyOsdInfo, type OsdInfo, type OsdMap, type OsdMapFlag } from './osdmap.js';
import { parsePgId } from './pgid.js';
import { validatePool, type EcProfile, type Pool } from './pool.js';

/** A partial update of one OSD's state; absent fields are unchanged. */
export interface OsdStateChange {
  id: number;
  exists?: boolean;
  up?: boolean;
  addr?: string;
  upFrom?: number;
  upThru?: number;
  downAt?: number;
}

export interface OsdMapIncremental {
  /** The epoch this incremental produces; must be the base epoch + 1. */
  epoch: number;
  modifiedMs: number;
  newFlags?: OsdMapFlag[];
  newMaxOsd?: number;
  newCrush?: CrushMap;
  newPools?: Pool[];
  removedPools?: number[];
  newEcProfiles?: [string, EcProfile][];
  removedEcProfiles?: string[];
  osdStates?: OsdStateChange[];
  /** [osd, 16.16 in-weight] */
  newWeights?: [number, number][];
  /** [osd, 16.16 primary affinity] */
  newPrimaryAffinity?: [number, number][];
  /** [pgid, osds]; an empty list removes the pg_temp entry. */
  newPgTemp?: [string, number[]][];
  /** [pgid, osd]; -1 removes the primary_temp entry. */
  newPrimaryTemp?: [string, number][];
  newPgUpmap?: [string, number[]][];
  removedPgUpmap?: string[];
  newPgUpmapItems?: [string, [number, number][]][];
  removedPgUpmapItems?: string[];
}

export const OSD_ID_MAX = 1 << 20;

function fail(message: string): never {
  throw new NacreError(`bad incremental: ${message}`, { code: 'EINVAL' });
}

export function applyIncremental(map: OsdMap, inc: OsdMapIncremental): OsdMap {
  if (inc.epoch !== map.epoch + 1) fail(`epoch ${inc.epoch} does not follow ${map.epoch}`);
  const maxOsd = inc.newMaxOsd ?? map.maxOsd;
  if (!Number.isInteger(maxOsd) || maxOsd < 0 || maxOsd > OSD_ID_MAX) fail(`max_osd ${maxOsd} out of range`);

  const osds: OsdInfo[] = [];
  for (let i = 0; i < maxOsd; i++) osds.push(i < map.maxOsd ? map.osds[i]! : emptyOsdInfo());
  const osdIndex = (id: number, what: string): number => {
    if (!Number.isInteger(id) || id < 0 || id >= maxOsd) fail(`${what}: osd.${id} is not below max_osd ${maxOsd}`);
    return id;
  };
  for (const ch of inc.osdStates ?? []) {
    const i = osdIndex(ch.id, 'state');
    const { id: _id, ...rest } = ch;
    const next = { ...osds[i]!, ...definedOnly(rest) };
    // an OSD that stops existing forgets its state, as a destroyed OSD does
    osds[i] = next.exists ? next : emptyOsdInfo();
  }
  for (const [id, w] of inc.newWeights ?? []) {
    const i = osdIndex(id, 'weight');
    if (!Number.isInteger(w) || w < 0 || w > 0x10000) fail(`weight ${w} for osd.${id} outside [0, 0x10000]`);
    osds[i] = { ...osds[i]!, weight: w };
  }
  for (const [id, a] of inc.newPrimaryAffinity ?? []) {
    const i = osdIndex(id, 'primary affinity');
    if (!Number.isInteger(a) || a < 0 || a > 0x10000) fail(`primary affinity ${a} for osd.${id} outside [0, 0x10000]`);
    osds[i] = { ...osds[i]!, primaryAffinity: a };
  }

  const pools = new Map(map.pools);
  let poolMax = map.poolMax;
  for (const id of inc.removedPools ?? []) {
    if (!pools.delete(id)) fail(`pool ${id} does not exist`);
  }
  for (const p of inc.newPools ?? []) {
    validatePool(p);
    for (const other of pools.values()) if (other.name === p.name && other.id !== p.id) fail(`pool name '${p.name}' already used by pool ${other.id}`);
    pools.set(p.id, p);
    poolMax = Math.max(poolMax, p.id);
  }

  const ecProfiles = new Map(map.ecProfiles);
  for (const name of inc.removedEcProfiles ?? []) ecProfiles.delete(name);
  for (const [name, prof] of inc.newEcProfiles ?? []) ecProfiles.set(name, prof);

  let flags = map.flags;
  if (inc.newFlags !== undefined) {
    for (const f of inc.newFlags) if (!OSDMAP_FLAGS.includes(f)) fail(`unknown flag '${f}'`);
    flags = new Set(inc.newFlags);
  }

  return {
    ...map,
    epoch: inc.epoch,
    modifiedMs: inc.modifiedMs,
    flags,
    maxOsd,
    osds,
    pools,
    poolMax,
    ecProfiles,
    crush: inc.newCrush ?? map.crush,
    pgTemp: updateOverlay(map.pgTemp, inc.newPgTemp, [], (v) => v.length === 0),
    primaryTemp: updateOverlay(map.primaryTemp, inc.newPrimaryTemp, [], (v) => v === -1),
    pgUpmap: updateOverlay(map.pgUpmap, inc.newPgUpmap, inc.removedPgUpmap ?? [], () => false),
    pgUpmapItems: updateOverlay(map.pgUpmapItems, inc.newPgUpmapItems, inc.removedPgUpmapItems ?? [], (v) => v.length === 0),
  };
}

function updateOverlay<V>(
  current: ReadonlyMap<string, V>, updates: readonly (readonly [string, V])[] | undefined, removed: readonly string[], isRemoval: (v: V) => boolean,
): ReadonlyMap<string, V> {
  if ((updates === undefined || updates.length === 0) && removed.length === 0) return current;
  const next = new Map(current);
  for (const key of removed) {
    parsePgId(key);
    next.delete(key);
  }
  for (const [key, value] of updates ?? []) {
    parsePgId(key);
    if (isRemoval(value)) next.delete(key);
    else next.set(key, value);
  }
  return next;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
