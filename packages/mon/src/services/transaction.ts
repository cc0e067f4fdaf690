/**
 * StateTransaction: the one kind of value the monitors commit through Paxos. The leader folds a
 * batch of pending changes (commands, OSD boots and reports, failure decisions) into one
 * transaction (batch.ts); every monitor applies each committed transaction, in Paxos order, with
 * the pure `applyTransaction`.
 *
 *   { v: 1, kind: 'mon-txn',
 *     init?:       <encodeMonState bytes>   only onto the empty state: the cluster's first state
 *     osdmap?:     <encodeIncremental bytes> epoch = current epoch + 1 (kept as-is for subscribers)
 *     osdMeta?:    [[id, [uuid, bootId, autoOut] | null]]
 *     auth?:       [[entity, [key, [[service, cap]]] | null]]
 *     config?:     [[who, key, value | null]]
 *     monmap?:     { epoch, mons: [[name, addr]] }   epoch = current monmap epoch + 1
 *     commands?:   [[entity, cmdId, data, text]]    results remembered for cmdId retries }
 *
 * `applyTransaction` is total: it either returns the complete next state or throws EINVAL and
 * nothing changed (it builds a new value; the old one is never touched). `applyCommitted` is what
 * the driver calls for a committed Paxos value: a value that does not apply is *skipped* (the
 * version still advances) on every monitor alike, because every monitor runs the same check on
 * the same bytes — so a bad value can never make the monitors' states diverge or wedge the log.
 */
import { applyIncremental, decodeIncremental, encodeIncremental, type OsdMapIncremental } from '@nacre/osdmap';
import { CrushError } from '@nacre/crush';
import { expectArray, expectBytes, expectEntityName, expectInt, type EntityName } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import {
  authEntriesMax, commandLogEntriesMax, commandLogTextBytesMax, configEntriesMax, osdmapIncrementalsRetainedBytesMax,
  osdmapIncrementalsRetainedMax,
} from './limits.js';
import {
  checkMonState, commandKey, configKey, isEmptyMonState, type AuthEntry, type CommandRecord, type ConfigEntry,
  type MonMap, type MonState, type OsdMeta,
} from './mon-state.js';
import {
  decodeAuthEntry, decodeCommandRecord, decodeConfigEntry, decodeMonMap, decodeMonState, decodeOsdMeta, encodeMonMap,
} from './state-codec.js';
import { decodingAs, expectPair, expectTuple, ownBytes, servicePackr, unpackRecord } from './wire-checks.js';

export const MON_TXN_FORMAT_VERSION = 1;

export interface StateTransaction {
  /** The whole first state (bootstrap); only valid on the empty state. */
  init?: Buffer;
  /** Encoded OsdMapIncremental for the next epoch. */
  osdmap?: Buffer;
  osdMeta?: [number, OsdMeta | null][];
  auth?: [EntityName, AuthEntry | null][];
  /** [who, key, value]; null removes the entry. */
  config?: [string, string, string | null][];
  monmap?: MonMap;
  commands?: CommandRecord[];
}

const valueBytesMax = 64 * 1024 * 1024;

export function isEmptyTransaction(t: StateTransaction): boolean {
  return t.init === undefined && t.osdmap === undefined && t.monmap === undefined
    && (t.osdMeta?.length ?? 0) === 0 && (t.auth?.length ?? 0) === 0 && (t.config?.length ?? 0) === 0
    && (t.commands?.length ?? 0) === 0;
}

export function encodeTransaction(t: StateTransaction): Buffer {
  const out: Record<string, unknown> = { v: MON_TXN_FORMAT_VERSION, kind: 'mon-txn' };
  if (t.init !== undefined) out['init'] = t.init;
  if (t.osdmap !== undefined) out['osdmap'] = t.osdmap;
  if (t.osdMeta?.length) out['osdMeta'] = t.osdMeta.map(([id, m]) => [id, m === null ? null : [m.uuid, m.bootId, m.autoOut]]);
  if (t.auth?.length) out['auth'] = t.auth.map(([e, a]) => [e, a === null ? null : [a.key, Object.entries(a.caps).sort()]]);
  if (t.config?.length) out['config'] = t.config;
  if (t.monmap !== undefined) out['monmap'] = encodeMonMap(t.monmap);
  if (t.commands?.length) out['commands'] = t.commands.map((r) => [r.entity, r.cmdId, r.reply.data, r.reply.text]);
  return servicePackr.pack(out);
}

export function decodeTransaction(bytes: Uint8Array): StateTransaction {
  const o = unpackRecord(bytes, 'transaction');
  return decodingAs('transaction', () => {
    if (o['v'] !== MON_TXN_FORMAT_VERSION) {
      throw new NacreError(`bad payload: format version ${String(o['v'])} (this build reads ${MON_TXN_FORMAT_VERSION})`, { code: 'EINVAL' });
    }
    if (o['kind'] !== 'mon-txn') throw new NacreError(`bad payload: kind '${String(o['kind'])}' is not mon-txn`, { code: 'EINVAL' });
    const known = new Set(['v', 'kind', 'init', 'osdmap', 'osdMeta', 'auth', 'config', 'monmap', 'commands']);
    for (const k of Object.keys(o)) if (!known.has(k)) throw new NacreError(`bad payload: unknown field '${k}'`, { code: 'EINVAL' });
    const t: StateTransaction = {};
    if (o['init'] !== undefined) t.init = ownBytes(expectBytes(o['init'], 'init', { bytesMax: valueBytesMax }));
    if (o['osdmap'] !== undefined) t.osdmap = ownBytes(expectBytes(o['osdmap'], 'osdmap', { bytesMax: valueBytesMax }));
    if (o['osdMeta'] !== undefined) {
      t.osdMeta = expectArray(o['osdMeta'], 'osdMeta', { itemsMax: 1 << 20 }, (v, w) => {
        const [id, m] = expectPair(v, w);
        return [expectInt(id, `${w}[0]`, { min: 0, max: 1 << 20 }), m === null ? null : decodeOsdMeta(expectTuple(m, `${w}[1]`, 3), `${w}[1]`)];
      });
    }
    if (o['auth'] !== undefined) {
      t.auth = expectArray(o['auth'], 'auth', { itemsMax: authEntriesMax }, (v, w) => {
        const [e, a] = expectPair(v, w);
        const entity = expectEntityName(e, `${w}[0]`);
        if (a === null) return [entity, null];
        const [key, caps] = expectPair(a, `${w}[1]`);
        return [entity, decodeAuthEntry(key, caps, `${w}[1]`)];
      });
    }
    if (o['config'] !== undefined) {
      t.config = expectArray(o['config'], 'config', { itemsMax: configEntriesMax }, (v, w) => {
        const tuple = expectTuple(v, w, 3);
        if (tuple[2] === null) {
          const e = decodeConfigEntry([tuple[0], tuple[1], ''], w);
          return [e.who, e.key, null];
        }
        const e = decodeConfigEntry(tuple, w);
        return [e.who, e.key, e.value];
      });
    }
    if (o['monmap'] !== undefined) t.monmap = decodeMonMap(o['monmap'], 'monmap');
    if (o['commands'] !== undefined) t.commands = expectArray(o['commands'], 'commands', { itemsMax: commandLogEntriesMax }, decodeCommandRecord);
    return t;
  });
}

function reject(message: string): never {
  throw new NacreError(`transaction rejected: ${message}`, { code: 'EINVAL' });
}

/** The next state. Pure and total: throws EINVAL (with nothing changed) on anything invalid. */
export function applyTransaction(state: MonState, txn: StateTransaction): MonState {
  const version = state.version + 1;
  if (txn.init !== undefined) {
    if (!isEmptyMonState(state)) reject(`the cluster already exists (fsid ${state.fsid}); an initial state applies only once`);
    if (!isEmptyTransaction({ ...txn, init: undefined })) reject('an initial state comes alone');
    const init = decodeMonState(txn.init);
    if (isEmptyMonState(init)) reject('the initial state has no fsid');
    return { ...init, version };
  }
  if (isEmptyMonState(state) && !isEmptyTransaction(txn)) reject('the cluster has not been created yet (expected an initial state)');
  let next: MonState = { ...state, version };
  if (txn.osdmap !== undefined) next = applyOsdmap(next, txn.osdmap);
  if (txn.osdMeta !== undefined) next = { ...next, osdMeta: applyTable(next.osdMeta, txn.osdMeta.map(([id, m]) => [id, m])) };
  if (txn.auth !== undefined) next = { ...next, auth: applyTable(next.auth, txn.auth) };
  if (txn.config !== undefined) {
    const changes: [string, ConfigEntry | null][] = txn.config.map(([who, key, value]) => [configKey(who, key), value === null ? null : { who, key, value }]);
    next = { ...next, config: applyTable(next.config, changes) };
  }
  if (txn.monmap !== undefined) {
    if (txn.monmap.epoch !== state.monmap.epoch + 1) reject(`monmap epoch ${txn.monmap.epoch} does not follow ${state.monmap.epoch}`);
    next = { ...next, monmap: txn.monmap };
  }
  if (txn.commands !== undefined && txn.commands.length > 0) next = { ...next, commandLog: appendCommandLog(next.commandLog, txn.commands) };
  try {
    checkMonState(next);
  } catch (err) {
    reject((err as Error).message);
  }
  return next;
}

function applyOsdmap(state: MonState, bytes: Buffer): MonState {
  const inc: OsdMapIncremental = decodeIncremental(bytes);
  const osdmap = applyIncremental(state.osdmap, inc);
  if (osdmap.fsid !== state.fsid) reject('osdmap fsid changed');
  const incs = [...state.osdmapIncrementals, bytes];
  let total = incs.reduce((n, b) => n + b.length, 0);
  // keep the newest; trim by count, then by bytes (the newest one always stays)
  let drop = Math.max(0, incs.length - osdmapIncrementalsRetainedMax);
  for (let i = 0; i < drop; i++) total -= incs[i]!.length;
  while (drop < incs.length - 1 && total > osdmapIncrementalsRetainedBytesMax) total -= incs[drop++]!.length;
  return { ...state, osdmap, osdmapIncrementals: drop > 0 ? incs.slice(drop) : incs };
}

function applyTable<K, V>(table: ReadonlyMap<K, V>, changes: readonly (readonly [K, V | null])[]): ReadonlyMap<K, V> {
  if (changes.length === 0) return table;
  const out = new Map(table);
  for (const [k, v] of changes) {
    if (v === null) out.delete(k);
    else out.set(k, v);
  }
  return out;
}

function appendCommandLog(log: ReadonlyMap<string, CommandRecord>, records: readonly CommandRecord[]): ReadonlyMap<string, CommandRecord> {
  const out = new Map(log);
  for (const r of records) {
    if (Buffer.byteLength(r.reply.text) > commandLogTextBytesMax) reject(`command result text longer than ${commandLogTextBytesMax} bytes`);
    const key = commandKey(r.entity, r.cmdId);
    out.delete(key); // re-inserted at the end: the log is oldest-first
    out.set(key, r);
  }
  for (const key of out.keys()) {
    if (out.size <= commandLogEntriesMax) break;
    out.delete(key);
  }
  return out;
}

/** The result of applying one committed Paxos value. */
export interface CommittedApply {
  state: MonState;
  /** Set when the value was skipped (identically on every monitor); the state only advanced its version. */
  rejected?: NacreError;
}

/**
 * Apply the committed Paxos value `version`. The state must stand at `version - 1` (asserted by
 * the caller's contract with the Paxos core: committed values arrive in order, without gaps).
 */
export function applyCommitted(state: MonState, version: number, value: Uint8Array): CommittedApply {
  if (version !== state.version + 1) {
    throw new NacreError(`committed version ${version} does not follow the service state's ${state.version}`, { code: 'EINVAL' });
  }
  try {
    return { state: applyTransaction(state, decodeTransaction(value)) };
  } catch (err) {
    // Coded errors are verdicts on the value (the same on every monitor); anything else is a bug.
    if (err instanceof CrushError) return { state: { ...state, version }, rejected: new NacreError(err.message, { code: 'EINVAL', cause: err }) };
    if (!(err instanceof NacreError)) throw err;
    return { state: { ...state, version }, rejected: err };
  }
}

/** A snapshot received from a peer (or the store) as the state at `version`. */
export function installSnapshot(version: number, data: Uint8Array): MonState {
  const state = decodeMonState(data);
  if (state.version !== version) {
    throw new NacreError(`snapshot says version ${state.version}, Paxos says ${version}`, { code: 'EINVAL' });
  }
  return state;
}

/** Encode an incremental for a transaction (the bytes subscribers will receive). */
export function osdmapTransactionBytes(inc: OsdMapIncremental): Buffer {
  return encodeIncremental(inc);
}
