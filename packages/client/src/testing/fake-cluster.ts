/**
 * A whole fake cluster in one process for client and CLI tests: fake monitors (@nacre/msgr
 * testing) serving an OSDMap built by `buildTestMap`, fake OSDs sharing one in-memory object
 * table, a keyring, and — for CLI tests — `writeConf(dir)` writing nacre.conf + keyring.
 *
 * ```ts
 * const fc = await FakeCluster.start({ hosts: 3, osdsPerHost: 1, pools: [{ name: 'rbd' }] });
 * const cluster = await connect({ mons: fc.monAddrs, key: fc.adminKey, transport: fc.clientTransport() });
 * …
 * await cluster.close();
 * await fc.stop();
 * ```
 * Transport: `ws` on 127.0.0.1 (default; what the CLI uses) or an in-process memory network.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterConf, Keyring, MemoryNetwork, type Transport } from '@nacre/msgr';
import { FakeMonCluster, type FakeMonitor } from '@nacre/msgr/testing';
import { pgToUpActing, type OsdMap, type OsdMapIncremental } from '@nacre/osdmap';
import { createLogger, realEnv, silentLogger, type Env } from '@nacre/util';
import { FakeObjectStore } from './fake-object-store.js';
import { FakeOsd, type FakeOpRecord } from './fake-osd.js';
import { buildTestMap, type TestMapSpec } from './test-map.js';

export interface FakeClusterSpec extends TestMapSpec {
  mons?: number;
  transport?: 'ws' | 'memory';
  env?: Env;
}

export class FakeCluster {
  readonly keyring = new Keyring();
  readonly adminKey: Buffer;
  readonly store: FakeObjectStore;
  readonly mon: FakeMonCluster;
  readonly monitors: FakeMonitor[] = [];
  readonly osds: FakeOsd[] = [];
  /** Every op any fake OSD received, in order. */
  readonly opLog: FakeOpRecord[] = [];
  private readonly net: MemoryNetwork | null;

  private constructor(readonly spec: FakeClusterSpec, readonly env: Env) {
    this.adminKey = this.keyring.add('client.admin');
    this.store = new FakeObjectStore(128 * 1024 * 1024, () => env.clock.wallMs());
    this.mon = new FakeMonCluster(buildTestMap(spec), env);
    this.net = spec.transport === 'memory' ? new MemoryNetwork({ timers: env.timers }) : null;
  }

  static async start(spec: FakeClusterSpec): Promise<FakeCluster> {
    const env = spec.env ?? realEnv(process.env['NACRE_LOG_LEVEL'] ? createLogger('fake-cluster') : silentLogger());
    const fc = new FakeCluster(spec, env);
    await fc.startDaemons();
    return fc;
  }

  private transport(): Transport | undefined {
    return this.net?.transport();
  }

  /** The transport a client must use to reach this cluster (undefined: the default ws). */
  clientTransport(): Transport | undefined {
    return this.transport();
  }

  private listenAddr(name: string): string {
    return this.net === null ? '127.0.0.1:0' : `${name}:0`;
  }

  private async startDaemons(): Promise<void> {
    const monCount = this.spec.mons ?? 1;
    for (let i = 0; i < monCount; i++) {
      const id = String.fromCharCode(97 + i);
      this.keyring.add(`mon.${id}`);
      const t = this.transport();
      this.monitors.push(await this.mon.addMonitor(id, { listen: this.listenAddr(`mon-${id}`), keyring: this.keyring, ...(t ? { transport: t } : {}) }));
    }
    const n = this.mon.map.maxOsd;
    for (let id = 0; id < n; id++) {
      this.keyring.add(`osd.${id}`);
      const t = this.transport();
      const osd = new FakeOsd(id, this.mon, this.store, this.opLog, { listen: this.listenAddr(`osd-${id}`), keyring: this.keyring, env: this.env, ...(t ? { transport: t } : {}) });
      await osd.start();
      this.osds.push(osd);
    }
    this.commit({ osdStates: this.osds.map((o) => ({ id: o.id, up: true, addr: o.address, upFrom: this.mon.epoch + 1 })) });
  }

  get monAddrs(): string[] {
    return this.monitors.map((m) => m.address);
  }

  get map(): OsdMap {
    return this.mon.map;
  }

  /** Commit a map change; fake OSDs drop watches of PGs whose interval changed. */
  commit(change: Omit<OsdMapIncremental, 'epoch' | 'modifiedMs'>): OsdMap {
    const prev = this.mon.map;
    const next = this.mon.commit(change);
    for (const osd of this.osds) osd.onMapChange(prev, next);
    return next;
  }

  /** The acting primary of a PG (`1.2a`) in the newest map. */
  primaryOf(pgid: { pool: number; seed: number }): number {
    return pgToUpActing(this.mon.map, pgid).actingPrimary;
  }

  /** Mark an OSD down (optionally stopping its process first). */
  async killOsd(id: number, opts: { markDown?: boolean } = {}): Promise<void> {
    await this.osds[id]!.stop();
    if (opts.markDown !== false) this.commit({ osdStates: [{ id, up: false, downAt: this.mon.epoch + 1 }] });
  }

  async reviveOsd(id: number): Promise<void> {
    await this.osds[id]!.start();
    this.commit({ osdStates: [{ id, up: true, addr: this.osds[id]!.address, upFrom: this.mon.epoch + 1 }] });
  }

  /** Write `nacre.conf` and `keyring` into `dir` (what the CLI reads); returns the conf path. */
  writeConf(dir: string): string {
    const keyringPath = join(dir, 'keyring');
    this.keyring.writeFile(keyringPath);
    const conf = new ClusterConf(join(dir, 'nacre.conf'), dir);
    conf.set('global', 'fsid', this.mon.map.fsid);
    conf.set('global', 'mon_host', this.monAddrs.join(','));
    conf.set('global', 'keyring', keyringPath);
    for (const m of this.monitors) conf.set(m.name, 'addr', m.address);
    const path = join(dir, 'nacre.conf');
    writeFileSync(path, conf.format('fake cluster for tests'));
    return path;
  }

  async stop(): Promise<void> {
    for (const o of this.osds) await o.stop();
    for (const m of this.monitors) await m.stop();
  }
}
