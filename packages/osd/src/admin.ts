/**
 * `osd.admin`: a debug/admin request allowed only for `client.admin`, so tests and operators can
 * see what one OSD holds — its PGs and their states, and its *own* copy of an object (exists,
 * size, version, sha256 of the bytes), whether it is the primary or a replica.
 *
 *   status                                      → { osd, epoch, uuid, addr, hbAddr, pgs, states }
 *   pg_dump                                     → [{ pgid, state, up, acting, primary, lastUpdate, ... }]
 *   pg_query     { pgid }                       → one PG in detail (log bounds, missing objects)
 *   object_info  { pool, name, key?, namespace? } → { pgid, exists, sizeBytes, version, sha256, xattrs, omapKeys }
 *   object_read  { pool, name, offset?, length? } → { data }   (at most 64 MiB)
 *   list_objects { pgid, max? }                 → { names }   (this OSD's copy, hash order)
 */
import { createHash } from 'node:crypto';
import { NacreError } from '@nacre/util';
import { formatPgId, objectToPg } from '@nacre/osdmap';
import { expectInt, expectString, opDataBytesMax, type ObjectLocator } from '@nacre/proto';
import type { AdminRequest } from './messages.js';
import { locatorOf, placementHashOf, storeNameOf } from './object-name.js';
import { decodeObjectInfo } from './pg-codec.js';
import { formatVersion } from './eversion.js';
import type { Osd } from './osd.js';
import type { Pg } from './pg.js';
import { OBJECT_INFO_ATTR, USER_ATTR_PREFIX } from './store-layout.js';

const readPieceBytes = 8 * 1024 * 1024;
const listMax = 100_000;

function locatorArg(args: Record<string, unknown>): { poolId: number; loc: ObjectLocator } {
  const poolId = expectInt(args['pool'], 'pool', { min: 0, max: 0x7fff_ffff });
  const loc: ObjectLocator = { name: expectString(args['name'], 'name', { bytesMax: 2048, bytesMin: 1 }) };
  if (args['key'] !== undefined) loc.key = expectString(args['key'], 'key', { bytesMax: 2048 });
  if (args['namespace'] !== undefined) loc.namespace = expectString(args['namespace'], 'namespace', { bytesMax: 256 });
  return { poolId, loc };
}

function pgSummary(pg: Pg): Record<string, unknown> {
  return {
    pgid: pg.pgid, state: pg.state, words: pg.stateWords(), up: pg.view?.up ?? [], acting: pg.view?.acting ?? [], primary: pg.view?.primary ?? -1,
    sameIntervalSince: pg.view?.sameIntervalSince ?? 0, lastUpdate: formatVersion(pg.info.lastUpdate), logTail: formatVersion(pg.info.logTail),
    logLength: pg.log.length, les: pg.info.lastEpochStarted, objects: pg.info.objects, bytes: pg.info.bytes, missing: pg.missing.size,
    peerMissing: pg.isPrimary ? pg.totalMissing() - pg.missing.size : 0, unfound: pg.unfound.size,
  };
}

export async function runAdmin(osd: Osd, req: AdminRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'status': {
      const states: Record<string, number> = {};
      for (const pg of osd.pgs.values()) states[pg.state] = (states[pg.state] ?? 0) + 1;
      return { osd: osd.whoami, epoch: osd.epoch, uuid: osd.storeUuid, addr: osd.publicAddress, hbAddr: osd.hbAddress, pgs: osd.pgs.size, states, watches: osd.watches.watchCount };
    }
    case 'pg_dump':
      return [...osd.pgs.values()].map(pgSummary);
    case 'pg_query': {
      const pg = osd.pgs.get(expectString(req.args['pgid'], 'pgid', { bytesMax: 32 }));
      if (pg === undefined) throw new NacreError('pg not here', { code: 'ENOENT' });
      return { ...pgSummary(pg), missingObjects: [...pg.missing.values()].slice(0, 1000).map((m) => ({ name: m.oid.name, need: formatVersion(m.need), have: formatVersion(m.have) })) };
    }
    case 'object_info': return objectInfo(osd, req.args);
    case 'object_read': return objectRead(osd, req.args);
    case 'list_objects': {
      const pg = osd.pgs.get(expectString(req.args['pgid'], 'pgid', { bytesMax: 32 }));
      if (pg === undefined) return { names: [] };
      const max = req.args['max'] === undefined ? listMax : expectInt(req.args['max'], 'max', { min: 1, max: listMax });
      const names: string[] = [];
      let start;
      for (;;) {
        const page = await osd.store.listObjects(pg.cid, { ...(start ? { start } : {}), limitCount: 10_000 });
        for (const oid of page.objects) if (oid.pool === pg.poolId && names.length < max) names.push(locatorOf(oid.name).name);
        if (page.next === null || names.length >= max) break;
        start = page.next;
      }
      return { names };
    }
  }
}

async function localObject(osd: Osd, args: Record<string, unknown>): Promise<{ pgid: string; pg: Pg | undefined; name: string; hash: number }> {
  const { poolId, loc } = locatorArg(args);
  const map = osd.map();
  const pool = map.pools.get(poolId);
  if (pool === undefined) throw new NacreError(`pool ${poolId} does not exist`, { code: 'ENOENT' });
  const pgid = formatPgId(objectToPg(map, poolId, loc.name, { ...(loc.key !== undefined ? { key: loc.key } : {}), ...(loc.namespace !== undefined ? { namespace: loc.namespace } : {}) }));
  return { pgid, pg: osd.pgs.get(pgid), name: storeNameOf(loc), hash: placementHashOf(pool, loc) };
}

async function objectInfo(osd: Osd, args: Record<string, unknown>): Promise<unknown> {
  const { pgid, pg, name, hash } = await localObject(osd, args);
  const none = { pgid, exists: false, sizeBytes: 0, version: 0, sha256: null, xattrs: [], omapKeys: 0 };
  if (pg === undefined) return none;
  const oid = pg.oidOf({ hash, name });
  if (!(await osd.store.exists(pg.cid, oid))) return none;
  const sizeBytes = (await osd.store.stat(pg.cid, oid)).sizeBytes;
  const hasher = createHash('sha256');
  for (let off = 0; off < sizeBytes; off += readPieceBytes) hasher.update(await osd.store.read(pg.cid, oid, off, Math.min(readPieceBytes, sizeBytes - off)));
  const attrs = await osd.store.getattrs(pg.cid, oid);
  const oi = attrs.get(OBJECT_INFO_ATTR);
  let omapKeys = 0;
  for (let after: string | undefined; ;) {
    const page = await osd.store.omapGetRange(pg.cid, oid, { ...(after !== undefined ? { after } : {}), limitCount: 10_000 });
    omapKeys += page.entries.length;
    if (!page.more || page.entries.length === 0) break;
    after = page.entries[page.entries.length - 1]![0];
  }
  return {
    pgid, exists: true, sizeBytes, version: oi === undefined ? 0 : decodeObjectInfo(oi).version.v, sha256: hasher.digest('hex'),
    xattrs: [...attrs.keys()].filter((k) => k !== OBJECT_INFO_ATTR && k.startsWith(USER_ATTR_PREFIX)).map((k) => k.slice(1)).sort(),
    omapKeys, missing: pg.missing.has(`${(hash >>> 0).toString(16).padStart(8, '0')}.${name}`),
  };
}

async function objectRead(osd: Osd, args: Record<string, unknown>): Promise<unknown> {
  const { pg, name, hash } = await localObject(osd, args);
  if (pg === undefined) throw new NacreError('pg not here', { code: 'ENOENT' });
  const offset = args['offset'] === undefined ? 0 : expectInt(args['offset'], 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER });
  const length = args['length'] === undefined ? opDataBytesMax : expectInt(args['length'], 'length', { min: 0, max: opDataBytesMax });
  return { data: await osd.store.read(pg.cid, pg.oidOf({ hash, name }), offset, length) };
}
