/**
 * A small in-test map authority: one "monitor" that speaks the monitor vocabulary OSDs use (boot,
 * subscribe, get_osdmap, alive/up_thru, failure, beacon, pg_stats, pg_temp) and issues OSDMap
 * epochs. No Paxos: tests drive it directly (markDown, createPool) to make interval changes happen
 * exactly when they want. For OSD development tests only; the real monitor is packages/mon.
 */
import { NacreError, type Env } from '@nacre/util';
import { parseCrushText } from '@nacre/crush';
import {
  applyIncremental, createOsdMap, emptyOsdInfo, encodeIncremental, encodeOsdMap, pgToUpActing, type OsdMap, type OsdMapIncremental, type Pool,
} from '@nacre/osdmap';
import {
  MonGetOsdMap, MonOsdAlive, MonOsdBeacon, MonOsdBoot, MonOsdFailure, MonOsdMap, MonOsdPgTemp, MonPgStats, MonSubscribe,
  type OsdFailure, type OsdMapBundle, type PgStatsReport,
} from '@nacre/proto';
import { createMessenger, type Connection, type KeyLookup, type Messenger, type Transport } from '@nacre/msgr';

export interface FakeMonOptions {
  /** OSD ids and their CRUSH hosts (one rule: replicate across hosts). */
  osds: Array<{ id: number; host: string }>;
  pools: Array<{ name: string; size: number; minSize: number; pgNum: number }>;
  /** Mark an OSD down on the first failure report about it (default true). */
  markDownOnReport?: boolean;
  /** Refuse up_thru requests (to test WaitUpThru). */
  holdUpThru?: boolean;
  /**
   * A boot from an OSD still marked up with a new bootId is a restart: mark it down first, as the
   * real monitor does (default true). False: just record the new up_from in one epoch.
   */
  markDownOnRestart?: boolean;
}

/** Incrementals per push/bundle, as the real monitor's bound. */
const incrementalsPerBundleMax = 500;

export function crushTextFor(osds: Array<{ id: number; host: string }>): string {
  const hosts = [...new Set(osds.map((o) => o.host))];
  const lines = ['tunable choose_local_tries 0', 'tunable choose_local_fallback_tries 0', 'tunable choose_total_tries 50',
    'tunable chooseleaf_descend_once 1', 'tunable chooseleaf_vary_r 1', 'tunable chooseleaf_stable 1', 'tunable straw_calc_version 1',
    'tunable allowed_bucket_algs 54', ''];
  for (const o of [...osds].sort((a, b) => a.id - b.id)) lines.push(`device ${o.id} osd.${o.id}`);
  lines.push('', 'type 0 osd', 'type 1 host', 'type 2 root', '');
  hosts.forEach((h, i) => {
    lines.push(`host ${h} {`, `\tid ${-2 - i}`, '\talg straw2', '\thash 0');
    for (const o of osds.filter((x) => x.host === h)) lines.push(`\titem osd.${o.id} weight 1.000`);
    lines.push('}');
  });
  lines.push('root default {', '\tid -1', '\talg straw2', '\thash 0');
  for (const h of hosts) lines.push(`\titem ${h} weight ${osds.filter((o) => o.host === h).length}.000`);
  lines.push('}', '', 'rule replicated_host {', '\tid 0', '\ttype replicated', '\tmin_size 1', '\tmax_size 10',
    '\tstep take default', '\tstep chooseleaf firstn 0 type host', '\tstep emit', '}', '');
  return lines.join('\n');
}

export class FakeMon {
  readonly msgr: Messenger;
  map: OsdMap;
  private readonly incs = new Map<number, Buffer>();
  private readonly subscribers = new Map<Connection, number>();
  readonly failures: OsdFailure[] = [];
  readonly stats = new Map<number, PgStatsReport>();
  readonly beacons = new Map<number, number>();
  holdUpThru: boolean;
  markDownOnReport: boolean;
  private readonly listeners = new Set<(m: OsdMap) => void>();
  private readonly bootIds = new Map<number, string>();
  markDownOnRestart: boolean;

  constructor(opts: FakeMonOptions & { entity?: string; keyring: KeyLookup; listen: string; env: Env; transport?: Transport }) {
    const crush = parseCrushText(crushTextFor(opts.osds));
    let map = createOsdMap({ fsid: 'test-fsid', crush, createdMs: 0 });
    const maxOsd = Math.max(...opts.osds.map((o) => o.id)) + 1;
    map = applyIncremental(map, {
      epoch: 2, modifiedMs: 0, newMaxOsd: maxOsd,
      osdStates: opts.osds.map((o) => ({ id: o.id, exists: true, up: false })),
      newWeights: opts.osds.map((o) => [o.id, 0x10000] as [number, number]),
      newPools: opts.pools.map((p, i): Pool => ({
        id: i + 1, name: p.name, type: 'replicated', size: p.size, minSize: p.minSize, pgNum: p.pgNum, pgpNum: p.pgNum,
        crushRule: 0, hashpspool: true, objectHash: 'rjenkins', snapSeq: 0, lastChangeEpoch: 2,
      })),
    });
    void emptyOsdInfo;
    this.map = map;
    this.holdUpThru = opts.holdUpThru ?? false;
    this.markDownOnReport = opts.markDownOnReport ?? true;
    this.markDownOnRestart = opts.markDownOnRestart ?? true;
    this.msgr = createMessenger(
      { entity: opts.entity ?? 'mon.a', keyring: opts.keyring, listen: opts.listen },
      { env: opts.env, ...(opts.transport ? { transport: opts.transport } : {}) },
    );
    this.registerHandlers();
  }

  get epoch(): number {
    return this.map.epoch;
  }

  async start(): Promise<void> {
    await this.msgr.start();
  }

  async stop(): Promise<void> {
    await this.msgr.stop();
  }

  get address(): string {
    const a = this.msgr.address!;
    return `${a.host}:${a.port}`;
  }

  async waitFor(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
    const start = Date.now();
    while (!pred()) {
      if (Date.now() - start > timeoutMs) throw new NacreError(`timed out waiting for ${what}`, { code: 'ETIMEDOUT' });
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every PG reported active+clean by its primary in the current map (from pg_stats). */
  allPgsClean(): boolean {
    for (const pool of this.map.pools.values()) {
      for (let seed = 0; seed < pool.pgNum; seed++) {
        const pgid = `${pool.id}.${seed.toString(16)}`;
        const primary = pgToUpActing(this.map, { pool: pool.id, seed }).actingPrimary;
        const st = this.stats.get(primary);
        if (st === undefined || st.epoch < this.map.epoch) return false;
        const p = st.pgs.find((x) => x.pgid === pgid);
        if (p === undefined || !(p.state.includes('active') && p.state.includes('clean'))) return false;
      }
    }
    return true;
  }

  onMap(fn: (m: OsdMap) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Commit the next epoch. */
  commit(change: Omit<OsdMapIncremental, 'epoch' | 'modifiedMs'>): OsdMap {
    const inc: OsdMapIncremental = { ...change, epoch: this.map.epoch + 1, modifiedMs: this.map.epoch + 1 };
    this.map = applyIncremental(this.map, inc);
    this.incs.set(inc.epoch, encodeIncremental(inc));
    for (const [conn, sent] of this.subscribers) this.push(conn, sent);
    for (const fn of this.listeners) fn(this.map);
    return this.map;
  }

  markDown(osd: number): OsdMap {
    if (!this.map.osds[osd]?.up) return this.map;
    return this.commit({ osdStates: [{ id: osd, up: false, downAt: this.map.epoch + 1 }] });
  }

  bundle(since: number): OsdMapBundle {
    if (since <= 2 || since < this.map.epoch - incrementalsPerBundleMax || !this.incs.has(since + 1) && since < this.map.epoch) {
      return { full: encodeOsdMap(this.map), incrementals: [], lastEpoch: this.map.epoch };
    }
    const incrementals: Buffer[] = [];
    for (let e = since + 1; e <= this.map.epoch; e++) incrementals.push(this.incs.get(e)!);
    return { incrementals, lastEpoch: this.map.epoch };
  }

  private push(conn: Connection, sent: number): void {
    if (sent >= this.map.epoch || conn.state !== 'open') return;
    this.subscribers.set(conn, this.map.epoch);
    conn.send(MonOsdMap, this.bundle(sent)).catch(() => {});
  }

  private osdOf(peer: string, claimed: number): number {
    if (peer !== `osd.${claimed}`) throw new NacreError(`${peer} may not speak for osd.${claimed}`, { code: 'EPERM' });
    return claimed;
  }

  private registerHandlers(): void {
    this.msgr.handle(MonOsdBoot, (req, ctx) => {
      const id = this.osdOf(ctx.peer, req.osd);
      if (id >= this.map.maxOsd || !this.map.osds[id]!.exists) throw new NacreError(`osd.${id} does not exist`, { code: 'ENOENT' });
      const cur = this.map.osds[id]!;
      // A boot from an OSD still marked up with another process (bootId): a restart. Mark it down
      // first, as the real monitor does, so peers see the new incarnation as a new interval.
      if (cur.up && req.bootId !== undefined && this.bootIds.get(id) !== req.bootId) {
        if (this.markDownOnRestart) this.markDown(id);
      }
      else if (cur.up) return { epoch: cur.upFrom };
      this.bootIds.set(id, req.bootId ?? '');
      const e = this.map.epoch + 1;
      this.commit({ osdStates: [{ id, up: true, addr: req.addr, upFrom: e }] });
      return { epoch: e };
    });
    this.msgr.handle(MonSubscribe, (req, ctx) => {
      this.subscribers.set(ctx.conn, req.osdmapSince);
      ctx.conn.onClose(() => this.subscribers.delete(ctx.conn));
      this.push(ctx.conn, req.osdmapSince);
      return { epoch: this.map.epoch };
    });
    this.msgr.handle(MonGetOsdMap, (req) => this.bundle(req.since));
    this.msgr.handle(MonOsdAlive, (req, ctx) => {
      const id = this.osdOf(ctx.peer, req.osd);
      if (this.holdUpThru) throw new NacreError('up_thru held by the test', { code: 'EAGAIN' });
      const cur = this.map.osds[id]!;
      if (cur.upThru >= req.upThru) return { epoch: this.map.epoch };
      this.commit({ osdStates: [{ id, upThru: Math.min(req.upThru, this.map.epoch + 1) }] });
      return { epoch: this.map.epoch };
    });
    this.msgr.handle(MonOsdFailure, (req, ctx) => {
      this.failures.push(req);
      void ctx;
      // A report from a map older than the target's last boot is about a previous incarnation.
      const target = this.map.osds[req.target];
      if (this.markDownOnReport && target?.up && req.epoch >= target.upFrom) this.markDown(req.target);
    });
    this.msgr.handle(MonOsdBeacon, (req) => { this.beacons.set(req.osd, req.epoch); });
    this.msgr.handle(MonPgStats, (req) => { this.stats.set(req.osd, req); });
    this.msgr.handle(MonOsdPgTemp, (req) => {
      this.commit({ newPgTemp: req.pgTemp });
      return { epoch: this.map.epoch };
    });
  }
}
