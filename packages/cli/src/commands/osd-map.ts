/**
 * `nacre osd map POOL OBJECT [--format json]` — where an object lives, computed from the cluster's
 * current OSDMap with the same placement code the client and the OSDs use (like `ceph osd map`):
 *
 *   osdmap e42 pool 'rbd' (1) object 'foo' -> pg 1.7fc1f406 (1.6) -> up ([3,1,5], p3) acting ([3,1,5], p3)
 *
 * The first pg id is the raw hash of the name, the one in parentheses the PG it maps to.
 * Flags: --conf FILE, --name/-n, --keyring/-k, --timeout SECONDS, --namespace/-N NS, --key KEY.
 */
import { checkObjectName } from '@nacre/client';
import { formatPgId, objectHashInput, objectRawHash, objectToUpActing, poolByName } from '@nacre/osdmap';
import { NacreError } from '@nacre/util';
import { UsageError, flagString, parseArgs } from '../args.js';
import { clientFlagSpec, withCluster } from '../client-connect.js';
import type { Command } from '../main.js';

const usage = 'usage: nacre osd map POOL OBJECT [--namespace NS] [--key KEY] [--format json]';

const osdMap: Command = async (argv, io) => {
  const p = parseArgs(argv, {
    ...clientFlagSpec,
    '--format': { arity: 1 },
    '--namespace': { arity: 1, aliases: ['-N'] },
    '--key': { arity: 1 },
  });
  if (p.positionals.length !== 2) throw new UsageError(usage);
  const [poolName, object] = p.positionals as [string, string];
  const format = flagString(p, '--format') ?? 'plain';
  if (format !== 'plain' && format !== 'json') throw new UsageError(`--format must be json or plain, got '${format}'`);
  try {
    checkObjectName(object);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const namespace = flagString(p, '--namespace');
  const key = flagString(p, '--key');
  const hashOpts = { ...(namespace !== undefined ? { namespace } : {}), ...(key !== undefined ? { key } : {}) };
  return withCluster(p, async (cluster) => {
    let map = cluster.osdmap;
    let pool = poolByName(map, poolName);
    if (pool === undefined) {
      map = await cluster.refreshOsdMap();
      pool = poolByName(map, poolName);
    }
    if (pool === undefined) throw new NacreError(`pool '${poolName}' does not exist`, { code: 'ENOENT' });
    const m = objectToUpActing(map, pool.id, object, hashOpts);
    const raw = objectRawHash(pool, objectHashInput(object, hashOpts));
    const rawPgid = `${pool.id}.${raw.toString(16)}`;
    const pgid = formatPgId(m.pgid);
    if (format === 'json') {
      io.stdout(JSON.stringify({
        epoch: map.epoch, pool: pool.name, pool_id: pool.id, objname: object, ...(namespace !== undefined ? { nspace: namespace } : {}),
        raw_pgid: rawPgid, pgid, up: m.up, up_primary: m.upPrimary, acting: m.acting, acting_primary: m.actingPrimary,
      }) + '\n');
    } else {
      const ns = namespace !== undefined ? `/${namespace}` : '';
      io.stdout(`osdmap e${map.epoch} pool '${pool.name}' (${pool.id}) object '${object}${ns}' -> pg ${rawPgid} (${pgid}) -> up (${set(m.up)}, p${m.upPrimary}) acting (${set(m.acting)}, p${m.actingPrimary})\n`);
    }
    return 0;
  });
};
export default osdMap;

function set(osds: readonly number[]): string {
  return `[${osds.join(',')}]`;
}
