/**
 * Every tunable of the OSD with its reason and its bound. `resolveOsdConfig` validates overrides
 * (EINVAL), so a bad flag fails at start, not in the middle of peering.
 */
import { NacreError } from '@nacre/util';

export interface OsdConfig {
  /** Largest object (EFBIG beyond). Ceph's osd_max_object_size; the store's own limit is 128 MiB too. */
  objectSizeBytesMax: number;
  /**
   * PG log entries kept while the PG is clean. Short: a restarted OSD that missed fewer writes
   * than this catches up from the log alone. Ceph's osd_min_pg_log_entries is 250.
   */
  pgLogEntriesMin: number;
  /**
   * Hard bound of one PG's log (while degraded the log grows up to this so that a down OSD can
   * still catch up from the log when it returns). Ceph's osd_max_pg_log_entries (10000).
   */
  pgLogEntriesMax: number;
  /** Reqids of trimmed entries kept to answer resends (Ceph osd_pg_log_dups_tracked). */
  pgLogDupsMax: number;
  /** Client ops waiting in one PG (for peering, a map, a missing object); more get EAGAIN. */
  pgOpsWaitingMax: number;
  /** A waiting op that did not run within this time gets ETIMEDOUT (the client times out too). */
  opWaitMsMax: number;
  /** Writes in flight (sent to replicas, not yet acknowledged) per OSD; more wait. */
  writesInFlightMax: number;
  /** Objects recovered at once per PG (Ceph osd_recovery_max_active). */
  recoveryOpsInFlightMax: number;
  /** Data per recovery message: larger objects are copied in chunks. */
  recoveryChunkBytesMax: number;
  /** Time a peer has to answer a peering or recovery request before the attempt is retried. */
  peerRequestTimeoutMs: number;
  /** Replica acknowledgement timeout of a replicated write (then the write waits for a new interval). */
  repopTimeoutMs: number;
  /** Heartbeat ping period to PG peers (Ceph osd_heartbeat_interval 6 s; shorter on a laptop cluster). */
  heartbeatIntervalMs: number;
  /** No heartbeat reply for this long → report the peer to the monitor (Ceph osd_heartbeat_grace 20 s). */
  heartbeatGraceMs: number;
  /** Beacon to the monitor (Ceph osd_beacon_report_interval 300 s). */
  beaconIntervalMs: number;
  /** PG stats to the monitor (Ceph osd_mon_report_interval 5 s). */
  statsIntervalMs: number;
  /** OSDMap epochs kept (in memory and on disk) for peering's past-interval reasoning. */
  mapHistoryEpochsMax: number;
  /** Client ops waiting for this OSD to receive a newer map; more get EAGAIN. */
  opsWaitingForMapMax: number;
  /** A watch without a live connection is dropped after this long. */
  watchTimeoutMs: number;
  /** Notifies in progress per OSD. */
  notifiesInFlightMax: number;
  /**
   * Writes that need space are refused (ENOSPC) once this OSD's store, or an acting replica's,
   * would pass this fill level — so no OSD ever has to fail a write it already logged (Ceph's
   * full ratios). The rest is headroom for writes in flight and recovery.
   */
  fullRatioPercent: number;
}

export const defaultOsdConfig: Readonly<OsdConfig> = Object.freeze({
  objectSizeBytesMax: 128 * 1024 * 1024,
  pgLogEntriesMin: 500,
  pgLogEntriesMax: 10_000,
  pgLogDupsMax: 3_000,
  pgOpsWaitingMax: 4096,
  opWaitMsMax: 120_000,
  writesInFlightMax: 1024,
  recoveryOpsInFlightMax: 8,
  recoveryChunkBytesMax: 8 * 1024 * 1024,
  peerRequestTimeoutMs: 15_000,
  repopTimeoutMs: 60_000,
  heartbeatIntervalMs: 1_000,
  heartbeatGraceMs: 6_000,
  beaconIntervalMs: 5_000,
  statsIntervalMs: 2_000,
  mapHistoryEpochsMax: 5_000,
  opsWaitingForMapMax: 4096,
  watchTimeoutMs: 30_000,
  notifiesInFlightMax: 1024,
  fullRatioPercent: 90,
});

export function resolveOsdConfig(overrides: Partial<OsdConfig> = {}): OsdConfig {
  const cfg: OsdConfig = { ...defaultOsdConfig, ...overrides };
  for (const [name, value] of Object.entries(cfg)) {
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw new NacreError(`osd config ${name} must be a positive integer, got ${String(value)}`, { code: 'EINVAL' });
    }
  }
  if (cfg.objectSizeBytesMax > 128 * 1024 * 1024) {
    throw new NacreError('objectSizeBytesMax cannot exceed the store limit of 128 MiB', { code: 'EINVAL' });
  }
  if (cfg.fullRatioPercent > 99) throw new NacreError('fullRatioPercent must be at most 99', { code: 'EINVAL' });
  if (cfg.pgLogEntriesMin > cfg.pgLogEntriesMax) throw new NacreError('pgLogEntriesMin must not exceed pgLogEntriesMax', { code: 'EINVAL' });
  if (cfg.heartbeatGraceMs <= cfg.heartbeatIntervalMs) throw new NacreError('heartbeatGraceMs must exceed heartbeatIntervalMs', { code: 'EINVAL' });
  if (cfg.recoveryChunkBytesMax > 32 * 1024 * 1024) throw new NacreError('recoveryChunkBytesMax must be at most 32 MiB (frame limit)', { code: 'EINVAL' });
  return cfg;
}
