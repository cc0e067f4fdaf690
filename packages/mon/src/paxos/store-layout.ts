/**
 * The monitor store's Paxos keys (format version 1). Ceph's layout, with one deviation: the
 * uncommitted value lives under its own key instead of sharing `paxos/<v>` with committed ones,
 * so a committed value can never be mistaken for an uncommitted one after a crash.
 *
 * ```
 *   paxos/format                      1
 *   election/epoch                    number   last election epoch seen (odd = electing)
 *   paxos/last_pn                     number   highest proposal number this monitor generated
 *   paxos/accepted_pn                 number   highest proposal number promised (phase 1)
 *   paxos/first_committed             number   oldest committed value still held
 *   paxos/last_committed              number   newest committed version
 *   paxos/value/<v, 16 digits>        bytes    committed value v, first..last_committed
 *   paxos/pending                     { version, pn, value }   accepted, not known committed
 * ```
 *
 * The driver stores each value with msgpackr under these keys. A value write, the pending
 * record and last_committed change together in one atomic batch (see `persist` effects).
 */
import { assert } from '@nacre/util';
import type { PendingValue, PersistedState, StoreValue, Version } from './types.js';

export const STORE_FORMAT_VERSION = 1;

export const STORE_KEYS = {
  format: 'paxos/format',
  electionEpoch: 'election/epoch',
  lastPn: 'paxos/last_pn',
  acceptedPn: 'paxos/accepted_pn',
  firstCommitted: 'paxos/first_committed',
  lastCommitted: 'paxos/last_committed',
  pending: 'paxos/pending',
  valuePrefix: 'paxos/value/',
} as const;

const VERSION_DIGITS = 16;

export function valueKey(version: Version): string {
  assert(Number.isSafeInteger(version) && version > 0, () => `bad version ${version}`);
  return STORE_KEYS.valuePrefix + String(version).padStart(VERSION_DIGITS, '0');
}

export function versionOfValueKey(key: string): Version | undefined {
  if (!key.startsWith(STORE_KEYS.valuePrefix)) return undefined;
  const digits = key.slice(STORE_KEYS.valuePrefix.length);
  if (!/^\d{16}$/.test(digits)) return undefined;
  return Number(digits);
}

export function emptyPersistedState(): PersistedState {
  return {
    electionEpoch: 0, lastPn: 0, acceptedPn: 0,
    firstCommitted: 1, lastCommitted: 0, values: new Map(), pending: undefined,
  };
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function asCount(key: string, v: StoreValue | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  assert(isCount(v), () => `store key ${key} holds a non-count value`);
  return v;
}

function asPending(v: StoreValue | undefined): PendingValue | undefined {
  if (v === undefined) return undefined;
  const p = v as Partial<PendingValue>;
  assert(typeof v === 'object' && !isBytes(v) && isCount(p.version) && p.version > 0 && isCount(p.pn) && isBytes(p.value),
    'store key paxos/pending holds a malformed record');
  return { version: p.version, pn: p.pn, value: p.value };
}

/**
 * Rebuild the core's durable state from the store's entries (any order), checking it the way
 * STYLE asks: assert right after reading back. Values outside first..last_committed are ignored;
 * a missing value inside it is corruption and throws.
 */
export function persistedStateFromEntries(entries: Iterable<readonly [string, StoreValue]>): PersistedState {
  const kv = new Map<string, StoreValue>();
  const values = new Map<Version, Uint8Array>();
  for (const [key, value] of entries) {
    const v = versionOfValueKey(key);
    if (v !== undefined) {
      assert(isBytes(value), () => `store key ${key} holds a non-bytes value`);
      values.set(v, value);
    } else {
      kv.set(key, value);
    }
  }
  const format = asCount(STORE_KEYS.format, kv.get(STORE_KEYS.format), STORE_FORMAT_VERSION);
  assert(format === STORE_FORMAT_VERSION, () => `unsupported paxos store format ${format}`);
  const firstCommitted = asCount(STORE_KEYS.firstCommitted, kv.get(STORE_KEYS.firstCommitted), 1);
  const lastCommitted = asCount(STORE_KEYS.lastCommitted, kv.get(STORE_KEYS.lastCommitted), 0);
  assert(firstCommitted >= 1 && firstCommitted <= lastCommitted + 1,
    () => `store: first_committed ${firstCommitted} inconsistent with last_committed ${lastCommitted}`);
  const held = new Map<Version, Uint8Array>();
  for (let v = firstCommitted; v <= lastCommitted; v++) {
    const value = values.get(v);
    assert(value !== undefined, () => `store: committed value ${v} is missing`);
    held.set(v, value);
  }
  let pending = asPending(kv.get(STORE_KEYS.pending));
  // A pending value at or below last_committed was superseded by a commit; it means nothing.
  if (pending !== undefined && pending.version <= lastCommitted) pending = undefined;
  const lastPn = asCount(STORE_KEYS.lastPn, kv.get(STORE_KEYS.lastPn), 0);
  const acceptedPn = asCount(STORE_KEYS.acceptedPn, kv.get(STORE_KEYS.acceptedPn), 0);
  if (pending !== undefined) {
    assert(pending.version === lastCommitted + 1, () => `store: pending version ${pending?.version} is not last_committed+1`);
    assert(pending.pn <= acceptedPn, 'store: pending pn above accepted_pn');
  }
  return {
    electionEpoch: asCount(STORE_KEYS.electionEpoch, kv.get(STORE_KEYS.electionEpoch), 0),
    lastPn, acceptedPn, firstCommitted, lastCommitted, values: held, pending,
  };
}
