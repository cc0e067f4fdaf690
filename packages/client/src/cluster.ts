/**
 * `connect()` and the Cluster handle: one messenger (as `client.<id>`), one monitor session
 * (MonClient: hunting, commands, the OSDMap subscription) and one objecter shared by every pool
 * handle. Lifecycle: connecting → open → closing → closed; calls on a closed cluster fail with
 * ESHUTDOWN.
 */
import { randomFillSync } from 'node:crypto';
import { ClusterConf, Keyring, MonClient, createMessenger, loadConf, transportFromConf, type MonClientOptions, type Messenger, type Transport } from '@nacre/msgr';
import { OsdWatchEvent, osdPublicMessages, parseEntityName, type CommandArg, type EntityName, type MonCommandReply } from '@nacre/proto';
import { poolByName, type OsdMap, type Pool } from '@nacre/osdmap';
import { NacreError, createLogger, realEnv, type Env } from '@nacre/util';
import { IoCtx, type ClientCore } from './ioctx.js';
import { Objecter } from './objecter.js';
import { resolveClientOptions, type ClientOptions } from './options.js';
import { OsdSessions } from './osd-sessions.js';
import { WatchRegistry } from './watch.js';

export interface ConnectOptions {
  /** Cluster config: a path or a parsed ClusterConf. Default: `$NACRE_CONF`, else ./nacre.conf (unless `mons` is given). */
  conf?: string | ClusterConf;
  /** Monitor addresses (`host:port`); default `mon_host` of the config. */
  mons?: readonly string[];
  /** Keyring: a path or a Keyring. Default: the config's `keyring`. */
  keyring?: string | Keyring;
  /** Our secret key (instead of a keyring). */
  key?: Buffer;
  /** Who we are (default `client.admin`). */
  name?: string;
  /** The cluster's fsid (default the config's; maps of another cluster are refused). */
  fsid?: string;
  /** Time allowed to reach a monitor and receive the first map (default 10 s). */
  timeoutMs?: number;
  client?: Partial<ClientOptions>;
  monClient?: Partial<MonClientOptions>;
  /** Injected environment (default: real clock/timers, a logger at warn on stderr). */
  env?: Env;
  /** Injected transport (default: the config's `ms_transport`, else WebSocket). */
  transport?: Transport;
  /**
   * Fills the random parts of op and command ids and watch cookies (default node:crypto). Not
   * `env.random`: that is a seeded PRNG, and two clients seeded alike would send colliding reqids.
   */
  secureRandom?: (buf: Buffer) => void;
}

export type ClusterStatus = 'open' | 'closing' | 'closed';

const connectTimeoutMsDefault = 10_000;

/** Connect to a cluster: resolves once a monitor session is open and the first OSDMap has arrived. */
export async function connect(opts: ConnectOptions = {}): Promise<Cluster> {
  const name = parseEntityName(opts.name ?? 'client.admin');
  if (name.kind !== 'client') throw new NacreError(`${name.name} is not a client entity (expected client.<id>)`, { code: 'EINVAL' });
  const conf = resolveConf(opts);
  const mons = opts.mons ?? conf?.monHosts() ?? [];
  if (mons.length === 0) throw new NacreError(`no monitor addresses: give mons, or set mon_host in ${conf?.source ?? 'the cluster config'}`, { code: 'EINVAL' });
  const key = opts.key ?? keyFor(name.name, opts.keyring, conf);
  const env = opts.env ?? realEnv(defaultLogger(name.name));
  const options = resolveClientOptions(opts.client);
  const transport = opts.transport ?? transportFromConf(conf, name.name);
  const msgr = createMessenger({ entity: name.name, key, vocabulary: osdPublicMessages }, { env, transport });
  await msgr.start();
  const fsid = opts.fsid ?? conf?.fsid;
  const secureRandom = opts.secureRandom ?? ((buf: Buffer) => void randomFillSync(buf));
  const monc = new MonClient({ mons, ...(fsid !== undefined ? { fsid } : {}), ...opts.monClient }, { env, messenger: msgr, secureRandom });
  const timeoutMs = opts.timeoutMs ?? connectTimeoutMsDefault;
  try {
    const deadline = env.clock.monotonicMs() + timeoutMs;
    await monc.start({ timeoutMs });
    await monc.subscribeOsdMap({ timeoutMs: Math.max(1, Math.ceil(deadline - env.clock.monotonicMs())) });
  } catch (err) {
    await monc.stop();
    await msgr.stop();
    throw err;
  }
  return new Cluster(name.name, msgr, monc, options, env, secureRandom);
}

/** A library must not write to stdout: warnings and errors go to stderr (silent under tap). */
function defaultLogger(name: string): ReturnType<typeof createLogger> {
  const level = process.env['NACRE_LOG_LEVEL'] ?? (process.env['TAP'] === '1' ? 'silent' : 'warn');
  return createLogger(name, { level, destination: process.stderr });
}

function resolveConf(opts: ConnectOptions): ClusterConf | null {
  if (opts.conf instanceof ClusterConf) return opts.conf;
  if (typeof opts.conf === 'string') return ClusterConf.readFile(opts.conf);
  if (opts.mons !== undefined) return null;
  return loadConf();
}

function keyFor(entity: EntityName, keyring: string | Keyring | undefined, conf: ClusterConf | null): Buffer {
  let ring: Keyring;
  let source: string;
  if (keyring instanceof Keyring) {
    ring = keyring;
    source = 'the given keyring';
  } else {
    const path = keyring ?? conf?.keyringPath(entity);
    if (path === undefined) throw new NacreError(`no key for ${entity}: give a keyring (or set keyring in the cluster config)`, { code: 'EINVAL' });
    ring = Keyring.readFile(path);
    source = path;
  }
  const key = ring.keyOf(entity);
  if (key === undefined) throw new NacreError(`keyring ${source} has no key for ${entity}`, { code: 'EPERM' });
  return key;
}

export class Cluster {
  private statusValue: ClusterStatus = 'open';
  private readonly core: ClientCore;
  private readonly objecter: Objecter;
  private readonly watches: WatchRegistry;

  /** @internal Made by connect(). */
  constructor(
    readonly entity: EntityName,
    private readonly msgr: Messenger,
    readonly monClient: MonClient,
    readonly options: ClientOptions,
    private readonly env: Env,
    secureRandom: (buf: Buffer) => void,
  ) {
    const sessions = new OsdSessions(msgr, {
      connectAttemptsMax: options.osdConnectAttemptsMax,
      connectTimeoutMs: options.osdConnectTimeoutMs,
      sessionsMax: 1 << 20,
    }, env.logger.child({ sub: 'osd-sessions' }));
    this.objecter = new Objecter(monClient, entity, options, env, sessions, secureRandom);
    this.watches = new WatchRegistry(this.objecter, options, env, secureRandom);
    msgr.handle(OsdWatchEvent, (ev, ctx) => this.watches.onWatchEvent(ev, ctx));
    this.core = { objecter: this.objecter, watches: this.watches, monc: monClient, options, env };
  }

  get status(): ClusterStatus {
    return this.statusValue;
  }

  /** The newest OSDMap the client has. */
  get osdmap(): OsdMap {
    this.checkOpen();
    return this.objecter.map;
  }

  /** Window and session counters (for tests and tools). */
  stats(): { opsInFlight: number; bytesInFlight: number; opsWaiting: number; osdSessions: number; watches: number } {
    const w = this.objecter.window.stats();
    return { opsInFlight: w.ops, bytesInFlight: w.bytes, opsWaiting: w.waiting, osdSessions: this.objecter.sessions.size, watches: this.watches.size };
  }

  /**
   * A handle on the pool `name`. If our map does not have it, the newest map is fetched first
   * (the pool may have been created a moment ago); ENOENT if it still does not exist.
   */
  async pool(name: string, opts: { timeoutMs?: number } = {}): Promise<IoCtx> {
    this.checkOpen();
    if (typeof name !== 'string' || name.length === 0) throw new NacreError('pool name must be a non-empty string', { code: 'EINVAL' });
    let pool = poolByName(this.objecter.map, name);
    if (pool === undefined) {
      await this.monClient.refreshOsdMap(opts);
      pool = poolByName(this.objecter.map, name);
    }
    if (pool === undefined) throw new NacreError(`pool '${name}' does not exist`, { code: 'ENOENT' });
    return new IoCtx(this.core, pool.id, pool.name);
  }

  /** Pools of the current map, by id. */
  pools(): Pool[] {
    return [...this.osdmap.pools.values()].sort((a, b) => a.id - b.id);
  }

  /** Run a monitor command (see MonClient.command). */
  command(prefix: string, args: Record<string, CommandArg> = {}, opts: { timeoutMs?: number } = {}): Promise<MonCommandReply> {
    this.checkOpen();
    return this.monClient.command(prefix, args, opts);
  }

  /** Resolve once our map is at least `epoch`. */
  waitForEpoch(epoch: number, timeoutMs = this.options.opTimeoutMs): Promise<OsdMap> {
    this.checkOpen();
    return this.monClient.waitForEpoch(epoch, timeoutMs);
  }

  /** Fetch the newest map from a monitor. */
  refreshOsdMap(opts: { timeoutMs?: number } = {}): Promise<OsdMap> {
    this.checkOpen();
    return this.monClient.refreshOsdMap(opts);
  }

  /** Fail what is in flight (ESHUTDOWN), end watches, close every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.statusValue !== 'open') return;
    this.statusValue = 'closing';
    this.watches.close();
    this.objecter.close();
    await this.monClient.stop();
    await this.msgr.stop();
    this.statusValue = 'closed';
  }

  private checkOpen(): void {
    if (this.statusValue !== 'open') throw new NacreError(`cluster handle is ${this.statusValue}`, { code: 'ESHUTDOWN' });
  }
}
