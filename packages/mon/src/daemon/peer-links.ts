/**
 * Links to the other monitors of the monmap. Each monitor dials every other one (an outbound
 * messenger connection that reconnects by itself with a short backoff) and also accepts their
 * connections; a message to rank r goes out on our outbound connection to r when it is open,
 * else on any open inbound connection from r (a restarted peer is reachable the moment it dials
 * us, before our own reconnect backoff expires).
 *
 * Paxos tolerates loss, so nothing here waits for a peer: while no connection to r is open, a
 * bounded backlog of frames waits in the outbound connection's send queue (sent on reconnect);
 * beyond `backlogFramesMax` messages to r are dropped and counted. Ranks come from the monmap
 * and are matched against the authenticated peer name, never taken from a payload.
 */
import type { Connection, Messenger } from '@nacre/msgr';
import type { EntityName, OnewayDef, RequestDef } from '@nacre/proto';
import { NacreError, assert, type Logger } from '@nacre/util';
import type { MonMap } from '../services/mon-state.js';
import type { Rank } from '../paxos/types.js';

export interface PeerLinksOptions {
  /** Frames queued for one unreachable peer before further messages to it are dropped. */
  backlogFramesMax: number;
  /** Reconnect backoff: first delay … */
  reconnectDelayMsMin: number;
  /** … doubling up to this (short: a restarted monitor must be heard within about a second). */
  reconnectDelayMsMax: number;
  /** TCP connect + WebSocket upgrade of one attempt. */
  connectTimeoutMs: number;
}

export const defaultPeerLinksOptions: Readonly<PeerLinksOptions> = Object.freeze({
  backlogFramesMax: 256,
  reconnectDelayMsMin: 50,
  reconnectDelayMsMax: 1_000,
  connectTimeoutMs: 2_000,
});

export class PeerLinks {
  private readonly outbound = new Map<Rank, Connection>();
  private readonly inbound = new Map<Rank, Set<Connection>>();
  private readonly rankByEntity = new Map<string, Rank>();
  private unsubscribe: (() => void) | null = null;
  /** Messages dropped because a peer's backlog was full (stats). */
  dropped = 0;

  constructor(
    private readonly messenger: Messenger,
    private readonly monmap: MonMap,
    readonly selfRank: Rank,
    private readonly log: Logger,
    private readonly options: PeerLinksOptions = defaultPeerLinksOptions,
  ) {
    for (const mon of monmap.mons) this.rankByEntity.set(`mon.${mon.name}`, mon.rank);
    assert(monmap.mons[selfRank] !== undefined, () => `rank ${selfRank} is not in the monmap`);
  }

  /** The rank of an authenticated peer, if it is a monitor of our monmap. */
  rankOf(peer: string): Rank | undefined {
    return this.rankByEntity.get(peer);
  }

  /** Every rank but ours. */
  otherRanks(): Rank[] {
    return this.monmap.mons.map((m) => m.rank).filter((r) => r !== this.selfRank);
  }

  entityOf(rank: Rank): EntityName {
    const mon = this.monmap.mons[rank];
    assert(mon !== undefined, () => `no monitor of rank ${rank}`);
    return `mon.${mon.name}` as EntityName;
  }

  /** Dial every other monitor (the messenger must be running). */
  start(): void {
    assert(this.unsubscribe === null, 'peer links started twice');
    this.unsubscribe = this.messenger.onConnection((conn) => this.adopt(conn));
    for (const mon of this.monmap.mons) {
      if (mon.rank === this.selfRank) continue;
      const conn = this.messenger.connect(mon.addr, {
        expectPeer: `mon.${mon.name}`,
        retry: {
          delayMsMin: this.options.reconnectDelayMsMin,
          delayMsMax: this.options.reconnectDelayMsMax,
          attemptsMax: Number.POSITIVE_INFINITY,
          connectTimeoutMs: this.options.connectTimeoutMs,
        },
      });
      this.outbound.set(mon.rank, conn);
    }
  }

  private adopt(conn: Connection): void {
    if (conn.direction !== 'inbound' || conn.peer === null) return;
    const rank = this.rankOf(conn.peer);
    if (rank === undefined || rank === this.selfRank) return;
    let set = this.inbound.get(rank);
    if (set === undefined) {
      set = new Set();
      this.inbound.set(rank, set);
    }
    set.add(conn);
    conn.onClose(() => set!.delete(conn));
  }

  /** An open connection to `rank`, preferring our own outbound one. */
  openConnection(rank: Rank): Connection | undefined {
    const out = this.outbound.get(rank);
    if (out !== undefined && out.state === 'open') return out;
    for (const c of this.inbound.get(rank) ?? []) if (c.state === 'open') return c;
    return undefined;
  }

  /** Is some connection to `rank` open right now (status: which peers we can hear)? */
  reachable(rank: Rank): boolean {
    return this.openConnection(rank) !== undefined;
  }

  /** Send a one-way message to `rank`, or drop it (returns false) if its backlog is full. */
  send<P>(rank: Rank, def: OnewayDef<P>, payload: P): boolean {
    let conn = this.openConnection(rank);
    if (conn === undefined) {
      const out = this.outbound.get(rank);
      if (out === undefined || out.stats().queuedFrames >= this.options.backlogFramesMax) {
        this.dropped++;
        return false;
      }
      conn = out;
    }
    conn.send(def, payload).catch((err: unknown) => {
      this.log.debug({ to: this.entityOf(rank), type: def.type, err: (err as Error).message }, 'peer send failed');
    });
    return true;
  }

  /** A request to `rank`; fails at once with EAGAIN if no connection to it is open. */
  request<Req, Rep>(rank: Rank, def: RequestDef<Req, Rep>, payload: Req, timeoutMs: number): Promise<Rep> {
    const conn = this.openConnection(rank);
    if (conn === undefined) {
      return Promise.reject(new NacreError(`${this.entityOf(rank)} is not reachable`, { code: 'EAGAIN' }));
    }
    return conn.request(def, payload, { timeoutMs });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const c of this.outbound.values()) c.close('monitor stopping');
    this.outbound.clear();
    this.inbound.clear();
  }
}
