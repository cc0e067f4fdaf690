/**
 * Pools: how objects of one namespace are split into PGs and placed (Ceph's pg_pool_t, the parts
 * placement and the daemons need).
 */
import { NacreError } from '@nacre/util';
import { pgMask } from './stable-mod.js';

export type PoolType = 'replicated' | 'erasure';
export type ObjectHash = 'rjenkins' | 'linux';

export interface EcProfile {
  /** Data chunks. */
  k: number;
  /** Coding chunks. */
  m: number;
  /** Bytes per chunk per stripe (Ceph's stripe_unit; default 4 KiB). */
  stripeUnitBytes: number;
  /** CRUSH failure domain type name used for the pool's rule (e.g. 'host'). */
  crushFailureDomain: string;
}

export interface Pool {
  id: number;
  name: string;
  type: PoolType;
  /** Replicas (replicated) or k + m shards (erasure). */
  size: number;
  /** Fewest acting members with which the PG accepts I/O. */
  minSize: number;
  pgNum: number;
  /** PGs used for placement (≤ pgNum); raising it after pgNum moves data gradually. */
  pgpNum: number;
  crushRule: number;
  /** Placement seed mixes in the pool id (Ceph FLAG_HASHPSPOOL), so pools don't overlap. */
  hashpspool: boolean;
  objectHash: ObjectHash;
  /** Name of the EC profile (erasure pools only). */
  ecProfile?: string;
  /** Highest snapshot id handed out for this pool's self-managed snapshots. */
  snapSeq: number;
  /** Epoch of the pool's last change (clients resend ops when it moves). */
  lastChangeEpoch: number;
}

export const POOL_PG_NUM_MAX = 65536;
export const POOL_SIZE_MAX = 40;

export function pgNumMask(pool: Pool): number {
  return pgMask(pool.pgNum);
}

export function pgpNumMask(pool: Pool): number {
  return pgMask(pool.pgpNum);
}

/** Replicated pools shift survivors left when an OSD is missing; EC pools keep positions (holes). */
export function canShiftOsds(pool: Pool): boolean {
  return pool.type === 'replicated';
}

/** Throws EINVAL with one clear message if the pool is not self-consistent. */
export function validatePool(pool: Pool): void {
  const fail = (msg: string): never => {
    throw new NacreError(`pool '${pool.name}': ${msg}`, { code: 'EINVAL' });
  };
  if (!Number.isInteger(pool.id) || pool.id < 0) fail(`bad pool id ${pool.id}`);
  if (pool.name.length === 0 || pool.name.length > 255) fail('name must be 1..255 characters');
  if (!Number.isInteger(pool.size) || pool.size < 1 || pool.size > POOL_SIZE_MAX) fail(`size must be 1..${POOL_SIZE_MAX}`);
  if (!Number.isInteger(pool.minSize) || pool.minSize < 1 || pool.minSize > pool.size) fail('min_size must be 1..size');
  if (!Number.isInteger(pool.pgNum) || pool.pgNum < 1 || pool.pgNum > POOL_PG_NUM_MAX) fail(`pg_num must be 1..${POOL_PG_NUM_MAX}`);
  if (!Number.isInteger(pool.pgpNum) || pool.pgpNum < 1 || pool.pgpNum > pool.pgNum) fail('pgp_num must be 1..pg_num');
  if (!Number.isInteger(pool.crushRule) || pool.crushRule < 0) fail('bad crush rule');
  if (pool.type === 'erasure' && pool.ecProfile === undefined) fail('erasure pools need an EC profile');
}
