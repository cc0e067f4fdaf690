/**
 * Fake monitors for tests of MonClient and of everything built on it (client library, OSD, CLI)
 * until — and besides — the real monitor: a `FakeMonCluster` holds one authoritative OSDMap
 * history (you evolve it with `commit(inc)`, which applies it with @nacre/osdmap exactly as
 * subscribers will) and serves it from any number of `FakeMonitor`s, each a real messenger
 * listening on ws (127.0.0.1) or a memory network. No Paxos: every monitor sees the same history.
 *
 * Served: mon.subscribe (+ pushes of every new epoch), mon.get_osdmap, mon.command (a few
 * prefixes, `onCommand` for more, cmdId de-duplication), and whatever a test registers on
 * `monitor.messenger`. Faults a test can inject: `quorum = false` (everything answers EAGAIN),
 * `dropPush(epoch)` (that epoch is never pushed: subscribers see a gap), `pushFullOnly`,
 * `commandDelayMs`, `failNextCommands(code, n)`, `stop()`/`start()` of one monitor.
 */
import type { Logger } from '@nacre/util';
import { NacreError, type Env, type ErrorCode } from '@nacre/util';
import {
  MonCommandMsg, MonGetOsdMap, MonOsdMap, MonSubscribe, incrementalsPerPushMax, monPublicMessages,
  type CommandArg, type MonCommandReply, type OsdMapBundle,
} from '@nacre/proto';
import {
  applyIncremental, encodeIncremental, encodeOsdMap, formatPgId, objectToUpActing, poolByName,
  type OsdMap, type OsdMapIncremental,
} from '@nacre/osdmap';
import type { Connection } from '../connection.js';
import type { KeyLookup } from '../keyring.js';
import { createMessenger, type Messenger } from '../messenger.js';
import type { Transport } from '../transport.js';

export interface FakeCommandContext {
  cluster: FakeMonCluster;
  monitor: FakeMonitor;
  peer: string;
}

export type FakeCommandHandler = (args: Record<string, CommandArg>, ctx: FakeCommandContext) => MonCommandReply | Promise<MonCommandReply>;

/** Commands remembered for cmdId de-duplication (oldest forgotten first). */
const commandLogMax = 4096;

export class FakeMonCluster {
  private readonly maps: OsdMap[] = [];
  private readonly incs = new Map<number, Buffer>();
  readonly monitors: FakeMonitor[] = [];
  /** Answer EAGAIN to everything (as a monitor without quorum does). */
  quorum = true;
  /** Epochs never pushed to subscribers (get_osdmap still serves them). */
  readonly droppedPushes = new Set<number>();
  /** Push full maps instead of incrementals. */
  pushFullOnly = false;
  /** Incrementals kept; a subscriber further behind gets a full map. */
  incrementalsKept = 100;
  commandDelayMs = 0;
  private failures: { code: ErrorCode; count: number } | null = null;
  readonly commandHandlers = new Map<string, FakeCommandHandler>();
  /** Every command received, in order (a retried one appears once per attempt). */
  readonly commandsReceived: { prefix: string; args: Record<string, CommandArg>; cmdId?: string; monitor: string }[] = [];
  /** cmdId → result of commands already applied. */
  private readonly applied = new Map<string, MonCommandReply>();

  constructor(initial: OsdMap, readonly env: Env) {
    this.maps.push(initial);
    this.commandHandlers.set('osd pool mksnap-selfmanaged', (args) => this.mksnap(args));
    this.commandHandlers.set('osd map', (args) => this.osdMapCommand(args));
    this.commandHandlers.set('status', () => ({ data: { epoch: this.epoch }, text: `osdmap e${this.epoch}` }));
  }

  get map(): OsdMap {
    return this.maps[this.maps.length - 1]!;
  }

  get epoch(): number {
    return this.map.epoch;
  }

  /** Map of an epoch we still hold. */
  mapAt(epoch: number): OsdMap | undefined {
    return this.maps.find((m) => m.epoch === epoch);
  }

  /** Apply a change as the next epoch and push it to every subscriber. Returns the new map. */
  commit(change: Omit<OsdMapIncremental, 'epoch' | 'modifiedMs'>): OsdMap {
    const inc: OsdMapIncremental = { ...change, epoch: this.epoch + 1, modifiedMs: this.env.clock.wallMs() };
    const next = applyIncremental(this.map, inc);
    this.maps.push(next);
    this.incs.set(inc.epoch, encodeIncremental(inc));
    if (this.maps.length > this.incrementalsKept + 1) {
      const gone = this.maps.shift()!;
      this.incs.delete(gone.epoch);
    }
    if (!this.droppedPushes.has(inc.epoch)) {
      for (const mon of this.monitors) mon.pushToSubscribers(inc.epoch - 1);
    }
    return next;
  }

  /** The next `count` commands fail with `code` (EAGAIN: as a monitor that lost quorum). */
  failNextCommands(code: ErrorCode, count: number): void {
    this.failures = { code, count };
  }

  /** What the monitor sends a subscriber that has epoch `since`. */
  bundleSince(since: number, fullOnly = false): OsdMapBundle {
    const last = this.epoch;
    const oldest = this.maps[0]!.epoch;
    if (since >= last) return { incrementals: [], lastEpoch: last };
    if (fullOnly || since === 0 || since < oldest || last - since > incrementalsPerPushMax) {
      return { full: encodeOsdMap(this.map), incrementals: [], lastEpoch: last };
    }
    const incrementals: Buffer[] = [];
    for (let e = since + 1; e <= last; e++) incrementals.push(this.incs.get(e)!);
    return { incrementals, lastEpoch: last };
  }

  /** Start a monitor `mon.<id>` listening at `listen` (e.g. `127.0.0.1:0`). */
  async addMonitor(id: string, opts: { listen: string; keyring: KeyLookup; transport?: Transport; logger?: Logger }): Promise<FakeMonitor> {
    const mon = new FakeMonitor(this, id, opts);
    await mon.start();
    this.monitors.push(mon);
    return mon;
  }

  /** @internal */
  async runCommand(monitor: FakeMonitor, peer: string, cmd: { prefix: string; args: Record<string, CommandArg>; cmdId?: string }): Promise<MonCommandReply> {
    this.commandsReceived.push({ ...cmd, monitor: monitor.name });
    if (this.commandDelayMs > 0) await new Promise<void>((resolve) => this.env.timers.setTimeout(resolve, this.commandDelayMs));
    if (!this.quorum) throw new NacreError(`${monitor.name}: no quorum, try again`, { code: 'EAGAIN' });
    if (this.failures !== null && this.failures.count > 0) {
      this.failures.count--;
      throw new NacreError(`${monitor.name}: injected failure`, { code: this.failures.code });
    }
    const key = cmd.cmdId === undefined ? null : `${peer} ${cmd.cmdId}`;
    if (key !== null) {
      const done = this.applied.get(key);
      if (done !== undefined) return done;
    }
    const handler = this.commandHandlers.get(cmd.prefix);
    if (handler === undefined) throw new NacreError(`unknown command '${cmd.prefix}'`, { code: 'EINVAL' });
    const reply = await handler(cmd.args, { cluster: this, monitor, peer });
    if (key !== null) {
      this.applied.set(key, reply);
      if (this.applied.size > commandLogMax) this.applied.delete(this.applied.keys().next().value!);
    }
    return reply;
  }

  private mksnap(args: Record<string, CommandArg>): MonCommandReply {
    const pool = poolByName(this.map, String(args['pool']));
    if (pool === undefined) throw new NacreError(`pool '${String(args['pool'])}' does not exist`, { code: 'ENOENT' });
    const snapId = pool.snapSeq + 1;
    this.commit({ newPools: [{ ...pool, snapSeq: snapId, lastChangeEpoch: this.epoch + 1 }] });
    return { data: { snapId }, text: `created snapshot ${snapId}` };
  }

  private osdMapCommand(args: Record<string, CommandArg>): MonCommandReply {
    const pool = poolByName(this.map, String(args['pool']));
    if (pool === undefined) throw new NacreError(`pool '${String(args['pool'])}' does not exist`, { code: 'ENOENT' });
    const m = objectToUpActing(this.map, pool.id, String(args['object']));
    return { data: { epoch: this.epoch, pgid: formatPgId(m.pgid), up: m.up, acting: m.acting }, text: '' };
  }
}

export class FakeMonitor {
  readonly name: string;
  private msgr: Messenger | null = null;
  private readonly subscribers = new Set<Connection>();
  private addr: string | null = null;

  constructor(
    readonly cluster: FakeMonCluster,
    readonly id: string,
    private readonly opts: { listen: string; keyring: KeyLookup; transport?: Transport; logger?: Logger },
  ) {
    this.name = `mon.${id}`;
  }

  get messenger(): Messenger {
    if (this.msgr === null) throw new NacreError(`${this.name} is stopped`, { code: 'ESHUTDOWN' });
    return this.msgr;
  }

  /** `host:port` it listens on (stable across stop/start). */
  get address(): string {
    if (this.addr === null) throw new NacreError(`${this.name} never started`, { code: 'EINVAL' });
    return this.addr;
  }

  get running(): boolean {
    return this.msgr !== null;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Start (again, on the same address after a stop). */
  async start(): Promise<void> {
    if (this.msgr !== null) return;
    const env = this.opts.logger ? { ...this.cluster.env, logger: this.opts.logger } : this.cluster.env;
    const msgr = createMessenger(
      { entity: this.name, keyring: this.opts.keyring, listen: this.addr ?? this.opts.listen, vocabulary: monPublicMessages },
      { env, ...(this.opts.transport ? { transport: this.opts.transport } : {}) },
    );
    msgr.handle(MonSubscribe, (req, ctx) => {
      if (!this.cluster.quorum) throw new NacreError(`${this.name}: no quorum`, { code: 'EAGAIN' });
      const conn = ctx.conn;
      if (!this.subscribers.has(conn)) {
        this.subscribers.add(conn);
        conn.onClose(() => this.subscribers.delete(conn));
      }
      // Reply first, then push what the subscriber lacks (as the real monitor does).
      this.cluster.env.timers.setTimeout(() => this.push(conn, req.osdmapSince), 0);
      return { epoch: this.cluster.epoch };
    });
    msgr.handle(MonGetOsdMap, (req) => {
      if (!this.cluster.quorum) throw new NacreError(`${this.name}: no quorum`, { code: 'EAGAIN' });
      return this.cluster.bundleSince(req.since);
    });
    msgr.handle(MonCommandMsg, (req, ctx) => this.cluster.runCommand(this, ctx.peer, req));
    await msgr.start();
    this.msgr = msgr;
    const a = msgr.address!;
    this.addr = `${a.host}:${a.port}`;
  }

  /** Stop listening and drop every connection (a killed monitor, as clients see it). */
  async stop(): Promise<void> {
    const msgr = this.msgr;
    if (msgr === null) return;
    this.msgr = null;
    this.subscribers.clear();
    await msgr.stop();
  }

  /** @internal Push the epoch after `prevEpoch` to every subscriber. */
  pushToSubscribers(prevEpoch: number): void {
    for (const conn of this.subscribers) this.push(conn, prevEpoch);
  }

  private push(conn: Connection, since: number): void {
    if (this.msgr === null || conn.state !== 'open') return;
    const bundle = this.cluster.bundleSince(since, this.cluster.pushFullOnly);
    if (bundle.full === undefined && bundle.incrementals.length === 0) return;
    conn.send(MonOsdMap, bundle).catch(() => {});
  }
}
