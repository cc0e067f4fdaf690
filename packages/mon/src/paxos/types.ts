/**
 * The vocabulary of the monitor consensus core: ranks, versions, proposal numbers, the messages
 * monitors exchange, the events a driver feeds in and the effects it must carry out.
 *
 * The core is a pure state machine (DESIGN §3): it never reads a clock, sets a real timer, touches
 * a socket or a disk. Everything it needs arrives as a `MonitorEvent`; everything it wants done
 * leaves as a `MonitorEffect`. See docs/paxos.md for the protocol and the driver contract.
 */

/** A monitor's position in the monmap, 0..monitorCount-1. Lower rank wins elections (Ceph classic). */
export type Rank = number;
/** A Paxos version (slot). Versions start at 1; `lastCommitted = 0` means nothing committed yet. */
export type Version = number;
/** A proposal number, `(n / 100 + 1) * 100 + rank` as in Ceph: unique per monitor, monotonic. */
export type ProposalNumber = number;
/** Election epoch: odd while an election runs, even while a quorum is stable (as in Ceph). */
export type ElectionEpoch = number;

/** An accepted but not (yet known to be) committed value: Ceph's pending_v / pending_pn. */
export interface PendingValue {
  version: Version;
  pn: ProposalNumber;
  value: Uint8Array;
}

/** An opaque snapshot of the service layer's state as of `version` (a full-state sync). */
export interface SnapshotPayload {
  version: Version;
  data: Uint8Array;
}

/**
 * Committed state shipped to a monitor that is behind: an optional snapshot, then the committed
 * values `firstVersion .. firstVersion + values.length - 1`. With a snapshot at s, firstVersion = s + 1.
 */
export interface SyncPayload {
  snapshot?: SnapshotPayload;
  firstVersion: Version;
  values: Uint8Array[];
}

export interface CommittedValue {
  version: Version;
  value: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Messages between monitors. Every message carries the sender's election epoch; Paxos messages
// are only honoured between members of the same stable quorum (same even epoch).

/** Election: "elect me" (sent by a candidate to every other monitor). */
export interface ProposeMessage { op: 'propose'; epoch: ElectionEpoch }
/** Election: "I defer to you" (sent to a lower-ranked candidate). */
export interface AckMessage { op: 'ack'; epoch: ElectionEpoch }
/**
 * Election: the candidate won; `quorum` lists the members (sorted ranks, leader included).
 * It carries the new leader's first collect, so a peon can never see the collect before it
 * knows the quorum (Ceph sends them separately and relies on ordered links).
 */
export interface VictoryMessage { op: 'victory'; epoch: ElectionEpoch; quorum: Rank[]; collect: CollectRequest }
/** The phase-1 request: the leader's proposal number and committed range. */
export interface CollectRequest { pn: ProposalNumber; firstCommitted: Version; lastCommitted: Version }
/** Phase 1a: the new leader asks for promises and for each peon's committed/uncommitted state. */
export interface CollectMessage {
  op: 'collect'; epoch: ElectionEpoch; pn: ProposalNumber;
  firstCommitted: Version; lastCommitted: Version;
}
/**
 * Phase 1b: a peon's promise (or refusal, when `acceptedPn > pn`), its committed range, the
 * uncommitted value at lastCommitted+1 if it holds one, and committed values the leader lacks.
 */
export interface LastMessage {
  op: 'last'; epoch: ElectionEpoch; pn: ProposalNumber; acceptedPn: ProposalNumber;
  firstCommitted: Version; lastCommitted: Version;
  pending?: PendingValue;
  sync?: SyncPayload;
}
/** Phase 2a: accept `value` as `version`. `lastCommitted` lets a peon learn a commit it missed. */
export interface BeginMessage {
  op: 'begin'; epoch: ElectionEpoch; pn: ProposalNumber; version: Version; value: Uint8Array;
  lastCommitted: Version;
}
/** Phase 2b: the peon has durably accepted `version` under `pn`. */
export interface AcceptMessage { op: 'accept'; epoch: ElectionEpoch; pn: ProposalNumber; version: Version }
/** Every quorum member accepted: `version` is committed. */
export interface CommitMessage {
  op: 'commit'; epoch: ElectionEpoch; pn: ProposalNumber; version: Version; value: Uint8Array;
}
/** Lease grant: the peon may serve reads for leaseMs of its own monotonic time. */
export interface LeaseMessage {
  op: 'lease'; epoch: ElectionEpoch; pn: ProposalNumber; lastCommitted: Version; leaseSeq: number;
}
export interface LeaseAckMessage { op: 'leaseAck'; epoch: ElectionEpoch; leaseSeq: number; lastCommitted: Version }
/** Leader → lagging peon: committed values (and a snapshot when the peon is behind trimmed history). */
export interface SyncMessage { op: 'sync'; epoch: ElectionEpoch; sync: SyncPayload }
export interface SyncAckMessage { op: 'syncAck'; epoch: ElectionEpoch; lastCommitted: Version }

export type ElectionMessage = ProposeMessage | AckMessage | VictoryMessage;
export type PaxosProtocolMessage =
  | CollectMessage | LastMessage | BeginMessage | AcceptMessage | CommitMessage
  | LeaseMessage | LeaseAckMessage | SyncMessage | SyncAckMessage;
export type PaxosMessage = ElectionMessage | PaxosProtocolMessage;
export type PaxosOp = PaxosMessage['op'];

// ---------------------------------------------------------------------------------------------
// Durable state

/** A value the driver stores under a key (encode with msgpackr; numbers, bytes or a pending record). */
export type StoreValue = number | Uint8Array | PendingValue;

export type StoreWrite =
  | { op: 'put'; key: string; value: StoreValue }
  | { op: 'del'; key: string };

/**
 * What the core needs back after a restart, rebuilt by the driver from the store
 * (`persistedStateFromEntries`). A fresh monitor starts from `emptyPersistedState()`.
 */
export interface PersistedState {
  electionEpoch: ElectionEpoch;
  lastPn: ProposalNumber;
  acceptedPn: ProposalNumber;
  firstCommitted: Version;
  lastCommitted: Version;
  /** Committed values firstCommitted..lastCommitted. */
  values: Map<Version, Uint8Array>;
  pending: PendingValue | undefined;
}

/**
 * Service-layer changes that belong in the same atomic store batch as a persist's `writes`:
 * first install `snapshot` (replacing the service state), then apply `commits` in order.
 * This is how Ceph keeps "value committed" and "service state updated" from tearing apart.
 */
export interface ServiceApply {
  snapshot?: SnapshotPayload;
  commits: CommittedValue[];
}

// ---------------------------------------------------------------------------------------------
// Timers

/**
 * The core's timers. At most one of each runs; setting one replaces it. Durations are local
 * monotonic milliseconds; no absolute time ever crosses the wire.
 */
export type TimerName =
  | 'election'          // election round: declare victory with a majority, or start over
  | 'leaderProgress'    // leader: collect / sync / accept must finish (Ceph's accept timeout)
  | 'leaderRetransmit'  // leader: resend what a silent quorum member has not answered yet
  | 'leaseRenew'        // leader: time to extend the lease
  | 'leaseAckTimeout'   // leader: a peon did not ack a lease in time → new election
  | 'leaseExpire'       // leader or peon: our read lease ran out → stop serving reads
  | 'peonLeaseTimeout'; // peon: no lease from the leader for too long → new election

// ---------------------------------------------------------------------------------------------
// Events in

export type MonitorEvent =
  /** Start (or restart) from what the store holds. Must be the first event, exactly once. */
  | { kind: 'boot'; persisted: PersistedState }
  | { kind: 'message'; from: Rank; message: PaxosMessage }
  /** A timer set by a `setTimer` effect fired. Stale tokens are ignored. */
  | { kind: 'timer'; timer: TimerName; token: number }
  /** Every persist up to and including `persistId` is durable (fsync'd). Report in order. */
  | { kind: 'persisted'; persistId: number }
  /** A client (service layer) wants `value` committed. `proposalId` is echoed in the outcome. */
  | { kind: 'propose'; proposalId: number; value: Uint8Array }
  /** Answer to `needSnapshot`: the service state as of `version`. */
  | { kind: 'snapshotReady'; requestId: number; version: Version; snapshot: Uint8Array };

// ---------------------------------------------------------------------------------------------
// Effects out

export type MonitorRole = 'down' | 'electing' | 'leader' | 'peon';

/** Why a proposal did not commit (yet). */
export type ProposalFailure = 'notLeader' | 'queueFull' | 'tooLarge' | 'leadershipLost';

export type MonitorEffect =
  | { kind: 'send'; to: Rank; message: PaxosMessage }
  /**
   * Write `writes` plus the service's translation of `apply` in ONE atomic, synced batch, in the
   * order persists are emitted, then feed back `{ kind: 'persisted', persistId }`.
   */
  | { kind: 'persist'; persistId: number; writes: StoreWrite[]; apply: ServiceApply | undefined }
  | { kind: 'setTimer'; timer: TimerName; token: number; delayMs: number }
  | { kind: 'cancelTimer'; timer: TimerName }
  /** The service layer must produce a snapshot and answer with `snapshotReady`. */
  | { kind: 'needSnapshot'; requestId: number }
  /** `version` is durably committed on this monitor (released after the persist). */
  | { kind: 'committed'; version: Version; value: Uint8Array }
  /** A full-state sync was durably installed: the service state now stands at `version`. */
  | { kind: 'snapshotInstalled'; version: Version }
  | { kind: 'proposalCommitted'; proposalId: number; version: Version }
  /**
   * `outcome: 'notCommitted'` — the value never left this monitor; safe to retry.
   * `outcome: 'unknown'` — it was in flight; a later leader may still commit it (like a Jepsen `info`).
   */
  | { kind: 'proposalFailed'; proposalId: number; outcome: 'notCommitted' | 'unknown'; reason: ProposalFailure; leader: Rank | undefined }
  /** Whether this monitor may serve reads of its committed state (lease held, nothing in flight). */
  | { kind: 'readable'; readable: boolean; lastCommitted: Version }
  | { kind: 'role'; role: MonitorRole; epoch: ElectionEpoch; leader: Rank | undefined; quorum: Rank[] }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn'; message: string; fields?: Record<string, number | string> };

export type MonitorEffectKind = MonitorEffect['kind'];
