/**
 * One connection per OSD the client talks to, made on first use and dropped when the map says the
 * OSD is down or moved to another address (its pending requests then fail with ESHUTDOWN and the
 * objecter resends them to the new primary). A connection gives up after a few failed connects
 * rather than retrying forever: until the monitors mark that OSD down, the op pauses and tries
 * again; once they do, placement moves away from it.
 */
import type { Connection, Messenger } from '@nacre/msgr';
import { osdIsUp, type OsdMap } from '@nacre/osdmap';
import { NacreError, type Logger } from '@nacre/util';

interface Session {
  addr: string;
  conn: Connection;
  opens: number;
}

export class OsdSessions {
  private readonly sessions = new Map<number, Session>();
  private readonly reopenListeners = new Set<(osd: number, conn: Connection) => void>();

  constructor(
    private readonly msgr: Messenger,
    private readonly opts: { connectAttemptsMax: number; connectTimeoutMs: number; sessionsMax: number },
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Called when a session to an OSD opens again after a lost link (watches are re-sent then). */
  onReopen(listener: (osd: number, conn: Connection) => void): () => void {
    this.reopenListeners.add(listener);
    return () => this.reopenListeners.delete(listener);
  }

  /** The connection to `osd` at `addr` (made now if there is none, or the address changed). */
  get(osd: number, addr: string): Connection {
    const s = this.sessions.get(osd);
    if (s !== undefined && s.addr === addr && s.conn.error === null) return s.conn;
    if (s !== undefined) this.drop(osd, 'address changed');
    if (this.sessions.size >= this.opts.sessionsMax) {
      throw new NacreError(`too many OSD sessions (sessionsMax=${this.opts.sessionsMax})`, { code: 'EAGAIN' });
    }
    const conn = this.msgr.connect(addr, {
      expectPeer: `osd.${osd}`,
      retry: { attemptsMax: this.opts.connectAttemptsMax, connectTimeoutMs: this.opts.connectTimeoutMs },
    });
    const session: Session = { addr, conn, opens: 0 };
    this.sessions.set(osd, session);
    conn.onOpen((c) => {
      session.opens++;
      if (session.opens > 1) for (const l of [...this.reopenListeners]) l(osd, c);
    });
    conn.onClose((_c, err) => {
      if (this.sessions.get(osd) === session) this.sessions.delete(osd);
      this.log.debug({ osd, addr, err: err.message }, 'OSD session closed');
    });
    return conn;
  }

  /** Drop sessions to OSDs that are down, gone, or at another address in `map`. */
  prune(map: OsdMap): void {
    for (const [osd, s] of [...this.sessions]) {
      if (!osdIsUp(map, osd)) this.drop(osd, `osd.${osd} is down in epoch ${map.epoch}`);
      else if (map.osds[osd]!.addr !== s.addr) this.drop(osd, `osd.${osd} moved to ${map.osds[osd]!.addr}`);
    }
  }

  drop(osd: number, why: string): void {
    const s = this.sessions.get(osd);
    if (s === undefined) return;
    this.sessions.delete(osd);
    s.conn.close(why);
  }

  closeAll(why: string): void {
    for (const osd of [...this.sessions.keys()]) this.drop(osd, why);
    this.reopenListeners.clear();
  }
}
