/**
 * The OSD's window of past OSDMaps, in memory and in the store (collection `meta`): peering
 * reasons about past intervals, which needs the maps of every epoch since the PG's last
 * activation. Epochs come as incrementals (consecutive) or as a full map; a full map that does not
 * follow the newest known epoch starts a new run, leaving a gap that peering treats
 * conservatively (past-intervals.ts). Bounded by `epochsMax`: the oldest epochs are dropped, and a
 * full map is written for the new oldest one so the disk copy stays loadable.
 *
 * On disk: `osdmap.<epoch10>` (full map bytes) where a run starts, `inc_osdmap.<epoch10>` for
 * every later epoch of the run. Objects of the `meta` collection live in pool -1.
 */
import { NacreError, assert, type Logger } from '@nacre/util';
import { applyEncodedIncremental, decodeOsdMap, encodeOsdMap, type OsdMap } from '@nacre/osdmap';
import { NO_SHARD, SNAP_HEAD, Transaction, type ObjectId, type ObjectStore } from '@nacre/objectstore';
import { META_CID } from './store-layout.js';

export function metaOid(name: string): ObjectId {
  return { pool: -1, hash: 0, name, snap: SNAP_HEAD, shard: NO_SHARD };
}

const fullName = (e: number): string => `osdmap.${String(e).padStart(10, '0')}`;
const incName = (e: number): string => `inc_osdmap.${String(e).padStart(10, '0')}`;
const nameRe = /^(osdmap|inc_osdmap)\.(\d{10})$/;

export class MapHistory {
  private readonly maps = new Map<number, OsdMap>();
  /** Epochs whose map starts a run (a full map on disk). */
  private readonly runStarts = new Set<number>();
  private oldestValue = 0;
  private newestValue = 0;

  constructor(readonly epochsMax: number) {
    assert(epochsMax >= 2, 'map history must hold at least two epochs');
  }

  get newest(): OsdMap | null {
    return this.maps.get(this.newestValue) ?? null;
  }

  get newestEpoch(): number {
    return this.newestValue;
  }

  get oldestEpoch(): number {
    return this.oldestValue;
  }

  get(epoch: number): OsdMap | undefined {
    return this.maps.get(epoch);
  }

  /** Contiguous epoch ranges held, oldest first. */
  runs(): Array<[number, number]> {
    const epochs = [...this.maps.keys()].sort((a, b) => a - b);
    const out: Array<[number, number]> = [];
    for (const e of epochs) {
      const last = out[out.length - 1];
      if (last !== undefined && last[1] === e - 1) last[1] = e;
      else out.push([e, e]);
    }
    return out;
  }

  /**
   * Add a full map (`bytes` is its encoding). Adds the store writes to `txn`. Returns false when
   * the map is not newer than what we hold.
   */
  addFull(map: OsdMap, bytes: Buffer, txn: Transaction): boolean {
    if (map.epoch <= this.newestValue) return false;
    if (this.newestValue === 0) this.oldestValue = map.epoch;
    this.maps.set(map.epoch, map);
    this.runStarts.add(map.epoch);
    this.newestValue = map.epoch;
    txn.write(META_CID, metaOid(fullName(map.epoch)), 0, bytes);
    return true;
  }

  /** Apply an encoded incremental on the newest map; throws EINVAL if it does not follow. */
  addIncremental(bytes: Buffer, txn: Transaction): OsdMap {
    const prev = this.newest;
    if (prev === null) throw new NacreError('an incremental needs a base map', { code: 'EINVAL' });
    const map = applyEncodedIncremental(prev, bytes);
    this.maps.set(map.epoch, map);
    this.newestValue = map.epoch;
    txn.write(META_CID, metaOid(incName(map.epoch)), 0, bytes);
    return map;
  }

  /** Drop epochs beyond the bound (and any older than `keepFrom`, if given), rewriting the base. */
  trim(txn: Transaction, keepFrom = 0): void {
    const floor = Math.max(keepFrom, this.newestValue - this.epochsMax + 1);
    if (floor <= this.oldestValue) return;
    let newOldest = floor;
    while (newOldest <= this.newestValue && !this.maps.has(newOldest)) newOldest++;
    for (let e = this.oldestValue; e < newOldest; e++) {
      if (!this.maps.has(e)) continue;
      this.maps.delete(e);
      txn.remove(META_CID, metaOid(this.runStarts.has(e) ? fullName(e) : incName(e)));
      this.runStarts.delete(e);
    }
    if (!this.runStarts.has(newOldest) && this.maps.has(newOldest)) {
      txn.remove(META_CID, metaOid(incName(newOldest)));
      txn.write(META_CID, metaOid(fullName(newOldest)), 0, encodeOsdMap(this.maps.get(newOldest)!));
      this.runStarts.add(newOldest);
    }
    this.oldestValue = newOldest;
  }

  /** Rebuild from the store (after a restart). */
  async load(store: ObjectStore, log: Logger): Promise<void> {
    const items: Array<{ kind: string; epoch: number; oid: ObjectId }> = [];
    let start: ObjectId | undefined;
    for (;;) {
      const page = await store.listObjects(META_CID, { ...(start ? { start } : {}), limitCount: 10_000 });
      for (const oid of page.objects) {
        const m = nameRe.exec(oid.name);
        if (m !== null) items.push({ kind: m[1]!, epoch: Number(m[2]), oid });
      }
      if (page.next === null) break;
      start = page.next;
    }
    items.sort((a, b) => a.epoch - b.epoch || (a.kind === 'osdmap' ? -1 : 1));
    let prev: OsdMap | null = null;
    for (const it of items) {
      const bytes = await store.read(META_CID, it.oid);
      try {
        if (it.kind === 'osdmap') {
          if (prev !== null && prev.epoch >= it.epoch) continue;
          prev = decodeOsdMap(bytes);
          this.runStarts.add(prev.epoch);
        } else {
          if (prev === null || prev.epoch !== it.epoch - 1) continue;
          prev = applyEncodedIncremental(prev, bytes);
        }
      } catch (err) {
        log.warn({ err, epoch: it.epoch }, 'skipping an unreadable stored map');
        continue;
      }
      if (this.maps.size === 0) this.oldestValue = prev.epoch;
      this.maps.set(prev.epoch, prev);
      this.newestValue = prev.epoch;
    }
  }
}
