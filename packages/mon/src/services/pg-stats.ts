/**
 * PG statistics: what OSDs report about the PGs they are primary for and about their stores.
 * Not Paxos state (like Ceph's mgr digest): each monitor keeps the latest report per OSD in memory
 * and summarizes on demand — PG counts by state, per-pool objects and bytes, raw usage for `df`,
 * per-OSD fullness for health. A restarted monitor starts empty and fills up within one report
 * interval; until then PGs show as `unknown`.
 *
 * Which report wins for a PG: the one with the newest map epoch (a new primary reports with a
 * newer epoch than the old one), then the one received last. A report older (by epoch) than the
 * kept one from the same OSD is dropped as stale. A PG whose winning report comes from an OSD that
 * is now down, or is older than `staleMs`, is shown `stale+…` (Ceph's stale PGs); a PG nobody
 * reported is `unknown`.
 */
import { parsePgId, type OsdMap } from '@nacre/osdmap';
import type { PgStat, PgStatsReport, StatfsReport } from '@nacre/proto';
import type { MonState } from './mon-state.js';

export interface PgStatsOptions {
  /** A PG whose newest report is older than this shows as stale (default 60 s). */
  staleMs: number;
}

export const DEFAULT_PG_STATS_OPTIONS: Readonly<PgStatsOptions> = Object.freeze({ staleMs: 60_000 });

export interface PoolUsage {
  id: number;
  name: string;
  pgs: number;
  objects: number;
  /** Logical bytes (one copy), from the PGs' reports. */
  storedBytes: number;
  /** Raw bytes the pool's data takes on the OSDs: stored × replication (size, or (k+m)/k for EC). */
  allocatedBytes: number;
  /** Raw bytes per stored byte. */
  rawPerStored: number;
}

export interface OsdUsage extends StatfsReport {
  osd: number;
  receivedMs: number;
}

export interface PgSummary {
  total: number;
  /** `active+clean` → count; `unknown` for PGs nobody reported. */
  byState: Record<string, number>;
  pools: PoolUsage[];
  /** Raw totals over every existing OSD's latest store report. */
  raw: { capacityBytes: number; allocatedBytes: number; storedBytes: number; availBytes: number; objects: number };
  osds: OsdUsage[];
}

interface Kept {
  report: PgStatsReport;
  receivedMs: number;
}

export class PgStatsAggregator {
  private readonly latest = new Map<number, Kept>();
  readonly options: PgStatsOptions;

  constructor(options: Partial<PgStatsOptions> = {}) {
    this.options = { ...DEFAULT_PG_STATS_OPTIONS, ...options };
  }

  /** Keep `report` as the OSD's latest; false (dropped) if it is older than the one kept. */
  report(report: PgStatsReport, nowMs: number): boolean {
    const kept = this.latest.get(report.osd);
    if (kept !== undefined && report.epoch < kept.report.epoch) return false;
    this.latest.set(report.osd, { report, receivedMs: nowMs });
    return true;
  }

  /** Forget an OSD (removed from the cluster). */
  forget(osd: number): void {
    this.latest.delete(osd);
  }

  get reportingOsds(): number {
    return this.latest.size;
  }

  summary(state: MonState, nowMs: number): PgSummary {
    const map = state.osdmap;
    for (const osd of this.latest.keys()) if (!(osd < map.maxOsd && map.osds[osd]!.exists)) this.latest.delete(osd);
    const winners = this.winningReports(map);
    const byState = new Map<string, number>(); // a Map: state words come from peers
    const perPool = new Map<number, { objects: number; bytes: number }>();
    let total = 0;
    for (const pool of [...map.pools.values()].sort((a, b) => a.id - b.id)) {
      total += pool.pgNum;
      const usage = { objects: 0, bytes: 0 };
      perPool.set(pool.id, usage);
      for (let seed = 0; seed < pool.pgNum; seed++) {
        const w = winners.get(`${pool.id}.${seed.toString(16)}`);
        let name = 'unknown';
        if (w !== undefined) {
          const stale = !map.osds[w.osd]!.up || nowMs - w.receivedMs > this.options.staleMs;
          name = (stale ? ['stale', ...w.stat.state] : w.stat.state).join('+') || 'unknown';
          usage.objects += w.stat.objects;
          usage.bytes += w.stat.bytes;
        }
        byState.set(name, (byState.get(name) ?? 0) + 1);
      }
    }
    const osds: OsdUsage[] = [...this.latest].sort(([a], [b]) => a - b).map(([osd, k]) => ({ osd, receivedMs: k.receivedMs, ...k.report.statfs }));
    const raw = { capacityBytes: 0, allocatedBytes: 0, storedBytes: 0, availBytes: 0, objects: 0 };
    for (const o of osds) {
      raw.capacityBytes += o.capacityBytes;
      raw.allocatedBytes += o.allocatedBytes;
      raw.storedBytes += o.storedBytes;
      raw.objects += o.objects;
    }
    raw.availBytes = Math.max(0, raw.capacityBytes - raw.allocatedBytes);
    const pools: PoolUsage[] = [...map.pools.values()].sort((a, b) => a.id - b.id).map((p) => {
      const u = perPool.get(p.id)!;
      const prof = p.ecProfile !== undefined ? map.ecProfiles.get(p.ecProfile) : undefined;
      const rawPerStored = p.type === 'erasure' && prof !== undefined ? (prof.k + prof.m) / prof.k : p.size;
      return { id: p.id, name: p.name, pgs: p.pgNum, objects: u.objects, storedBytes: u.bytes, allocatedBytes: Math.round(u.bytes * rawPerStored), rawPerStored };
    });
    return { total, byState: Object.fromEntries([...byState].sort(([a], [b]) => (a < b ? -1 : 1))), pools, raw, osds };
  }

  /** pgid → the stat that wins (newest epoch, then newest arrival), for PGs that exist. */
  private winningReports(map: OsdMap): Map<string, { stat: PgStat; osd: number; receivedMs: number; epoch: number }> {
    const out = new Map<string, { stat: PgStat; osd: number; receivedMs: number; epoch: number }>();
    for (const [osd, k] of this.latest) {
      for (const stat of k.report.pgs) {
        let key: string;
        try {
          const pg = parsePgId(stat.pgid);
          const pool = map.pools.get(pg.pool);
          if (pool === undefined || pg.seed >= pool.pgNum) continue; // a PG of a deleted pool or before a merge
          key = `${pg.pool}.${pg.seed.toString(16)}`;
        } catch {
          continue; // a malformed pg id is the reporter's bug; it must not hide the other PGs
        }
        const cur = out.get(key);
        const epoch = k.report.epoch;
        if (cur === undefined || epoch > cur.epoch || (epoch === cur.epoch && k.receivedMs >= cur.receivedMs)) {
          out.set(key, { stat, osd, receivedMs: k.receivedMs, epoch });
        }
      }
    }
    return out;
  }
}

/** PGs (count) whose state includes any of `words`. */
export function countPgsWith(summary: PgSummary, pred: (words: readonly string[]) => boolean): number {
  let n = 0;
  for (const [name, count] of Object.entries(summary.byState)) if (pred(name.split('+'))) n += count;
  return n;
}
