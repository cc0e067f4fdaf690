/**
 * Wire and disk encoding of OSDMaps and incrementals: msgpackr over a plain, versioned shape.
 *
 *   full map:     { v: 1, kind: 'osdmap', fsid, epoch, createdMs, modifiedMs, flags: [..], maxOsd,
 *                   osds: [[exists, up, weight, primaryAffinity, addr, upFrom, upThru, downAt], ..],
 *                   pools: [Pool, ..], poolMax, ecProfiles: [[name, EcProfile], ..],
 *                   crush: <nacre-crush-map/v1 JSON>, pgTemp: [[pgid, [osd..]], ..], primaryTemp, pgUpmap,
 *                   pgUpmapItems }
 *   incremental:  { v: 1, kind: 'osdmap-inc', epoch, modifiedMs, ...the optional fields of
 *                   OsdMapIncremental, newCrush as nacre-crush-map/v1 JSON }
 *
 * Decoding validates every field and throws NacreError('EINVAL') on anything else: these bytes come
 * from peers and from disk, and must never crash a daemon or yield a half-valid map.
 */
import { Packr } from 'msgpackr';
import { CrushError, crushMapFromJson, crushMapToJson } from '@nacre/crush';
import { NacreError, expectArray, expectBool, expectInt, expectRecord, expectString } from '@nacre/util';
import { applyIncremental, type OsdMapIncremental, type OsdStateChange } from './incremental.js';
import { OSDMAP_FLAGS, type OsdInfo, type OsdMap, type OsdMapFlag } from './osdmap.js';
import { parsePgId } from './pgid.js';
import { validatePool, type EcProfile, type Pool } from './pool.js';

export const OSDMAP_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function encodeOsdMap(map: OsdMap): Buffer {
  return packr.pack({
    v: OSDMAP_FORMAT_VERSION,
    kind: 'osdmap',
    fsid: map.fsid,
    epoch: map.epoch,
    createdMs: map.createdMs,
    modifiedMs: map.modifiedMs,
    flags: [...map.flags].sort(),
    maxOsd: map.maxOsd,
    osds: map.osds.map((o) => [o.exists, o.up, o.weight, o.primaryAffinity, o.addr, o.upFrom, o.upThru, o.downAt]),
    pools: [...map.pools.values()].sort((a, b) => a.id - b.id),
    poolMax: map.poolMax,
    ecProfiles: [...map.ecProfiles].sort(([a], [b]) => (a < b ? -1 : 1)),
    crush: crushMapToJson(map.crush),
    pgTemp: [...map.pgTemp],
    primaryTemp: [...map.primaryTemp],
    pgUpmap: [...map.pgUpmap],
    pgUpmapItems: [...map.pgUpmapItems],
  });
}

export function encodeIncremental(inc: OsdMapIncremental): Buffer {
  const { newCrush, ...rest } = inc;
  return packr.pack({ v: OSDMAP_FORMAT_VERSION, kind: 'osdmap-inc', ...rest, ...(newCrush ? { newCrush: crushMapToJson(newCrush) } : {}) });
}

export function decodeOsdMap(bytes: Uint8Array): OsdMap {
  const r = new Reader(unpack(bytes), 'osdmap');
  r.header('osdmap');
  const maxOsd = r.int('maxOsd', 0, 1 << 20);
  const osds = r.array('osds', (v, path) => osdInfo(v, path));
  if (osds.length !== maxOsd) fail(`osdmap.osds has ${osds.length} entries, maxOsd is ${maxOsd}`);
  const pools = new Map<number, Pool>();
  for (const p of r.array('pools', (v, path) => pool(v, path))) pools.set(p.id, p);
  const map: OsdMap = {
    fsid: r.str('fsid'),
    epoch: r.int('epoch', 0),
    createdMs: r.num('createdMs'),
    modifiedMs: r.num('modifiedMs'),
    flags: new Set(r.array('flags', (v, path) => flag(v, path))),
    maxOsd,
    osds,
    pools,
    poolMax: r.int('poolMax', 0),
    ecProfiles: new Map(r.array('ecProfiles', (v, path) => pair(v, path, str, ecProfile))),
    crush: crush(r.get('crush'), 'osdmap.crush'),
    pgTemp: new Map(r.array('pgTemp', (v, path) => pair(v, path, pgKey, osdList))),
    primaryTemp: new Map(r.array('primaryTemp', (v, path) => pair(v, path, pgKey, (x, p) => int(x, p, -1)))),
    pgUpmap: new Map(r.array('pgUpmap', (v, path) => pair(v, path, pgKey, osdList))),
    pgUpmapItems: new Map(r.array('pgUpmapItems', (v, path) => pair(v, path, pgKey, upmapItems))),
  };
  return map;
}

export function decodeIncremental(bytes: Uint8Array): OsdMapIncremental {
  const r = new Reader(unpack(bytes), 'incremental');
  r.header('osdmap-inc');
  const inc: OsdMapIncremental = { epoch: r.int('epoch', 1), modifiedMs: r.num('modifiedMs') };
  const opt = <K extends keyof OsdMapIncremental>(key: K, decode: (v: unknown, path: string) => OsdMapIncremental[K]): void => {
    const v = r.get(key);
    if (v !== undefined) inc[key] = decode(v, `incremental.${key}`);
  };
  opt('newFlags', (v, p) => list(v, p, flag));
  opt('newMaxOsd', (v, p) => int(v, p, 0, 1 << 20));
  opt('newCrush', (v, p) => crush(v, p));
  opt('newPools', (v, p) => list(v, p, pool));
  opt('removedPools', (v, p) => list(v, p, (x, q) => int(x, q, 0)));
  opt('newEcProfiles', (v, p) => list(v, p, (x, q) => pair(x, q, str, ecProfile)));
  opt('removedEcProfiles', (v, p) => list(v, p, str));
  opt('osdStates', (v, p) => list(v, p, osdStateChange));
  opt('newWeights', (v, p) => list(v, p, (x, q) => pair(x, q, (a, b) => int(a, b, 0), (a, b) => int(a, b, 0, 0x10000))));
  opt('newPrimaryAffinity', (v, p) => list(v, p, (x, q) => pair(x, q, (a, b) => int(a, b, 0), (a, b) => int(a, b, 0, 0x10000))));
  opt('newPgTemp', (v, p) => list(v, p, (x, q) => pair(x, q, pgKey, osdList)));
  opt('newPrimaryTemp', (v, p) => list(v, p, (x, q) => pair(x, q, pgKey, (a, b) => int(a, b, -1))));
  opt('newPgUpmap', (v, p) => list(v, p, (x, q) => pair(x, q, pgKey, osdList)));
  opt('removedPgUpmap', (v, p) => list(v, p, pgKey));
  opt('newPgUpmapItems', (v, p) => list(v, p, (x, q) => pair(x, q, pgKey, upmapItems)));
  opt('removedPgUpmapItems', (v, p) => list(v, p, pgKey));
  return inc;
}

/** Decode an incremental and apply it: the one call a subscriber needs. */
export function applyEncodedIncremental(map: OsdMap, bytes: Uint8Array): OsdMap {
  return applyIncremental(map, decodeIncremental(bytes));
}

// ---- validation helpers: each takes the value and its path for the error message ----

function fail(message: string): never {
  throw new NacreError(`bad encoded osdmap: ${message}`, { code: 'EINVAL' });
}

function unpack(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    throw new NacreError(`bad encoded osdmap: not msgpack (${(err as Error).message})`, { code: 'EINVAL', cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('top level is not an object');
  return value as Record<string, unknown>;
}

class Reader {
  constructor(private readonly obj: Record<string, unknown>, private readonly name: string) {}
  header(kind: string): void {
    if (this.obj['v'] !== OSDMAP_FORMAT_VERSION) fail(`unsupported format version ${String(this.obj['v'])} (this build reads ${OSDMAP_FORMAT_VERSION})`);
    if (this.obj['kind'] !== kind) fail(`expected kind '${kind}', got '${String(this.obj['kind'])}'`);
  }
  get(key: string): unknown { return this.obj[key]; }
  int(key: string, min?: number, max?: number): number { return int(this.obj[key], `${this.name}.${key}`, min, max); }
  num(key: string): number { return int(this.obj[key], `${this.name}.${key}`); }
  str(key: string): string { return str(this.obj[key], `${this.name}.${key}`); }
  array<T>(key: string, each: (v: unknown, path: string) => T): T[] { return list(this.obj[key], `${this.name}.${key}`, each); }
}

const SAFE = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
/** Bound on any list in an encoded map (OSDs, pools, overlay entries). */
const ENCODED_LIST_ITEMS_MAX = 1 << 22;

function int(v: unknown, path: string, min = SAFE.min, max = SAFE.max): number {
  return expectInt(v, path, { min, max });
}

function str(v: unknown, path: string): string {
  return expectString(v, path, { bytesMax: 4096 });
}

function list<T>(v: unknown, path: string, each: (v: unknown, path: string) => T): T[] {
  return expectArray(v, path, { itemsMax: ENCODED_LIST_ITEMS_MAX }, each);
}

function pair<A, B>(v: unknown, path: string, a: (v: unknown, p: string) => A, b: (v: unknown, p: string) => B): [A, B] {
  const items = expectArray(v, path, { itemsMax: 2 }, (x) => x);
  if (items.length !== 2) fail(`${path} is not a pair`);
  return [a(items[0], `${path}[0]`), b(items[1], `${path}[1]`)];
}

function flag(v: unknown, path: string): OsdMapFlag {
  const s = str(v, path);
  if (!OSDMAP_FLAGS.includes(s as OsdMapFlag)) fail(`${path}: unknown flag '${s}'`);
  return s as OsdMapFlag;
}

function pgKey(v: unknown, path: string): string {
  const s = str(v, path);
  try {
    parsePgId(s);
  } catch {
    fail(`${path}: bad pg id '${s}'`);
  }
  return s;
}

function osdList(v: unknown, path: string): number[] {
  return list(v, path, (x, p) => int(x, p, 0, 0x7fffffff));
}

function upmapItems(v: unknown, path: string): [number, number][] {
  return list(v, path, (x, p) => pair(x, p, (a, q) => int(a, q, 0), (a, q) => int(a, q, 0, 0x7fffffff)));
}

function osdInfo(v: unknown, path: string): OsdInfo {
  if (!Array.isArray(v) || v.length !== 8) fail(`${path} is not an 8-field OSD entry`);
  return {
    exists: expectBool(v[0], `${path}.exists`),
    up: expectBool(v[1], `${path}.up`),
    weight: int(v[2], `${path}.weight`, 0, 0x10000),
    primaryAffinity: int(v[3], `${path}.primaryAffinity`, 0, 0x10000),
    addr: str(v[4], `${path}.addr`),
    upFrom: int(v[5], `${path}.upFrom`, 0),
    upThru: int(v[6], `${path}.upThru`, 0),
    downAt: int(v[7], `${path}.downAt`, 0),
  };
}

function osdStateChange(v: unknown, path: string): OsdStateChange {
  const o = expectRecord(v, path);
  const out: OsdStateChange = { id: int(o['id'], `${path}.id`, 0) };
  for (const key of Object.keys(o)) {
    const p = `${path}.${key}`;
    switch (key) {
      case 'id': break;
      case 'exists': case 'up': out[key] = expectBool(o[key], p); break;
      case 'addr': out.addr = str(o[key], p); break;
      case 'upFrom': case 'upThru': case 'downAt': out[key] = int(o[key], p, 0); break;
      default: fail(`${p}: unknown field`);
    }
  }
  return out;
}

function pool(v: unknown, path: string): Pool {
  const o = expectRecord(v, path);
  const type = str(o['type'], `${path}.type`);
  if (type !== 'replicated' && type !== 'erasure') fail(`${path}.type must be replicated or erasure`);
  const objectHash = str(o['objectHash'], `${path}.objectHash`);
  if (objectHash !== 'rjenkins' && objectHash !== 'linux') fail(`${path}.objectHash must be rjenkins or linux`);
  const p: Pool = {
    id: int(o['id'], `${path}.id`, 0),
    name: str(o['name'], `${path}.name`),
    type,
    size: int(o['size'], `${path}.size`, 1),
    minSize: int(o['minSize'], `${path}.minSize`, 1),
    pgNum: int(o['pgNum'], `${path}.pgNum`, 1),
    pgpNum: int(o['pgpNum'], `${path}.pgpNum`, 1),
    crushRule: int(o['crushRule'], `${path}.crushRule`, 0),
    hashpspool: expectBool(o['hashpspool'], `${path}.hashpspool`),
    objectHash,
    snapSeq: int(o['snapSeq'], `${path}.snapSeq`, 0),
    lastChangeEpoch: int(o['lastChangeEpoch'], `${path}.lastChangeEpoch`, 0),
    ...(o['ecProfile'] !== undefined ? { ecProfile: str(o['ecProfile'], `${path}.ecProfile`) } : {}),
  };
  try {
    validatePool(p);
  } catch (err) {
    fail(`${path}: ${(err as Error).message}`);
  }
  return p;
}

function ecProfile(v: unknown, path: string): EcProfile {
  const o = expectRecord(v, path);
  return {
    k: int(o['k'], `${path}.k`, 1, 32),
    m: int(o['m'], `${path}.m`, 1, 8),
    stripeUnitBytes: int(o['stripeUnitBytes'], `${path}.stripeUnitBytes`, 1),
    crushFailureDomain: str(o['crushFailureDomain'], `${path}.crushFailureDomain`),
  };
}

function crush(v: unknown, path: string): OsdMap['crush'] {
  try {
    return crushMapFromJson(v);
  } catch (err) {
    if (err instanceof CrushError) fail(`${path}: ${err.message}`);
    throw err;
  }
}
