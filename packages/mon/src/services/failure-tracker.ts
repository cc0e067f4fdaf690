/**
 * Failure detection on the leader: which up OSDs to mark down, which down OSDs to mark out.
 * A plain state machine — reports, beacons and boots go in with the caller's monotonic `nowMs`;
 * `tick(state, nowMs)` returns the decision as a pending change for the next proposal. It holds
 * only soft state (like Ceph's OSDMonitor failure_info / last_osd_report / down_pending_out): a
 * new leader starts a fresh tracker, whose timers start at its creation (for OSDs it finds up or
 * down) or when it first sees a later change, so a leader change can delay a mark, never hasten one.
 *
 * Marking down (unless `nodown`):
 * - peers: reports from at least `minDownReporters` distinct reporters, counted by distinct CRUSH
 *   subtree of type `reporterSubtreeLevel` (host: two OSDs of one host count once, as in Ceph),
 *   and the target unreachable for `heartbeatGraceMs` (the oldest live report's failedForMs plus
 *   the time since it arrived). Deviation from Ceph: the requirement is capped at the number of
 *   such subtrees that hold other up OSDs, so a one- or two-host cluster can still mark an OSD
 *   down by its peers (Ceph never does there, leaving only the beacon timeout).
 * - immediate: one report with `immediate` (the reporter's connection was refused — the process
 *   is gone), no grace.
 * - beacon: no beacon for `reportTimeoutMs` since the later of its last beacon, its boot (up_from
 *   change) and the tracker's start.
 * A report counts for `failureReportTtlMs` after it arrives (reporters re-send while the failure
 * lasts); reports from down reporters, from the target itself, or from a map older than the
 * target's up_from (it predates the target's restart) are ignored. Reports on an OSD are dropped
 * when it is marked down or comes up again with a new up_from (`osdBooted` does the same at once);
 * a beacon does not cancel them (see `beacon`).
 *
 * Marking out (unless `noout`): a down, in OSD is marked out `downOutIntervalMs` after the
 * tracker first saw it down (0: never), as long as at least `minInRatio` of the existing OSDs stay
 * in (Ceph's mon_osd_min_in_ratio — a dying rack must not trigger a cluster-wide reshuffle).
 */
import { osdExists, type OsdMap } from '@nacre/osdmap';
import type { OsdFailure } from '@nacre/proto';
import { ancestorOfType } from './crush-edits.js';
import { failureReportsMax } from './limits.js';
import type { MonState } from './mon-state.js';
import { DEFAULT_MON_SERVICE_OPTIONS, type MonServiceOptions } from './mon-options.js';
import type { FailureMark } from './osd-reports.js';
import type { PendingChange } from './batch.js';

export type FailureOptions = Pick<MonServiceOptions,
  'minDownReporters' | 'reporterSubtreeLevel' | 'heartbeatGraceMs' | 'failureReportTtlMs' | 'reportTimeoutMs' | 'downOutIntervalMs' | 'minInRatio'>;

interface Report {
  /** Monotonic time (ours) since which the reporter has not heard from the target. */
  failedSinceMs: number;
  receivedMs: number;
  immediate: boolean;
}

export interface FailureDecision {
  down: FailureMark[];
  out: number[];
}

export class FailureTracker {
  options: FailureOptions;
  /** target → reporter → report */
  private readonly reports = new Map<number, Map<number, Report>>();
  private reportCount = 0;
  private readonly lastBeaconMs = new Map<number, number>();
  /** The up_from we last saw per OSD: a change means it re-booted (its beacon clock restarts). */
  private readonly seenUpFrom = new Map<number, { upFrom: number; sinceMs: number }>();
  private readonly downSinceMs = new Map<number, { downAt: number; sinceMs: number }>();
  /** OSDs up or down at the first look count from the tracker's start, later changes from when seen. */
  private observedOnce = false;

  constructor(private readonly startMs: number, options: Partial<FailureOptions> = {}) {
    this.options = { ...DEFAULT_MON_SERVICE_OPTIONS, ...options };
  }

  /** Record a failure report from OSD `reporter`. Returns false if it was ignored. */
  reportFailure(state: MonState, reporter: number, report: OsdFailure, nowMs: number): boolean {
    const map = state.osdmap;
    const target = report.target;
    if (reporter === target || !isUp(map, reporter) || !isUp(map, target)) return false;
    if (report.epoch < map.osds[target]!.upFrom) return false; // the reporter's view predates the target's boot
    let byReporter = this.reports.get(target);
    if (byReporter === undefined) {
      byReporter = new Map();
      this.reports.set(target, byReporter);
    }
    if (!byReporter.has(reporter)) {
      if (this.reportCount >= failureReportsMax) return false;
      this.reportCount++;
    }
    byReporter.set(reporter, { failedSinceMs: nowMs - report.failedForMs, receivedMs: nowMs, immediate: report.immediate });
    return true;
  }

  /**
   * An OSD's beacon: its process is alive and reaches the monitor. It does not cancel peer
   * reports: an OSD its peers cannot reach cannot serve its PGs either (Ceph marks it down too),
   * and with beacons more frequent than the grace, clearing would make peer reports useless.
   */
  beacon(osd: number, nowMs: number): void {
    this.lastBeaconMs.set(osd, nowMs);
  }

  /** An OSD booted (or re-booted): forget old reports about it and restart its beacon clock. */
  osdBooted(osd: number, nowMs: number): void {
    this.lastBeaconMs.set(osd, nowMs);
    this.clearReports(osd);
    this.downSinceMs.delete(osd);
  }

  /** Reporters currently counted against `target` (for tests and `health detail`). */
  reportersOf(target: number): number[] {
    return [...(this.reports.get(target)?.keys() ?? [])].sort((a, b) => a - b);
  }

  private clearReports(target: number): void {
    const r = this.reports.get(target);
    if (r !== undefined) {
      this.reportCount -= r.size;
      this.reports.delete(target);
    }
  }

  /** The marks due at `nowMs`, or undefined. Call periodically on the leader (e.g. every second). */
  evaluate(state: MonState, nowMs: number): FailureDecision | undefined {
    const map = state.osdmap;
    this.observe(map, nowMs);
    const down: FailureMark[] = [];
    if (!map.flags.has('nodown')) {
      for (let osd = 0; osd < map.maxOsd; osd++) {
        if (!isUp(map, osd)) continue;
        const reason = this.downReason(map, osd, nowMs);
        if (reason !== undefined) down.push({ osd, reason });
      }
    }
    const out = map.flags.has('noout') || this.options.downOutIntervalMs <= 0 ? [] : this.dueOut(map, nowMs);
    return down.length > 0 || out.length > 0 ? { down, out } : undefined;
  }

  /** `evaluate` as a pending change for the next proposal (see batch.ts). */
  tick(state: MonState, nowMs: number): PendingChange | undefined {
    const d = this.evaluate(state, nowMs);
    return d === undefined ? undefined : { kind: 'failures', down: d.down, out: d.out };
  }

  /** Track up_from / down_at changes and drop reports that no longer apply. */
  private observe(map: OsdMap, nowMs: number): void {
    for (const target of [...this.reports.keys()]) {
      if (!isUp(map, target)) {
        this.clearReports(target);
        continue;
      }
      const byReporter = this.reports.get(target)!;
      for (const [reporter, r] of [...byReporter]) {
        if (!isUp(map, reporter) || nowMs - r.receivedMs > this.options.failureReportTtlMs) {
          byReporter.delete(reporter);
          this.reportCount--;
        }
      }
      if (byReporter.size === 0) this.reports.delete(target);
    }
    for (let osd = 0; osd < map.maxOsd; osd++) {
      const o = map.osds[osd]!;
      if (!o.exists) {
        this.seenUpFrom.delete(osd);
        this.downSinceMs.delete(osd);
        this.lastBeaconMs.delete(osd);
        continue;
      }
      if (o.up) {
        this.downSinceMs.delete(osd);
        const seen = this.seenUpFrom.get(osd);
        if (seen === undefined || seen.upFrom !== o.upFrom) {
          // a new up_from is a new process: reports about the previous one no longer apply
          if (seen !== undefined) this.clearReports(osd);
          this.seenUpFrom.set(osd, { upFrom: o.upFrom, sinceMs: this.firstSight(nowMs) });
        }
      } else {
        const d = this.downSinceMs.get(osd);
        if (d === undefined || d.downAt !== o.downAt) this.downSinceMs.set(osd, { downAt: o.downAt, sinceMs: this.firstSight(nowMs) });
      }
    }
    this.observedOnce = true;
  }

  private firstSight(nowMs: number): number {
    return this.observedOnce ? nowMs : Math.min(nowMs, this.startMs);
  }

  private downReason(map: OsdMap, osd: number, nowMs: number): FailureMark['reason'] | undefined {
    const reports = this.reports.get(osd);
    if (reports !== undefined && reports.size > 0) {
      for (const r of reports.values()) if (r.immediate) return 'immediate';
      const level = this.options.reporterSubtreeLevel;
      const subtreeOf = (o: number): string => (level === 'osd' ? `osd.${o}` : ancestorOfType(map.crush, o, level) ?? `osd.${o}`);
      const subtrees = new Set([...reports.keys()].map(subtreeOf));
      const available = new Set<string>();
      for (let o = 0; o < map.maxOsd; o++) if (o !== osd && isUp(map, o)) available.add(subtreeOf(o));
      const needed = Math.max(1, Math.min(this.options.minDownReporters, available.size));
      const failedSinceMs = Math.min(...[...reports.values()].map((r) => r.failedSinceMs));
      if (subtrees.size >= needed && nowMs - failedSinceMs >= this.options.heartbeatGraceMs) return 'reports';
    }
    const beaconMs = Math.max(this.startMs, this.lastBeaconMs.get(osd) ?? -Infinity, this.seenUpFrom.get(osd)?.sinceMs ?? -Infinity);
    if (nowMs - beaconMs >= this.options.reportTimeoutMs) return 'beacon';
    return undefined;
  }

  private dueOut(map: OsdMap, nowMs: number): number[] {
    let existing = 0;
    let inCount = 0;
    for (let o = 0; o < map.maxOsd; o++) {
      if (!map.osds[o]!.exists) continue;
      existing++;
      if (map.osds[o]!.weight > 0) inCount++;
    }
    const out: number[] = [];
    for (const [osd, d] of [...this.downSinceMs].sort(([a], [b]) => a - b)) {
      const o = map.osds[osd];
      if (o === undefined || !o.exists || o.up || o.weight === 0) continue;
      if (nowMs - d.sinceMs < this.options.downOutIntervalMs) continue;
      if ((inCount - 1) < this.options.minInRatio * existing) break;
      out.push(osd);
      inCount--;
    }
    return out;
  }
}

function isUp(map: OsdMap, osd: number): boolean {
  return osdExists(map, osd) && map.osds[osd]!.up;
}
