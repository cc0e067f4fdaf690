/**
 * Refusing writes before a store fills up (Ceph's full ratios, per OSD): a write that would push
 * this OSD's store — or what an acting replica last reported of its own — above `fullRatioPercent`
 * fails with ENOSPC before it gets a version, so no OSD ever has to fail a write it already
 * logged. Deletes and other writes that need no new space always pass, so a full cluster can be
 * emptied. Estimates are conservative: whole 32 KiB units per write run, plus one for copy-on-write.
 */
import { NacreError } from '@nacre/util';
import { unitSizeBytes, type ObjectStore } from '@nacre/objectstore';
import type { Mutation } from './mutations.js';

export function spaceNeededBytes(mutations: readonly Mutation[]): number {
  let units = 0;
  for (const mu of mutations) {
    if (mu.m !== 'write' || mu.data.length === 0) continue;
    const first = Math.floor(mu.offset / unitSizeBytes);
    const last = Math.floor((mu.offset + mu.data.length - 1) / unitSizeBytes);
    units += last - first + 1;
  }
  return units === 0 ? 0 : (units + 1) * unitSizeBytes;
}

export class SpaceGuard {
  private inflightBytes = 0;
  /** Replica fullness (per mille of capacity) as last reported in a replication reply. */
  private readonly peers = new Map<number, number>();

  constructor(private readonly store: ObjectStore, readonly fullRatioPercent: number) {}

  /** Our own fullness in per mille, counting writes queued but not yet committed. */
  async permille(): Promise<number> {
    const s = await this.store.statfs();
    return s.totalBytes === 0 ? 1000 : Math.floor(((s.allocatedBytes + this.inflightBytes) * 1000) / s.totalBytes);
  }

  notePeer(osd: number, permille: number): void {
    this.peers.set(osd, permille);
  }

  /** Admit a write needing `needBytes` here and on `peers`; returns its release. ENOSPC if full. */
  async admit(needBytes: number, peers: readonly number[]): Promise<() => void> {
    if (needBytes === 0) return () => {};
    const s = await this.store.statfs();
    const limitBytes = (s.totalBytes * this.fullRatioPercent) / 100;
    if (s.allocatedBytes + this.inflightBytes + needBytes > limitBytes) {
      throw new NacreError(`OSD store full (${this.fullRatioPercent}% limit): no room for ${needBytes} more bytes`, { code: 'ENOSPC' });
    }
    for (const p of peers) {
      if ((this.peers.get(p) ?? 0) >= this.fullRatioPercent * 10) {
        throw new NacreError(`osd.${p} is full (${this.fullRatioPercent}% limit)`, { code: 'ENOSPC' });
      }
    }
    this.inflightBytes += needBytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflightBytes -= needBytes;
    };
  }
}
