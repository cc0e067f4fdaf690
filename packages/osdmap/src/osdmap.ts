/**
 * The OSDMap: one epoch of the cluster's truth — which OSDs exist and are up/in, the pools, the
 * CRUSH map, and the overlays (pg_temp, primary_temp, pg_upmap, pg_upmap_items) — as an immutable
 * value. A new epoch is made by applying an incremental (`incremental.ts`); every party (monitor,
 * OSD, client) computes placement from the same value with `placement.ts`.
 */
import type { CrushMap } from '@nacre/crush';
import type { EcProfile, Pool } from './pool.js';

/** 16.16 fixed point 1.0: fully in / default primary affinity. */
export const WEIGHT_ONE = 0x10000;

export type OsdMapFlag =
  | 'noout' | 'noin' | 'nodown' | 'noup' | 'norebalance' | 'norecover' | 'nobackfill'
  | 'noscrub' | 'nodeep-scrub' | 'pause';

export const OSDMAP_FLAGS: readonly OsdMapFlag[] = [
  'noout', 'noin', 'nodown', 'noup', 'norebalance', 'norecover', 'nobackfill', 'noscrub', 'nodeep-scrub', 'pause',
];

export interface OsdInfo {
  exists: boolean;
  up: boolean;
  /** In-weight, 16.16: 0x10000 = in, 0 = out, between = partially in (reweight). */
  weight: number;
  /** 16.16: chance of being primary relative to peers (default 0x10000). */
  primaryAffinity: number;
  /** Public address (`host:port`) while up. */
  addr: string;
  /** Epoch the OSD last came up. */
  upFrom: number;
  /** Epoch up to which the OSD's last peering interval is recorded as alive (Ceph up_thru). */
  upThru: number;
  /** Epoch the OSD last went down. */
  downAt: number;
}

export interface OsdMap {
  fsid: string;
  epoch: number;
  /** Wall-clock times, for display only. */
  createdMs: number;
  modifiedMs: number;
  flags: ReadonlySet<OsdMapFlag>;
  /** OSD ids are 0 .. maxOsd-1; `osds.length === maxOsd`. */
  maxOsd: number;
  osds: readonly OsdInfo[];
  pools: ReadonlyMap<number, Pool>;
  /** Highest pool id ever used (ids are not reused). */
  poolMax: number;
  ecProfiles: ReadonlyMap<string, EcProfile>;
  crush: CrushMap;
  /** Keys are pg ids as printed (`1.2a`). */
  pgTemp: ReadonlyMap<string, readonly number[]>;
  primaryTemp: ReadonlyMap<string, number>;
  pgUpmap: ReadonlyMap<string, readonly number[]>;
  pgUpmapItems: ReadonlyMap<string, readonly (readonly [number, number])[]>;
}

export function emptyOsdInfo(): OsdInfo {
  return { exists: false, up: false, weight: 0, primaryAffinity: WEIGHT_ONE, addr: '', upFrom: 0, upThru: 0, downAt: 0 };
}

export function createOsdMap(init: { fsid: string; crush: CrushMap; createdMs: number; epoch?: number }): OsdMap {
  return {
    fsid: init.fsid,
    epoch: init.epoch ?? 1,
    createdMs: init.createdMs,
    modifiedMs: init.createdMs,
    flags: new Set(),
    maxOsd: 0,
    osds: [],
    pools: new Map(),
    poolMax: 0,
    ecProfiles: new Map(),
    crush: init.crush,
    pgTemp: new Map(),
    primaryTemp: new Map(),
    pgUpmap: new Map(),
    pgUpmapItems: new Map(),
  };
}

export function osdExists(map: OsdMap, osd: number): boolean {
  return osd >= 0 && osd < map.maxOsd && map.osds[osd]!.exists;
}

export function osdIsUp(map: OsdMap, osd: number): boolean {
  return osdExists(map, osd) && map.osds[osd]!.up;
}

export function osdIsIn(map: OsdMap, osd: number): boolean {
  return osdExists(map, osd) && map.osds[osd]!.weight > 0;
}

export function poolByName(map: OsdMap, name: string): Pool | undefined {
  for (const p of map.pools.values()) if (p.name === name) return p;
  return undefined;
}

export function countOsds(map: OsdMap): { num: number; up: number; in: number } {
  let num = 0;
  let up = 0;
  let inn = 0;
  for (let i = 0; i < map.maxOsd; i++) {
    const o = map.osds[i]!;
    if (!o.exists) continue;
    num++;
    if (o.up) up++;
    if (o.weight > 0) inn++;
  }
  return { num, up, in: inn };
}
