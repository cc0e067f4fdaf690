/**
 * An in-process test cluster: a FakeMon and several OSDs on one MemoryNetwork, each OSD with a
 * MemStore that survives its restarts, plus a minimal client that routes ops like the real client
 * (object → PG → primary from the map, resend on `retry`). For fast OSD tests without processes.
 */
import { NacreError, Prng, silentLogger, createLogger, type Env, type Logger } from '@nacre/util';
import { MemStore, type ObjectStore } from '@nacre/objectstore';
import { Keyring, MemoryNetwork, createMessenger, type Messenger, type Connection } from '@nacre/msgr';
import { formatPgId, objectToPg, osdIsUp, pgToUpActing, poolByName, type OsdMap } from '@nacre/osdmap';
import { OsdOpMsg, OsdPgLs, type ObjectLocator, type OpReply, type SubOp, type EntityName } from '@nacre/proto';
import { createOsd, type Osd } from '../osd.js';
import type { OsdConfig } from '../config.js';
import { OsdAdmin, type AdminCommand } from '../messages.js';
import { FakeMon, type FakeMonOptions } from './fake-mon.js';

export interface TestClusterOptions {
  osds: number;
  /** Hosts: OSD i goes to host `h<i % hosts>` (default: one host per OSD). */
  hosts?: number;
  pools?: FakeMonOptions['pools'];
  seed?: number;
  config?: Partial<OsdConfig>;
  logLevel?: string;
  /** Capacity of each OSD's MemStore (default 1 GiB). */
  storeBytes?: number;
}

function testEnv(name: string, rng: Prng, level: string | undefined): Env {
  const logger: Logger = level === undefined ? silentLogger() : createLogger(name, { level });
  return {
    clock: { monotonicMs: () => performance.now(), wallMs: () => Date.now() },
    timers: {
      setTimeout(fn, ms) { const h = setTimeout(fn, ms); return { cancel: () => clearTimeout(h) }; },
      setInterval(fn, ms) { const h = setInterval(fn, ms); return { cancel: () => clearInterval(h) }; },
    },
    random: new Prng(rng.nextU32()),
    logger,
  };
}

export class TestCluster {
  readonly net: MemoryNetwork;
  readonly keyring = new Keyring();
  readonly mon: FakeMon;
  readonly stores = new Map<number, MemStore>();
  readonly osds = new Map<number, Osd>();
  readonly rng: Prng;
  private client: TestClient | null = null;

  private constructor(readonly opts: TestClusterOptions) {
    this.rng = new Prng(opts.seed ?? 1);
    const env = testEnv('mon.a', this.rng, opts.logLevel);
    this.net = new MemoryNetwork({ timers: env.timers });
    this.keyring.add('mon.a');
    this.keyring.add('client.admin');
    this.keyring.add('client.other');
    const hosts = opts.hosts ?? opts.osds;
    const osds = [...Array(opts.osds).keys()].map((id) => ({ id, host: `h${id % hosts}` }));
    for (const o of osds) this.keyring.add(`osd.${o.id}` as EntityName);
    this.mon = new FakeMon({
      osds, pools: opts.pools ?? [{ name: 'rbd', size: 3, minSize: 2, pgNum: 8 }],
      keyring: this.keyring, listen: 'mon:1', env, transport: this.net.transport(),
    });
  }

  static async create(opts: TestClusterOptions): Promise<TestCluster> {
    const c = new TestCluster(opts);
    await c.mon.start();
    for (let i = 0; i < opts.osds; i++) await c.startOsd(i);
    return c;
  }

  store(id: number): MemStore {
    let s = this.stores.get(id);
    if (s === undefined) {
      s = new MemStore({ sizeBytes: this.opts.storeBytes ?? 1 << 30 });
      this.stores.set(id, s);
    }
    return s;
  }

  async startOsd(id: number): Promise<Osd> {
    if (this.osds.has(id)) throw new NacreError(`osd.${id} is running`, { code: 'EBUSY' });
    const store: ObjectStore = this.store(id);
    if (store.status !== 'open') await store.mount();
    const hosts = this.opts.hosts ?? this.opts.osds;
    const osd = createOsd({
      id, mons: [this.mon.address], keyring: this.keyring, publicAddr: `osd${id}:0`, hbAddr: `osd${id}hb:0`, host: `h${id % hosts}`,
      config: { heartbeatIntervalMs: 200, heartbeatGraceMs: 1500, statsIntervalMs: 300, beaconIntervalMs: 1000, peerRequestTimeoutMs: 3000, ...this.opts.config },
    })({ env: testEnv(`osd.${id}`, this.rng, this.opts.logLevel), store, transport: this.net.transport() });
    this.osds.set(id, osd);
    await osd.start();
    return osd;
  }

  /** Stop an OSD (its store stays). `markDown`: also tell the map authority at once. */
  async stopOsd(id: number, opts: { markDown?: boolean } = {}): Promise<void> {
    const osd = this.osds.get(id);
    if (osd === undefined) return;
    this.osds.delete(id);
    await osd.stop();
    if (opts.markDown ?? true) this.mon.markDown(id);
  }

  async restartOsd(id: number): Promise<Osd> {
    await this.stopOsd(id);
    return this.startOsd(id);
  }

  get map(): OsdMap {
    return this.mon.map;
  }

  poolId(name = 'rbd'): number {
    const p = poolByName(this.map, name);
    if (p === undefined) throw new NacreError(`no pool ${name}`, { code: 'ENOENT' });
    return p.id;
  }

  /** Where an object lives in the current map. */
  placement(name: string, pool = 'rbd'): { pgid: string; up: number[]; acting: number[]; primary: number } {
    const pid = this.poolId(pool);
    const pg = objectToPg(this.map, pid, name);
    const m = pgToUpActing(this.map, pg);
    return { pgid: formatPgId(pg), up: m.up, acting: m.acting, primary: m.actingPrimary };
  }

  /** Every PG of every pool is active+clean on its primary (as the OSDs themselves say). */
  allClean(): boolean {
    for (const pool of this.map.pools.values()) {
      for (let seed = 0; seed < pool.pgNum; seed++) {
        const m = pgToUpActing(this.map, { pool: pool.id, seed });
        const osd = this.osds.get(m.actingPrimary);
        if (osd === undefined || osd.epoch < this.map.epoch) return false;
        const pg = osd.pgs.get(formatPgId({ pool: pool.id, seed }));
        if (pg === undefined || pg.state !== 'clean') return false;
      }
    }
    return true;
  }

  /** Every PG is active (serving), clean or not. */
  allActive(): boolean {
    for (const pool of this.map.pools.values()) {
      for (let seed = 0; seed < pool.pgNum; seed++) {
        const m = pgToUpActing(this.map, { pool: pool.id, seed });
        const osd = this.osds.get(m.actingPrimary);
        const pg = osd?.pgs.get(formatPgId({ pool: pool.id, seed }));
        if (osd === undefined || osd.epoch < this.map.epoch || pg === undefined || !pg.isActive) return false;
      }
    }
    return true;
  }

  async waitFor(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
    const start = Date.now();
    while (!pred()) {
      if (Date.now() - start > timeoutMs) throw new NacreError(`timed out waiting for ${what}`, { code: 'ETIMEDOUT' });
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async waitClean(timeoutMs = 20_000): Promise<void> {
    try {
      await this.waitFor('all PGs clean', () => this.allClean(), timeoutMs);
    } catch (err) {
      throw new NacreError(`${(err as Error).message}: ${this.describe()}`, { code: 'ETIMEDOUT' });
    }
  }

  /** Primary PG states, for failure messages. */
  describe(): string {
    const out: string[] = [`epoch ${this.map.epoch}`];
    for (const pool of this.map.pools.values()) {
      for (let seed = 0; seed < pool.pgNum; seed++) {
        const pgid = formatPgId({ pool: pool.id, seed });
        const m = pgToUpActing(this.map, { pool: pool.id, seed });
        const osd = this.osds.get(m.actingPrimary);
        const pg = osd?.pgs.get(pgid);
        out.push(`${pgid} [${m.acting.join(',')}] p${m.actingPrimary}@e${osd?.epoch ?? '-'}: ${pg?.state ?? 'none'}${pg ? ` missing=${pg.totalMissing()} unfound=${pg.unfound.size}` : ''}`);
      }
    }
    return out.join('; ');
  }

  async getClient(entity: EntityName = 'client.admin'): Promise<TestClient> {
    if (entity === 'client.admin' && this.client !== null) return this.client;
    const env = testEnv(entity, this.rng, this.opts.logLevel);
    const msgr = createMessenger({ entity, key: this.keyring.keyOf(entity)! }, { env, transport: this.net.transport() });
    await msgr.start();
    const c = new TestClient(this, msgr, entity);
    if (entity === 'client.admin') this.client = c;
    return c;
  }

  async shutdown(): Promise<void> {
    await this.client?.close();
    for (const id of [...this.osds.keys()]) await this.stopOsd(id, { markDown: false });
    await this.mon.stop();
  }
}

let nextInc = 1;

/** What a TestClient routes by: the authority's current map. */
export interface MapSource {
  readonly map: OsdMap;
  waitFor(what: string, pred: () => boolean, timeoutMs?: number): Promise<void>;
}

export class TestClient {
  private tid = 1;
  private readonly inc = nextInc++;
  private readonly conns = new Map<string, Connection>();

  constructor(readonly cluster: MapSource, readonly msgr: Messenger, readonly entity: EntityName) {}

  private conn(addr: string): Connection {
    let c = this.conns.get(addr);
    if (c === undefined || c.state === 'closed' || c.state === 'failed') {
      c = this.msgr.connect(addr, { retry: { attemptsMax: 3, delayMsMin: 20, delayMsMax: 100 } });
      this.conns.set(addr, c);
    }
    return c;
  }

  /** One compound op with routing and resends (same reqid), like the real client. */
  async op(name: string | ObjectLocator, ops: SubOp[], opts: { pool?: string; timeoutMs?: number; epoch?: number; noResend?: boolean } = {}): Promise<Extract<OpReply, { kind: 'ok' }>> {
    const oid: ObjectLocator = typeof name === 'string' ? { name } : name;
    const reqid = { client: this.entity, inc: this.inc, tid: this.tid++ };
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    let lastErr: unknown = null;
    while (Date.now() < deadline) {
      const map = this.cluster.map;
      const pool = poolByName(map, opts.pool ?? 'rbd');
      if (pool === undefined) throw new NacreError('no such pool', { code: 'ENOENT' });
      const pg = objectToPg(map, pool.id, oid.name, { ...(oid.key ? { key: oid.key } : {}), ...(oid.namespace ? { namespace: oid.namespace } : {}) });
      const primary = pgToUpActing(map, pg).actingPrimary;
      if (primary < 0 || !osdIsUp(map, primary)) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        const r = await this.conn(map.osds[primary]!.addr).request(OsdOpMsg, { epoch: opts.epoch ?? map.epoch, pgid: formatPgId(pg), oid, ops, reqid }, { timeoutMs: 5000 });
        if (r.kind === 'ok') return r;
        await this.cluster.waitFor(`map ${r.epoch}`, () => this.cluster.map.epoch >= r.epoch, 5000).catch(() => {});
        await new Promise((res) => setTimeout(res, 20));
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (opts.noResend || (code !== 'EAGAIN' && code !== 'ETIMEDOUT' && code !== 'ECONNREFUSED' && code !== 'ESHUTDOWN' && code !== 'ESTALE')) throw err;
        lastErr = err;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    throw lastErr ?? new NacreError('op timed out', { code: 'ETIMEDOUT' });
  }

  async put(name: string, data: Buffer): Promise<number> {
    return (await this.op(name, [{ op: 'write_full', data }])).version;
  }

  async get(name: string): Promise<Buffer> {
    const r = await this.op(name, [{ op: 'read', offset: 0, length: 0 }]);
    return (r.results[0] as { data: Buffer }).data;
  }

  async ls(pool = 'rbd'): Promise<string[]> {
    const map = this.cluster.map;
    const p = poolByName(map, pool)!;
    const names: string[] = [];
    for (let seed = 0; seed < p.pgNum; seed++) {
      let cursor = '';
      for (;;) {
        const m = this.cluster.map;
        const primary = pgToUpActing(m, { pool: p.id, seed }).actingPrimary;
        const r = await this.conn(m.osds[primary]!.addr).request(OsdPgLs, { epoch: m.epoch, pgid: formatPgId({ pool: p.id, seed }), cursor, max: 7 });
        if (r.kind === 'retry') {
          await new Promise((res) => setTimeout(res, 50));
          continue;
        }
        names.push(...r.entries.map((e) => e.name));
        if (r.next === null) break;
        cursor = r.next;
      }
    }
    return names.sort();
  }

  async admin(osd: number, cmd: AdminCommand, args: Record<string, unknown> = {}): Promise<unknown> {
    return this.conn(this.cluster.map.osds[osd]!.addr).request(OsdAdmin, { cmd, args });
  }

  async close(): Promise<void> {
    await this.msgr.stop();
  }
}
