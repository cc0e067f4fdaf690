/**
 * MonState: everything the monitors agree on through Paxos, as one immutable value.
 *
 *   version             the Paxos version of the last value applied (0: nothing yet)
 *   fsid                cluster id ('' only in the empty state before bootstrap)
 *   osdmap              the current OSDMap (epoch, OSDs, pools, CRUSH, overlays)
 *   osdmapIncrementals  the encoded incrementals that produced the newest epochs, oldest first, so
 *                       subscribers catch up incrementally (bounded; older subscribers get a full map)
 *   osdMeta             per-OSD facts that are not in the OSDMap: store uuid, boot id, auto-out
 *   auth                entity → secret key + caps
 *   config              centralized config: (who, key) → value
 *   monmap              monitor names, ranks and addresses
 *   commandLog          results of committed commands by (entity, cmdId), for safe retries
 *
 * A new state comes only from `applyTransaction` (transaction.ts) or a decoded snapshot
 * (state-codec.ts); both end with `checkMonState`, so every state a monitor holds satisfies the
 * invariants below — a committed value that would break one is rejected as a whole.
 */
import { emptyMap } from '@nacre/crush';
import { createOsdMap, parsePgId, type OsdMap } from '@nacre/osdmap';
import type { EntityName, MonCommandReply } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import {
  authEntriesMax, commandLogEntriesMax, configEntriesMax, monsMax, osdmapIncrementalsRetainedMax, poolsMax,
} from './limits.js';

export interface MonMapEntry {
  name: string;
  rank: number;
  /** `host:port` of the monitor's public endpoint. */
  addr: string;
}

export interface MonMap {
  epoch: number;
  /** Ordered by rank; `mons[i].rank === i`. */
  mons: readonly MonMapEntry[];
}

export interface AuthEntry {
  key: Buffer;
  /** Service → capability text (`{ mon: 'allow *' }`), Ceph style; informational, access follows the entity kind. */
  caps: Readonly<Record<string, string>>;
}

export interface OsdMeta {
  /** The OSD's store uuid (mkfs): a different store under the same id is refused at boot. */
  uuid: string;
  /** Identity of the OSD process that last booted ('' if unknown): tells a restart from a resent boot. */
  bootId: string;
  /** Marked out by the down→out timer (not by an operator): marked in again when it boots. */
  autoOut: boolean;
}

export interface ConfigEntry {
  /** `global`, `mon`, `osd`, `client`, or one daemon (`osd.3`, `mon.a`, `client.admin`). */
  who: string;
  key: string;
  value: string;
}

export interface CommandRecord {
  entity: string;
  cmdId: string;
  reply: MonCommandReply;
}

export interface MonState {
  version: number;
  fsid: string;
  osdmap: OsdMap;
  osdmapIncrementals: readonly Buffer[];
  osdMeta: ReadonlyMap<number, OsdMeta>;
  auth: ReadonlyMap<EntityName, AuthEntry>;
  /** Keyed by `configKey(who, key)`. */
  config: ReadonlyMap<string, ConfigEntry>;
  monmap: MonMap;
  /** Keyed by `commandKey(entity, cmdId)`, oldest first. */
  commandLog: ReadonlyMap<string, CommandRecord>;
}

export function configKey(who: string, key: string): string {
  return `${who} ${key}`;
}

export function commandKey(entity: string, cmdId: string): string {
  return `${entity} ${cmdId}`;
}

/** The state of a monitor that has never applied anything (before the bootstrap value). */
export function emptyMonState(): MonState {
  return {
    version: 0,
    fsid: '',
    osdmap: createOsdMap({ fsid: '', crush: emptyMap(), createdMs: 0, epoch: 0 }),
    osdmapIncrementals: [],
    osdMeta: new Map(),
    auth: new Map(),
    config: new Map(),
    monmap: { epoch: 0, mons: [] },
    commandLog: new Map(),
  };
}

export function isEmptyMonState(state: MonState): boolean {
  return state.fsid === '';
}

/** The secret of `entity`, for the messenger's KeyLookup. */
export function authKeyOf(state: MonState, entity: EntityName): Buffer | undefined {
  return state.auth.get(entity)?.key;
}

/** The epoch produced by `osdmapIncrementals[0]` (or the current epoch + 1 when none are kept). */
export function firstRetainedEpoch(state: MonState): number {
  return state.osdmap.epoch - state.osdmapIncrementals.length + 1;
}

function broken(message: string): never {
  throw new NacreError(`invalid monitor state: ${message}`, { code: 'EINVAL' });
}

/**
 * The invariants every committed state keeps. Throws EINVAL naming the first violation. Cheap
 * (linear in pools, OSDs and table sizes, no placement), so it runs after every transaction.
 */
export function checkMonState(s: MonState): void {
  if (!Number.isSafeInteger(s.version) || s.version < 0) broken(`version ${s.version}`);
  if (s.fsid === '') {
    if (s.osdmap.epoch !== 0 || s.monmap.mons.length > 0 || s.auth.size > 0) broken('an empty state (no fsid) holds data');
    return;
  }
  const m = s.osdmap;
  if (m.fsid !== s.fsid) broken(`osdmap fsid ${m.fsid} is not the cluster's ${s.fsid}`);
  if (m.epoch < 1) broken(`osdmap epoch ${m.epoch}`);
  if (s.osdmapIncrementals.length > osdmapIncrementalsRetainedMax) broken('too many retained incrementals');
  if (s.osdmapIncrementals.length > m.epoch - 1) broken('more incrementals retained than epochs exist');
  checkPools(m);
  for (const key of m.pgTemp.keys()) {
    const pg = parsePgId(key);
    const pool = m.pools.get(pg.pool);
    if (pool === undefined || pg.seed >= pool.pgNum) broken(`pg_temp ${key} names no existing PG`);
  }
  for (const [id, meta] of s.osdMeta) {
    if (!(id >= 0 && id < m.maxOsd && m.osds[id]!.exists)) broken(`metadata for osd.${id}, which does not exist`);
    if (meta.autoOut && m.osds[id]!.weight > 0) broken(`osd.${id} is marked auto-out but is in`);
  }
  if (s.auth.size > authEntriesMax) broken('too many auth entries');
  if (s.config.size > configEntriesMax) broken('too many config entries');
  if (s.commandLog.size > commandLogEntriesMax) broken('command log too long');
  const mons = s.monmap.mons;
  if (mons.length < 1 || mons.length > monsMax) broken(`monmap has ${mons.length} monitors (1..${monsMax})`);
  const names = new Set<string>();
  mons.forEach((mon, i) => {
    if (mon.rank !== i) broken(`monmap rank ${mon.rank} at position ${i}`);
    if (names.has(mon.name)) broken(`monitor name ${mon.name} twice`);
    names.add(mon.name);
  });
}

function checkPools(m: OsdMap): void {
  if (m.pools.size > poolsMax) broken(`more than ${poolsMax} pools`);
  for (const pool of m.pools.values()) {
    if (pool.id > m.poolMax) broken(`pool ${pool.id} above pool_max ${m.poolMax}`);
    const rule = m.crush.rules.get(pool.crushRule);
    if (rule === undefined) broken(`pool '${pool.name}' uses crush rule ${pool.crushRule}, which does not exist`);
    const wantType = pool.type === 'erasure' ? 3 : 1;
    if (rule.type !== wantType) broken(`pool '${pool.name}' (${pool.type}) uses rule '${rule.name}' of type ${rule.type}`);
    if (pool.type === 'erasure') {
      const prof = m.ecProfiles.get(pool.ecProfile ?? '');
      if (prof === undefined) broken(`pool '${pool.name}' uses EC profile '${pool.ecProfile}', which does not exist`);
      if (prof.k + prof.m !== pool.size) broken(`pool '${pool.name}': size ${pool.size} is not k+m = ${prof.k + prof.m}`);
      if (pool.minSize < prof.k) broken(`pool '${pool.name}': min_size ${pool.minSize} below k = ${prof.k}`);
    }
  }
}
