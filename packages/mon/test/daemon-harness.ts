/**
 * An in-process monitor cluster for the daemon tests: N MonitorDaemons on a MemoryNetwork (real
 * timers), each with a real `level` store in a temp dir; monitors can be crashed (stopped with no
 * goodbye; their store stays as the disk left it) and restarted; a MonClient talks to them as a
 * client would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Keyring, MemoryNetwork, MonClient, createMessenger, type Messenger } from '@nacre/msgr';
import { MonitorDaemon, mkfsMonitor, type MonitorDaemonOptions } from '@nacre/mon';
import { Prng, realTimers, type Env, type Logger } from '@nacre/util';

export const FSID = 'daemon-test-fsid-0001';

export interface HarnessOptions {
  names?: string[];
  options?: Partial<MonitorDaemonOptions>;
  /** Log level for the monitors (default: silent unless NACRE_LOG_LEVEL is set). */
  logLevel?: string;
}

export function testLogger(name: string, level: string): Logger {
  if (level === 'silent') return pino({ level: 'silent' });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      process.stderr.write(`[${name}] ${chunk.toString('utf8')}`);
      cb();
    },
  });
  return pino({ level, base: { mon: name } }, sink);
}

export function envFor(name: string, level: string, seed: number): Env {
  return {
    clock: { monotonicMs: () => performance.now(), wallMs: () => Date.now() },
    timers: realTimers,
    random: new Prng(seed),
    logger: testLogger(name, level),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `cond` holds; a hang guard, not a timing assertion. */
export async function waitFor(cond: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export class Harness {
  readonly dir: string;
  readonly names: string[];
  readonly keyring = new Keyring();
  readonly net = new MemoryNetwork({ timers: realTimers });
  readonly mons = new Map<string, MonitorDaemon>();
  private readonly clients: Array<{ mc: MonClient; msgr: Messenger }> = [];
  private seed = 1;
  private readonly logLevel: string;

  private constructor(readonly opts: HarnessOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'nacre-mon-daemon-'));
    this.names = opts.names ?? ['a', 'b', 'c'];
    this.logLevel = opts.logLevel ?? process.env['NACRE_LOG_LEVEL'] ?? 'silent';
    for (const n of this.names) this.keyring.add(`mon.${n}`);
    this.keyring.add('client.admin');
  }

  addr(name: string): string {
    return `mon-${name}:1`;
  }

  static async create(opts: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(opts);
    const mons = h.names.map((name) => ({ name, addr: h.addr(name) }));
    const keyring = h.keyring.entities().map((e) => [e, h.keyring.keyOf(e)!] as [typeof e, Buffer]);
    for (const name of h.names) {
      await mkfsMonitor({ dataDir: join(h.dir, `mon.${name}`), name, bootstrap: { fsid: FSID, mons, createdMs: 1_700_000_000_000, keyring } });
    }
    return h;
  }

  async start(name: string): Promise<MonitorDaemon> {
    if (this.mons.has(name)) throw new Error(`mon.${name} already running`);
    const mon = new MonitorDaemon(
      { name, dataDir: join(this.dir, `mon.${name}`), keyring: this.keyring, options: this.opts.options ?? {} },
      { env: envFor(`mon.${name}`, this.logLevel, this.seed++), transport: this.net.transport() },
    );
    await mon.start();
    this.mons.set(name, mon);
    return mon;
  }

  async startAll(): Promise<void> {
    for (const n of this.names) await this.start(n);
  }

  /** Crash: the monitor stops at once (no more events), its store keeps what reached it. */
  async crash(name: string): Promise<void> {
    const mon = this.mons.get(name);
    if (mon === undefined) return;
    this.mons.delete(name);
    await mon.stop();
  }

  running(): MonitorDaemon[] {
    return [...this.mons.values()];
  }

  leader(): MonitorDaemon | undefined {
    return this.running().find((m) => m.info().role === 'leader' && m.info().readable);
  }

  /** Wait until `names` form the quorum, with an active leader among them. */
  async waitForQuorum(names: string[], limitMs = 20_000): Promise<MonitorDaemon> {
    const want = [...names].sort().join(',');
    await waitFor(() => {
      const l = this.leader();
      if (l === undefined || l.info().quorum.slice().sort().join(',') !== want) return false;
      return names.every((n) => {
        const i = this.mons.get(n)?.info();
        return i !== undefined && (i.role === 'leader' || i.role === 'peon') && i.leader === l.name;
      });
    }, `quorum ${want}`, limitMs);
    return this.leader()!;
  }

  async client(opts: Partial<ConstructorParameters<typeof MonClient>[0]> = {}): Promise<MonClient> {
    const env = envFor('client.admin', 'silent', this.seed++);
    const msgr = createMessenger({ entity: 'client.admin', key: this.keyring.keyOf('client.admin')! }, { env, transport: this.net.transport() });
    await msgr.start();
    const mc = new MonClient({
      mons: this.names.map((n) => this.addr(n)), fsid: FSID,
      huntConnectTimeoutMs: 300, attemptTimeoutMs: 3_000, commandTimeoutMs: 15_000, mapPollIntervalMs: 200, ...opts,
    }, { env, messenger: msgr });
    this.clients.push({ mc, msgr });
    await mc.start();
    return mc;
  }

  async close(): Promise<void> {
    for (const { mc, msgr } of this.clients) {
      await mc.stop().catch(() => {});
      await msgr.stop().catch(() => {});
    }
    for (const name of [...this.mons.keys()]) await this.crash(name);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
