/**
 * MonitorDaemon: one monitor — the Paxos core (packages/mon/src/paxos) driven on a real `level`
 * store, the messenger and injected timers, with the service layer on top, serving clients, OSDs
 * and the other monitors.
 *
 * ```ts
 * await mkfsMonitor({ dataDir, name: 'a', bootstrap: { fsid, mons, createdMs, keyring } });
 * const mon = new MonitorDaemon({ name: 'a', dataDir, keyring }, { env: realEnv(logger) });
 * await mon.start();          // loads the store, boots the core, listens, dials the peers
 * …
 * await mon.stop();           // closes connections, waits for the disk, closes the store
 * ```
 *
 * The driver contract (docs/paxos.md §1) as kept here:
 *  1. Effects run in the order the core returns them. Events the driver generates while running
 *     them (persisted, snapshotReady, timers, messages) go through one FIFO and are handled after
 *     the current batch of effects — the core is never re-entered.
 *  2. `persist`: the core's writes plus the service state after `apply` (snapshot install, then
 *     commits in order) form one atomic fsync'd batch (persist-queue.ts groups consecutive ones);
 *     `persisted` is reported in order. The service state computed for a version is published
 *     (`committed` / `snapshotInstalled` effects) only when the core releases those effects,
 *     i.e. after the batch is durable.
 *  3. Timers: core-timers.ts on `env.timers`.
 *  4. `needSnapshot`: answered with the service state as of the newest persist issued, which is
 *     exactly the core's last_committed.
 *  5. Restart: mkfs.ts `loadMonStore` rebuilds the core's state and the service state and checks
 *     that they agree.
 *
 * Lifecycle: idle → starting → running → stopping → stopped; `failed` after a store error (the
 * process must exit: main.ts does). An AssertionFailure is never caught: it propagates and
 * crashes the process, as STYLE asks.
 */
import { createMessenger, type KeyLookup, type Messenger, type MessengerLimits, type Transport } from '@nacre/msgr';
import { monPublicMessages, type EntityName } from '@nacre/proto';
import { NacreError, assert, type Env, type Logger, type TimerHandle } from '@nacre/util';
import { MonitorCore, type MonitorStatus } from '../paxos/monitor-core.js';
import type {
  MonitorEffect, MonitorEvent, MonitorRole, PaxosMessage, PersistedState, Rank, ServiceApply, StoreWrite,
} from '../paxos/types.js';
import type { BootstrapOptions } from '../services/bootstrap.js';
import { changesPerProposalMax, pendingChangesMax } from '../services/limits.js';
import { isEmptyMonState, type MonMap, type MonState } from '../services/mon-state.js';
import type { QuorumInfo } from '../services/quorum.js';
import { CoreTimers } from './core-timers.js';
import { DAEMON_KEYS } from './daemon-keys.js';
import { coreOptionsOf, resolveMonitorDaemonOptions, type MonitorDaemonOptions } from './daemon-options.js';
import { MonPaxos, monInternalMessages } from './internal-messages.js';
import { loadMonStore } from './mkfs.js';
import { MonStore, type MonStoreOp } from './mon-store.js';
import { OsdMapFeed } from './osdmap-feed.js';
import { PeerLinks } from './peer-links.js';
import { PersistQueue } from './persist-queue.js';
import { ProposalBatcher } from './proposal-batcher.js';
import { RequestRouter, type RouterHost } from './request-router.js';
import { createServiceAdapter } from './service-adapter.js';
import type { RuntimeFacts, ServicePort } from './service-port.js';

export type MonitorDaemonStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface MonitorDaemonInit {
  /** The monitor's name: `a` for mon.a. */
  name: string;
  /** Its data directory (made by mkfsMonitor). */
  dataDir: string;
  /** Listen here instead of the monmap address (e.g. `0.0.0.0:6789`); peers still dial the monmap address. */
  listen?: string;
  /**
   * Keys of entities that may connect (the keyring file). Once the cluster exists, the committed
   * auth table is consulted first and this is the fallback.
   */
  keyring: KeyLookup;
  options?: Partial<MonitorDaemonOptions>;
  /** Looked up for options not given in `options` (nacre.conf for this monitor). */
  optionLookup?: (key: string) => string | undefined;
  messengerLimits?: Partial<MessengerLimits>;
}

export interface MonitorDaemonComponents {
  env: Env;
  /** Default: WebSockets. */
  transport?: Transport;
  /** Default: the service layer (service-adapter.ts). */
  service?: ServicePort;
  /** Called once if the monitor fails (store error); the process should exit non-zero. */
  onFatal?: (err: Error) => void;
}

/** A snapshot of the daemon for status commands, tests and the process's status line. */
export interface MonitorDaemonInfo {
  name: string;
  rank: Rank;
  status: MonitorDaemonStatus;
  role: MonitorRole;
  leader: string | null;
  quorum: string[];
  electionEpoch: number;
  readable: boolean;
  firstCommitted: number;
  lastCommitted: number;
  osdmapEpoch: number;
  fsid: string;
  proposals: number;
  /** Full-state syncs installed since start. */
  snapshotsInstalled: number;
}

/** Driver-generated events waiting for the core; bounded as a bug fence against feedback loops. */
const eventsQueuedMax = 1_000_000;
/** Computed-but-unpublished service states (one per version between persist and release). */
const pendingStatesMax = 1_000_000;

type QueuedEvent = MonitorEvent | (() => MonitorEvent | undefined);

export class MonitorDaemon {
  readonly name: string;
  readonly entity: EntityName;
  readonly options: MonitorDaemonOptions;
  private statusValue: MonitorDaemonStatus = 'idle';
  private readonly env: Env;
  private readonly log: Logger;
  private readonly service: ServicePort;
  private store: MonStore | null = null;
  private core: MonitorCore | null = null;
  private messenger: Messenger | null = null;
  private peers: PeerLinks | null = null;
  private timers: CoreTimers | null = null;
  private persists: PersistQueue | null = null;
  private batcher: ProposalBatcher | null = null;
  private router: RequestRouter | null = null;
  private readonly feed: OsdMapFeed;
  private tickTimer: TimerHandle | null = null;
  private peerWatchTimer: TimerHandle | null = null;
  /** Quorum members with no open connection: since when (monotonic ms). */
  private readonly unreachableSinceMs = new Map<Rank, number>();
  /** Timers fired early because a quorum member's process was gone (stats, tests). */
  earlyFailovers = 0;
  private monmapValue: MonMap | null = null;
  private bootstrap: BootstrapOptions | null = null;
  private fsidValue = '';

  /** Service state as of the newest persist issued (the core's last_committed). */
  private appliedState: MonState | null = null;
  /** States computed at persist time, published when the core releases `committed`. */
  private readonly pendingStates = new Map<number, { state: MonState; rejected?: NacreError }>();
  /** The committed service state this monitor shows (what reads and pushes see). */
  private visibleState: MonState | null = null;
  private lastRejection: { version: number; err: NacreError } | null = null;
  /** What the store held at start, until the core's boot event takes it. */
  private bootPersisted: PersistedState | null = null;

  private snapshotsInstalled = 0;
  private readonly events: QueuedEvent[] = [];
  private draining = false;
  private role: { role: MonitorRole; epoch: number; leader: Rank | undefined; quorum: Rank[] } = { role: 'down', epoch: 0, leader: undefined, quorum: [] };
  private readable = false;

  constructor(private readonly init: MonitorDaemonInit, private readonly components: MonitorDaemonComponents) {
    this.name = init.name;
    this.entity = `mon.${init.name}` as EntityName;
    this.env = components.env;
    this.log = components.env.logger;
    this.options = resolveMonitorDaemonOptions(init.optionLookup, init.options);
    this.service = components.service ?? createServiceAdapter(init.optionLookup === undefined ? {} : { optionLookup: init.optionLookup });
    this.feed = new OsdMapFeed(this.log);
  }

  get status(): MonitorDaemonStatus {
    return this.statusValue;
  }

  /** The listening address once running. */
  get address(): string | null {
    const a = this.messenger?.address;
    return a === null || a === undefined ? null : `${a.host}:${a.port}`;
  }

  get monmap(): MonMap {
    assert(this.monmapValue !== null, 'monmap before start');
    return this.monmapValue;
  }

  /** The committed service state this monitor serves (tests, status). */
  get state(): MonState {
    assert(this.visibleState !== null, 'state before start');
    return this.visibleState;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.statusValue !== 'idle') throw new NacreError(`mon.${this.name}: cannot start while ${this.statusValue}`, { code: 'EINVAL' });
    this.statusValue = 'starting';
    try {
      await this.startInner();
    } catch (err) {
      await this.teardown();
      this.statusValue = 'stopped';
      throw err;
    }
    this.statusValue = 'running';
    this.log.info({ mon: this.name, rank: this.rank, addr: this.address, lastCommitted: this.appliedState!.version }, 'monitor running');
    this.feedEvent({ kind: 'boot', persisted: this.bootPersisted! });
    this.bootPersisted = null;
  }

  private async startInner(): Promise<void> {
    this.store = await MonStore.open(this.init.dataDir, { create: false });
    const loaded = await loadMonStore(this.store, this.name);
    this.monmapValue = loaded.monmap;
    this.bootstrap = loaded.bootstrap;
    this.fsidValue = loaded.fsid;
    this.appliedState = loaded.service;
    this.visibleState = loaded.service;
    this.bootPersisted = loaded.persisted;
    this.feed.update(loaded.service);
    const self = loaded.monmap.mons.find((m) => m.name === this.name);
    assert(self !== undefined, () => `mon.${this.name} is not in its own monmap`);
    this.core = new MonitorCore(coreOptionsOf(this.options, self.rank, loaded.monmap.mons.length));
    this.timers = new CoreTimers(this.env.timers, (timer, token) => this.feedEvent({ kind: 'timer', timer, token }));
    this.persists = new PersistQueue({
      write: (ops) => this.store!.write(ops),
      durable: (persistId) => this.feedEvent({ kind: 'persisted', persistId }),
      fatal: (err) => this.fail(err),
    });
    this.batcher = new ProposalBatcher({
      state: () => this.visibleState!,
      build: (state, changes) => this.service.buildProposal(state, changes, this.facts()),
      propose: (proposalId, value) => this.feedEvent({ kind: 'propose', proposalId, value }),
      bootstrapValue: () => this.service.bootstrapValue(this.bootstrap!),
      failureChange: (state) => this.service.failureChange(state, this.env.clock.monotonicMs()),
      log: this.log,
    }, { changesPerProposalMax, changesQueuedMax: pendingChangesMax });
    const fileKeys = this.init.keyring;
    const keys: KeyLookup = {
      keyOf: (entity) => {
        const s = this.visibleState;
        const committed = s !== null && !isEmptyMonState(s) ? s.auth.get(entity)?.key : undefined;
        return committed ?? fileKeys.keyOf(entity);
      },
    };
    this.messenger = createMessenger({
      entity: this.entity,
      key: fileKeys.keyOf(this.entity),
      keyring: keys,
      listen: this.init.listen ?? self.addr,
      vocabulary: [...monPublicMessages, ...monInternalMessages],
      ...(this.init.messengerLimits === undefined ? {} : { limits: this.init.messengerLimits }),
    }, { env: this.env, ...(this.components.transport === undefined ? {} : { transport: this.components.transport }) });
    this.peers = new PeerLinks(this.messenger, loaded.monmap, self.rank, this.log);
    this.router = new RequestRouter(this.routerHost(), this.options);
    this.messenger.handle(MonPaxos, (p, ctx) => this.onPaxos(p.message, ctx.peer));
    this.router.register(this.messenger);
    await this.messenger.start();
    this.peers.start();
    this.tickTimer = this.env.timers.setInterval(() => this.tick(), this.options.tickIntervalMs);
    if (this.options.peerLostGraceMs > 0) {
      this.peerWatchTimer = this.env.timers.setInterval(() => this.watchPeers(), this.options.peerWatchIntervalMs);
    }
  }

  /** Orderly stop: no more events, pending replies fail, the disk finishes, the store closes. */
  async stop(): Promise<void> {
    if (this.statusValue === 'stopped' || this.statusValue === 'stopping' || this.statusValue === 'idle') return;
    this.statusValue = 'stopping';
    this.log.info({ mon: this.name }, 'monitor stopping');
    await this.teardown();
    if (this.statusValue === 'stopping') this.statusValue = 'stopped';
  }

  private async teardown(): Promise<void> {
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.peerWatchTimer?.cancel();
    this.peerWatchTimer = null;
    this.timers?.stop();
    this.events.length = 0;
    this.batcher?.setActive(false);
    this.router?.stop();
    this.peers?.stop();
    this.feed.stop();
    await this.messenger?.stop().catch((err: unknown) => this.log.warn({ err }, 'messenger stop failed'));
    await this.persists?.stop();
    await this.store?.close().catch((err: unknown) => this.log.warn({ err }, 'store close failed'));
  }

  /** A store error: nothing more may be acknowledged. Stop everything and tell the process. */
  private fail(err: Error): void {
    if (this.statusValue === 'failed') return;
    this.log.fatal({ err }, 'monitor store failed; stopping');
    this.statusValue = 'failed';
    void this.teardown().finally(() => this.components.onFatal?.(err));
  }

  get rank(): Rank {
    return this.core?.config.rank ?? -1;
  }

  info(): MonitorDaemonInfo {
    const st: MonitorStatus | undefined = this.core?.status();
    const names = this.monmapValue?.mons ?? [];
    const nameOf = (r: Rank): string => names[r]?.name ?? `rank${r}`;
    return {
      name: this.name,
      rank: this.rank,
      status: this.statusValue,
      role: this.role.role,
      leader: this.role.leader === undefined ? null : nameOf(this.role.leader),
      quorum: this.role.quorum.map(nameOf),
      electionEpoch: this.role.epoch,
      readable: this.readable,
      firstCommitted: st?.firstCommitted ?? 0,
      lastCommitted: st?.lastCommitted ?? 0,
      osdmapEpoch: this.visibleState?.osdmap.epoch ?? 0,
      fsid: this.fsidValue,
      proposals: this.batcher?.proposals ?? 0,
      snapshotsInstalled: this.snapshotsInstalled,
    };
  }

  // ------------------------------------------------------------------ events into the core

  private feedEvent(event: QueuedEvent): void {
    if (this.statusValue !== 'running') return;
    assert(this.events.length < eventsQueuedMax, 'monitor event queue bound exceeded');
    this.events.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.events.length > 0 && this.statusValue === 'running') {
        const queued = this.events.shift()!;
        const event = typeof queued === 'function' ? queued() : queued;
        if (event === undefined) continue;
        const effects = this.core!.handle(event);
        for (const effect of effects) {
          if (this.statusValue !== 'running') break;
          this.execute(effect);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private onPaxos(message: Record<string, unknown>, peer: EntityName): void {
    const from = this.peers?.rankOf(peer);
    if (from === undefined) {
      this.log.warn({ peer }, 'mon.paxos from a monitor outside the monmap; dropped');
      return;
    }
    // The core checks the structure (checkPaxosMessage) and drops malformed messages itself.
    this.feedEvent({ kind: 'message', from, message: message as unknown as PaxosMessage });
  }

  private tick(): void {
    if (this.statusValue !== 'running' || this.role.role !== 'leader' || !this.readable) return;
    this.batcher!.requestTick();
  }

  /**
   * Failover hint: a quorum member with no open connection for peerLostGraceMs is gone (a killed
   * process's kernel resets its connections at once, and our reconnects are refused), so the
   * timer that would notice its silence seconds later is fired now: a peon's lease timeout for
   * its leader, the leader's lease-ack or accept timeout for a peon. Spurious or early firings
   * are harmless to the core (docs/paxos.md §1), so this is liveness only.
   */
  private watchPeers(): void {
    if (this.statusValue !== 'running') return;
    const now = this.env.clock.monotonicMs();
    const { role, leader, quorum } = this.role;
    const watched = role === 'peon' && leader !== undefined ? [leader] : role === 'leader' ? quorum.filter((r) => r !== this.rank) : [];
    for (const r of [...this.unreachableSinceMs.keys()]) if (!watched.includes(r)) this.unreachableSinceMs.delete(r);
    for (const r of watched) {
      if (this.peers!.reachable(r)) {
        this.unreachableSinceMs.delete(r);
        continue;
      }
      const since = this.unreachableSinceMs.get(r) ?? now;
      this.unreachableSinceMs.set(r, since);
      if (now - since < this.options.peerLostGraceMs) continue;
      const timers = role === 'peon' ? ['peonLeaseTimeout'] as const : ['leaderProgress', 'leaseAckTimeout'] as const;
      const timer = timers.find((t) => this.timers!.armed(t));
      if (timer === undefined) continue;
      this.log.info({ peer: this.peers!.entityOf(r), unreachableMs: Math.round(now - since), timer }, 'quorum member unreachable; not waiting for the timeout');
      this.earlyFailovers++;
      this.unreachableSinceMs.delete(r);
      this.timers!.fireNow(timer);
      return;
    }
  }

  // ------------------------------------------------------------------ effects out of the core

  private execute(e: MonitorEffect): void {
    switch (e.kind) {
      case 'send': this.peers!.send(e.to, MonPaxos, { message: e.message as unknown as Record<string, unknown> }); return;
      case 'persist': this.persist(e.persistId, e.writes, e.apply); return;
      case 'setTimer': this.timers!.set(e.timer, e.token, e.delayMs); return;
      case 'cancelTimer': this.timers!.cancel(e.timer); return;
      case 'needSnapshot': this.feedEvent(() => this.snapshotReady(e.requestId)); return;
      case 'committed': this.publish(e.version); return;
      case 'snapshotInstalled':
        this.snapshotsInstalled++;
        this.log.info({ version: e.version }, 'full-state sync installed');
        this.publish(e.version);
        return;
      case 'proposalCommitted': this.proposalCommitted(e.proposalId, e.version); return;
      case 'proposalFailed': this.batcher!.onFailed(e.proposalId, e.outcome, e.reason); return;
      case 'readable': this.setReadable(e.readable); return;
      case 'role': this.setRole(e.role, e.epoch, e.leader, e.quorum); return;
      case 'log': this.log[e.level](e.fields ?? {}, e.message); return;
    }
  }

  private persist(persistId: number, writes: readonly StoreWrite[], apply: ServiceApply | undefined): void {
    const ops: MonStoreOp[] = writes.map((w) => (w.op === 'put' ? { op: 'put', key: w.key, value: w.value } : { op: 'del', key: w.key }));
    if (apply !== undefined) {
      this.applyService(apply);
      ops.push({ op: 'put', key: DAEMON_KEYS.serviceState, value: this.service.encodeSnapshot(this.appliedState!) });
    }
    this.persists!.enqueue({ persistId, ops });
  }

  /** Compute the service state after `apply` (snapshot, then commits in order). */
  private applyService(apply: ServiceApply): void {
    let state = this.appliedState!;
    if (apply.snapshot !== undefined) {
      // A snapshot comes from a monitor of our monmap; if it does not decode, our builds disagree
      // on the format and continuing could fork the state: stop (assertion, not a peer error).
      try {
        state = this.service.installSnapshot(apply.snapshot.version, apply.snapshot.data);
      } catch (err) {
        assert(false, () => `snapshot at version ${apply.snapshot!.version} does not install: ${(err as Error).message}`);
      }
      this.rememberState(state.version, { state });
    }
    for (const c of apply.commits) {
      assert(c.version === state.version + 1, () => `commit ${c.version} does not follow service state ${state.version}`);
      const r = this.service.applyCommitted(state, c.version, c.value);
      state = r.state;
      this.rememberState(c.version, r.rejected === undefined ? { state } : { state, rejected: r.rejected });
      if (r.rejected !== undefined) this.log.warn({ version: c.version, err: r.rejected.message }, 'committed value skipped by the service layer');
    }
    this.appliedState = state;
  }

  private rememberState(version: number, entry: { state: MonState; rejected?: NacreError }): void {
    assert(this.pendingStates.size < pendingStatesMax, 'pending service states bound exceeded');
    this.pendingStates.set(version, entry);
  }

  private snapshotReady(requestId: number): MonitorEvent {
    const s = this.appliedState!;
    return { kind: 'snapshotReady', requestId, version: s.version, snapshot: this.service.encodeSnapshot(s) };
  }

  /** The core released `committed`/`snapshotInstalled` for `version`: show that state. */
  private publish(version: number): void {
    const entry = this.pendingStates.get(version);
    assert(entry !== undefined, () => `no service state computed for committed version ${version}`);
    for (const v of this.pendingStates.keys()) {
      if (v > version) break;
      this.pendingStates.delete(v);
    }
    const wasEmpty = this.visibleState === null || isEmptyMonState(this.visibleState);
    this.visibleState = entry.state;
    if (entry.rejected !== undefined) this.lastRejection = { version, err: entry.rejected };
    if (wasEmpty && !isEmptyMonState(entry.state)) this.log.info({ fsid: entry.state.fsid }, 'cluster created (bootstrap state committed)');
    this.feed.update(entry.state);
  }

  private proposalCommitted(proposalId: number, version: number): void {
    const state = this.visibleState!;
    assert(state.version >= version, () => `proposal committed at ${version} but state is at ${state.version}`);
    const rejected = this.lastRejection?.version === version ? this.lastRejection.err : undefined;
    this.batcher!.onCommitted(proposalId, state, rejected);
  }

  private setReadable(readable: boolean): void {
    this.readable = readable;
    this.batcher!.setActive(this.role.role === 'leader' && readable);
  }

  private setRole(role: MonitorRole, epoch: number, leader: Rank | undefined, quorum: Rank[]): void {
    const was = this.role.role;
    this.role = { role, epoch, leader, quorum: [...quorum] };
    const names = this.info();
    this.log.info({ role, epoch, leader: names.leader, quorum: names.quorum }, 'monitor role');
    if (role === 'leader' && was !== 'leader') this.service.resetFailureDetection(this.env.clock.monotonicMs());
    if (role !== 'leader') this.batcher!.setActive(false);
  }

  // ------------------------------------------------------------------ what the router needs

  private facts(): RuntimeFacts {
    const quorum: QuorumInfo | undefined = this.role.role === 'leader' || this.role.role === 'peon'
      ? { quorumRanks: this.role.quorum, leaderRank: this.role.leader, electionEpoch: this.role.epoch }
      : undefined;
    return { wallMs: this.env.clock.wallMs(), monotonicMs: this.env.clock.monotonicMs(), quorum };
  }

  private routerHost(): RouterHost {
    return {
      entity: this.entity,
      log: this.log,
      service: this.service,
      feed: this.feed,
      running: () => this.statusValue === 'running',
      state: () => this.visibleState!,
      facts: () => this.facts(),
      role: () => this.role.role,
      leaderRank: () => this.role.leader,
      isActiveLeader: () => this.role.role === 'leader' && this.readable,
      readable: () => this.readable,
      submit: (change) => this.batcher!.submit(change),
      peers: () => this.peers!,
      quorumText: () => this.quorumText(),
    };
  }

  /** One line on why there is no quorum (the EAGAIN message clients see). */
  private quorumText(): string {
    const i = this.info();
    if (i.role === 'electing' || i.role === 'down') {
      const reachable = this.monmap.mons.filter((m) => m.rank === this.rank || this.peers?.reachable(m.rank)).map((m) => m.name);
      return `mon.${this.name}: no quorum (electing; reachable monitors: ${reachable.join(', ')} of ${this.monmap.mons.length}); retry later`;
    }
    const why = i.role === 'leader' ? 'leader still recovering (not active yet)' : `peon of mon.${i.leader ?? '?'} without a valid lease`;
    return `mon.${this.name}: ${why}, quorum ${i.quorum.join(',')}; retry`;
  }
}
