/** Placement group ids: `(pool, seed)`, printed as Ceph does (`1.2a`: pool decimal, seed hex). */
import { NacreError } from '@nacre/util';

export interface PgId {
  pool: number;
  seed: number;
}

export function formatPgId(pg: PgId): string {
  return `${pg.pool}.${pg.seed.toString(16)}`;
}

export function parsePgId(text: string): PgId {
  const m = /^(\d+)\.([0-9a-f]+)$/.exec(text);
  if (m === null) throw new NacreError(`bad pg id '${text}' (expected POOL.SEEDHEX, e.g. 1.2a)`, { code: 'EINVAL' });
  const pool = Number(m[1]);
  const seed = parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(pool) || seed > 0xffffffff) throw new NacreError(`bad pg id '${text}'`, { code: 'EINVAL' });
  return { pool, seed };
}

export function pgIdEquals(a: PgId, b: PgId): boolean {
  return a.pool === b.pool && a.seed === b.seed;
}
