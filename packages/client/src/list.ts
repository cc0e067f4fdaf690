/**
 * Listing a pool's objects: walk its PGs in order, asking each PG's acting primary for pages
 * (osd.pg_ls with a cursor). Memory stays at one page. A pg_num change while listing would make
 * the PG walk skip or repeat objects, so it stops the listing with ESTALE (list again).
 */
import { OsdPgLs, type ObjectLocator, type PgLsReply } from '@nacre/proto';
import { NacreError, type Env } from '@nacre/util';
import type { Objecter, OpContext } from './objecter.js';
import type { ClientOptions } from './options.js';

export interface ListOptions {
  /** List every namespace (default: only the IoCtx's namespace, '' when none is set). */
  allNamespaces?: boolean;
  /** Deadline of each page request. */
  timeoutMs?: number;
}

export async function* listPoolObjects(
  objecter: Objecter, ctx: OpContext, options: ClientOptions, env: Env, opts: ListOptions = {},
): AsyncGenerator<ObjectLocator, void, undefined> {
  const first = objecter.map.pools.get(ctx.poolId);
  if (first === undefined) throw new NacreError(`pool ${ctx.poolName} does not exist`, { code: 'ENOENT' });
  const pgNum = first.pgNum;
  const timeoutMs = opts.timeoutMs ?? options.opTimeoutMs;
  for (let seed = 0; seed < pgNum; seed++) {
    let cursor = '';
    for (;;) {
      const reply = await objecter.call<Extract<PgLsReply, { kind: 'ok' }>>({
        what: `list pg ${ctx.poolId}.${seed.toString(16)} of pool ${ctx.poolName}`, poolId: ctx.poolId, resendOn: 'primary',
        deadlineMs: env.clock.monotonicMs() + timeoutMs, timeoutMs,
        locate: (map, pool) => {
          if (pool.pgNum !== pgNum) {
            throw new NacreError(`pool ${ctx.poolName} changed pg_num from ${pgNum} to ${pool.pgNum} while listing; list again`, { code: 'ESTALE' });
          }
          return { pool: ctx.poolId, seed };
        },
        send: (conn, target, remainingMs) => conn.request(OsdPgLs, { epoch: target.epoch, pgid: target.pgidText, cursor, max: options.listPageEntries }, { timeoutMs: remainingMs }),
      });
      for (const entry of reply.entries) {
        if (opts.allNamespaces === true || (entry.namespace ?? '') === (ctx.namespace ?? '')) yield entry;
      }
      if (reply.next === null || reply.entries.length === 0) break;
      cursor = reply.next;
    }
  }
}
