/**
 * OSD-to-OSD vocabulary (and the admin request). Every PG message carries the sender's map epoch
 * and the first epoch of the interval it believes in (`since`): a receiver whose map is older
 * waits for that epoch; one whose interval differs answers ESTALE (the sender is about to learn
 * the new map and re-peer).
 *
 *   osd.pg_query     primary → any     { pgid, epoch, since, from } → { info|null, report }
 *   osd.pg_log       primary → auth    { pgid, epoch, since } → { info, tail, entries, missing }
 *   osd.pg_activate  primary → replica { pgid, epoch, since, activationEpoch, info, tail, entries } → { missing, backfill }
 *   osd.repop        primary → replica { pgid, epoch, since, entry, mutations, trimTo } → {}   (after commit)
 *   osd.push         primary → replica { pgid, epoch, since, chunk } → {}                      (after commit)
 *   osd.pull         primary → peer    { pgid, epoch, since, oid, offset, omapAfter } → chunk
 *   osd.peer_info    any → osd         {} → { hbAddr }
 *   osd.ping         osd → osd (heartbeat messenger) { epoch, stampMs } → { epoch, stampMs }
 *   osd.admin        client.admin → osd { cmd, args } → command-specific (admin.ts)
 */
import {
  defineRequest, expectArray, expectBool, expectBytes, expectInt, expectRecord, expectString, type RequestDef,
} from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { compareVersions, type Eversion } from './eversion.js';
import { decodeMutations, mutationsToWire, type Mutation } from './mutations.js';
import type { IntervalReport, PastInterval } from './past-intervals.js';
import {
  entryFromWire, entryToWire, infoFromWire, infoToWire, missingFromWire, missingToWire, objRefFromWire, objRefToWire, packEv, unpackEv,
} from './pg-codec.js';
import type { LogEntry, MissingItem, ObjRef, PgInfo } from './pg-types.js';

const epochOpts = { min: 0, max: 2 ** 52 };
const u53 = { min: 0, max: Number.MAX_SAFE_INTEGER };
const osdOpts = { min: 0, max: 0x7fff_ffff };
/** Entries of one log transfer (bounded by the log bound of any sane config). */
export const logEntriesPerMessageMax = 100_000;
export const missingPerMessageMax = 1_000_000;
export const intervalsPerReportMax = 10_000;

const pgid = (v: unknown): string => expectString(v, 'pgid', { bytesMax: 32, bytesMin: 3 });
const epoch = (v: unknown, w: string): number => expectInt(v, w, epochOpts);

export interface PgMsgBase {
  pgid: string;
  epoch: number;
  /** First epoch of the sender's current interval for this PG. */
  since: number;
}

function base(o: Record<string, unknown>): PgMsgBase {
  return { pgid: pgid(o['pgid']), epoch: epoch(o['epoch'], 'epoch'), since: epoch(o['since'], 'since') };
}

// ---------------------------------------------------------------- interval reports

export function reportToWire(r: IntervalReport): Record<string, unknown> {
  return { from: r.fromEpoch, to: r.toEpoch, iv: r.intervals.map((i) => [i.first, i.last, i.up, i.acting, i.primary, i.maybeWentRw]) };
}

export function reportFromWire(raw: unknown): IntervalReport {
  const o = expectRecord(raw, 'report');
  const intervals = expectArray(o['iv'], 'report.iv', { itemsMax: intervalsPerReportMax }, (v, w): PastInterval => {
    const a = expectArray(v, w, { itemsMax: 6 }, (x) => x);
    const osds = (x: unknown, q: string): number[] => expectArray(x, q, { itemsMax: 64 }, (y, z) => expectInt(y, z, osdOpts));
    return {
      first: epoch(a[0], `${w}[0]`), last: epoch(a[1], `${w}[1]`), up: osds(a[2], `${w}[2]`), acting: osds(a[3], `${w}[3]`),
      primary: expectInt(a[4], `${w}[4]`, { min: -1, max: osdOpts.max }), maybeWentRw: expectBool(a[5], `${w}[5]`),
    };
  });
  return { fromEpoch: epoch(o['from'], 'report.from'), toEpoch: epoch(o['to'], 'report.to'), intervals };
}

// ---------------------------------------------------------------- peering

/** A peer's log must be strictly increasing after its tail (checked here so bad bytes get EINVAL, not an assertion). */
function orderedLog(tail: Eversion, entries: LogEntry[], what: string): LogEntry[] {
  let prev = tail;
  for (const e of entries) {
    if (compareVersions(e.version, prev) <= 0) throw new NacreError(`bad payload: ${what} not in increasing version order`, { code: 'EINVAL' });
    prev = e.version;
  }
  return entries;
}

export interface PgQuery extends PgMsgBase { from: number }
export interface PgQueryReply { info: PgInfo | null; reports: IntervalReport[] }

export const OsdPgQuery: RequestDef<PgQuery, PgQueryReply> = defineRequest<PgQuery, PgQueryReply>({
  type: 'osd.pg_query',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { ...base(o), from: epoch(o['from'], 'from') };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    return {
      info: o['info'] === null || o['info'] === undefined ? null : infoFromWire(o['info']),
      reports: expectArray(o['reports'], 'reports', { itemsMax: 64 }, reportFromWire),
    };
  },
});

export function pgQueryReplyToWire(r: PgQueryReply): unknown {
  return { info: r.info === null ? null : infoToWire(r.info), reports: r.reports.map(reportToWire) };
}

export interface PgLogReply { info: PgInfo; tail: Eversion; entries: LogEntry[]; missing: MissingItem[] }

export const OsdPgLog: RequestDef<PgMsgBase, PgLogReply> = defineRequest<PgMsgBase, PgLogReply>({
  type: 'osd.pg_log',
  senders: ['osd'],
  decode: (raw) => base(expectRecord(raw, 'payload')),
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    const tail = unpackEv(o['tail'], 'tail');
    return {
      info: infoFromWire(o['info']),
      tail,
      entries: orderedLog(tail, expectArray(o['entries'], 'entries', { itemsMax: logEntriesPerMessageMax }, entryFromWire), 'entries'),
      missing: expectArray(o['missing'], 'missing', { itemsMax: missingPerMessageMax }, missingFromWire),
    };
  },
});

export function pgLogReplyToWire(r: PgLogReply): unknown {
  return { info: infoToWire(r.info), tail: packEv(r.tail), entries: r.entries.map(entryToWire), missing: r.missing.map(missingToWire) };
}

export interface PgActivate extends PgMsgBase {
  activationEpoch: number;
  /** The authoritative info and log (after the primary's merge). */
  info: PgInfo;
  tail: Eversion;
  entries: LogEntry[];
}
export interface PgActivateReply { missing: MissingItem[]; backfill: boolean }

export const OsdPgActivate: RequestDef<PgActivate, PgActivateReply> = defineRequest<PgActivate, PgActivateReply>({
  type: 'osd.pg_activate',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const tail = unpackEv(o['tail'], 'tail');
    const info = infoFromWire(o['info']);
    const entries = orderedLog(tail, expectArray(o['entries'], 'entries', { itemsMax: logEntriesPerMessageMax }, entryFromWire), 'entries');
    const head = entries.length > 0 ? entries[entries.length - 1]!.version : tail;
    if (compareVersions(head, info.lastUpdate) !== 0) throw new NacreError('bad payload: info.lu must be the log head', { code: 'EINVAL' });
    return { ...base(o), activationEpoch: epoch(o['activationEpoch'], 'activationEpoch'), info, tail, entries };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    return { missing: expectArray(o['missing'], 'missing', { itemsMax: missingPerMessageMax }, missingFromWire), backfill: expectBool(o['backfill'], 'backfill') };
  },
});

export function pgActivateToWire(a: PgActivate): unknown {
  return { pgid: a.pgid, epoch: a.epoch, since: a.since, activationEpoch: a.activationEpoch, info: infoToWire(a.info), tail: packEv(a.tail), entries: a.entries.map(entryToWire) };
}

export function pgActivateReplyToWire(r: PgActivateReply): unknown {
  return { missing: r.missing.map(missingToWire), backfill: r.backfill };
}

// ---------------------------------------------------------------- replication

export interface RepOp extends PgMsgBase {
  entry: LogEntry;
  mutations: Mutation[];
  /** The primary's log tail after this write: replicas trim their log to it. */
  trimTo: Eversion;
  /** Change of the PG's object count and logical bytes (the same on every copy). */
  objectsDelta: number;
  bytesDelta: number;
}

/** A replica's answer once the write is durable there: how full its store is (per mille). */
export interface RepOpReply { permille: number }

export const OsdRepOp: RequestDef<RepOp, RepOpReply> = defineRequest<RepOp, RepOpReply>({
  type: 'osd.repop',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const delta = { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
    return {
      ...base(o), entry: entryFromWire(o['entry']), mutations: decodeMutations(o['mutations'], 'mutations', o), trimTo: unpackEv(o['trimTo'], 'trimTo'),
      objectsDelta: expectInt(o['objectsDelta'], 'objectsDelta', delta), bytesDelta: expectInt(o['bytesDelta'], 'bytesDelta', delta),
    };
  },
  decodeReply: (raw) => ({ permille: expectInt(expectRecord(raw, 'reply')['permille'] ?? 0, 'permille', { min: 0, max: 100_000 }) }),
});

export function repOpToWire(r: RepOp): unknown {
  const w: Record<string, unknown> = {
    pgid: r.pgid, epoch: r.epoch, since: r.since, entry: entryToWire(r.entry), trimTo: packEv(r.trimTo),
    objectsDelta: r.objectsDelta, bytesDelta: r.bytesDelta,
  };
  w['mutations'] = mutationsToWire(r.mutations, w);
  return w;
}

// ---------------------------------------------------------------- recovery

/** One piece of an object copy (recovery). The first piece carries the attrs; the last has done. */
export interface ObjectChunk {
  oid: ObjRef;
  version: Eversion;
  sizeBytes: number;
  offset: number;
  data: Buffer;
  /** All store xattrs (object info and user xattrs); first piece only. */
  attrs: [string, Buffer][] | null;
  omap: [string, Buffer][];
  /** Last omap key sent (the next piece continues after it). */
  omapAfter: string;
  first: boolean;
  done: boolean;
}

function pairs(v: unknown, what: string, itemsMax: number): [string, Buffer][] {
  return expectArray(v, what, { itemsMax }, (p, w) => {
    const a = expectArray(p, w, { itemsMax: 2 }, (x) => x);
    return [expectString(a[0], `${w}[0]`, { bytesMax: 4096 }), expectBytes(a[1], `${w}[1]`, { bytesMax: 1024 * 1024 })];
  });
}

export function chunkFromWire(raw: unknown): ObjectChunk {
  const o = expectRecord(raw, 'chunk');
  return {
    oid: objRefFromWire(o['oid'], 'chunk.oid'),
    version: unpackEv(o['version'], 'chunk.version'),
    sizeBytes: expectInt(o['sizeBytes'], 'chunk.sizeBytes', u53),
    offset: expectInt(o['offset'], 'chunk.offset', u53),
    data: expectBytes(o['data'], 'chunk.data', { bytesMax: 32 * 1024 * 1024 }),
    attrs: o['attrs'] === null || o['attrs'] === undefined ? null : pairs(o['attrs'], 'chunk.attrs', 1024),
    omap: pairs(o['omap'], 'chunk.omap', 100_000),
    omapAfter: expectString(o['omapAfter'], 'chunk.omapAfter', { bytesMax: 4096 }),
    first: expectBool(o['first'], 'chunk.first'),
    done: expectBool(o['done'], 'chunk.done'),
  };
}

/** A typed payload travels in its wire shape: the messenger only sees msgpack-able values. */
export function asWire<T>(wire: unknown): T {
  return wire as T;
}

export function chunkToWire(c: ObjectChunk): unknown {
  return { ...c, oid: objRefToWire(c.oid), version: packEv(c.version) };
}

export interface Push extends PgMsgBase { chunk: ObjectChunk }

export const OsdPush: RequestDef<Push, Record<string, never>> = defineRequest<Push, Record<string, never>>({
  type: 'osd.push',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    // The chunk's data travels as the top-level `data` field (an attachment: no copy).
    const chunk = expectRecord(o['chunk'], 'chunk');
    return { ...base(o), chunk: chunkFromWire(o['data'] === undefined ? chunk : { ...chunk, data: o['data'] }) };
  },
  decodeReply: () => ({}),
});

export function pushToWire(p: Push): unknown {
  const { data, ...rest } = chunkToWire(p.chunk) as Record<string, unknown>;
  return { pgid: p.pgid, epoch: p.epoch, since: p.since, chunk: rest, data };
}

export interface Pull extends PgMsgBase { oid: ObjRef; offset: number; omapAfter: string; first: boolean }

export const OsdPull: RequestDef<Pull, ObjectChunk> = defineRequest<Pull, ObjectChunk>({
  type: 'osd.pull',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return {
      ...base(o), oid: objRefFromWire(o['oid'], 'oid'), offset: expectInt(o['offset'], 'offset', u53),
      omapAfter: expectString(o['omapAfter'], 'omapAfter', { bytesMax: 4096 }), first: expectBool(o['first'], 'first'),
    };
  },
  decodeReply: chunkFromWire,
});

// ---------------------------------------------------------------- misc

export const OsdPeerInfo: RequestDef<Record<string, never>, { hbAddr: string }> = defineRequest<Record<string, never>, { hbAddr: string }>({
  type: 'osd.peer_info',
  senders: ['osd'],
  decode: () => ({}),
  decodeReply: (raw) => ({ hbAddr: expectString(expectRecord(raw, 'reply')['hbAddr'], 'hbAddr', { bytesMax: 256 }) }),
});

export interface Ping { epoch: number; stampMs: number }

export const OsdPing: RequestDef<Ping, Ping> = defineRequest<Ping, Ping>({
  type: 'osd.ping',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { epoch: epoch(o['epoch'], 'epoch'), stampMs: expectInt(o['stampMs'], 'stampMs', u53) };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    return { epoch: epoch(o['epoch'], 'epoch'), stampMs: expectInt(o['stampMs'], 'stampMs', u53) };
  },
});

export type AdminCommand = 'status' | 'pg_dump' | 'pg_query' | 'object_info' | 'object_read' | 'list_objects';
export const ADMIN_COMMANDS: readonly AdminCommand[] = ['status', 'pg_dump', 'pg_query', 'object_info', 'object_read', 'list_objects'];

export interface AdminRequest { cmd: AdminCommand; args: Record<string, unknown> }

export const OsdAdmin: RequestDef<AdminRequest, unknown> = defineRequest<AdminRequest, unknown>({
  type: 'osd.admin',
  senders: ['client'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const cmd = expectString(o['cmd'], 'cmd', { bytesMax: 32 });
    if (!(ADMIN_COMMANDS as readonly string[]).includes(cmd)) expectArray(null, `cmd (one of ${ADMIN_COMMANDS.join(', ')})`, { itemsMax: 0 }, (x) => x);
    return { cmd: cmd as AdminCommand, args: expectRecord(o['args'] ?? {}, 'args') };
  },
  decodeReply: (raw) => raw,
});

/** Messages an OSD's public messenger handles from peers and admins. */
export const osdInternalMessages = [OsdPgQuery, OsdPgLog, OsdPgActivate, OsdRepOp, OsdPush, OsdPull, OsdPeerInfo, OsdAdmin] as const;
