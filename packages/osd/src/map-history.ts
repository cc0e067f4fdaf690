/**
 * The OSD's window of past OSDMaps, in memory and in the store: peering reasons about past
 * intervals, which needs the map of every epoch since the PG's last activation. Maps arrive one
 * epoch after another; a map that does not follow the newest one starts a new run, leaving a gap
 * that peering treats conservatively (past-intervals.ts). Bounded by `epochsMax`, and trimmed to
 * what the local PGs still need.
 *
 * On disk: collection `meta`, object `osdmaps` (pool -1), omap `<epoch10>` → encoded full map
 * (LevelDB holds them compactly; full maps keep every epoch loadable on its own, so trimming is
 * just removing keys).
 */
import { NacreError, assert, type Logger } from '@nacre/util';
import { decodeOsdMap, encodeOsdMap, type OsdMap } from '@nacre/osdmap';
import { NO_SHARD, SNAP_HEAD, type ObjectId, type ObjectStore, type Transaction } from '@nacre/objectstore';
import { META_CID } from './store-layout.js';

export function metaOid(name: string): ObjectId {
  return { pool: -1, hash: 0, name, snap: SNAP_HEAD, shard: NO_SHARD };
}

export const MAPS_OBJECT = 'osdmaps';
const epochKey = (e: number): string => String(e).padStart(10, '0');
/** Keys read per page when loading. */
const loadPageEntries = 1000;

export class MapHistory {
  private readonly maps = new Map<number, OsdMap>();
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

  get size(): number {
    return this.maps.size;
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

  /** Add a map newer than every held one; its store write goes into `txn`. False if not newer. */
  add(map: OsdMap, txn: Transaction): boolean {
    if (map.epoch <= this.newestValue) return false;
    if (this.maps.size === 0) this.oldestValue = map.epoch;
    this.maps.set(map.epoch, map);
    this.newestValue = map.epoch;
    txn.omapSetKeys(META_CID, metaOid(MAPS_OBJECT), { [epochKey(map.epoch)]: encodeOsdMap(map) });
    return true;
  }

  /** Drop epochs beyond the bound, and those older than `keepFrom` (what no local PG needs). */
  trim(txn: Transaction, keepFrom = 0): void {
    const floor = Math.min(this.newestValue, Math.max(keepFrom, this.newestValue - this.epochsMax + 1));
    if (floor <= this.oldestValue) return;
    const drop: string[] = [];
    for (const e of [...this.maps.keys()]) {
      if (e >= floor) continue;
      this.maps.delete(e);
      drop.push(epochKey(e));
    }
    if (drop.length > 0) txn.omapRmKeys(META_CID, metaOid(MAPS_OBJECT), drop);
    this.oldestValue = Math.min(...this.maps.keys());
  }

  /** Rebuild from the store (after a restart). Unreadable entries are skipped (a gap). */
  async load(store: ObjectStore, log: Logger): Promise<void> {
    if (!(await store.exists(META_CID, metaOid(MAPS_OBJECT)))) return;
    let after: string | undefined;
    for (;;) {
      const page = await store.omapGetRange(META_CID, metaOid(MAPS_OBJECT), { ...(after !== undefined ? { after } : {}), limitCount: loadPageEntries });
      for (const [k, v] of page.entries) {
        try {
          const map = decodeOsdMap(v);
          if (epochKey(map.epoch) !== k) throw new NacreError(`map under key ${k} is epoch ${map.epoch}`, { code: 'EIO' });
          if (this.maps.size === 0) this.oldestValue = map.epoch;
          this.maps.set(map.epoch, map);
          this.newestValue = Math.max(this.newestValue, map.epoch);
        } catch (err) {
          log.warn({ key: k, err: (err as Error).message }, 'skipping an unreadable stored map');
        }
      }
      if (!page.more || page.entries.length === 0) break;
      after = page.entries[page.entries.length - 1]![0];
    }
  }
}
