/**
 * Watch/notify on objects (what RBD's header updates and lock requests use). Watches live on the
 * primary, in memory, bound to the watcher's connection: they end when the connection closes or the
 * PG's interval changes, and the client re-establishes them (as librados does after a primary
 * change). A notify sends `osd.watch_event` to every watcher of the object and waits for their
 * `osd.notify_ack` until its timeout; the reply lists who answered and who did not.
 */
import { NacreError, type Timers } from '@nacre/util';
import { OsdWatchEvent, type EntityName, type NotifyResult, type ObjectLocator } from '@nacre/proto';
import type { Connection } from '@nacre/msgr';

/** Watches per object and in total (each holds a connection reference). */
export const watchesPerObjectMax = 1024;
export const watchesMax = 65_536;

interface Watch {
  watcher: EntityName;
  cookie: number;
  conn: Connection;
  unsubscribe: () => void;
}

interface PendingNotify {
  acks: Map<string, { watcher: EntityName; cookie: number; reply: Buffer }>;
  waiting: Map<string, { watcher: EntityName; cookie: number }>;
  finish: () => void;
}

const watchKey = (watcher: EntityName, cookie: number): string => `${watcher}#${cookie}`;

export class WatchRegistry {
  /** object key (`pgid/objkey`) → watch key → watch */
  private readonly byObject = new Map<string, Map<string, Watch>>();
  private readonly notifies = new Map<number, PendingNotify>();
  private total = 0;
  private nextNotifyId = 1;

  constructor(private readonly timers: Timers, private readonly notifiesMax: number) {}

  watch(objKey: string, watcher: EntityName, cookie: number, conn: Connection): void {
    let m = this.byObject.get(objKey);
    if (m === undefined) {
      m = new Map();
      this.byObject.set(objKey, m);
    }
    const key = watchKey(watcher, cookie);
    const old = m.get(key);
    if (old !== undefined) {
      old.unsubscribe();
      this.total--;
      m.delete(key);
    }
    if (m.size >= watchesPerObjectMax || this.total >= watchesMax) throw new NacreError('too many watches', { code: 'ENOSPC' });
    const unsubscribe = conn.onClose(() => this.unwatch(objKey, watcher, cookie));
    m.set(key, { watcher, cookie, conn, unsubscribe });
    this.total++;
  }

  unwatch(objKey: string, watcher: EntityName, cookie: number): void {
    const m = this.byObject.get(objKey);
    const w = m?.get(watchKey(watcher, cookie));
    if (m === undefined || w === undefined) return;
    w.unsubscribe();
    m.delete(watchKey(watcher, cookie));
    this.total--;
    if (m.size === 0) this.byObject.delete(objKey);
  }

  /** Drop every watch of a PG (its interval changed; clients re-watch on the new primary). */
  dropPg(pgid: string): void {
    const prefix = `${pgid}/`;
    for (const [objKey, m] of [...this.byObject]) {
      if (!objKey.startsWith(prefix)) continue;
      for (const w of m.values()) {
        w.unsubscribe();
        this.total--;
      }
      this.byObject.delete(objKey);
    }
  }

  async notify(objKey: string, oid: ObjectLocator, payload: Buffer, timeoutMs: number): Promise<NotifyResult> {
    if (this.notifies.size >= this.notifiesMax) throw new NacreError('too many notifies in progress', { code: 'EAGAIN' });
    const notifyId = this.nextNotifyId++;
    const watches = [...(this.byObject.get(objKey)?.values() ?? [])];
    const pending: PendingNotify = { acks: new Map(), waiting: new Map(), finish: () => {} };
    for (const w of watches) pending.waiting.set(watchKey(w.watcher, w.cookie), { watcher: w.watcher, cookie: w.cookie });
    const done = new Promise<void>((resolve) => (pending.finish = resolve));
    this.notifies.set(notifyId, pending);
    for (const w of watches) {
      w.conn.send(OsdWatchEvent, { oid, cookie: w.cookie, notifyId, payload }).catch(() => {});
    }
    const timer = this.timers.setTimeout(() => pending.finish(), timeoutMs);
    if (pending.waiting.size > 0) await done;
    timer.cancel();
    this.notifies.delete(notifyId);
    return { kind: 'ok', acks: [...pending.acks.values()], missed: [...pending.waiting.values()] };
  }

  ack(notifyId: number, watcher: EntityName, cookie: number, reply: Buffer): void {
    const p = this.notifies.get(notifyId);
    if (p === undefined) return;
    const key = watchKey(watcher, cookie);
    const w = p.waiting.get(key);
    if (w === undefined) return;
    p.waiting.delete(key);
    p.acks.set(key, { watcher, cookie, reply: Buffer.from(reply) });
    if (p.waiting.size === 0) p.finish();
  }

  get watchCount(): number {
    return this.total;
  }
}
