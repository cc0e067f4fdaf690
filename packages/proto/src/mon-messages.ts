/**
 * What clients and OSDs say to monitors (the monitor's public vocabulary). Monitor-to-monitor
 * messages (Paxos, elections, forwarding) are the monitor package's own business and live there.
 *
 *   mon.command       client|mon → mon   request { prefix, args, cmdId? } → { data, text }
 *   mon.subscribe     client|osd → mon   request { osdmapSince } → { epoch }; then mon.osdmap pushes
 *   mon.osdmap        mon → client|osd   one-way { full?, incrementals[], lastEpoch }
 *   mon.get_osdmap    client|osd → mon   request { since } → { full?, incrementals[], lastEpoch }
 *   mon.osd_boot      osd → mon          request { osd, addr, ... } → { epoch } (marked up in epoch)
 *   mon.osd_beacon    osd → mon          one-way { osd, epoch }
 *   mon.osd_failure   osd → mon          one-way { target, failedForMs, epoch, immediate }
 *   mon.osd_alive     osd → mon          request { osd, upThru } → { epoch }
 *   mon.osd_pg_temp   osd → mon          request { epoch, pgTemp: [[pgid, osds]] } → { epoch }
 *   mon.pg_stats      osd → mon          one-way { osd, epoch, pgs[], statfs }
 *
 * Maps travel as the bytes of `encodeOsdMap` / `encodeIncremental` (@nacre/osdmap), so a receiver
 * decodes (and validates) them with the same code the monitor stores them with.
 *
 * `mon.command` prefixes (args in brackets; replies carry `data` for `--format json` and `text`
 * for people). Any monitor accepts any command; mutating ones are committed through Paxos by the
 * leader before the reply. Errors come back as error replies with codes (EINVAL bad arguments,
 * ENOENT unknown pool/OSD, EEXIST, EPERM missing confirmation, EAGAIN no quorum / retry):
 *   status · health [detail?] · mon stat · df
 *   osd tree · osd dump · osd stat · osd ls · osd create [id?, uuid?] · osd out|in|down [ids] · osd rm [ids]
 *   osd reweight [id, weight 0..1] · osd primary-affinity [id, weight 0..1]
 *   osd crush add [id, weight, host, rack?, root?, class?] · osd crush move [name, parent]
 *   osd crush remove [name] · osd crush reweight [name, weight] · osd crush add-bucket [name, type, parent?]
 *   osd set|unset [flag] · osd pool create [name, pg_num, type=replicated|erasure, size?, min_size?,
 *   k?, m?, stripe_unit?, failure_domain?] · osd pool ls [detail?] · osd pool rm [name, confirm]
 *   osd pool set [name, key=size|min_size|pg_num|pgp_num, value] · osd pool get [name, key]
 *   osd map [pool, object] · osd pool mksnap-selfmanaged [pool] → { snapId }
 *   auth add|get|rm [entity] · auth ls · config set|get|rm [who, key, value?] · config dump
 */
import { defineOneway, defineRequest } from './message.js';
import {
  expectArray, expectBool, expectBytes, expectInt, expectRecord, expectString,
} from './codec.js';

/** Largest encoded map or incremental a monitor sends in one message. */
export const osdmapBytesMax = 32 * 1024 * 1024;
/** Incrementals per mon.osdmap push; a subscriber further behind gets a full map. */
export const incrementalsPerPushMax = 500;
export const commandPrefixBytesMax = 128;
export const commandArgsMax = 64;
export const pgStatsPerReportMax = 65536;
const epochMax = 2 ** 52;
const osdIdMax = 1 << 20;

/** A command argument value: what a CLI can type. */
export type CommandArg = string | number | boolean | string[] | number[];

export interface MonCommand {
  /** Words of the command, e.g. `osd pool create`. */
  prefix: string;
  args: Record<string, CommandArg>;
  /**
   * Idempotency token, unique per logical command of one client (MonClient sends
   * `<entity>:<incarnation>:<counter>` and keeps it across retries and monitor failover). A monitor
   * that already committed a command with this id from this entity answers with the original
   * result instead of applying it again, so a retry after a lost reply is safe. Optional: old
   * senders omit it.
   */
  cmdId?: string;
}

/** Longest MonCommand.cmdId. */
export const commandIdBytesMax = 128;

export interface MonCommandReply {
  /** Structured result (what `--format json` prints). */
  data: unknown;
  /** Human-readable result (may be empty). */
  text: string;
}

function decodeCommandArg(v: unknown, what: string): CommandArg {
  if (typeof v === 'string') return expectString(v, what, { bytesMax: 4096 });
  if (typeof v === 'number') return expectInt(v, what, { min: -epochMax, max: epochMax });
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number')) return expectArray(v, what, { itemsMax: 4096 }, (x, w) => expectInt(x, w, { min: -epochMax, max: epochMax }));
    return expectArray(v, what, { itemsMax: 4096 }, (x, w) => expectString(x, w, { bytesMax: 4096 }));
  }
  return expectString(v, what, { bytesMax: 4096 }); // throws a clear EINVAL for anything else
}

export const MonCommandMsg = defineRequest<MonCommand, MonCommandReply>({
  type: 'mon.command',
  senders: ['client', 'mon'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const argsRaw = expectRecord(o['args'] ?? {}, 'args');
    const keys = Object.keys(argsRaw);
    if (keys.length > commandArgsMax) expectArray(keys, 'args', { itemsMax: commandArgsMax }, (k) => k);
    const args: Record<string, CommandArg> = {};
    for (const k of keys) {
      expectString(k, 'argument name', { bytesMax: 64, bytesMin: 1 });
      const v = argsRaw[k];
      args[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v)
        ? decodeCommandArg(v, `args.${k}`)
        : expectString(v, `args.${k}`, { bytesMax: 4096 });
    }
    return {
      prefix: expectString(o['prefix'], 'prefix', { bytesMax: commandPrefixBytesMax, bytesMin: 1 }),
      args,
      ...(o['cmdId'] !== undefined && o['cmdId'] !== null ? { cmdId: expectString(o['cmdId'], 'cmdId', { bytesMax: commandIdBytesMax, bytesMin: 1 }) } : {}),
    };
  },
  decodeReply: (raw) => {
    const o = expectRecord(raw, 'reply');
    return { data: o['data'] ?? null, text: expectString(o['text'] ?? '', 'text', { bytesMax: 16 * 1024 * 1024 }) };
  },
});

export interface OsdMapBundle {
  /** A full encoded map (when the receiver has none or is too far behind). */
  full?: Buffer;
  /** Encoded incrementals, consecutive, each one epoch after the previous (or after `full`). */
  incrementals: Buffer[];
  /** The newest epoch the bundle brings the receiver to. */
  lastEpoch: number;
}

function decodeBundle(raw: unknown): OsdMapBundle {
  const o = expectRecord(raw, 'payload');
  return {
    ...(o['full'] !== undefined && o['full'] !== null ? { full: expectBytes(o['full'], 'full', { bytesMax: osdmapBytesMax }) } : {}),
    incrementals: expectArray(o['incrementals'], 'incrementals', { itemsMax: incrementalsPerPushMax }, (v, w) => expectBytes(v, w, { bytesMax: osdmapBytesMax })),
    lastEpoch: expectInt(o['lastEpoch'], 'lastEpoch', { min: 0, max: epochMax }),
  };
}

export interface Subscribe {
  /** The epoch the subscriber already has (0: none — send a full map). */
  osdmapSince: number;
}

export const MonSubscribe = defineRequest<Subscribe, { epoch: number }>({
  type: 'mon.subscribe',
  senders: ['client', 'osd', 'mon'],
  decode: (raw) => ({ osdmapSince: expectInt(expectRecord(raw, 'payload')['osdmapSince'], 'osdmapSince', { min: 0, max: epochMax }) }),
  decodeReply: (raw) => ({ epoch: expectInt(expectRecord(raw, 'reply')['epoch'], 'epoch', { min: 0, max: epochMax }) }),
});

export const MonOsdMap = defineOneway<OsdMapBundle>({ type: 'mon.osdmap', senders: ['mon'], decode: decodeBundle });

export const MonGetOsdMap = defineRequest<{ since: number }, OsdMapBundle>({
  type: 'mon.get_osdmap',
  senders: ['client', 'osd', 'mon'],
  decode: (raw) => ({ since: expectInt(expectRecord(raw, 'payload')['since'], 'since', { min: 0, max: epochMax }) }),
  decodeReply: decodeBundle,
});

export interface OsdBoot {
  osd: number;
  /** Where clients and peers reach the OSD (`host:port`). */
  addr: string;
  /** CRUSH location from the cluster file. */
  host: string;
  rack?: string;
  root?: string;
  /** Initial CRUSH weight, 16.16 (used when the OSD is new to the CRUSH map). */
  weight: number;
  deviceClass?: string;
  /** Identity of the OSD's store (mkfs uuid): a different store under the same id is refused. */
  uuid: string;
  /**
   * Identity of this OSD process (random per start). Lets the monitor tell a resent boot (same
   * bootId: answered, nothing changes) from a restart while the map still shows the OSD up (a new
   * bootId: marked down, then up in a later epoch, so peers see a new interval). Optional: without
   * it, a boot from the address the map already shows up is taken as a resend.
   */
  bootId?: string;
}

const nameOpts = { bytesMax: 128, bytesMin: 1 };

export const MonOsdBoot = defineRequest<OsdBoot, { epoch: number }>({
  type: 'mon.osd_boot',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return {
      osd: expectInt(o['osd'], 'osd', { min: 0, max: osdIdMax }),
      addr: expectString(o['addr'], 'addr', { bytesMax: 256, bytesMin: 3 }),
      host: expectString(o['host'], 'host', nameOpts),
      ...(o['rack'] !== undefined ? { rack: expectString(o['rack'], 'rack', nameOpts) } : {}),
      ...(o['root'] !== undefined ? { root: expectString(o['root'], 'root', nameOpts) } : {}),
      weight: expectInt(o['weight'], 'weight', { min: 0, max: 100 * 0x10000 }),
      ...(o['deviceClass'] !== undefined ? { deviceClass: expectString(o['deviceClass'], 'deviceClass', nameOpts) } : {}),
      uuid: expectString(o['uuid'], 'uuid', { bytesMax: 64, bytesMin: 1 }),
      ...(o['bootId'] !== undefined ? { bootId: expectString(o['bootId'], 'bootId', { bytesMax: 64, bytesMin: 1 }) } : {}),
    };
  },
  decodeReply: (raw) => ({ epoch: expectInt(expectRecord(raw, 'reply')['epoch'], 'epoch', { min: 0, max: epochMax }) }),
});

export const MonOsdBeacon = defineOneway<{ osd: number; epoch: number }>({
  type: 'mon.osd_beacon',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { osd: expectInt(o['osd'], 'osd', { min: 0, max: osdIdMax }), epoch: expectInt(o['epoch'], 'epoch', { min: 0, max: epochMax }) };
  },
});

export interface OsdFailure {
  /** The OSD reported as unresponsive. */
  target: number;
  /** How long the reporter has not heard from it. */
  failedForMs: number;
  /** The reporter's map epoch. */
  epoch: number;
  /** The reporter saw a refused connection (the process is gone): no grace needed. */
  immediate: boolean;
}

export const MonOsdFailure = defineOneway<OsdFailure>({
  type: 'mon.osd_failure',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return {
      target: expectInt(o['target'], 'target', { min: 0, max: osdIdMax }),
      failedForMs: expectInt(o['failedForMs'], 'failedForMs', { min: 0, max: epochMax }),
      epoch: expectInt(o['epoch'], 'epoch', { min: 0, max: epochMax }),
      immediate: expectBool(o['immediate'] ?? false, 'immediate'),
    };
  },
});

const epochReply = (raw: unknown): { epoch: number } => ({ epoch: expectInt(expectRecord(raw, 'reply')['epoch'], 'epoch', { min: 0, max: epochMax }) });

export const MonOsdAlive = defineRequest<{ osd: number; upThru: number }, { epoch: number }>({
  type: 'mon.osd_alive',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return { osd: expectInt(o['osd'], 'osd', { min: 0, max: osdIdMax }), upThru: expectInt(o['upThru'], 'upThru', { min: 0, max: epochMax }) };
  },
  decodeReply: epochReply,
});

export interface PgTempRequest {
  /** The requester's map epoch. */
  epoch: number;
  /** [pgid, osds]; an empty list clears the entry. */
  pgTemp: [string, number[]][];
}

export const MonOsdPgTemp = defineRequest<PgTempRequest, { epoch: number }>({
  type: 'mon.osd_pg_temp',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    return {
      epoch: expectInt(o['epoch'], 'epoch', { min: 0, max: epochMax }),
      pgTemp: expectArray(o['pgTemp'], 'pgTemp', { itemsMax: 65536 }, (v, w) => {
        const pair = expectArray(v, w, { itemsMax: 2 }, (x) => x);
        return [
          expectString(pair[0], `${w}[0]`, { bytesMax: 32, bytesMin: 3 }),
          expectArray(pair[1], `${w}[1]`, { itemsMax: 64 }, (x, q) => expectInt(x, q, { min: 0, max: 0x7fffffff })),
        ];
      }),
    };
  },
  decodeReply: epochReply,
});

export interface PgStat {
  pgid: string;
  /** Ceph-style state words: active, clean, peering, degraded, recovering, backfilling, down, … */
  state: string[];
  objects: number;
  /** Logical bytes of the PG's objects (one copy). */
  bytes: number;
  /** Last update version `epoch'v`. */
  lastUpdate: string;
}

export interface StatfsReport {
  capacityBytes: number;
  allocatedBytes: number;
  storedBytes: number;
  objects: number;
}

export interface PgStatsReport {
  osd: number;
  epoch: number;
  /** PGs this OSD is primary for. */
  pgs: PgStat[];
  statfs: StatfsReport;
}

const count = { min: 0, max: 2 ** 53 - 1 };

export const MonPgStats = defineOneway<PgStatsReport>({
  type: 'mon.pg_stats',
  senders: ['osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const s = expectRecord(o['statfs'], 'statfs');
    return {
      osd: expectInt(o['osd'], 'osd', { min: 0, max: osdIdMax }),
      epoch: expectInt(o['epoch'], 'epoch', { min: 0, max: epochMax }),
      pgs: expectArray(o['pgs'], 'pgs', { itemsMax: pgStatsPerReportMax }, (v, w) => {
        const p = expectRecord(v, w);
        return {
          pgid: expectString(p['pgid'], `${w}.pgid`, { bytesMax: 32, bytesMin: 3 }),
          state: expectArray(p['state'], `${w}.state`, { itemsMax: 16 }, (x, q) => expectString(x, q, { bytesMax: 32 })),
          objects: expectInt(p['objects'], `${w}.objects`, count),
          bytes: expectInt(p['bytes'], `${w}.bytes`, count),
          lastUpdate: expectString(p['lastUpdate'], `${w}.lastUpdate`, { bytesMax: 64 }),
        };
      }),
      statfs: {
        capacityBytes: expectInt(s['capacityBytes'], 'statfs.capacityBytes', count),
        allocatedBytes: expectInt(s['allocatedBytes'], 'statfs.allocatedBytes', count),
        storedBytes: expectInt(s['storedBytes'], 'statfs.storedBytes', count),
        objects: expectInt(s['objects'], 'statfs.objects', count),
      },
    };
  },
});

/** Everything a monitor's public endpoint understands. */
export const monPublicMessages = [
  MonCommandMsg, MonSubscribe, MonOsdMap, MonGetOsdMap, MonOsdBoot, MonOsdBeacon, MonOsdFailure, MonOsdAlive,
  MonOsdPgTemp, MonPgStats,
] as const;


