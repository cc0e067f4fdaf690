/**
 * What clients say to OSDs (the OSD's public vocabulary). OSD-to-OSD messages (replication,
 * peering, recovery, heartbeats) belong to the OSD package.
 *
 *   osd.op            client → osd   request  ObjectOp → OpReply            (the data path)
 *   osd.pg_ls         client → osd   request  { epoch, pgid, cursor, max } → { entries, next }
 *   osd.watch         client → osd   request  { epoch, pgid, oid, cookie, watch: bool } → {}
 *   osd.notify        client → osd   request  { epoch, pgid, oid, payload, timeoutMs } → NotifyResult
 *   osd.watch_event   osd → client   one-way  { oid, cookie, notifyId, payload }
 *   osd.notify_ack    client → osd   one-way  { epoch, pgid, oid, notifyId, cookie, reply }
 *
 * Map epochs: every request carries the sender's OSDMap epoch. An OSD that is not the acting
 * primary of the PG in its own newer map answers `{ kind: 'retry', epoch }`: the client fetches
 * at least that epoch, recomputes placement and resends (same reqid). An OSD whose map is older
 * than the client's waits until it has the client's epoch before deciding.
 *
 * A compound op (several sub-ops on one object) is applied atomically: all or nothing. The first
 * failing sub-op aborts the whole op with its code: ENOENT (object missing), EEXIST (exclusive
 * create), ECANCELED (cmpxattr mismatch), ERANGE (assert_version mismatch), ENODATA-like missing
 * xattr → ENOENT, EFBIG (beyond the object size limit), EINVAL (bad offsets/arguments).
 * `read` returns the bytes of [offset, offset+length) that exist: short at the end of the object,
 * empty beyond it (as in Ceph; the client reads large objects in chunks and relies on this).
 * `reqid` (client entity + per-client incarnation + tid) makes resends idempotent: an OSD that
 * already applied the reqid answers with the original result instead of applying it again.
 */
import { defineOneway, defineRequest } from './message.js';
import {
  expectArray, expectBool, expectBytes, expectEntityName, expectInt, expectOneOf, expectRecord, expectString,
} from './codec.js';
import type { EntityName } from './entity.js';

/** Longest object name (bytes of UTF-8). */
export const objectNameBytesMax = 2048;
/** Largest data payload of one sub-op; objects are limited separately (default 128 MiB). */
export const opDataBytesMax = 64 * 1024 * 1024;
export const subOpsMax = 64;
export const xattrNameBytesMax = 256;
export const xattrValueBytesMax = 64 * 1024;
export const omapKeyBytesMax = 1024;
export const omapValueBytesMax = 1024 * 1024;
export const omapEntriesPerOpMax = 10000;
export const pgLsEntriesMax = 10000;
export const notifyPayloadBytesMax = 1024 * 1024;
const epochMax = 2 ** 52;
const u53 = { min: 0, max: 2 ** 53 - 1 };

export interface ObjectLocator {
  name: string;
  /** Hash this instead of the name (Ceph locator key). */
  key?: string;
  namespace?: string;
}

export type SubOp =
  | { op: 'create'; exclusive: boolean }
  | { op: 'write_full'; data: Buffer }
  | { op: 'write'; offset: number; data: Buffer }
  | { op: 'append'; data: Buffer }
  | { op: 'truncate'; size: number }
  | { op: 'zero'; offset: number; length: number }
  | { op: 'remove' }
  | { op: 'read'; offset: number; length: number }
  | { op: 'stat' }
  | { op: 'getxattr'; name: string }
  | { op: 'getxattrs' }
  | { op: 'setxattr'; name: string; value: Buffer }
  | { op: 'rmxattr'; name: string }
  | { op: 'omap_get_vals'; after: string; prefix: string; max: number }
  | { op: 'omap_get_keys'; after: string; max: number }
  | { op: 'omap_get_vals_by_keys'; keys: string[] }
  | { op: 'omap_set'; entries: [string, Buffer][] }
  | { op: 'omap_rm'; keys: string[] }
  | { op: 'omap_clear' }
  | { op: 'assert_exists' }
  | { op: 'assert_version'; version: number }
  | { op: 'cmpxattr'; name: string; cmp: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; value: Buffer };

export type SubOpName = SubOp['op'];

/** Sub-ops that change the object (a request with any of them is a write). */
export const WRITE_SUB_OPS: ReadonlySet<SubOpName> = new Set([
  'create', 'write_full', 'write', 'append', 'truncate', 'zero', 'remove', 'setxattr', 'rmxattr', 'omap_set', 'omap_rm', 'omap_clear',
]);

/** Per-sub-op results, in order; write sub-ops and guards return `{}`. */
export type SubOpResult =
  | Record<string, never>
  | { data: Buffer }
  | { size: number; mtimeMs: number; version: number }
  | { value: Buffer }
  | { attrs: [string, Buffer][] }
  | { entries: [string, Buffer][]; more: boolean }
  | { keys: string[]; more: boolean };

export interface SnapContext {
  /** Newest snapshot id of the pool the client knows. */
  seq: number;
  /** Existing snapshot ids, descending. */
  snaps: number[];
}

export interface ReqId {
  client: EntityName;
  /** Client incarnation (random per connect), so tids of a restarted client never collide. */
  inc: number;
  tid: number;
}

export interface ObjectOp {
  epoch: number;
  pgid: string;
  oid: ObjectLocator;
  ops: SubOp[];
  reqid: ReqId;
  /** Writes: the snapshot context (self-managed snapshots). */
  snapc?: SnapContext;
  /** Reads: read the object as of this snapshot id. */
  snapId?: number;
}

export type OpReply =
  /** Applied (writes: durable on every acting OSD). `version` is the object's new/current version. */
  | { kind: 'ok'; version: number; results: SubOpResult[] }
  /** Not the primary for this PG in map `epoch` (or newer): refresh the map and resend. */
  | { kind: 'retry'; epoch: number };

const name = (v: unknown, what: string): string => expectString(v, what, { bytesMax: objectNameBytesMax });
const data = (v: unknown, what: string): Buffer => expectBytes(v, what, { bytesMax: opDataBytesMax });
const offset = (v: unknown, what: string): number => expectInt(v, what, u53);
const xname = (v: unknown, what: string): string => expectString(v, what, { bytesMax: xattrNameBytesMax, bytesMin: 1 });
const okey = (v: unknown, what: string): string => expectString(v, what, { bytesMax: omapKeyBytesMax });

function decodeSubOp(raw: unknown, what: string): SubOp {
  const o = expectRecord(raw, what);
  const op = expectOneOf(o['op'], `${what}.op`, [
    'create', 'write_full', 'write', 'append', 'truncate', 'zero', 'remove', 'read', 'stat', 'getxattr', 'getxattrs',
    'setxattr', 'rmxattr', 'omap_get_vals', 'omap_get_keys', 'omap_get_vals_by_keys', 'omap_set', 'omap_rm', 'omap_clear',
    'assert_exists', 'assert_version', 'cmpxattr',
  ] as const);
  const f = (k: string): string => `${what}.${k}`;
  switch (op) {
    case 'create': return { op, exclusive: expectBool(o['exclusive'] ?? false, f('exclusive')) };
    case 'write_full': case 'append': return { op, data: data(o['data'], f('data')) };
    case 'write': return { op, offset: offset(o['offset'], f('offset')), data: data(o['data'], f('data')) };
    case 'truncate': return { op, size: offset(o['size'], f('size')) };
    case 'zero': return { op, offset: offset(o['offset'], f('offset')), length: offset(o['length'], f('length')) };
    case 'read': return { op, offset: offset(o['offset'], f('offset')), length: expectInt(o['length'], f('length'), { min: 0, max: opDataBytesMax }) };
    case 'remove': case 'stat': case 'getxattrs': case 'omap_clear': case 'assert_exists': return { op };
    case 'getxattr': case 'rmxattr': return { op, name: xname(o['name'], f('name')) };
    case 'setxattr': return { op, name: xname(o['name'], f('name')), value: expectBytes(o['value'], f('value'), { bytesMax: xattrValueBytesMax }) };
    case 'omap_get_vals': return {
      op, after: okey(o['after'] ?? '', f('after')), prefix: okey(o['prefix'] ?? '', f('prefix')),
      max: expectInt(o['max'], f('max'), { min: 1, max: omapEntriesPerOpMax }),
    };
    case 'omap_get_keys': return { op, after: okey(o['after'] ?? '', f('after')), max: expectInt(o['max'], f('max'), { min: 1, max: omapEntriesPerOpMax }) };
    case 'omap_get_vals_by_keys': case 'omap_rm': return { op, keys: expectArray(o['keys'], f('keys'), { itemsMax: omapEntriesPerOpMax }, okey) };
    case 'omap_set': return {
      op,
      entries: expectArray(o['entries'], f('entries'), { itemsMax: omapEntriesPerOpMax }, (v, w) => {
        const pair = expectArray(v, w, { itemsMax: 2 }, (x) => x);
        return [okey(pair[0], `${w}[0]`), expectBytes(pair[1], `${w}[1]`, { bytesMax: omapValueBytesMax })] as [string, Buffer];
      }),
    };
    case 'assert_version': return { op, version: expectInt(o['version'], f('version'), u53) };
    case 'cmpxattr': return {
      op, name: xname(o['name'], f('name')), cmp: expectOneOf(o['cmp'], f('cmp'), ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const),
      value: expectBytes(o['value'], f('value'), { bytesMax: xattrValueBytesMax }),
    };
  }
}

function decodeLocator(raw: unknown, what: string): ObjectLocator {
  const o = expectRecord(raw, what);
  return {
    name: name(o['name'], `${what}.name`),
    ...(o['key'] !== undefined ? { key: name(o['key'], `${what}.key`) } : {}),
    ...(o['namespace'] !== undefined ? { namespace: expectString(o['namespace'], `${what}.namespace`, { bytesMax: 256 }) } : {}),
  };
}

function decodeReqId(raw: unknown): ReqId {
  const o = expectRecord(raw, 'reqid');
  return { client: expectEntityName(o['client'], 'reqid.client'), inc: expectInt(o['inc'], 'reqid.inc', u53), tid: expectInt(o['tid'], 'reqid.tid', u53) };
}

const pgid = (v: unknown, what: string): string => expectString(v, what, { bytesMax: 32, bytesMin: 3 });
const epoch = (v: unknown, what: string): number => expectInt(v, what, { min: 0, max: epochMax });

export const OsdOpMsg = defineRequest<ObjectOp, OpReply>({
  type: 'osd.op',
  senders: ['client', 'osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const snapc = o['snapc'] === undefined ? undefined : expectRecord(o['snapc'], 'snapc');
    return {
      epoch: epoch(o['epoch'], 'epoch'),
      pgid: pgid(o['pgid'], 'pgid'),
      oid: decodeLocator(o['oid'], 'oid'),
      ops: expectArray(o['ops'], 'ops', { itemsMax: subOpsMax }, decodeSubOp),
      reqid: decodeReqId(o['reqid']),
      ...(snapc ? { snapc: { seq: expectInt(snapc['seq'], 'snapc.seq', u53), snaps: expectArray(snapc['snaps'], 'snapc.snaps', { itemsMax: 4096 }, (v, w) => expectInt(v, w, u53)) } } : {}),
      ...(o['snapId'] !== undefined ? { snapId: expectInt(o['snapId'], 'snapId', u53) } : {}),
    };
  },
  // Replies are built by the OSD from checked values; the client checks the shape it relies on.
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    if (o['kind'] === 'retry') return { kind: 'retry', epoch: epoch(o['epoch'], 'epoch') };
    expectOneOf(o['kind'], 'kind', ['ok'] as const);
    return { kind: 'ok', version: expectInt(o['version'], 'version', u53), results: expectArray(o['results'], 'results', { itemsMax: subOpsMax }, (v, w) => expectRecord(v, w) as SubOpResult) };
  },
});

export interface PgLs { epoch: number; pgid: string; cursor: string; max: number }
export type PgLsReply =
  | { kind: 'ok'; entries: ObjectLocator[]; next: string | null }
  | { kind: 'retry'; epoch: number };

export const OsdPgLs = defineRequest<PgLs, PgLsReply>({
  type: 'osd.pg_ls',
  senders: ['client'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { epoch: epoch(o['epoch'], 'epoch'), pgid: pgid(o['pgid'], 'pgid'), cursor: expectString(o['cursor'] ?? '', 'cursor', { bytesMax: 8192 }), max: expectInt(o['max'], 'max', { min: 1, max: pgLsEntriesMax }) };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    if (o['kind'] === 'retry') return { kind: 'retry', epoch: epoch(o['epoch'], 'epoch') };
    return {
      kind: 'ok',
      entries: expectArray(o['entries'], 'entries', { itemsMax: pgLsEntriesMax }, decodeLocator),
      next: o['next'] === null || o['next'] === undefined ? null : expectString(o['next'], 'next', { bytesMax: 8192 }),
    };
  },
});

export interface WatchRequest { epoch: number; pgid: string; oid: ObjectLocator; cookie: number; watch: boolean }
export type WatchReply = { kind: 'ok' } | { kind: 'retry'; epoch: number };

export const OsdWatch = defineRequest<WatchRequest, WatchReply>({
  type: 'osd.watch',
  senders: ['client'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { epoch: epoch(o['epoch'], 'epoch'), pgid: pgid(o['pgid'], 'pgid'), oid: decodeLocator(o['oid'], 'oid'), cookie: expectInt(o['cookie'], 'cookie', u53), watch: expectBool(o['watch'], 'watch') };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    return o['kind'] === 'retry' ? { kind: 'retry', epoch: epoch(o['epoch'], 'epoch') } : { kind: 'ok' };
  },
});

export interface NotifyRequest { epoch: number; pgid: string; oid: ObjectLocator; payload: Buffer; timeoutMs: number }
export interface NotifyResult {
  kind: 'ok';
  /** Watchers that acknowledged, with their reply payloads. */
  acks: { watcher: EntityName; cookie: number; reply: Buffer }[];
  /** Watchers that did not answer in time. */
  missed: { watcher: EntityName; cookie: number }[];
}
export type NotifyReply = NotifyResult | { kind: 'retry'; epoch: number };

export const OsdNotify = defineRequest<NotifyRequest, NotifyReply>({
  type: 'osd.notify',
  senders: ['client'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return {
      epoch: epoch(o['epoch'], 'epoch'), pgid: pgid(o['pgid'], 'pgid'), oid: decodeLocator(o['oid'], 'oid'),
      payload: expectBytes(o['payload'], 'payload', { bytesMax: notifyPayloadBytesMax }), timeoutMs: expectInt(o['timeoutMs'], 'timeoutMs', { min: 1, max: 600_000 }),
    };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    if (o['kind'] === 'retry') return { kind: 'retry', epoch: epoch(o['epoch'], 'epoch') };
    return {
      kind: 'ok',
      acks: expectArray(o['acks'], 'acks', { itemsMax: 4096 }, (v, w) => {
        const a = expectRecord(v, w);
        return { watcher: expectEntityName(a['watcher'], `${w}.watcher`), cookie: expectInt(a['cookie'], `${w}.cookie`, u53), reply: expectBytes(a['reply'], `${w}.reply`, { bytesMax: notifyPayloadBytesMax }) };
      }),
      missed: expectArray(o['missed'], 'missed', { itemsMax: 4096 }, (v, w) => {
        const a = expectRecord(v, w);
        return { watcher: expectEntityName(a['watcher'], `${w}.watcher`), cookie: expectInt(a['cookie'], `${w}.cookie`, u53) };
      }),
    };
  },
});

export interface WatchEvent { oid: ObjectLocator; cookie: number; notifyId: number; payload: Buffer }

export const OsdWatchEvent = defineOneway<WatchEvent>({
  type: 'osd.watch_event',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { oid: decodeLocator(o['oid'], 'oid'), cookie: expectInt(o['cookie'], 'cookie', u53), notifyId: expectInt(o['notifyId'], 'notifyId', u53), payload: expectBytes(o['payload'], 'payload', { bytesMax: notifyPayloadBytesMax }) };
  },
});

export interface NotifyAck { epoch: number; pgid: string; oid: ObjectLocator; notifyId: number; cookie: number; reply: Buffer }

export const OsdNotifyAck = defineOneway<NotifyAck>({
  type: 'osd.notify_ack',
  senders: ['client'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return {
      epoch: epoch(o['epoch'], 'epoch'), pgid: pgid(o['pgid'], 'pgid'), oid: decodeLocator(o['oid'], 'oid'),
      notifyId: expectInt(o['notifyId'], 'notifyId', u53), cookie: expectInt(o['cookie'], 'cookie', u53),
      reply: expectBytes(o['reply'], 'reply', { bytesMax: notifyPayloadBytesMax }),
    };
  },
});

/** Everything an OSD's public endpoint understands from clients. */
export const osdPublicMessages = [OsdOpMsg, OsdPgLs, OsdWatch, OsdNotify, OsdWatchEvent, OsdNotifyAck] as const;
