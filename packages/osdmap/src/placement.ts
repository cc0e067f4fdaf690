/**
 * Object → PG → OSDs, step for step as Ceph's OSDMap does it (`_pg_to_up_acting_osds`):
 *
 *   name ──ceph_str_hash──► raw hash ──stable_mod(pg_num)──► PG ──stable_mod(pgp_num)+pool──► pps
 *   pps ──crush_do_rule(rule, size, in-weights, choose_args[pool])──► raw ──upmap──► raw'
 *   raw' ──drop down/nonexistent (EC: holes)──► up ──primary affinity──► up, up_primary
 *   pg_temp / primary_temp override ──► acting, acting_primary
 *
 * Pure functions of the map. The compiled CRUSH map and the in-weight vector are cached per map
 * value (maps are immutable), so repeated lookups cost one crush_do_rule.
 */
import {
  CRUSH_ITEM_NONE, cephStrHashLinux, cephStrHashRjenkins, chooseArgsFor, compileMap, crushHash32_2, doRule,
  type CompiledMap, type CrushMap,
} from '@nacre/crush';
import { NacreError } from '@nacre/util';
import { WEIGHT_ONE, osdExists, osdIsUp, type OsdMap } from './osdmap.js';
import { formatPgId, type PgId } from './pgid.js';
import { canShiftOsds, pgNumMask, pgpNumMask, type Pool } from './pool.js';
import { cephStableMod } from './stable-mod.js';

export interface PgMapping {
  pgid: PgId;
  /** Placement seed given to CRUSH. */
  pps: number;
  /** CRUSH output after removing nonexistent OSDs (EC: holes) — before upmap and down filtering. */
  raw: number[];
  up: number[];
  upPrimary: number;
  acting: number[];
  actingPrimary: number;
}

const compiledByCrush = new WeakMap<CrushMap, CompiledMap>();
const weightsByMap = new WeakMap<OsdMap, Uint32Array>();

export function compiledCrush(crush: CrushMap): CompiledMap {
  let c = compiledByCrush.get(crush);
  if (c === undefined) {
    c = compileMap(crush);
    compiledByCrush.set(crush, c);
  }
  return c;
}

/** The per-OSD in-weight vector CRUSH sees (0 for nonexistent OSDs), length maxOsd. */
export function osdWeights(map: OsdMap): Uint32Array {
  let w = weightsByMap.get(map);
  if (w === undefined) {
    w = new Uint32Array(map.maxOsd);
    for (let i = 0; i < map.maxOsd; i++) {
      const o = map.osds[i]!;
      w[i] = o.exists ? o.weight : 0;
    }
    weightsByMap.set(map, w);
  }
  return w;
}

function poolOrThrow(map: OsdMap, poolId: number): Pool {
  const pool = map.pools.get(poolId);
  if (pool === undefined) throw new NacreError(`pool ${poolId} does not exist`, { code: 'ENOENT' });
  return pool;
}

/** Bytes hashed for an object: the locator key if set, else the name; `nspace \x1f key` with a namespace. */
export function objectHashInput(name: string | Uint8Array, opts: { namespace?: string; key?: string } = {}): Uint8Array {
  const key = opts.key !== undefined && opts.key !== '' ? Buffer.from(opts.key) : typeof name === 'string' ? Buffer.from(name) : name;
  if (opts.namespace === undefined || opts.namespace === '') return key;
  return Buffer.concat([Buffer.from(opts.namespace), Buffer.from([0x1f]), key]);
}

export function objectRawHash(pool: Pool, bytes: Uint8Array): number {
  return pool.objectHash === 'linux' ? cephStrHashLinux(bytes) : cephStrHashRjenkins(bytes);
}

/** raw hash → PG seed (`raw_pg_to_pg`). */
export function rawHashToPgSeed(pool: Pool, rawHash: number): number {
  return cephStableMod(rawHash, pool.pgNum, pgNumMask(pool));
}

/** PG seed → CRUSH input (`raw_pg_to_pps`). */
export function pgPps(pool: Pool, seed: number): number {
  const s = cephStableMod(seed, pool.pgpNum, pgpNumMask(pool));
  return pool.hashpspool ? crushHash32_2(s, pool.id) : (s + pool.id) >>> 0;
}

export function objectToPg(map: OsdMap, poolId: number, name: string | Uint8Array, opts: { namespace?: string; key?: string } = {}): PgId {
  const pool = poolOrThrow(map, poolId);
  const raw = objectRawHash(pool, objectHashInput(name, opts));
  return { pool: poolId, seed: rawHashToPgSeed(pool, raw) };
}

/** CRUSH's answer for a PG with nonexistent OSDs removed (replicated) or turned into holes (EC). */
export function pgToRawOsds(map: OsdMap, pool: Pool, seed: number): { raw: number[]; pps: number } {
  const pps = pgPps(pool, seed);
  const crush = compiledCrush(map.crush);
  const out = doRule(crush, pool.crushRule, pps, pool.size, osdWeights(map), chooseArgsFor(crush, pool.id));
  const raw: number[] = [];
  for (const osd of out) {
    if (osd === CRUSH_ITEM_NONE || osdExists(map, osd)) raw.push(osd);
    else if (!canShiftOsds(pool)) raw.push(CRUSH_ITEM_NONE);
  }
  return { raw, pps };
}

/** pg_upmap (whole replacement) then pg_upmap_items (pairs); targets that are out are ignored. */
export function applyUpmap(map: OsdMap, key: string, raw: number[]): number[] {
  const weights = osdWeights(map);
  const isOutTarget = (osd: number): boolean => osd !== CRUSH_ITEM_NONE && osd >= 0 && osd < map.maxOsd && weights[osd] === 0;
  let result = raw;
  const full = map.pgUpmap.get(key);
  if (full !== undefined) {
    if (full.some(isOutTarget)) return result;
    result = [...full];
  }
  const items = map.pgUpmapItems.get(key);
  if (items !== undefined) {
    result = [...result];
    for (const [from, to] of items) {
      let exists = false;
      let pos = -1;
      for (let i = 0; i < result.length; i++) {
        const osd = result[i]!;
        if (osd === to) {
          exists = true;
          break;
        }
        if (osd === from && pos < 0 && !isOutTarget(to)) pos = i;
      }
      if (!exists && pos >= 0) result[pos] = to;
    }
  }
  return result;
}

export function rawToUp(map: OsdMap, pool: Pool, raw: readonly number[]): number[] {
  if (canShiftOsds(pool)) return raw.filter((osd) => osdIsUp(map, osd));
  return raw.map((osd) => (osdIsUp(map, osd) ? osd : CRUSH_ITEM_NONE));
}

export function pickPrimary(osds: readonly number[]): number {
  for (const osd of osds) if (osd !== CRUSH_ITEM_NONE) return osd;
  return -1;
}

/**
 * Primary affinity: an OSD with affinity a < 1 declines to be primary for a hashed fraction of its
 * PGs; the first OSD that does not decline becomes primary (replicated pools move it to the front).
 */
export function applyPrimaryAffinity(map: OsdMap, pool: Pool, pps: number, osds: number[], primary: number): { osds: number[]; primary: number } {
  const anyNonDefault = osds.some((o) => o !== CRUSH_ITEM_NONE && map.osds[o]!.primaryAffinity !== WEIGHT_ONE);
  if (!anyNonDefault) return { osds, primary };
  let pos = -1;
  for (let i = 0; i < osds.length; i++) {
    const o = osds[i]!;
    if (o === CRUSH_ITEM_NONE) continue;
    const a = map.osds[o]!.primaryAffinity;
    if (a < WEIGHT_ONE && (crushHash32_2(pps, o) >>> 16) >= a) {
      if (pos < 0) pos = i; // declined, but remember as a fallback
    } else {
      pos = i;
      break;
    }
  }
  if (pos < 0) return { osds, primary };
  const chosen = osds[pos]!;
  if (!canShiftOsds(pool) || pos === 0) return { osds, primary: chosen };
  const moved = [chosen, ...osds.slice(0, pos), ...osds.slice(pos + 1)];
  return { osds: moved, primary: chosen };
}

function tempOsds(map: OsdMap, pool: Pool, key: string): { acting: number[]; primary: number } {
  const acting: number[] = [];
  const temp = map.pgTemp.get(key);
  if (temp !== undefined) {
    for (const osd of temp) {
      if (!osdIsUp(map, osd)) {
        if (!canShiftOsds(pool)) acting.push(CRUSH_ITEM_NONE);
      } else {
        acting.push(osd);
      }
    }
  }
  const primaryTemp = map.primaryTemp.get(key);
  return { acting, primary: primaryTemp ?? pickPrimary(acting) };
}

/** The full mapping of one PG. Throws ENOENT for an unknown pool. */
export function pgToUpActing(map: OsdMap, pgid: PgId): PgMapping {
  const pool = poolOrThrow(map, pgid.pool);
  const seed = rawHashToPgSeed(pool, pgid.seed); // tolerate raw pgs, as Ceph does
  const key = formatPgId({ pool: pool.id, seed });
  const { raw, pps } = pgToRawOsds(map, pool, seed);
  const upmapped = applyUpmap(map, key, raw);
  const up0 = rawToUp(map, pool, upmapped);
  const { osds: up, primary: upPrimary } = applyPrimaryAffinity(map, pool, pps, up0, pickPrimary(up0));
  const temp = tempOsds(map, pool, key);
  const acting = temp.acting.length > 0 ? temp.acting : up;
  // primary_temp wins; otherwise pg_temp's first member; otherwise the up primary
  const actingPrimary = temp.primary !== -1 ? temp.primary : temp.acting.length > 0 ? -1 : upPrimary;
  return { pgid: { pool: pool.id, seed }, pps, raw, up, upPrimary, acting, actingPrimary };
}

/** Object name → its PG's mapping (like `ceph osd map POOL OBJ`). */
export function objectToUpActing(map: OsdMap, poolId: number, name: string | Uint8Array, opts?: { namespace?: string; key?: string }): PgMapping {
  return pgToUpActing(map, objectToPg(map, poolId, name, opts));
}
