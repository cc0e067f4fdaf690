/**
 * Configuration of the consensus core. Timing options keep Ceph's names and defaults
 * (mon_lease, mon_lease_renew_interval_factor, mon_lease_ack_timeout_factor,
 * mon_accept_timeout_factor, mon_election_timeout) so operators recognise them.
 */
import { NacreError } from '@nacre/util';
import type { Rank } from './types.js';

export interface MonitorCoreOptions {
  /** This monitor's rank. */
  rank: Rank;
  /** Monitors in the monmap; ranks are 0..monitorCount-1. */
  monitorCount: number;
  /** Read lease a leader grants (Ceph mon_lease = 5 s). Measured on each host's own monotonic clock. */
  leaseMs?: number;
  /** The leader renews the lease every leaseMs × this (Ceph: 0.6). Must be < 1. */
  leaseRenewFactor?: number;
  /** Lease acks missing for leaseMs × this → election; peons use the same for "leader gone" (Ceph: 2). */
  leaseAckTimeoutFactor?: number;
  /** Collect / sync / accept must finish within leaseMs × this, else election (Ceph: 2). */
  acceptTimeoutFactor?: number;
  /**
   * While collecting, syncing or waiting for accepts, the leader resends its last request to
   * members that have not answered every leaseMs × this. Not in Ceph, whose peer links never
   * lose a message; ours may across a reconnect, and an idempotent resend is cheaper than an election.
   */
  retransmitFactor?: number;
  /** An election round lasts this long (Ceph mon_election_timeout = 5 s). */
  electionTimeoutMs?: number;
  /** Client proposals queued at the leader beyond the one in flight. */
  proposalQueueMax?: number;
  /** Committed values kept in the store; older ones are trimmed (Ceph paxos_min = 500). */
  retainedVersionsMax?: number;
  /** Largest value accepted from a client (a Paxos value travels in one frame). */
  valueBytesMax?: number;
  /**
   * Committed values per catch-up message, in bytes (at least one value always goes). A peon far
   * behind catches up over several messages instead of one frame the messenger would refuse.
   */
  syncBytesMax?: number;
}

export interface MonitorCoreConfig {
  readonly rank: Rank;
  readonly monitorCount: number;
  readonly leaseMs: number;
  readonly leaseRenewMs: number;
  readonly leaseAckTimeoutMs: number;
  readonly acceptTimeoutMs: number;
  readonly retransmitMs: number;
  readonly electionTimeoutMs: number;
  readonly proposalQueueMax: number;
  readonly retainedVersionsMax: number;
  readonly valueBytesMax: number;
  readonly syncBytesMax: number;
  /** floor(monitorCount / 2) + 1. */
  readonly majority: number;
}

export const PAXOS_DEFAULTS = {
  leaseMs: 5000,
  leaseRenewFactor: 0.6,
  leaseAckTimeoutFactor: 2.0,
  acceptTimeoutFactor: 2.0,
  retransmitFactor: 0.25,
  electionTimeoutMs: 5000,
  proposalQueueMax: 256,
  retainedVersionsMax: 500,
  valueBytesMax: 16 * 1024 * 1024,
  syncBytesMax: 16 * 1024 * 1024,
} as const;

/** Monitors in one monmap; Ceph runs 3 or 5, and the election's all-to-all traffic grows as n². */
export const MONITOR_COUNT_MAX = 15;

function invalid(message: string): never {
  throw new NacreError(`paxos config: ${message}`, { code: 'EINVAL' });
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) invalid(`${name} must be a positive integer, got ${v}`);
  return v;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) invalid(`${name} must be a positive number, got ${v}`);
  return v;
}

export function resolveConfig(o: MonitorCoreOptions): MonitorCoreConfig {
  const monitorCount = positiveInt('monitorCount', o.monitorCount);
  if (monitorCount > MONITOR_COUNT_MAX) invalid(`monitorCount must be ≤ ${MONITOR_COUNT_MAX}`);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= monitorCount) {
    invalid(`rank must be in 0..${monitorCount - 1}, got ${o.rank}`);
  }
  const leaseMs = positive('leaseMs', o.leaseMs ?? PAXOS_DEFAULTS.leaseMs);
  const renew = positive('leaseRenewFactor', o.leaseRenewFactor ?? PAXOS_DEFAULTS.leaseRenewFactor);
  // Renewal must arrive before the previous lease runs out, or peons flap between readable and not.
  if (renew >= 1) invalid('leaseRenewFactor must be < 1');
  const ack = positive('leaseAckTimeoutFactor', o.leaseAckTimeoutFactor ?? PAXOS_DEFAULTS.leaseAckTimeoutFactor);
  const accept = positive('acceptTimeoutFactor', o.acceptTimeoutFactor ?? PAXOS_DEFAULTS.acceptTimeoutFactor);
  return {
    rank: o.rank,
    monitorCount,
    leaseMs,
    leaseRenewMs: leaseMs * renew,
    leaseAckTimeoutMs: leaseMs * ack,
    acceptTimeoutMs: leaseMs * accept,
    retransmitMs: leaseMs * positive('retransmitFactor', o.retransmitFactor ?? PAXOS_DEFAULTS.retransmitFactor),
    electionTimeoutMs: positive('electionTimeoutMs', o.electionTimeoutMs ?? PAXOS_DEFAULTS.electionTimeoutMs),
    proposalQueueMax: positiveInt('proposalQueueMax', o.proposalQueueMax ?? PAXOS_DEFAULTS.proposalQueueMax),
    retainedVersionsMax: positiveInt('retainedVersionsMax', o.retainedVersionsMax ?? PAXOS_DEFAULTS.retainedVersionsMax),
    valueBytesMax: positiveInt('valueBytesMax', o.valueBytesMax ?? PAXOS_DEFAULTS.valueBytesMax),
    syncBytesMax: positiveInt('syncBytesMax', o.syncBytesMax ?? PAXOS_DEFAULTS.syncBytesMax),
    majority: Math.floor(monitorCount / 2) + 1,
  };
}
