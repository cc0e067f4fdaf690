/**
 * Where each request to a monitor is served. Every monitor accepts every public message; the
 * router decides who answers:
 *
 * | message | served by |
 * | --- | --- |
 * | mon.command, read-only | this monitor while it holds a read lease; else the leader (forwarded) |
 * | mon.command, mutating  | the leader: queued for the next proposal, answered after the commit |
 * | mon.osd_boot / osd_alive / osd_pg_temp | the leader, like a mutating command; the reply `{epoch}` is the committed epoch that contains the change |
 * | mon.subscribe / mon.get_osdmap | this monitor (committed epochs are the same everywhere) |
 * | mon.osd_beacon / osd_failure | the leader's failure detector (a peon relays them) |
 * | mon.pg_stats | every monitor: the receiver aggregates it and relays it to all the others, so `status` and `df` read the same on any monitor |
 *
 * A peon forwards with `mon.forward` (internal-messages.ts) to the leader it knows; a monitor
 * never forwards a forwarded request again (no loops across a leadership change). With no
 * quorum, or when forwarding fails (leader gone, timeout), the answer is EAGAIN with one line
 * saying why: the client (MonClient) retries on another monitor until its own deadline, with the
 * same cmdId, so a command that did commit is answered from the command log, not applied twice.
 *
 * Identity: an OSD may boot, beacon or ask for up_thru only as itself (`osd.N` for OSD N); the
 * authenticated name is checked here, and travels with a forwarded request as `origin`.
 */
import type { Messenger } from '@nacre/msgr';
import {
  MonCommandMsg, MonGetOsdMap, MonOsdAlive, MonOsdBeacon, MonOsdBoot, MonOsdFailure, MonOsdPgTemp, MonPgStats,
  MonSubscribe, type EntityName, type MonCommand, type MonCommandReply,
} from '@nacre/proto';
import { NacreError, hasCode, type Logger } from '@nacre/util';
import type { MonitorRole, Rank } from '../paxos/types.js';
import { isEmptyMonState, type MonState } from '../services/mon-state.js';
import type { MonitorDaemonOptions } from './daemon-options.js';
import { MonForward, MonForwardReport, type ForwardedReport, type ForwardedRequest } from './internal-messages.js';
import type { OsdMapFeed } from './osdmap-feed.js';
import type { PeerLinks } from './peer-links.js';
import type { ChangeSettlement, QueuedChange } from './proposal-batcher.js';
import type { RuntimeFacts, ServiceChange, ServicePort } from './service-port.js';

export interface RouterHost {
  readonly entity: EntityName;
  readonly log: Logger;
  readonly service: ServicePort;
  readonly feed: OsdMapFeed;
  running(): boolean;
  state(): MonState;
  facts(): RuntimeFacts;
  role(): MonitorRole;
  leaderRank(): Rank | undefined;
  isActiveLeader(): boolean;
  readable(): boolean;
  submit(change: QueuedChange): void;
  peers(): PeerLinks;
  /** Why this monitor cannot serve (no quorum, electing, …), as one line. */
  quorumText(): string;
}

/** Error codes after which a forwarded request is worth retrying elsewhere (reported as EAGAIN). */
const transientCodes = ['EAGAIN', 'ETIMEDOUT', 'ESHUTDOWN', 'ECONNREFUSED'] as const;

export class RequestRouter {
  private forwardsInFlight = 0;
  private stopped = false;
  /** Reports dropped (identity mismatch, no leader known). */
  droppedReports = 0;

  constructor(private readonly host: RouterHost, private readonly options: MonitorDaemonOptions) {}

  register(m: Messenger): void {
    m.handle(MonCommandMsg, (cmd, ctx) => this.request({ origin: ctx.peer, op: 'command', payload: cmd }, false) as Promise<MonCommandReply>);
    m.handle(MonOsdBoot, (boot, ctx) => this.request({ origin: ctx.peer, op: 'osd_boot', payload: boot }, false) as Promise<{ epoch: number }>);
    m.handle(MonOsdAlive, (req, ctx) => this.request({ origin: ctx.peer, op: 'osd_alive', payload: req }, false) as Promise<{ epoch: number }>);
    m.handle(MonOsdPgTemp, (req, ctx) => this.request({ origin: ctx.peer, op: 'osd_pg_temp', payload: req }, false) as Promise<{ epoch: number }>);
    m.handle(MonForward, (req, ctx) => {
      if (this.host.peers().rankOf(ctx.peer) === undefined) {
        throw new NacreError(`${ctx.peer} is not a monitor of this cluster`, { code: 'EPERM' });
      }
      return this.request(req, true);
    });
    m.handle(MonSubscribe, (sub, ctx) => ({ epoch: this.host.feed.subscribe(ctx.conn, sub.osdmapSince) }));
    m.handle(MonGetOsdMap, (req) => this.host.feed.bundleSince(req.since));
    m.handle(MonOsdBeacon, (payload, ctx) => this.report({ origin: ctx.peer, op: 'osd_beacon', payload }, false));
    m.handle(MonOsdFailure, (payload, ctx) => this.report({ origin: ctx.peer, op: 'osd_failure', payload }, false));
    m.handle(MonPgStats, (payload, ctx) => this.report({ origin: ctx.peer, op: 'pg_stats', payload }, false));
    m.handle(MonForwardReport, (r, ctx) => {
      if (this.host.peers().rankOf(ctx.peer) === undefined) return;
      this.report(r, true);
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private checkServing(): void {
    if (this.stopped || !this.host.running()) throw new NacreError(`${this.host.entity} is shutting down`, { code: 'EAGAIN' });
  }

  /** Answer a request here, queue it for a proposal, or forward it to the leader. */
  async request(req: ForwardedRequest, forwarded: boolean): Promise<unknown> {
    this.checkServing();
    switch (req.op) {
      case 'command': return this.command(req.origin, req.payload, forwarded);
      case 'osd_boot':
        checkOsdIdentity(req.origin, req.payload.osd, 'boot');
        return this.osdChange(req, forwarded, `osd_boot osd.${req.payload.osd}`, { kind: 'osdBoot', boot: req.payload });
      case 'osd_alive':
        checkOsdIdentity(req.origin, req.payload.osd, 'ask for up_thru');
        return this.osdChange(req, forwarded, `osd_alive osd.${req.payload.osd}`,
          { kind: 'osdAlive', osd: req.payload.osd, upThru: req.payload.upThru });
      case 'osd_pg_temp': {
        const osd = osdIdOf(req.origin);
        return this.osdChange(req, forwarded, `osd_pg_temp from ${req.origin}`,
          { kind: 'osdPgTemp', request: req.payload, ...(osd === undefined ? {} : { osd }) });
      }
    }
  }

  private async command(origin: EntityName, cmd: MonCommand, forwarded: boolean): Promise<unknown> {
    const service = this.host.service;
    const kind = service.commandKind(cmd.prefix);
    if (kind === undefined) {
      // The service layer's own message names near matches; it never changes anything.
      return service.runRead(this.host.state(), origin, cmd, this.host.facts());
    }
    if (kind === 'read' && this.host.readable()) {
      const state = this.host.state();
      if (isEmptyMonState(state)) throw new NacreError(`${this.host.entity}: the cluster is being created; retry`, { code: 'EAGAIN' });
      return service.runRead(state, origin, cmd, this.host.facts());
    }
    if (kind === 'write' && this.host.isActiveLeader()) {
      return this.change(cmd.prefix, { kind: 'command', command: cmd, entity: origin }, (s) => s.reply);
    }
    return this.toLeader({ origin, op: 'command', payload: cmd }, forwarded);
  }

  /** An OSD's request: the active leader queues it (else it is forwarded); the reply is its epoch. */
  private async osdChange(req: ForwardedRequest, forwarded: boolean, what: string, change: ServiceChange): Promise<unknown> {
    if (!this.host.isActiveLeader()) return this.toLeader(req, forwarded);
    return this.change(what, change, (s) => ({ epoch: s.epoch }));
  }

  /** Queue a change on this (leader) monitor; resolves after its proposal commits. */
  private change(what: string, change: ServiceChange, toReply: (s: Extract<ChangeSettlement, { ok: true }>) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.host.submit({ what, change, settle: (o) => (o.ok ? resolve(toReply(o)) : reject(o.err)) });
    });
  }

  private async toLeader(req: ForwardedRequest, forwarded: boolean): Promise<unknown> {
    const leader = this.host.leaderRank();
    if (forwarded) {
      throw new NacreError(`${this.host.entity} was asked as the leader but is not an active leader (${this.host.quorumText()})`, { code: 'EAGAIN' });
    }
    if (this.host.role() !== 'peon' || leader === undefined) throw new NacreError(this.host.quorumText(), { code: 'EAGAIN' });
    if (this.forwardsInFlight >= this.options.forwardsInFlightMax) {
      throw new NacreError(`${this.host.entity}: too many requests forwarded to the leader (forwardsInFlightMax=${this.options.forwardsInFlightMax})`, { code: 'EAGAIN' });
    }
    const peers = this.host.peers();
    this.forwardsInFlight++;
    try {
      return await peers.request(leader, MonForward, req, this.options.forwardTimeoutMs);
    } catch (err) {
      if (transientCodes.some((c) => hasCode(err, c))) {
        throw new NacreError(`${this.host.entity}: leader ${peers.entityOf(leader)} did not answer (${(err as Error).message}); retry`, { code: 'EAGAIN', cause: err });
      }
      throw err;
    } finally {
      this.forwardsInFlight--;
    }
  }

  /** One-way OSD reports. Never throws: a bad report is dropped with a log line. */
  report(r: ForwardedReport, forwarded: boolean): void {
    if (this.stopped || !this.host.running()) return;
    const now = this.host.facts().monotonicMs;
    const state = this.host.state();
    if (r.op === 'pg_stats') {
      if (!sameOsd(r.origin, r.payload.osd)) return this.drop(r, 'pg_stats for another OSD');
      this.host.service.pgStats(r.payload, now);
      if (!forwarded) this.relayToAll(r);
      return;
    }
    if (r.op === 'osd_beacon' && !sameOsd(r.origin, r.payload.osd)) return this.drop(r, 'beacon for another OSD');
    if (this.host.role() === 'leader') {
      if (isEmptyMonState(state)) return;
      if (r.op === 'osd_beacon') this.host.service.beacon(state, r.payload.osd, r.payload.epoch, now);
      else this.host.service.failureReport(state, r.origin, r.payload, now);
      return;
    }
    const leader = this.host.leaderRank();
    if (forwarded || this.host.role() !== 'peon' || leader === undefined) return this.drop(r, 'no leader to relay it to');
    this.host.peers().send(leader, MonForwardReport, r);
  }

  private relayToAll(r: ForwardedReport): void {
    const peers = this.host.peers();
    for (const rank of peers.otherRanks()) peers.send(rank, MonForwardReport, r);
  }

  private drop(r: ForwardedReport, why: string): void {
    this.droppedReports++;
    this.host.log.debug({ from: r.origin, op: r.op, why }, 'report dropped');
  }
}

function osdIdOf(entity: EntityName): number | undefined {
  return entity.startsWith('osd.') ? Number(entity.slice(4)) : undefined;
}

function sameOsd(origin: EntityName, osd: number): boolean {
  return origin === `osd.${osd}`;
}

function checkOsdIdentity(origin: EntityName, osd: number, what: string): void {
  if (!sameOsd(origin, osd)) throw new NacreError(`${origin} may not ${what} for osd.${osd}`, { code: 'EPERM' });
}
