/**
 * Snapshot encoding of MonState (what a monitor ships to one that is behind the others' trimmed
 * Paxos history, and what the driver may keep in its store): msgpackr over a versioned shape.
 *
 *   { v: 1, kind: 'mon-state', version, fsid,
 *     osdmap: <encodeOsdMap bytes>, incrementals: [<encodeIncremental bytes>, ...],
 *     osdMeta: [[id, uuid, bootId, autoOut]], auth: [[entity, key, [[service, cap]]]],
 *     config: [[who, key, value]], monmap: { epoch, mons: [[name, addr]] },
 *     commandLog: [[entity, cmdId, data, text]] }
 *
 * Maps are lists of pairs (never objects keyed by user strings). Decoding checks every field,
 * re-decodes every retained incremental (epochs must run up to the map's epoch) and ends with
 * checkMonState, so a snapshot either yields a valid state or throws EINVAL.
 */
import { decodeIncremental, decodeOsdMap, encodeOsdMap } from '@nacre/osdmap';
import {
  expectArray, expectBool, expectBytes, expectEntityName, expectInt, expectRecord, expectString,
  type EntityName,
} from '@nacre/proto';
import { NacreError } from '@nacre/util';
import {
  authEntriesMax, commandLogEntriesMax, commandLogTextBytesMax, configEntriesMax, configValueBytesMax, monsMax,
  osdmapIncrementalsRetainedMax,
} from './limits.js';
import {
  checkMonState, commandKey, configKey, type AuthEntry, type CommandRecord, type ConfigEntry, type MonMap,
  type MonState, type OsdMeta,
} from './mon-state.js';
import { checkConfigKey, checkConfigWho } from './names.js';
import { decodingAs, expectPair, expectTuple, ownBytes, servicePackr, unpackRecord } from './wire-checks.js';

export const MON_STATE_FORMAT_VERSION = 1;
const bytesMax = 64 * 1024 * 1024;
const epochMax = 2 ** 52;

export function encodeMonState(s: MonState): Buffer {
  return servicePackr.pack({
    v: MON_STATE_FORMAT_VERSION,
    kind: 'mon-state',
    version: s.version,
    fsid: s.fsid,
    osdmap: encodeOsdMap(s.osdmap),
    incrementals: s.osdmapIncrementals,
    osdMeta: [...s.osdMeta].sort(([a], [b]) => a - b).map(([id, m]) => [id, m.uuid, m.bootId, m.autoOut]),
    auth: [...s.auth].sort(([a], [b]) => (a < b ? -1 : 1)).map(([e, a]) => [e, a.key, Object.entries(a.caps).sort()]),
    config: [...s.config.values()].map((c) => [c.who, c.key, c.value]),
    monmap: encodeMonMap(s.monmap),
    commandLog: [...s.commandLog.values()].map((r) => [r.entity, r.cmdId, r.reply.data, r.reply.text]),
  });
}

export function encodeMonMap(m: MonMap): { epoch: number; mons: [string, string][] } {
  return { epoch: m.epoch, mons: m.mons.map((mon) => [mon.name, mon.addr]) };
}

export function decodeMonMap(raw: unknown, what: string): MonMap {
  const o = expectRecord(raw, what);
  const mons = expectArray(o['mons'], `${what}.mons`, { itemsMax: monsMax }, (v, w) => {
    const [name, addr] = expectPair(v, w);
    return [expectString(name, `${w}[0]`, { bytesMax: 64, bytesMin: 1 }), expectString(addr, `${w}[1]`, { bytesMax: 256 })] as const;
  });
  return { epoch: expectInt(o['epoch'], `${what}.epoch`, { min: 0, max: epochMax }), mons: mons.map(([name, addr], rank) => ({ name, rank, addr })) };
}

export function decodeAuthEntry(keyRaw: unknown, capsRaw: unknown, what: string): AuthEntry {
  const key = ownBytes(expectBytes(keyRaw, `${what}.key`, { bytesMin: 16, bytesMax: 64 }));
  const caps: Record<string, string> = {};
  for (const pair of expectArray(capsRaw, `${what}.caps`, { itemsMax: 8 }, (v, w) => expectPair(v, w))) {
    const svc = expectString(pair[0], `${what}.caps service`, { bytesMax: 16, bytesMin: 1 });
    if (!/^[a-z]+$/.test(svc) || Object.prototype.hasOwnProperty.call(caps, svc)) {
      throw new NacreError(`bad payload: ${what}.caps has a bad or repeated service '${svc}'`, { code: 'EINVAL' });
    }
    caps[svc] = expectString(pair[1], `${what}.caps.${svc}`, { bytesMax: 1024 });
  }
  return { key, caps };
}

export function decodeOsdMeta(raw: unknown[], what: string): OsdMeta {
  return {
    uuid: expectString(raw[0], `${what}.uuid`, { bytesMax: 64 }),
    bootId: expectString(raw[1], `${what}.bootId`, { bytesMax: 64 }),
    autoOut: expectBool(raw[2], `${what}.autoOut`),
  };
}

export function decodeConfigEntry(raw: unknown, what: string): ConfigEntry {
  const [who, key, value] = expectTuple(raw, what, 3);
  return {
    who: checkConfigWho(expectString(who, `${what}.who`, { bytesMax: 80, bytesMin: 1 })),
    key: checkConfigKey(expectString(key, `${what}.key`, { bytesMax: 128, bytesMin: 1 })),
    value: expectString(value, `${what}.value`, { bytesMax: configValueBytesMax }),
  };
}

export function decodeCommandRecord(raw: unknown, what: string): CommandRecord {
  const [entity, cmdId, data, text] = expectTuple(raw, what, 4);
  return {
    entity: expectString(entity, `${what}.entity`, { bytesMax: 80, bytesMin: 1 }),
    cmdId: expectString(cmdId, `${what}.cmdId`, { bytesMax: 128, bytesMin: 1 }),
    reply: { data: data ?? null, text: expectString(text, `${what}.text`, { bytesMax: commandLogTextBytesMax }) },
  };
}

export function decodeMonState(bytes: Uint8Array): MonState {
  const o = unpackRecord(bytes, 'monitor state');
  return decodingAs('monitor state', () => {
    if (o['v'] !== MON_STATE_FORMAT_VERSION) {
      throw new NacreError(`bad payload: format version ${String(o['v'])} (this build reads ${MON_STATE_FORMAT_VERSION})`, { code: 'EINVAL' });
    }
    if (o['kind'] !== 'mon-state') throw new NacreError(`bad payload: kind '${String(o['kind'])}' is not mon-state`, { code: 'EINVAL' });
    const osdmap = decodeOsdMap(expectBytes(o['osdmap'], 'osdmap', { bytesMax }));
    const incrementals = expectArray(o['incrementals'], 'incrementals', { itemsMax: osdmapIncrementalsRetainedMax }, (v, w) => ownBytes(expectBytes(v, w, { bytesMax })));
    incrementals.forEach((b, i) => {
      const epoch = decodeIncremental(b).epoch;
      const want = osdmap.epoch - incrementals.length + 1 + i;
      if (epoch !== want) throw new NacreError(`bad payload: retained incremental ${i} is epoch ${epoch}, expected ${want}`, { code: 'EINVAL' });
    });
    const osdMeta = new Map<number, OsdMeta>();
    for (const raw of expectArray(o['osdMeta'], 'osdMeta', { itemsMax: 1 << 20 }, (v, w) => expectTuple(v, w, 4))) {
      const id = expectInt(raw[0], 'osdMeta id', { min: 0, max: 1 << 20 });
      osdMeta.set(id, decodeOsdMeta(raw.slice(1), `osdMeta[osd.${id}]`));
    }
    const auth = new Map<EntityName, AuthEntry>();
    for (const raw of expectArray(o['auth'], 'auth', { itemsMax: authEntriesMax }, (v, w) => expectTuple(v, w, 3))) {
      const entity = expectEntityName(raw[0], 'auth entity');
      auth.set(entity, decodeAuthEntry(raw[1], raw[2], `auth[${entity}]`));
    }
    const config = new Map<string, ConfigEntry>();
    for (const e of expectArray(o['config'], 'config', { itemsMax: configEntriesMax }, decodeConfigEntry)) config.set(configKey(e.who, e.key), e);
    const commandLog = new Map<string, CommandRecord>();
    for (const r of expectArray(o['commandLog'], 'commandLog', { itemsMax: commandLogEntriesMax }, decodeCommandRecord)) {
      commandLog.set(commandKey(r.entity, r.cmdId), r);
    }
    const state: MonState = {
      version: expectInt(o['version'], 'version', { min: 0, max: epochMax }),
      fsid: expectString(o['fsid'], 'fsid', { bytesMax: 64 }),
      osdmap,
      osdmapIncrementals: incrementals,
      osdMeta,
      auth,
      config,
      monmap: decodeMonMap(o['monmap'], 'monmap'),
      commandLog,
    };
    checkMonState(state);
    return state;
  });
}
