/**
 * Structural checks for monitor-to-monitor messages. A daemon never crashes on a peer's bytes
 * (DESIGN §4.6): the core runs every incoming message through `checkPaxosMessage` and drops,
 * with a logged reason, anything malformed, before any handler sees it.
 */
import type { PaxosMessage, PaxosOp, PendingValue, SyncPayload } from './types.js';

/** Values per sync message; the sender's retained history is bounded by retainedVersionsMax anyway. */
export const SYNC_VALUES_MAX = 100_000;

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

function counts(m: Obj, names: readonly string[]): boolean {
  return names.every((n) => isCount(m[n]));
}

function isPending(x: unknown): x is PendingValue {
  return isObj(x) && isCount(x['version']) && x['version'] > 0 && isCount(x['pn']) && isBytes(x['value']);
}

function isSync(x: unknown): x is SyncPayload {
  if (!isObj(x) || !isCount(x['firstVersion']) || x['firstVersion'] < 1) return false;
  const values = x['values'];
  if (!Array.isArray(values) || values.length > SYNC_VALUES_MAX || !values.every(isBytes)) return false;
  const snap = x['snapshot'];
  if (snap === undefined) return true;
  return isObj(snap) && isCount(snap['version']) && isBytes(snap['data']) && x['firstVersion'] === snap['version'] + 1;
}

function isQuorum(x: unknown, monitorCount: number): boolean {
  if (!Array.isArray(x) || x.length === 0 || x.length > monitorCount) return false;
  for (let i = 0; i < x.length; i++) {
    const r: unknown = x[i];
    if (!isCount(r) || r >= monitorCount) return false;
    if (i > 0 && r <= (x[i - 1] as number)) return false; // sorted, no duplicates
  }
  return true;
}

const CHECKS: Record<PaxosOp, (m: Obj, monitorCount: number) => boolean> = {
  propose: (m) => counts(m, ['epoch']) && (m['epoch'] as number) % 2 === 1,
  ack: (m) => counts(m, ['epoch']) && (m['epoch'] as number) % 2 === 1,
  victory: (m, n) => counts(m, ['epoch']) && (m['epoch'] as number) % 2 === 0 && isQuorum(m['quorum'], n)
    && isObj(m['collect']) && counts(m['collect'], ['pn', 'firstCommitted', 'lastCommitted']),
  collect: (m) => counts(m, ['epoch', 'pn', 'firstCommitted', 'lastCommitted']),
  last: (m) => counts(m, ['epoch', 'pn', 'acceptedPn', 'firstCommitted', 'lastCommitted'])
    && (m['pending'] === undefined || isPending(m['pending']))
    && (m['sync'] === undefined || isSync(m['sync'])),
  begin: (m) => counts(m, ['epoch', 'pn', 'version', 'lastCommitted']) && (m['version'] as number) > 0 && isBytes(m['value']),
  accept: (m) => counts(m, ['epoch', 'pn', 'version']),
  commit: (m) => counts(m, ['epoch', 'pn', 'version']) && (m['version'] as number) > 0 && isBytes(m['value']),
  lease: (m) => counts(m, ['epoch', 'pn', 'lastCommitted', 'leaseSeq']),
  leaseAck: (m) => counts(m, ['epoch', 'leaseSeq', 'lastCommitted']),
  sync: (m) => counts(m, ['epoch']) && isSync(m['sync']),
  syncAck: (m) => counts(m, ['epoch', 'lastCommitted']),
};

/** Returns undefined if `x` is a well-formed PaxosMessage, else the reason it is not. */
export function checkPaxosMessage(x: unknown, monitorCount: number): string | undefined {
  if (!isObj(x)) return 'not an object';
  const op = x['op'];
  if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(CHECKS, op)) return `unknown op ${String(op)}`;
  return CHECKS[op as PaxosOp](x, monitorCount) ? undefined : `malformed ${op}`;
}

export function isPaxosMessage(x: unknown, monitorCount: number): x is PaxosMessage {
  return checkPaxosMessage(x, monitorCount) === undefined;
}
