/**
 * The monitor daemon's tunables: the consensus core's timing (Ceph's names, shortened defaults
 * for local clusters) and the driver's own bounds. Each can be set in nacre.conf (`[mon.a]`, then
 * `[mon]`, then `[global]`) or on the command line as `--<key> VALUE` (dashes or underscores).
 *
 * Why the timing defaults differ from Ceph's (mon_lease 5 s, mon_election_timeout 5 s): with
 * those a dead leader is replaced in about 15 s; a local or LAN cluster on one fsync-fast disk
 * wants a pool create to succeed within 10 s of killing the leader. With a 2 s lease the peons
 * give up on a silent leader after 4 s (lease × ack factor 2) and the survivors' election takes
 * one 2 s round (it cannot hear every monitor, so it waits the round out): a new leader at
 * about 6 s. Keep `mon_election_timeout_ms` well above a network round trip plus an fsync.
 */
import { NacreError } from '@nacre/util';
import type { MonitorCoreOptions } from '../paxos/config.js';

export interface MonitorDaemonOptions {
  /** Read lease (Ceph mon_lease, in ms). */
  leaseMs: number;
  /** Election round (Ceph mon_election_timeout, in ms). */
  electionTimeoutMs: number;
  leaseRenewFactor: number;
  leaseAckTimeoutFactor: number;
  acceptTimeoutFactor: number;
  /** Committed Paxos values kept (Ceph paxos_min); a monitor further behind gets a full-state sync. */
  retainedVersionsMax: number;
  /**
   * A quorum member whose every connection has been down this long (its process is gone: the
   * kernel refused or reset the connection) is treated as failed at once — the timer that would
   * eventually notice its silence (a peon's lease timeout, the leader's lease-ack or accept
   * timeout) is fired early. Nacre's addition; it only shortens failover. 0 disables it.
   */
  peerLostGraceMs: number;
  /** How often connectivity to quorum members is checked for the above. */
  peerWatchIntervalMs: number;
  /** Failure detection and down→out run this often on the leader (Ceph mon_tick_interval). */
  tickIntervalMs: number;
  /** A peon waits this long for the leader's answer to a forwarded request. */
  forwardTimeoutMs: number;
  /** Requests forwarded by this monitor and not yet answered. */
  forwardsInFlightMax: number;
}

export const defaultMonitorDaemonOptions: Readonly<MonitorDaemonOptions> = Object.freeze({
  leaseMs: 2_000,
  electionTimeoutMs: 2_000,
  leaseRenewFactor: 0.6,
  leaseAckTimeoutFactor: 2.0,
  acceptTimeoutFactor: 2.0,
  retainedVersionsMax: 500,
  peerLostGraceMs: 500,
  peerWatchIntervalMs: 100,
  tickIntervalMs: 1_000,
  forwardTimeoutMs: 8_000,
  forwardsInFlightMax: 4_096,
});

/** nacre.conf / command-line key of each option. */
export const MONITOR_OPTION_KEYS: Readonly<Record<keyof MonitorDaemonOptions, string>> = Object.freeze({
  leaseMs: 'mon_lease_ms',
  electionTimeoutMs: 'mon_election_timeout_ms',
  leaseRenewFactor: 'mon_lease_renew_interval_factor',
  leaseAckTimeoutFactor: 'mon_lease_ack_timeout_factor',
  acceptTimeoutFactor: 'mon_accept_timeout_factor',
  retainedVersionsMax: 'paxos_min',
  peerLostGraceMs: 'mon_peer_lost_grace_ms',
  peerWatchIntervalMs: 'mon_peer_watch_interval_ms',
  tickIntervalMs: 'mon_tick_interval_ms',
  forwardTimeoutMs: 'mon_forward_timeout_ms',
  forwardsInFlightMax: 'mon_forwards_in_flight_max',
});

const FACTORS: ReadonlySet<keyof MonitorDaemonOptions> = new Set(['leaseRenewFactor', 'leaseAckTimeoutFactor', 'acceptTimeoutFactor']);

/**
 * Resolve options from a lookup (`key → text`, e.g. flags over nacre.conf) and explicit
 * overrides; every value is checked (EINVAL names the key).
 */
export function resolveMonitorDaemonOptions(
  lookup: (key: string) => string | undefined = () => undefined,
  overrides: Partial<MonitorDaemonOptions> = {},
): MonitorDaemonOptions {
  const out = { ...defaultMonitorDaemonOptions } as MonitorDaemonOptions;
  for (const name of Object.keys(MONITOR_OPTION_KEYS) as (keyof MonitorDaemonOptions)[]) {
    const key = MONITOR_OPTION_KEYS[name];
    const text = lookup(key);
    let value = overrides[name];
    if (value === undefined && text !== undefined) {
      value = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(value)) throw new NacreError(`${key} must be a number, got '${text}'`, { code: 'EINVAL' });
    }
    if (value === undefined) continue;
    const ok = FACTORS.has(name) ? value > 0 : Number.isSafeInteger(value) && (value > 0 || (name === 'peerLostGraceMs' && value === 0));
    if (!ok) throw new NacreError(`${key} must be a positive ${FACTORS.has(name) ? 'number' : 'integer'}, got ${value}`, { code: 'EINVAL' });
    out[name] = value;
  }
  if (out.leaseRenewFactor >= 1) throw new NacreError(`${MONITOR_OPTION_KEYS.leaseRenewFactor} must be < 1`, { code: 'EINVAL' });
  return out;
}

/** The consensus core's options for rank `rank` of `monitorCount`. */
export function coreOptionsOf(o: MonitorDaemonOptions, rank: number, monitorCount: number): MonitorCoreOptions {
  return {
    rank,
    monitorCount,
    leaseMs: o.leaseMs,
    electionTimeoutMs: o.electionTimeoutMs,
    leaseRenewFactor: o.leaseRenewFactor,
    leaseAckTimeoutFactor: o.leaseAckTimeoutFactor,
    acceptTimeoutFactor: o.acceptTimeoutFactor,
    retainedVersionsMax: o.retainedVersionsMax,
  };
}
