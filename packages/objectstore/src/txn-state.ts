/**
 * Uncommitted changes of the transactions in one commit group, layered over the committed state.
 *
 * The commit loop prepares a group of transactions one after another. The group has one
 * TxnState; each transaction gets a child state (`fork`) so its ops see the effects of earlier
 * ops and earlier transactions of the group. A child that succeeds is absorbed into the group;
 * a child that fails is dropped and the units it allocated go straight back to the allocator
 * (no committed metadata can reference them). The group state becomes one metadata batch.
 */
import { assert } from '@nacre/util';
import type { ObjectId } from './object-id.js';
import type { Onode } from './onode.js';

/** Read access to committed state, provided by the BlockStore. */
export interface CommittedView {
  committedOnode(key: Buffer): Onode | null;
  committedCollectionExists(cid: string): boolean;
  /** Reference count of a used unit (1 unless shared by clones). */
  committedRefCount(unit: number): number;
}

export interface OnodeEntry {
  cid: string;
  oid: ObjectId;
  key: Buffer;
  /** null = removed. */
  onode: Onode | null;
}

/** Changes to one object's omap. `cleared`: every committed entry is gone first. */
export interface OmapDelta {
  objectPrefix: Buffer;
  cleared: boolean;
  changes: Map<string, Buffer | null>;
}

export class TxnState {
  readonly onodes = new Map<string, OnodeEntry>();
  readonly collections = new Map<string, boolean>();
  /** New reference counts; 0 means the unit was freed. */
  readonly refs = new Map<number, number>();
  readonly omap = new Map<string, OmapDelta>();
  readonly allocated: number[] = [];
  readonly freed: number[] = [];
  storedBytesDelta = 0;
  objectCountDelta = 0;
  /** Bytes of data written to the block file by this state (decides whether to fdatasync). */
  dataBytesWritten = 0;
  /**
   * Thread-pool writes issued by this state and not yet awaited: a group's transactions overlap
   * their data writes; the flush awaits them all before the fdatasync.
   */
  readonly pendingWrites: Array<Promise<void>> = [];

  constructor(private readonly parent: TxnState | null, private readonly committed: CommittedView) {}

  fork(): TxnState {
    return new TxnState(this, this.committed);
  }

  /** Track a write in flight (its failure surfaces where it is awaited, never as unhandled). */
  addPendingWrite(write: Promise<void>): void {
    write.catch(() => {});
    this.pendingWrites.push(write);
  }

  /** Wait for every write in flight of this state and its ancestors; the first failure throws. */
  async settleWrites(): Promise<void> {
    for (let s: TxnState | null = this; s !== null; s = s.parent) {
      if (s.pendingWrites.length === 0) continue;
      const writes = s.pendingWrites.splice(0);
      const results = await Promise.allSettled(writes);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    }
  }

  /** Current onode (a shared instance: copy before modifying). */
  getOnode(key: Buffer): Onode | null {
    const k = key.toString('latin1');
    for (let s: TxnState | null = this; s !== null; s = s.parent) {
      const e = s.onodes.get(k);
      if (e !== undefined) return e.onode;
    }
    return this.committed.committedOnode(key);
  }

  putOnode(cid: string, oid: ObjectId, key: Buffer, onode: Onode | null): void {
    this.onodes.set(key.toString('latin1'), { cid, oid, key, onode });
  }

  collectionExists(cid: string): boolean {
    for (let s: TxnState | null = this; s !== null; s = s.parent) {
      const e = s.collections.get(cid);
      if (e !== undefined) return e;
    }
    return this.committed.committedCollectionExists(cid);
  }

  setCollection(cid: string, exists: boolean): void {
    this.collections.set(cid, exists);
  }

  /** Onode entries of this state and its ancestors, nearest layer winning. */
  visibleOnodeEntries(): Map<string, OnodeEntry> {
    const out = new Map<string, OnodeEntry>();
    for (let s: TxnState | null = this; s !== null; s = s.parent) {
      for (const [k, e] of s.onodes) if (!out.has(k)) out.set(k, e);
    }
    return out;
  }

  refCount(unit: number): number {
    for (let s: TxnState | null = this; s !== null; s = s.parent) {
      const c = s.refs.get(unit);
      if (c !== undefined) return c;
    }
    return this.committed.committedRefCount(unit);
  }

  /** One more onode references `unit` (clone). */
  ref(unit: number): void {
    const c = this.refCount(unit);
    assert(c >= 1, `reference to free unit ${unit}`);
    this.refs.set(unit, c + 1);
  }

  /** One onode reference to `unit` is gone; the last one frees it (after commit). */
  unref(unit: number): void {
    const c = this.refCount(unit);
    assert(c >= 1, `unit ${unit} released twice`);
    this.refs.set(unit, c - 1);
    if (c === 1) this.freed.push(unit);
  }

  /** The omap delta of an object as seen from this state (merged over ancestors), or undefined. */
  omapDelta(objectPrefix: Buffer): OmapDelta | undefined {
    const k = objectPrefix.toString('latin1');
    const chain: OmapDelta[] = [];
    for (let s: TxnState | null = this; s !== null; s = s.parent) {
      const d = s.omap.get(k);
      if (d !== undefined) {
        chain.push(d);
        if (d.cleared) break;
      }
    }
    if (chain.length === 0) return undefined;
    const merged: OmapDelta = { objectPrefix, cleared: chain[chain.length - 1]!.cleared, changes: new Map() };
    for (let i = chain.length - 1; i >= 0; i--) for (const [key, v] of chain[i]!.changes) merged.changes.set(key, v);
    return merged;
  }

  private ownOmapDelta(objectPrefix: Buffer): OmapDelta {
    const k = objectPrefix.toString('latin1');
    let d = this.omap.get(k);
    if (d === undefined) {
      d = { objectPrefix, cleared: false, changes: new Map() };
      this.omap.set(k, d);
    }
    return d;
  }

  omapSet(objectPrefix: Buffer, key: string, value: Buffer | null): void {
    this.ownOmapDelta(objectPrefix).changes.set(key, value);
  }

  /** Drop every entry of the object's omap (committed ones at flush time). */
  omapClear(objectPrefix: Buffer): void {
    const d = this.ownOmapDelta(objectPrefix);
    d.cleared = true;
    d.changes.clear();
  }

  /** Fold a successful child into this state. */
  absorb(child: TxnState): void {
    assert(child.parent === this, 'absorb of a foreign state');
    for (const [k, e] of child.onodes) this.onodes.set(k, e);
    for (const [k, e] of child.collections) this.collections.set(k, e);
    for (const [u, c] of child.refs) this.refs.set(u, c);
    for (const [k, d] of child.omap) {
      const mine = this.omap.get(k);
      if (mine === undefined || d.cleared) {
        this.omap.set(k, d);
      } else {
        for (const [key, v] of d.changes) mine.changes.set(key, v);
      }
    }
    this.allocated.push(...child.allocated);
    this.freed.push(...child.freed);
    this.storedBytesDelta += child.storedBytesDelta;
    this.objectCountDelta += child.objectCountDelta;
    this.dataBytesWritten += child.dataBytesWritten;
    this.pendingWrites.push(...child.pendingWrites.splice(0));
  }
}
