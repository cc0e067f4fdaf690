/**
 * Pools: `osd pool create|ls|rm|set|get|mksnap-selfmanaged` and `osd map POOL OBJECT`.
 *
 * - create: replicated (size 3, min_size size − ⌊size/2⌋ as Ceph) or erasure (k=4, m=2 as DESIGN §8,
 *   min_size k + min(1, m−1) as Ceph, stripe unit 4 KiB); failure domain `host` under root `default`
 *   unless told. The CRUSH rule is `chooseleaf firstn 0 type FD` (replicated) or Ceph's EC rule
 *   (`set_chooseleaf_tries 5`, `set_choose_tries 100`, `chooseleaf indep 0 type FD`), shared by
 *   every pool that needs the same steps. EC profiles are named after their parameters and shared.
 *   Creating a pool that exists with the same type succeeds without change (Ceph).
 * - rm: refused with EPERM unless `confirm` repeats the pool name (Ceph: the name twice plus
 *   --yes-i-really-really-mean-it): it destroys the pool's data.
 * - set: size (replicated only; min_size follows down), min_size (1..size; ≥ k for EC), pg_num
 *   (only grows — PG merging is not implemented; pgp_num follows when it equalled pg_num),
 *   pgp_num (1..pg_num). Every change moves the pool's last_change to the new epoch.
 */
import { POOL_PG_NUM_MAX, formatPgId, objectHashInput, objectRawHash, objectToUpActing, poolByName, type EcProfile, type OsdMap, type Pool } from '@nacre/osdmap';
import type { MonCommandReply } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import type { CommandArgs } from './command-args.js';
import { readCommand, writeCommand, type CommandTable } from './command-spec.js';
import { DEFAULT_ROOT, ensurePoolRule } from './crush-edits.js';
import type { Draft } from './draft.js';
import { clusterPgsMax, poolsMax, stripeUnitBytesMax } from './limits.js';
import type { MonState } from './mon-state.js';
import { checkItemName, checkPoolName } from './names.js';
import { poolDetail, poolLine } from './osd-tree.js';

export const POOL_PG_NUM_DEFAULT = 32;
export const REPLICATED_SIZE_DEFAULT = 3;
export const REPLICATED_SIZE_MAX = 10;
export const EC_K_DEFAULT = 4;
export const EC_M_DEFAULT = 2;
export const EC_K_MAX = 32;
export const EC_M_MAX = 8;
export const EC_STRIPE_UNIT_DEFAULT_BYTES = 4096;
const SIZE_MAX = 40;

export function requirePool(map: OsdMap, name: string): Pool {
  const p = poolByName(map, name);
  if (p === undefined) throw new NacreError(`pool '${name}' does not exist`, { code: 'ENOENT' });
  return p;
}

/** Refuse a change that would take the cluster's PG count above clusterPgsMax. */
function checkClusterPgs(map: OsdMap, addedPgs: number): void {
  const total = [...map.pools.values()].reduce((n, p) => n + p.pgNum, 0);
  if (total + addedPgs > clusterPgsMax) {
    throw new NacreError(`the cluster would have ${total + addedPgs} PGs; at most ${clusterPgsMax} are allowed`, { code: 'ERANGE' });
  }
}

function poolNameArg(a: CommandArgs): string {
  return a.str('name', 'pool');
}

interface EcSpec { k: number; m: number; stripeUnitBytes: number }

function ecSpec(a: CommandArgs): EcSpec {
  const k = a.optInt('k', { min: 2, max: EC_K_MAX }) ?? EC_K_DEFAULT;
  const m = a.optInt('m', { min: 1, max: EC_M_MAX }) ?? EC_M_DEFAULT;
  if (k + m > SIZE_MAX) a.fail(`k + m must be at most ${SIZE_MAX}`);
  const su = a.optInt('stripe_unit', { min: 4096, max: stripeUnitBytesMax }) ?? EC_STRIPE_UNIT_DEFAULT_BYTES;
  if (su % 4096 !== 0) a.fail(`stripe_unit must be a multiple of 4096 bytes, got ${su}`);
  return { k, m, stripeUnitBytes: su };
}

function ecProfileName(p: EcProfile): string {
  return `k${p.k}_m${p.m}_${p.crushFailureDomain}_su${p.stripeUnitBytes}`;
}

function poolCreate(draft: Draft, a: CommandArgs): MonCommandReply {
  const name = checkPoolName(poolNameArg(a));
  const type = a.optStr('type', 'pool_type') ?? 'replicated';
  if (type !== 'replicated' && type !== 'erasure') a.fail(`type must be replicated or erasure, got '${type}'`);
  const existing = poolByName(draft.map, name);
  if (existing !== undefined) {
    if (existing.type !== type) throw new NacreError(`pool '${name}' already exists as a ${existing.type} pool`, { code: 'EEXIST' });
    return { data: { pool: name, pool_id: existing.id, created: false }, text: `pool '${name}' already exists` };
  }
  if (draft.map.pools.size >= poolsMax) throw new NacreError(`there are already ${poolsMax} pools`, { code: 'ENOSPC' });
  const pgNum = a.optInt('pg_num', { min: 1, max: POOL_PG_NUM_MAX }) ?? POOL_PG_NUM_DEFAULT;
  const pgpNum = a.optInt('pgp_num', { min: 1, max: pgNum }) ?? pgNum;
  checkClusterPgs(draft.map, pgNum);
  const failureDomain = checkItemName(a.optStr('failure_domain', 'crush_failure_domain') ?? 'host', 'failure domain');
  const root = checkItemName(a.optStr('root') ?? DEFAULT_ROOT, 'root');
  let size: number;
  let minSize: number;
  let profile: [string, EcProfile] | undefined;
  if (type === 'replicated') {
    size = a.optInt('size', { min: 1, max: REPLICATED_SIZE_MAX }) ?? REPLICATED_SIZE_DEFAULT;
    minSize = a.optInt('min_size', { min: 1, max: size }) ?? size - Math.floor(size / 2);
  } else {
    const ec = ecSpec(a);
    size = ec.k + ec.m;
    minSize = a.optInt('min_size', { min: ec.k, max: size }) ?? ec.k + Math.min(1, ec.m - 1);
    const p: EcProfile = { ...ec, crushFailureDomain: failureDomain };
    profile = [ecProfileName(p), p];
  }
  const { map: crush, ruleId } = ensurePoolRule(draft.map.crush, { type, root, failureDomain });
  if (crush !== draft.map.crush) draft.editMap({ newCrush: crush });
  const pool: Pool = {
    id: draft.map.poolMax + 1, name, type, size, minSize, pgNum, pgpNum, crushRule: ruleId, hashpspool: true,
    objectHash: 'rjenkins', snapSeq: 0, lastChangeEpoch: draft.pendingEpoch,
    ...(profile !== undefined ? { ecProfile: profile[0] } : {}),
  };
  draft.editMap({ newPools: [pool], ...(profile !== undefined ? { newEcProfiles: [profile] } : {}) });
  return { data: { pool: name, pool_id: pool.id, created: true, ...poolDetail(draft.map, pool) }, text: `pool '${name}' created` };
}

function poolLs(state: MonState, a: CommandArgs): MonCommandReply {
  const m = state.osdmap;
  const pools = [...m.pools.values()].sort((x, y) => x.id - y.id);
  if (a.bool('detail')) return { data: pools.map((p) => poolDetail(m, p)), text: pools.map((p) => poolLine(m, p)).join('\n') };
  return { data: pools.map((p) => p.name), text: pools.map((p) => p.name).join('\n') };
}

/** Remove pool `pool` and every overlay entry of its PGs (and its EC profile if no one else uses it). */
export function removePool(draft: Draft, pool: Pool): void {
  const m = draft.map;
  const ofPool = (key: string): boolean => key.startsWith(`${pool.id}.`);
  const profileUsers = [...m.pools.values()].filter((p) => p.id !== pool.id && p.ecProfile === pool.ecProfile).length;
  draft.editMap({
    removedPools: [pool.id],
    ...(pool.ecProfile !== undefined && profileUsers === 0 ? { removedEcProfiles: [pool.ecProfile] } : {}),
    newPgTemp: [...m.pgTemp.keys()].filter(ofPool).map((k) => [k, []]),
    newPrimaryTemp: [...m.primaryTemp.keys()].filter(ofPool).map((k) => [k, -1]),
    removedPgUpmap: [...m.pgUpmap.keys()].filter(ofPool),
    removedPgUpmapItems: [...m.pgUpmapItems.keys()].filter(ofPool),
  });
}

function poolRm(draft: Draft, a: CommandArgs): MonCommandReply {
  const name = poolNameArg(a);
  const pool = requirePool(draft.map, name);
  const confirm = a.optStr('confirm', 'pool2');
  if (confirm !== name) {
    throw new NacreError(
      `refusing to remove pool '${name}': this destroys all of its data permanently. `
      + `Repeat the pool name to confirm: nacre pool rm ${name} ${name} --yes-i-really-really-mean-it`,
      { code: 'EPERM' },
    );
  }
  removePool(draft, pool);
  return { data: { pool: name, pool_id: pool.id, removed: true }, text: `pool '${name}' removed` };
}

const SETTABLE = ['size', 'min_size', 'pg_num', 'pgp_num'] as const;

function poolSet(draft: Draft, a: CommandArgs): MonCommandReply {
  const name = poolNameArg(a);
  const pool = requirePool(draft.map, name);
  const key = a.str('key', 'var');
  const prof = pool.ecProfile !== undefined ? draft.map.ecProfiles.get(pool.ecProfile) : undefined;
  let next: Pool;
  switch (key) {
    case 'size': {
      if (pool.type === 'erasure') a.fail(`the size of erasure pool '${name}' is k+m = ${pool.size} and cannot change`);
      const size = a.int('value', { min: 1, max: REPLICATED_SIZE_MAX });
      next = { ...pool, size, minSize: Math.min(pool.minSize, size) };
      break;
    }
    case 'min_size': {
      const minK = prof?.k ?? 1;
      next = { ...pool, minSize: a.int('value', { min: minK, max: pool.size }) };
      break;
    }
    case 'pg_num': {
      const pgNum = a.int('value', { min: 1, max: POOL_PG_NUM_MAX });
      if (pgNum < pool.pgNum) a.fail(`pg_num can only grow (PG merging is not supported): pool '${name}' has ${pool.pgNum}`);
      checkClusterPgs(draft.map, pgNum - pool.pgNum);
      next = { ...pool, pgNum, pgpNum: pool.pgpNum === pool.pgNum ? pgNum : pool.pgpNum };
      break;
    }
    case 'pgp_num':
      next = { ...pool, pgpNum: a.int('value', { min: 1, max: pool.pgNum }) };
      break;
    default:
      a.fail(`cannot set '${key}' (settable: ${SETTABLE.join(', ')})`);
  }
  const value = key === 'size' ? next.size : key === 'min_size' ? next.minSize : key === 'pg_num' ? next.pgNum : next.pgpNum;
  if (next.size === pool.size && next.minSize === pool.minSize && next.pgNum === pool.pgNum && next.pgpNum === pool.pgpNum) {
    return { data: { pool: name, key, value }, text: `pool '${name}' ${key} is already ${value}` };
  }
  draft.editMap({ newPools: [{ ...next, lastChangeEpoch: draft.pendingEpoch }] });
  return { data: { pool: name, key, value }, text: `set pool ${pool.id} ${key} to ${value}` };
}

function poolGet(state: MonState, a: CommandArgs): MonCommandReply {
  const name = poolNameArg(a);
  const pool = requirePool(state.osdmap, name);
  const detail = poolDetail(state.osdmap, pool);
  const key = a.optStr('key', 'var') ?? 'all';
  if (key === 'all') return { data: detail, text: Object.entries(detail).map(([k, v]) => `${k}: ${String(v)}`).join('\n') };
  if (!Object.prototype.hasOwnProperty.call(detail, key)) a.fail(`unknown pool property '${key}' (known: ${Object.keys(detail).join(', ')}, all)`);
  return { data: { pool: name, [key]: detail[key] }, text: `${key}: ${String(detail[key])}` };
}

function mksnapSelfmanaged(draft: Draft, a: CommandArgs): MonCommandReply {
  const pool = requirePool(draft.map, poolNameArg(a));
  const snapId = pool.snapSeq + 1;
  draft.editMap({ newPools: [{ ...pool, snapSeq: snapId, lastChangeEpoch: draft.pendingEpoch }] });
  return { data: { pool: pool.name, snapId }, text: `created self-managed snapshot ${snapId} of pool '${pool.name}'` };
}

function osdMap(state: MonState, a: CommandArgs): MonCommandReply {
  const m = state.osdmap;
  const pool = requirePool(m, a.str('pool', 'name'));
  const object = a.str('object');
  const nspace = a.optStr('nspace', 'namespace');
  const opts = nspace !== undefined ? { namespace: nspace } : {};
  const raw = objectRawHash(pool, objectHashInput(object, opts));
  const r = objectToUpActing(m, pool.id, object, opts);
  const pgid = formatPgId(r.pgid);
  const rawPgid = `${pool.id}.${raw.toString(16)}`;
  const data = {
    epoch: m.epoch, pool: pool.name, pool_id: pool.id, objname: object, object, ...(nspace !== undefined ? { namespace: nspace } : {}),
    raw_pgid: rawPgid, pgid, up: r.up, up_primary: r.upPrimary, acting: r.acting, acting_primary: r.actingPrimary,
  };
  const set = (osds: number[], p: number): string => `([${osds.map((o) => (o === 0x7fffffff ? 'NONE' : String(o))).join(',')}], p${p})`;
  return { data, text: `osdmap e${m.epoch} pool '${pool.name}' (${pool.id}) object '${object}' -> pg ${rawPgid} (${pgid}) -> up ${set(r.up, r.upPrimary)} acting ${set(r.acting, r.actingPrimary)}` };
}

export const poolCommands: CommandTable = {
  'osd pool create': writeCommand(poolCreate),
  'osd pool ls': readCommand(poolLs),
  'osd pool rm': writeCommand(poolRm),
  'osd pool set': writeCommand(poolSet),
  'osd pool get': readCommand(poolGet),
  'osd pool mksnap-selfmanaged': writeCommand(mksnapSelfmanaged),
  'osd map': readCommand(osdMap),
};
