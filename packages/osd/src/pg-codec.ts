/**
 * Encoding of the PG vocabulary, shared by the wire (peering messages) and the disk (pgmeta):
 * compact msgpack shapes, and decoders that check every field — these bytes come from peers and
 * from disk, and must never crash the daemon or yield a half-valid value (EINVAL/EIO instead).
 *
 *   Eversion   [epoch, v]
 *   PgInfo     { pgid, lu: Eversion, lt: Eversion, les, lec, objects, bytes }
 *   LogEntry   { v: Eversion, p: Eversion, op: 'm'|'d', h: hash, n: name, r: reqid|null, t: mtimeMs, res?: [..] }
 *   DupEntry   { r: reqid, v: Eversion, res?: [..] }
 *   Missing    { h, n, need: Eversion, have: Eversion }
 *   ObjInfo    { v: Eversion, t: mtimeMs }          (the object's `_` xattr)
 */
import { Packr } from 'msgpackr';
import { NacreError } from '@nacre/util';
import { expectArray, expectInt, expectOneOf, expectRecord, expectString, objectNameBytesMax } from '@nacre/proto';
import type { Eversion } from './eversion.js';
import type { DupEntry, LogEntry, MissingItem, ObjRef, PgInfo } from './pg-types.js';

export const pgPackr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

const u53 = { min: 0, max: Number.MAX_SAFE_INTEGER };
const epochRange = { min: 0, max: 2 ** 52 };
/** Bytes of a log entry's recorded results (bigger results are not recorded). */
export const logResultsBytesMax = 4096;
const reqidBytesMax = 200;

export interface ObjectInfo {
  version: Eversion;
  mtimeMs: number;
}

export function packEv(v: Eversion): [number, number] {
  return [v.epoch, v.v];
}

export function unpackEv(raw: unknown, what: string): Eversion {
  const a = expectArray(raw, what, { itemsMax: 2 }, (x, w) => expectInt(x, w, u53));
  if (a.length !== 2) throw new NacreError(`bad payload: ${what} must be [epoch, v]`, { code: 'EINVAL' });
  if (a[0]! > epochRange.max) throw new NacreError(`bad payload: ${what} epoch out of range`, { code: 'EINVAL' });
  return { epoch: a[0]!, v: a[1]! };
}

function hashOf(raw: unknown, what: string): number {
  return expectInt(raw, what, { min: 0, max: 0xffff_ffff });
}

function nameOf(raw: unknown, what: string): string {
  return expectString(raw, what, { bytesMax: objectNameBytesMax, bytesMin: 1 });
}

export function objRefToWire(o: ObjRef): [number, string] {
  return [o.hash, o.name];
}

export function objRefFromWire(raw: unknown, what: string): ObjRef {
  const a = expectArray(raw, what, { itemsMax: 2 }, (x) => x);
  return { hash: hashOf(a[0], `${what}[0]`), name: nameOf(a[1], `${what}[1]`) };
}

export function infoToWire(i: PgInfo): Record<string, unknown> {
  return { pgid: i.pgid, lu: packEv(i.lastUpdate), lt: packEv(i.logTail), les: i.lastEpochStarted, lec: i.lastEpochClean, objects: i.objects, bytes: i.bytes };
}

export function infoFromWire(raw: unknown, what = 'info'): PgInfo {
  const o = expectRecord(raw, what);
  return {
    pgid: expectString(o['pgid'], `${what}.pgid`, { bytesMax: 32, bytesMin: 3 }),
    lastUpdate: unpackEv(o['lu'], `${what}.lu`),
    logTail: unpackEv(o['lt'], `${what}.lt`),
    lastEpochStarted: expectInt(o['les'], `${what}.les`, epochRange),
    lastEpochClean: expectInt(o['lec'], `${what}.lec`, epochRange),
    objects: expectInt(o['objects'], `${what}.objects`, u53),
    bytes: expectInt(o['bytes'], `${what}.bytes`, u53),
  };
}

export function entryToWire(e: LogEntry): Record<string, unknown> {
  const w: Record<string, unknown> = { v: packEv(e.version), p: packEv(e.prior), op: e.op === 'modify' ? 'm' : 'd', h: e.oid.hash, n: e.oid.name, r: e.reqid, t: e.mtimeMs };
  if (e.results !== undefined) w['res'] = e.results;
  return w;
}

function resultsFromWire(raw: unknown, what: string): unknown[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  return expectArray(raw, what, { itemsMax: 64 }, (x, w) => expectRecord(x, w));
}

export function entryFromWire(raw: unknown, what = 'entry'): LogEntry {
  const o = expectRecord(raw, what);
  const results = resultsFromWire(o['res'], `${what}.res`);
  const e: LogEntry = {
    version: unpackEv(o['v'], `${what}.v`),
    prior: unpackEv(o['p'], `${what}.p`),
    op: expectOneOf(o['op'], `${what}.op`, ['m', 'd'] as const) === 'm' ? 'modify' : 'delete',
    oid: { hash: hashOf(o['h'], `${what}.h`), name: nameOf(o['n'], `${what}.n`) },
    reqid: o['r'] === null || o['r'] === undefined ? null : expectString(o['r'], `${what}.r`, { bytesMax: reqidBytesMax }),
    mtimeMs: expectInt(o['t'], `${what}.t`, u53),
    ...(results !== undefined ? { results } : {}),
  };
  return e;
}

export function dupToWire(d: DupEntry): Record<string, unknown> {
  return d.results !== undefined ? { r: d.reqid, v: packEv(d.version), res: d.results } : { r: d.reqid, v: packEv(d.version) };
}

export function dupFromWire(raw: unknown, what = 'dup'): DupEntry {
  const o = expectRecord(raw, what);
  const results = resultsFromWire(o['res'], `${what}.res`);
  return { reqid: expectString(o['r'], `${what}.r`, { bytesMax: reqidBytesMax }), version: unpackEv(o['v'], `${what}.v`), ...(results !== undefined ? { results } : {}) };
}

export function missingToWire(m: MissingItem): Record<string, unknown> {
  return { h: m.oid.hash, n: m.oid.name, need: packEv(m.need), have: packEv(m.have) };
}

export function missingFromWire(raw: unknown, what = 'missing'): MissingItem {
  const o = expectRecord(raw, what);
  return { oid: { hash: hashOf(o['h'], `${what}.h`), name: nameOf(o['n'], `${what}.n`) }, need: unpackEv(o['need'], `${what}.need`), have: unpackEv(o['have'], `${what}.have`) };
}

export function encodeObjectInfo(oi: ObjectInfo): Buffer {
  return pgPackr.pack({ v: packEv(oi.version), t: oi.mtimeMs });
}

export function decodeObjectInfo(bytes: Uint8Array): ObjectInfo {
  return fromDisk(bytes, 'object info', (raw) => {
    const o = expectRecord(raw, 'object info');
    return { version: unpackEv(o['v'], 'oi.v'), mtimeMs: expectInt(o['t'], 'oi.t', u53) };
  });
}

/** Results are recorded in the log only when small (a resend of a bigger op gets `{}` per sub-op). */
export function recordableResults(results: readonly unknown[]): unknown[] | undefined {
  try {
    return pgPackr.pack(results).length <= logResultsBytesMax ? [...results] : undefined;
  } catch {
    return undefined;
  }
}

/** Decode bytes we wrote ourselves; anything unreadable is EIO (corrupt metadata), not a crash. */
export function fromDisk<T>(bytes: Uint8Array, what: string, decode: (raw: unknown) => T): T {
  try {
    return decode(pgPackr.unpack(bytes));
  } catch (err) {
    throw new NacreError(`corrupt ${what}: ${(err as Error).message}`, { code: 'EIO', cause: err });
  }
}
