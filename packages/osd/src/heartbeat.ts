/**
 * Heartbeats to PG peers on their own messenger and port (Ceph's separate heartbeat network), so a
 * ping never waits behind megabytes of replication traffic on the public connection. Every
 * `heartbeatIntervalMs` each peer (an up OSD sharing a PG with us) gets `osd.ping`; no answer for
 * `heartbeatGraceMs` → a failure report to the monitor; a refused connection (the process is gone)
 * → an immediate report. The monitor decides whether to mark the peer down.
 */
import type { Env, Logger, TimerHandle } from '@nacre/util';
import { osdIsUp, type OsdMap } from '@nacre/osdmap';
import type { Connection, Messenger } from '@nacre/msgr';
import type { OsdConfig } from './config.js';
import { OsdPing } from './messages.js';

export interface HeartbeatHost {
  readonly whoami: number;
  readonly config: OsdConfig;
  readonly env: Env;
  readonly logger: Logger;
  readonly hbMsgr: Messenger;
  map(): OsdMap | null;
  /** Up OSDs sharing a PG with us. */
  peers(): Set<number>;
  /** The peer's heartbeat address (asked over the public messenger). */
  hbAddrOf(osd: number): Promise<string>;
  reportFailure(target: number, failedForMs: number, immediate: boolean): void;
}

/** Peers tracked at once (every OSD of a large cluster at most). */
export const heartbeatPeersMax = 4096;

interface PeerState {
  osd: number;
  upFrom: number;
  addr: string | null;
  conn: Connection | null;
  resolving: boolean;
  sinceMs: number;
  lastRxMs: number;
  lastReportMs: number;
}

export class Heartbeat {
  private readonly peers = new Map<number, PeerState>();
  private timer: TimerHandle | null = null;
  private readonly log: Logger;

  constructor(private readonly host: HeartbeatHost) {
    this.log = host.logger.child({ sub: 'heartbeat' });
    host.hbMsgr.handle(OsdPing, (p) => ({ epoch: this.host.map()?.epoch ?? 0, stampMs: p.stampMs }));
  }

  start(): void {
    this.timer = this.host.env.timers.setInterval(() => this.tick(), this.host.config.heartbeatIntervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    for (const p of this.peers.values()) p.conn?.close('heartbeat stopping');
    this.peers.clear();
  }

  /** Peers currently failing (no reply within the grace), for tests and status. */
  failing(): number[] {
    const now = this.host.env.clock.monotonicMs();
    return [...this.peers.values()].filter((p) => now - Math.max(p.lastRxMs, p.sinceMs) > this.host.config.heartbeatGraceMs).map((p) => p.osd);
  }

  private tick(): void {
    const map = this.host.map();
    if (map === null) return;
    const wanted = this.host.peers();
    for (const [osd, p] of this.peers) {
      const info = map.osds[osd];
      if (!wanted.has(osd) || !osdIsUp(map, osd) || info === undefined || info.upFrom !== p.upFrom) this.drop(osd);
    }
    const now = this.host.env.clock.monotonicMs();
    for (const osd of wanted) {
      if (osd === this.host.whoami || !osdIsUp(map, osd)) continue;
      let p = this.peers.get(osd);
      if (p === undefined) {
        if (this.peers.size >= heartbeatPeersMax) continue;
        p = { osd, upFrom: map.osds[osd]!.upFrom, addr: null, conn: null, resolving: false, sinceMs: now, lastRxMs: 0, lastReportMs: 0 };
        this.peers.set(osd, p);
      }
      this.ping(p, map.epoch);
      this.checkGrace(p, now, map.epoch);
    }
  }

  private drop(osd: number): void {
    this.peers.get(osd)?.conn?.close('peer no longer watched');
    this.peers.delete(osd);
  }

  private ping(p: PeerState, epoch: number): void {
    if (p.conn === null) {
      if (p.addr === null) return this.resolve(p);
      p.conn = this.host.hbMsgr.connect(p.addr, { expectPeer: `osd.${p.osd}`, retry: { attemptsMax: 2, delayMsMin: 100, delayMsMax: 500 } });
      const conn = p.conn;
      conn.onClose((_c, err) => {
        if (p.conn !== conn) return;
        p.conn = null;
        if (err.code === 'ECONNREFUSED' && this.peers.get(p.osd) === p) this.report(p, true);
      });
    }
    if (p.conn.state !== 'open') return;
    const stampMs = Math.floor(this.host.env.clock.monotonicMs());
    p.conn.request(OsdPing, { epoch, stampMs }, { timeoutMs: this.host.config.heartbeatGraceMs }).then(
      () => { p.lastRxMs = this.host.env.clock.monotonicMs(); },
      () => {},
    );
  }

  private resolve(p: PeerState): void {
    if (p.resolving) return;
    p.resolving = true;
    this.host.hbAddrOf(p.osd).then(
      (addr) => { p.addr = addr; },
      (err: unknown) => {
        if ((err as { code?: string }).code === 'ECONNREFUSED' && this.peers.get(p.osd) === p) this.report(p, true);
      },
    ).finally(() => { p.resolving = false; });
  }

  private checkGrace(p: PeerState, now: number, epoch: number): void {
    void epoch;
    const silentMs = now - Math.max(p.lastRxMs, p.sinceMs);
    if (silentMs > this.host.config.heartbeatGraceMs) this.report(p, false);
  }

  private report(p: PeerState, immediate: boolean): void {
    // Only about the incarnation we pinged: a restarted peer (new up_from) is a new peer.
    const map = this.host.map();
    if (map === null || !osdIsUp(map, p.osd) || map.osds[p.osd]!.upFrom !== p.upFrom) return;
    const now = this.host.env.clock.monotonicMs();
    if (now - p.lastReportMs < this.host.config.heartbeatIntervalMs) return;
    p.lastReportMs = now;
    const failedForMs = Math.max(0, Math.floor(now - Math.max(p.lastRxMs, p.sinceMs)));
    this.log.info({ peer: p.osd, failedForMs, immediate }, 'reporting peer failure');
    this.host.reportFailure(p.osd, failedForMs, immediate);
  }
}
