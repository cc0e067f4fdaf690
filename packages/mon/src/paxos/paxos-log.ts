/**
 * One monitor's Paxos log: the durable fields (last_pn, accepted_pn, first/last_committed, the
 * committed values, the pending value) and every change to them. Each mutation updates memory
 * and emits one `persist` effect with exactly the keys it changed, so memory and store differ
 * only by persists still in flight — and output commit (core-io.ts) keeps those invisible.
 *
 * Committed values are facts: once any monitor committed version v, v's value is chosen and every
 * monitor that learns it (from a commit, a sync, a collect reply) must hold the same bytes.
 * `checkAgreement` asserts that whenever two copies meet — a forked history stops the daemon.
 */
import { assert } from '@nacre/util';
import type { MonitorCoreConfig } from './config.js';
import type { CoreIo } from './core-io.js';
import { nextProposalNumber } from './proposal-number.js';
import { STORE_KEYS, valueKey } from './store-layout.js';
import type {
  CommittedValue, PendingValue, PersistedState, ProposalNumber, ServiceApply, SnapshotPayload,
  StoreWrite, SyncPayload, Version,
} from './types.js';

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class PaxosLog {
  lastPn: ProposalNumber;
  acceptedPn: ProposalNumber;
  firstCommitted: Version;
  lastCommitted: Version;
  pending: PendingValue | undefined;
  private readonly values: Map<Version, Uint8Array>;

  constructor(private readonly config: MonitorCoreConfig, private readonly io: CoreIo, s: PersistedState) {
    assert(s.firstCommitted >= 1 && s.firstCommitted <= s.lastCommitted + 1, 'persisted committed range is inconsistent');
    this.lastPn = s.lastPn;
    this.acceptedPn = s.acceptedPn;
    this.firstCommitted = s.firstCommitted;
    this.lastCommitted = s.lastCommitted;
    this.values = new Map();
    for (let v = s.firstCommitted; v <= s.lastCommitted; v++) {
      const value = s.values.get(v);
      assert(value !== undefined, () => `persisted value ${v} missing`);
      this.values.set(v, value);
    }
    this.pending = s.pending !== undefined && s.pending.version === s.lastCommitted + 1 ? s.pending : undefined;
  }

  valueAt(v: Version): Uint8Array | undefined {
    return this.values.get(v);
  }

  /** The pending value if it is for the next version (the only one that can matter). */
  pendingNext(): PendingValue | undefined {
    return this.pending !== undefined && this.pending.version === this.lastCommitted + 1 ? this.pending : undefined;
  }

  /** A leader's fresh proposal number: above everything seen, persisted (with our own promise) before use. */
  newLeaderPn(): ProposalNumber {
    const pn = nextProposalNumber(Math.max(this.lastPn, this.acceptedPn), this.config.rank);
    this.lastPn = pn;
    this.acceptedPn = pn;
    this.io.persist([
      { op: 'put', key: STORE_KEYS.lastPn, value: pn },
      { op: 'put', key: STORE_KEYS.acceptedPn, value: pn },
    ]);
    return pn;
  }

  /** Remember a higher proposal number seen elsewhere, so our next one beats it. */
  observePn(pn: ProposalNumber): void {
    if (pn <= this.lastPn) return;
    this.lastPn = pn;
    this.io.persist([{ op: 'put', key: STORE_KEYS.lastPn, value: pn }]);
  }

  /** Phase 1 promise: never accept anything numbered below `pn` again. */
  promise(pn: ProposalNumber): void {
    assert(pn >= this.acceptedPn, 'promises only go up');
    if (pn === this.acceptedPn) return;
    this.acceptedPn = pn;
    this.io.persist([{ op: 'put', key: STORE_KEYS.acceptedPn, value: pn }]);
  }

  /** Phase 2 accept (the leader's own, or a peon's): store the value as pending. */
  accept(version: Version, pn: ProposalNumber, value: Uint8Array): void {
    assert(version === this.lastCommitted + 1, () => `accept of ${version} with last_committed ${this.lastCommitted}`);
    assert(pn >= this.acceptedPn, 'accept below our promise');
    this.pending = { version, pn, value };
    const writes: StoreWrite[] = [{ op: 'put', key: STORE_KEYS.pending, value: this.pending }];
    if (pn > this.acceptedPn) {
      this.acceptedPn = pn;
      writes.push({ op: 'put', key: STORE_KEYS.acceptedPn, value: pn });
    }
    this.io.persist(writes);
  }

  /** Commit the next version (learned from our own quorum or from the leader). */
  commitNext(version: Version, value: Uint8Array): void {
    assert(version === this.lastCommitted + 1, () => `commit of ${version} with last_committed ${this.lastCommitted}`);
    this.applyCommitted({ firstVersion: version, values: [value] });
  }

  /**
   * Learn committed state from a peer. Values we already hold must agree; values beyond our
   * last_committed are applied; a snapshot is installed only if it is ahead of us. Returns false
   * if the payload leaves a gap after our last_committed (it cannot be applied).
   */
  absorb(sync: SyncPayload): boolean {
    const end = sync.firstVersion + sync.values.length - 1;
    for (let v = sync.firstVersion; v <= Math.min(end, this.lastCommitted); v++) {
      this.checkAgreement(v, sync.values[v - sync.firstVersion]!);
    }
    if (sync.snapshot !== undefined && sync.snapshot.version > this.lastCommitted) {
      this.applyCommitted(sync);
      return true;
    }
    if (end <= this.lastCommitted) return true;
    if (sync.firstVersion > this.lastCommitted + 1) return false;
    const skip = this.lastCommitted + 1 - sync.firstVersion;
    this.applyCommitted({ firstVersion: this.lastCommitted + 1, values: sync.values.slice(skip) });
    return true;
  }

  /**
   * Committed values after `peerLastCommitted` (a prefix, if they exceed syncBytesMax), or
   * 'snapshot' if we trimmed some of them.
   */
  syncFor(peerLastCommitted: Version): SyncPayload | 'snapshot' | undefined {
    if (peerLastCommitted >= this.lastCommitted) return undefined;
    if (peerLastCommitted + 1 < this.firstCommitted) return 'snapshot';
    return { firstVersion: peerLastCommitted + 1, values: this.range(peerLastCommitted + 1) };
  }

  /** A full-state sync: the service snapshot at `snapshot.version` plus our values after it. */
  syncWithSnapshot(snapshot: SnapshotPayload): SyncPayload | undefined {
    if (snapshot.version > this.lastCommitted || snapshot.version + 1 < this.firstCommitted) return undefined;
    return { snapshot, firstVersion: snapshot.version + 1, values: this.range(snapshot.version + 1) };
  }

  checkAgreement(version: Version, value: Uint8Array): void {
    const mine = this.values.get(version);
    assert(mine === undefined || bytesEqual(mine, value),
      () => `rank ${this.config.rank}: two different values committed as version ${version}`);
  }

  /** Values from `from` on, up to last_committed or syncBytesMax (but at least one). */
  private range(from: Version): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let v = from; v <= this.lastCommitted; v++) {
      const value = this.values.get(v);
      assert(value !== undefined, () => `value ${v} missing from the log`);
      bytes += value.length;
      if (out.length > 0 && bytes > this.config.syncBytesMax) break;
      out.push(value);
    }
    return out;
  }

  /** Install an optional snapshot and append committed values, in one persist with the service apply. */
  private applyCommitted(sync: SyncPayload): void {
    const writes: StoreWrite[] = [];
    const apply: ServiceApply = { commits: [] };
    if (sync.snapshot !== undefined) {
      assert(sync.snapshot.version > this.lastCommitted && sync.firstVersion === sync.snapshot.version + 1, 'snapshot must move us forward');
      for (const v of this.values.keys()) writes.push({ op: 'del', key: valueKey(v) });
      this.values.clear();
      this.firstCommitted = sync.snapshot.version + 1;
      this.lastCommitted = sync.snapshot.version;
      apply.snapshot = sync.snapshot;
      writes.push({ op: 'put', key: STORE_KEYS.firstCommitted, value: this.firstCommitted });
    }
    assert(sync.firstVersion === this.lastCommitted + 1, 'committed values must be contiguous');
    const committed: CommittedValue[] = [];
    for (const value of sync.values) {
      const version = this.lastCommitted + 1;
      this.values.set(version, value);
      this.lastCommitted = version;
      writes.push({ op: 'put', key: valueKey(version), value });
      committed.push({ version, value });
    }
    apply.commits = committed;
    writes.push({ op: 'put', key: STORE_KEYS.lastCommitted, value: this.lastCommitted });
    if (this.pending !== undefined && this.pending.version <= this.lastCommitted) {
      this.pending = undefined;
      writes.push({ op: 'del', key: STORE_KEYS.pending });
    }
    this.trim(writes);
    this.io.persist(writes, apply);
    if (sync.snapshot !== undefined) this.io.outward({ kind: 'snapshotInstalled', version: sync.snapshot.version });
    for (const c of committed) this.io.outward({ kind: 'committed', version: c.version, value: c.value });
  }

  /** Keep at most retainedVersionsMax committed values; peers further behind get a snapshot. */
  private trim(writes: StoreWrite[]): void {
    const held = this.lastCommitted - this.firstCommitted + 1;
    if (held <= this.config.retainedVersionsMax) return;
    const newFirst = this.lastCommitted - this.config.retainedVersionsMax + 1;
    for (let v = this.firstCommitted; v < newFirst; v++) {
      this.values.delete(v);
      writes.push({ op: 'del', key: valueKey(v) });
    }
    this.firstCommitted = newFirst;
    writes.push({ op: 'put', key: STORE_KEYS.firstCommitted, value: newFirst });
  }
}
