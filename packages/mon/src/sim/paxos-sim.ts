/**
 * A seeded, discrete-event simulation of a monitor cluster (FoundationDB-style, DESIGN §3):
 * N MonitorCores in one process, virtual time, a network that drops, duplicates, delays,
 * reorders and partitions messages, disks that complete fsyncs in order after a random latency,
 * and crashes that lose everything not yet durable. Messages and store values go through
 * msgpackr, as they will in the daemon. One seed ⇒ one execution.
 *
 * Crash model: a crash loses all memory, timers and messages the monitor had not sent. Of the
 * persists it issued but were not yet acknowledged, a random PREFIX survives (a real store may
 * have finished some writes before the power went; being sequential, it cannot finish a later
 * write and lose an earlier one). Everything acknowledged as durable survives.
 *
 * The service on top is a toy: its state is the list of all committed values, so a snapshot is
 * the whole history and every check can compare complete histories.
 *
 * Invariants checked as the run goes (violations throw SimInvariantError, seed in the message):
 *  - Paxos: once a majority has durably accepted (version, pn, value), that value is chosen for
 *    the version, whether or not anyone learns it; no other value may ever be chosen or applied
 *    there, and no proposal number is ever used for two values at one version;
 *  - agreement: no two monitors ever apply different values for one version;
 *  - contiguity: each monitor's committed notifications run v, v+1, … (a snapshot jumps ahead);
 *  - durability: after a restart a monitor still holds every version it reported committed;
 *  - a proposal reported committed at v has its own value at v;
 *  - leases: when a leader reports version v committed, no peon of its term is readable below v
 *    (peons drop the lease when they accept, and the leader commits only after every accept);
 *  - no message storms: messages sent stay under MESSAGES_PER_MONITOR_SECOND_MAX on average
 *    (a reply that can trigger more than one request, fed by duplicates, grows exponentially).
 */
import { Packr } from 'msgpackr';
import { AssertionFailure, Prng } from '@nacre/util';
import { MonitorCore } from '../paxos/monitor-core.js';
import type { MonitorStatus } from '../paxos/monitor-core.js';
import type { MonitorCoreOptions } from '../paxos/config.js';
import { bytesEqual } from '../paxos/paxos-log.js';
import { persistedStateFromEntries, STORE_KEYS } from '../paxos/store-layout.js';
import type {
  MonitorEffect, MonitorEvent, MonitorRole, PaxosMessage, PendingValue, Rank, ServiceApply, StoreValue, StoreWrite, TimerName, Version,
} from '../paxos/types.js';
import { EventQueue } from './event-queue.js';

export class SimInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimInvariantError';
  }
}

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** One-way delay, uniform in [delayMsMin, delayMsMax]; different delays reorder messages. */
  delayMsMin: number;
  delayMsMax: number;
}

export interface PaxosSimOptions {
  monitorCount: number;
  seed: number;
  /** Core options for every monitor (rank and monitorCount are filled in). */
  core?: Omit<MonitorCoreOptions, 'rank' | 'monitorCount'>;
  network?: Partial<NetworkFaults>;
  diskLatencyMsMin?: number;
  diskLatencyMsMax?: number;
  /** How long the service takes to produce a snapshot. */
  snapshotLatencyMs?: number;
  /** Encode messages with msgpackr on the way (default true). */
  wire?: boolean;
}

/** Timings the simulator uses unless told otherwise: Ceph's ratios, scaled down 5×. */
export const SIM_CORE_DEFAULTS = {
  leaseMs: 1000,
  electionTimeoutMs: 1000,
} as const;

export interface ProposalRecord {
  proposalId: number;
  rank: Rank;
  value: Uint8Array;
  submittedAtMs: number;
  outcome: 'pending' | 'committed' | 'notCommitted' | 'unknown';
  version?: Version;
  doneAtMs?: number;
}

interface PersistRecord { persistId: number; writes: StoreWrite[]; apply: ServiceApply | undefined }

interface SimMonitor {
  rank: Rank;
  core: MonitorCore | undefined;
  incarnation: number;
  disk: Map<string, Uint8Array>;
  inflight: PersistRecord[];
  diskFreeAtMs: number;
  serviceDurable: Uint8Array[];
  serviceMemory: Uint8Array[];
  /** Last version this incarnation reported committed (contiguity check). */
  reportedLc: Version;
  /** Highest version ever reported committed, across incarnations (durability check). */
  reportedMax: Version;
  role: MonitorRole;
  leader: Rank | undefined;
  epoch: number;
  readable: boolean;
}

type SimEvent =
  | { kind: 'deliver'; from: Rank; to: Rank; payload: PaxosMessage | Uint8Array }
  | { kind: 'timer'; rank: Rank; incarnation: number; timer: TimerName; token: number }
  | { kind: 'disk'; rank: Rank; incarnation: number; persistId: number }
  | { kind: 'snapshot'; rank: Rank; incarnation: number; requestId: number }
  | { kind: 'action'; run: () => void };

export interface SimStats {
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  persists: number;
  crashes: number;
  leaderTerms: number;
  snapshotsInstalled: number;
  eventsProcessed: number;
}

/**
 * Average message rate bound, per monitor and virtual second, since the run began. Normal
 * traffic (a few messages per commit per peer, clients proposing at most every 20 ms) stays far below.
 */
export const MESSAGES_PER_MONITOR_SECOND_MAX = 1000;

/** Simulation step budget per run; far above any run we do, so a livelock fails loudly. */
export const SIM_EVENTS_PER_RUN_MAX = 20_000_000;

const wire = new Packr({ useRecords: false });

export class PaxosSim {
  readonly monitorCount: number;
  readonly seed: number;
  readonly rng: Prng;
  nowMs = 0;
  /** version → the one value any monitor ever applied for it. */
  readonly chosen = new Map<Version, Uint8Array>();
  /** version → value, for commits a client could have seen (a monitor reported them durable). */
  readonly seen = new Map<Version, Uint8Array>();
  readonly proposals = new Map<number, ProposalRecord>();
  readonly stats: SimStats = {
    messagesSent: 0, messagesDropped: 0, messagesDuplicated: 0, persists: 0, crashes: 0,
    leaderTerms: 0, snapshotsInstalled: 0, eventsProcessed: 0,
  };
  /** Return true to drop a message (scripted tests). */
  dropIf: ((from: Rank, to: Rank, message: PaxosMessage) => boolean) | undefined;
  /** Observe every effect a monitor emits (tests). */
  onEffect: ((rank: Rank, effect: MonitorEffect, nowMs: number) => void) | undefined;

  private readonly acceptances = new Map<string, { value: Uint8Array; acceptors: Set<Rank> }>();
  private readonly queue = new EventQueue<SimEvent>();
  private readonly monitors: SimMonitor[] = [];
  private readonly blocked = new Set<number>();
  private faults: NetworkFaults;
  private readonly options: PaxosSimOptions;
  private proposalIdNext = 1;
  private traceHash = 0x811c9dc5;

  constructor(options: PaxosSimOptions) {
    this.options = options;
    this.monitorCount = options.monitorCount;
    this.seed = options.seed;
    this.rng = new Prng(options.seed);
    this.faults = { dropRate: 0, duplicateRate: 0, delayMsMin: 1, delayMsMax: 10, ...options.network };
    for (let rank = 0; rank < options.monitorCount; rank++) {
      this.monitors.push({
        rank, core: undefined, incarnation: 0, disk: new Map(), inflight: [], diskFreeAtMs: 0,
        serviceDurable: [], serviceMemory: [], reportedLc: 0, reportedMax: 0,
        role: 'down', leader: undefined, epoch: 0, readable: false,
      });
    }
  }

  /** A 32-bit digest of everything that happened; equal seeds must give equal digests. */
  get trace(): number {
    return this.traceHash >>> 0;
  }

  // --- control -------------------------------------------------------------------------------

  startAll(): void {
    for (const m of this.monitors) if (m.core === undefined) this.restart(m.rank);
  }

  isUp(rank: Rank): boolean {
    return this.monitors[rank]!.core !== undefined;
  }

  status(rank: Rank): MonitorStatus | undefined {
    return this.monitors[rank]!.core?.status();
  }

  /** The durable service history of a monitor (what survives a crash). */
  serviceLog(rank: Rank): readonly Uint8Array[] {
    return this.monitors[rank]!.serviceDurable;
  }

  /** Ranks that currently believe they lead (as announced to their service layer). */
  leaders(): Rank[] {
    return this.monitors.filter((m) => m.core !== undefined && m.role === 'leader').map((m) => m.rank);
  }

  readable(rank: Rank): boolean {
    return this.monitors[rank]!.core !== undefined && this.monitors[rank]!.readable;
  }

  setFaults(f: Partial<NetworkFaults>): void {
    this.faults = { ...this.faults, ...f };
  }

  /** Cut all links between the groups (monitors in no group keep their links). */
  partition(groups: readonly (readonly Rank[])[]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]!) for (const b of groups[j]!) this.blocked.add(a * this.monitorCount + b);
      }
    }
  }

  isolate(rank: Rank): void {
    const others = this.monitors.map((m) => m.rank).filter((r) => r !== rank);
    this.partition([[rank], others]);
  }

  /** Drop everything from `from` to `to` (one direction only). */
  block(from: Rank, to: Rank): void {
    this.blocked.add(from * this.monitorCount + to);
  }

  healNetwork(): void {
    this.blocked.clear();
  }

  /** Crash a monitor. `unacked`: how many of its not-yet-acknowledged persists survive. */
  crash(rank: Rank, unacked: 'random' | 'none' | 'all' = 'random'): void {
    const m = this.monitors[rank]!;
    if (m.core === undefined) return;
    const n = m.inflight.length;
    const keep = unacked === 'all' ? n : unacked === 'none' ? 0 : this.rng.int(0, n);
    for (const rec of m.inflight.slice(0, keep)) this.makeDurable(m, rec);
    m.inflight = [];
    m.core = undefined;
    m.incarnation++;
    m.role = 'down';
    m.leader = undefined;
    m.readable = false;
    m.serviceMemory = [];
    // Its clients lose the connection: they cannot tell whether their proposals committed.
    for (const p of this.proposals.values()) {
      if (p.rank === rank && p.outcome === 'pending') {
        p.outcome = 'unknown';
        p.doneAtMs = this.nowMs;
      }
    }
    this.stats.crashes++;
    this.mix(9, rank);
  }

  /** Start (or restart) a monitor from what its disk holds. */
  restart(rank: Rank): void {
    const m = this.monitors[rank]!;
    if (m.core !== undefined) return;
    const entries: Array<[string, StoreValue]> = [];
    for (const [key, bytes] of m.disk) entries.push([key, wire.unpack(bytes) as StoreValue]);
    const persisted = persistedStateFromEntries(entries);
    this.check(persisted.lastCommitted === m.serviceDurable.length,
      () => `rank ${rank}: store last_committed ${persisted.lastCommitted} but service holds ${m.serviceDurable.length}`);
    this.check(persisted.lastCommitted >= m.reportedMax,
      () => `rank ${rank} lost committed version ${m.reportedMax} across a restart (has ${persisted.lastCommitted})`);
    m.core = new MonitorCore({ ...SIM_CORE_DEFAULTS, ...this.options.core, rank, monitorCount: this.monitorCount });
    m.serviceMemory = m.serviceDurable.slice();
    m.reportedLc = persisted.lastCommitted;
    m.diskFreeAtMs = this.nowMs;
    this.feed(m, { kind: 'boot', persisted });
  }

  /** Submit a client proposal to `rank`. */
  propose(rank: Rank, value?: Uint8Array): ProposalRecord {
    const proposalId = this.proposalIdNext++;
    const v = value ?? new TextEncoder().encode(`p${proposalId}`);
    const rec: ProposalRecord = { proposalId, rank, value: v, submittedAtMs: this.nowMs, outcome: 'pending' };
    this.proposals.set(proposalId, rec);
    const m = this.monitors[rank]!;
    if (m.core === undefined) rec.outcome = 'notCommitted';
    else this.feed(m, { kind: 'propose', proposalId, value: v });
    return rec;
  }

  /** Run `fn` at virtual time `atMs` (scripted faults, client traffic). */
  at(atMs: number, fn: () => void): void {
    this.queue.push(Math.max(atMs, this.nowMs), { kind: 'action', run: fn });
  }

  runFor(durationMs: number): void {
    this.runUntilTime(this.nowMs + durationMs);
  }

  runUntilTime(endMs: number): void {
    for (;;) {
      const t = this.queue.peekTime();
      if (t === undefined || t > endMs) break;
      this.step();
    }
    this.nowMs = Math.max(this.nowMs, endMs);
  }

  /** Run until `done()` holds (checked after every event) or `maxMs` passes; returns done(). */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const endMs = this.nowMs + maxMs;
    if (done()) return true;
    for (;;) {
      const t = this.queue.peekTime();
      if (t === undefined || t > endMs) break;
      this.step();
      if (done()) return true;
    }
    this.nowMs = Math.max(this.nowMs, endMs);
    return done();
  }

  // --- the event loop ------------------------------------------------------------------------

  private step(): void {
    const next = this.queue.pop()!;
    this.nowMs = next.atMs;
    this.stats.eventsProcessed++;
    this.check(this.stats.eventsProcessed <= SIM_EVENTS_PER_RUN_MAX, () => 'simulation event budget exceeded');
    const e = next.item;
    switch (e.kind) {
      case 'action': e.run(); return;
      case 'deliver': this.deliver(e.from, e.to, e.payload); return;
      case 'timer': {
        const m = this.monitors[e.rank]!;
        if (m.incarnation === e.incarnation && m.core !== undefined) this.feed(m, { kind: 'timer', timer: e.timer, token: e.token });
        return;
      }
      case 'disk': this.diskDone(e.rank, e.incarnation, e.persistId); return;
      case 'snapshot': this.snapshotDone(e.rank, e.incarnation, e.requestId); return;
    }
  }

  private deliver(from: Rank, to: Rank, payload: PaxosMessage | Uint8Array): void {
    const m = this.monitors[to]!;
    // A partition also cuts what is already on the wire.
    if (m.core === undefined || this.blocked.has(from * this.monitorCount + to)) {
      this.stats.messagesDropped++;
      return;
    }
    const message = payload instanceof Uint8Array ? wire.unpack(payload) as PaxosMessage : payload;
    this.mix(1, from * 31 + to, message.op.length);
    this.feed(m, { kind: 'message', from, message });
  }

  private diskDone(rank: Rank, incarnation: number, persistId: number): void {
    const m = this.monitors[rank]!;
    if (m.incarnation !== incarnation || m.core === undefined) return;
    const rec = m.inflight.shift();
    this.check(rec !== undefined && rec.persistId === persistId, () => `rank ${rank}: disk completions out of order`);
    this.makeDurable(m, rec!);
    this.feed(m, { kind: 'persisted', persistId });
  }

  private snapshotDone(rank: Rank, incarnation: number, requestId: number): void {
    const m = this.monitors[rank]!;
    if (m.incarnation !== incarnation || m.core === undefined) return;
    const snapshot = wire.pack(m.serviceMemory);
    this.feed(m, { kind: 'snapshotReady', requestId, version: m.serviceMemory.length, snapshot });
  }

  private feed(m: SimMonitor, event: MonitorEvent): void {
    let effects: MonitorEffect[];
    try {
      effects = m.core!.handle(event);
    } catch (err) {
      if (err instanceof AssertionFailure) {
        throw new SimInvariantError(`rank ${m.rank} asserted at ${this.nowMs} ms (seed ${this.seed}): ${err.message}`);
      }
      throw err;
    }
    for (const e of effects) this.execute(m, e);
  }

  private execute(m: SimMonitor, e: MonitorEffect): void {
    this.onEffect?.(m.rank, e, this.nowMs);
    switch (e.kind) {
      case 'send': this.send(m.rank, e.to, e.message); return;
      case 'persist': this.persist(m, { persistId: e.persistId, writes: e.writes, apply: e.apply }); return;
      case 'setTimer':
        this.queue.push(this.nowMs + e.delayMs, { kind: 'timer', rank: m.rank, incarnation: m.incarnation, timer: e.timer, token: e.token });
        return;
      case 'cancelTimer': return; // tokens make stale firings harmless
      case 'needSnapshot':
        this.queue.push(this.nowMs + (this.options.snapshotLatencyMs ?? 2),
          { kind: 'snapshot', rank: m.rank, incarnation: m.incarnation, requestId: e.requestId });
        return;
      case 'committed': this.onCommitted(m, e.version, e.value); return;
      case 'snapshotInstalled':
        this.check(e.version > m.reportedLc, () => `rank ${m.rank}: snapshot ${e.version} does not move past ${m.reportedLc}`);
        m.reportedLc = e.version;
        m.reportedMax = Math.max(m.reportedMax, e.version);
        this.stats.snapshotsInstalled++;
        return;
      case 'proposalCommitted': this.onProposalCommitted(m, e.proposalId, e.version); return;
      case 'proposalFailed': {
        const rec = this.proposals.get(e.proposalId);
        if (rec !== undefined && rec.outcome === 'pending') {
          rec.outcome = e.outcome;
          rec.doneAtMs = this.nowMs;
        }
        return;
      }
      case 'readable': m.readable = e.readable; return;
      case 'role':
        m.role = e.role;
        m.leader = e.leader;
        m.epoch = e.epoch;
        if (e.role === 'leader') this.stats.leaderTerms++;
        this.mix(7, m.rank, e.epoch);
        return;
      case 'log': return;
    }
  }

  private send(from: Rank, to: Rank, message: PaxosMessage): void {
    this.stats.messagesSent++;
    this.check(this.stats.messagesSent <= (this.nowMs / 1000 + 1) * this.monitorCount * MESSAGES_PER_MONITOR_SECOND_MAX,
      () => `STORM: ${this.stats.messagesSent} messages in ${this.nowMs.toFixed(0)} ms (last: ${message.op} ${from}→${to})`);
    if (this.blocked.has(from * this.monitorCount + to) || this.dropIf?.(from, to, message) === true
      || this.rng.next() < this.faults.dropRate) {
      this.stats.messagesDropped++;
      return;
    }
    const payload = this.options.wire === false ? message : wire.pack(message);
    const copies = this.rng.next() < this.faults.duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.messagesDuplicated++;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.faults.delayMsMin + this.rng.next() * (this.faults.delayMsMax - this.faults.delayMsMin);
      this.queue.push(this.nowMs + delayMs, { kind: 'deliver', from, to, payload });
    }
  }

  private persist(m: SimMonitor, rec: PersistRecord): void {
    this.stats.persists++;
    // The service's in-memory state follows at once (the daemon applies it while building the batch).
    if (rec.apply !== undefined) m.serviceMemory = this.applyService(m.rank, m.serviceMemory, rec.apply, this.monitorCount > 1);
    m.inflight.push(rec);
    const lo = this.options.diskLatencyMsMin ?? 0.2;
    const hi = this.options.diskLatencyMsMax ?? 3;
    m.diskFreeAtMs = Math.max(m.diskFreeAtMs, this.nowMs) + lo + this.rng.next() * (hi - lo);
    this.queue.push(m.diskFreeAtMs, { kind: 'disk', rank: m.rank, incarnation: m.incarnation, persistId: rec.persistId });
  }

  private makeDurable(m: SimMonitor, rec: PersistRecord): void {
    for (const w of rec.writes) {
      if (w.op === 'put') m.disk.set(w.key, wire.pack(w.value));
      else m.disk.delete(w.key);
      if (w.op === 'put' && w.key === STORE_KEYS.pending) this.accepted(m.rank, w.value as PendingValue);
    }
    if (rec.apply !== undefined) m.serviceDurable = this.applyService(m.rank, m.serviceDurable, rec.apply, true);
  }

  /**
   * Apply a service change to a history, checking agreement with every other monitor. With more
   * than one monitor, even a not-yet-durable commit must be a chosen value: the core commits
   * only what a majority durably accepted (or what a peer already committed).
   */
  private applyService(rank: Rank, log: Uint8Array[], apply: ServiceApply, checkAgreement: boolean): Uint8Array[] {
    let out = log; // appended in place; a snapshot replaces it
    if (apply.snapshot !== undefined) {
      out = wire.unpack(apply.snapshot.data) as Uint8Array[];
      this.check(out.length === apply.snapshot.version, () => `rank ${rank}: snapshot length mismatch`);
      if (checkAgreement) out.forEach((value, i) => this.agree(rank, i + 1, value));
    }
    for (const c of apply.commits) {
      this.check(c.version === out.length + 1, () => `rank ${rank}: commit ${c.version} applied after ${out.length}`);
      out.push(c.value);
      if (checkAgreement) this.agree(rank, c.version, c.value);
    }
    return out;
  }

  /** A durable phase-2 acceptance: count it towards the value being chosen (white-box check). */
  private accepted(rank: Rank, p: PendingValue): void {
    const key = `${p.version}/${p.pn}`;
    let a = this.acceptances.get(key);
    if (a === undefined) {
      a = { value: p.value, acceptors: new Set() };
      this.acceptances.set(key, a);
    }
    this.check(bytesEqual(a.value, p.value), () => `PAXOS: proposal number ${p.pn} carried two values for version ${p.version}`);
    a.acceptors.add(rank);
    if (a.acceptors.size === Math.floor(this.monitorCount / 2) + 1) this.agree(rank, p.version, p.value);
  }

  private agree(rank: Rank, version: Version, value: Uint8Array): void {
    const prior = this.chosen.get(version);
    if (prior === undefined) {
      this.chosen.set(version, value);
      return;
    }
    this.check(bytesEqual(prior, value), () => `AGREEMENT: rank ${rank} applied ${show(value)} as version ${version}, `
      + `but ${show(prior)} was applied elsewhere`);
  }

  private onCommitted(m: SimMonitor, version: Version, value: Uint8Array): void {
    this.check(version === m.reportedLc + 1, () => `rank ${m.rank}: committed ${version} after ${m.reportedLc} (not contiguous)`);
    m.reportedLc = version;
    m.reportedMax = Math.max(m.reportedMax, version);
    this.agree(m.rank, version, value);
    this.seen.set(version, value);
    if (m.role === 'leader') this.checkLeases(m, version);
    this.mix(3, m.rank, version);
  }

  private checkLeases(leader: SimMonitor, version: Version): void {
    for (const p of this.monitors) {
      if (p === leader || p.core === undefined || p.role !== 'peon' || p.epoch !== leader.epoch || !p.readable) continue;
      this.check(p.reportedLc >= version, () => `LEASE: rank ${p.rank} readable at version ${p.reportedLc} `
        + `while its leader ${leader.rank} committed ${version} in epoch ${leader.epoch}`);
    }
  }

  private onProposalCommitted(m: SimMonitor, proposalId: number, version: Version): void {
    const rec = this.proposals.get(proposalId);
    this.check(rec !== undefined, () => `rank ${m.rank}: unknown proposal ${proposalId} committed`);
    const chosen = this.chosen.get(version);
    this.check(chosen !== undefined && bytesEqual(chosen, rec!.value),
      () => `rank ${m.rank}: proposal ${proposalId} reported committed at ${version}, which holds something else`);
    this.check(rec!.outcome === 'pending', () => `proposal ${proposalId} finished twice`);
    rec!.outcome = 'committed';
    rec!.version = version;
    rec!.doneAtMs = this.nowMs;
  }

  check(condition: boolean, message: () => string): asserts condition {
    if (!condition) throw new SimInvariantError(`${message()} [at ${this.nowMs.toFixed(1)} ms, seed ${this.seed}]`);
  }

  private mix(...xs: number[]): void {
    let h = this.traceHash;
    for (const x of xs) {
      h ^= (x | 0) ^ Math.floor(this.nowMs * 1000);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    this.traceHash = h;
  }
}

function show(v: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(v));
}
