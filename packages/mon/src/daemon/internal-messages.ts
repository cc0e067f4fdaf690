/**
 * Monitor-to-monitor messages (only `mon.*` entities may send them; the messenger refuses anyone
 * else with EPERM, so a client can never inject a Paxos message or impersonate a forwarding peon).
 *
 *   mon.paxos           mon → mon   one-way  { message }            one election/Paxos message of the core
 *   mon.forward         mon → mon   request  { origin, op, payload } → the op's own reply
 *   mon.forward_report  mon → mon   one-way  { origin, op, payload }
 *
 * `mon.paxos` carries a `PaxosMessage` (packages/mon/src/paxos/types.ts) as it is; the sender's
 * rank is never taken from the payload but from the authenticated peer name through the monmap.
 * The core checks the message's structure (`checkPaxosMessage`) and drops anything malformed with
 * a logged reason, so the decoder here only insists on an object.
 *
 * `mon.forward` is how a peon hands the leader what only the leader may do: mutating commands,
 * reads it cannot serve without a lease, OSD boot/alive/pg_temp. `origin` is the entity that sent
 * the original message (cmdId de-duplication is per entity); the payload is decoded again with
 * the public message's own decoder, so the leader trusts a forwarded payload exactly as much as a
 * direct one. `mon.forward_report` does the same for one-way OSD reports (beacons, failure
 * reports, PG stats), which only the leader acts on.
 */
import {
  MonCommandMsg, MonOsdAlive, MonOsdBeacon, MonOsdBoot, MonOsdFailure, MonOsdPgTemp, MonPgStats,
  defineOneway, defineRequest, expectEntityName, expectOneOf, expectRecord,
  type EntityName, type MonCommand, type OsdBoot, type OsdFailure, type PgStatsReport, type PgTempRequest,
} from '@nacre/proto';
import { NacreError } from '@nacre/util';

/** The core's message, still to be checked by the core (`checkPaxosMessage`). */
export interface PaxosEnvelope {
  message: Record<string, unknown>;
}

export const MonPaxos = defineOneway<PaxosEnvelope>({
  type: 'mon.paxos',
  senders: ['mon'],
  decode: (raw) => ({ message: expectRecord(expectRecord(raw, 'payload')['message'], 'message') }),
});

/** What a peon forwards to the leader as a request. */
export type ForwardedRequest =
  | { origin: EntityName; op: 'command'; payload: MonCommand }
  | { origin: EntityName; op: 'osd_boot'; payload: OsdBoot }
  | { origin: EntityName; op: 'osd_alive'; payload: { osd: number; upThru: number } }
  | { origin: EntityName; op: 'osd_pg_temp'; payload: PgTempRequest };

export type ForwardedOp = ForwardedRequest['op'];
export const FORWARDED_OPS: readonly ForwardedOp[] = ['command', 'osd_boot', 'osd_alive', 'osd_pg_temp'];

/** What a peon forwards to the leader as a one-way report. */
export type ForwardedReport =
  | { origin: EntityName; op: 'osd_beacon'; payload: { osd: number; epoch: number } }
  | { origin: EntityName; op: 'osd_failure'; payload: OsdFailure }
  | { origin: EntityName; op: 'pg_stats'; payload: PgStatsReport };

export type ForwardedReportOp = ForwardedReport['op'];
export const FORWARDED_REPORT_OPS: readonly ForwardedReportOp[] = ['osd_beacon', 'osd_failure', 'pg_stats'];

function decodeWith<T>(decode: ((raw: unknown) => T) | undefined, raw: unknown): T {
  if (decode === undefined) throw new NacreError('internal: public message without a decoder', { code: 'EINVAL' });
  return decode(raw);
}

function decodeForward(raw: unknown): ForwardedRequest {
  const o = expectRecord(raw, 'payload');
  const origin = expectEntityName(o['origin'], 'origin');
  const op = expectOneOf(o['op'], 'op', FORWARDED_OPS);
  switch (op) {
    case 'command': return { origin, op, payload: decodeWith(MonCommandMsg.decode, o['payload']) };
    case 'osd_boot': return { origin, op, payload: decodeWith(MonOsdBoot.decode, o['payload']) };
    case 'osd_alive': return { origin, op, payload: decodeWith(MonOsdAlive.decode, o['payload']) };
    case 'osd_pg_temp': return { origin, op, payload: decodeWith(MonOsdPgTemp.decode, o['payload']) };
  }
}

function decodeReport(raw: unknown): ForwardedReport {
  const o = expectRecord(raw, 'payload');
  const origin = expectEntityName(o['origin'], 'origin');
  const op = expectOneOf(o['op'], 'op', FORWARDED_REPORT_OPS);
  switch (op) {
    case 'osd_beacon': return { origin, op, payload: decodeWith(MonOsdBeacon.decode, o['payload']) };
    case 'osd_failure': return { origin, op, payload: decodeWith(MonOsdFailure.decode, o['payload']) };
    case 'pg_stats': return { origin, op, payload: decodeWith(MonPgStats.decode, o['payload']) };
  }
}

/**
 * The reply is whatever the forwarded op replies (a MonCommandReply or `{ epoch }`); the peon
 * hands it back to its client, whose own definition checks it (`decodeReply`).
 */
export const MonForward = defineRequest<ForwardedRequest, unknown>({
  type: 'mon.forward',
  senders: ['mon'],
  decode: decodeForward,
});

export const MonForwardReport = defineOneway<ForwardedReport>({
  type: 'mon.forward_report',
  senders: ['mon'],
  decode: decodeReport,
});

/** Everything monitors say to each other. */
export const monInternalMessages = [MonPaxos, MonForward, MonForwardReport] as const;
