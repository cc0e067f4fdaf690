/**
 * What the driver needs from the monitor service layer (packages/mon/src/services), as one small
 * interface. The driver never looks inside MonState except through these calls and the OSDMap
 * feed; `service-adapter.ts` implements the port with the service layer's functions, and a test
 * may substitute its own.
 *
 * The split of work:
 *  - the driver owns durability, ordering, Paxos, forwarding, batching and replies;
 *  - the service layer owns meaning: what a committed value does to the state, what a command
 *    answers or changes, what an OSD boot or failure report changes.
 */
import type { EntityName, MonCommand, MonCommandReply, OsdFailure, PgStatsReport } from '@nacre/proto';
import type { NacreError } from '@nacre/util';
import type { ChangeOutcome, PendingChange as ServiceChange } from '../services/batch.js';
import type { BootstrapOptions } from '../services/bootstrap.js';
import type { MonState } from '../services/mon-state.js';
import type { QuorumInfo } from '../services/quorum.js';

export type { ChangeOutcome, ServiceChange };

/** Facts about the running monitor the service shows but does not own. */
export interface RuntimeFacts {
  wallMs: number;
  monotonicMs: number;
  quorum: QuorumInfo | undefined;
}

/** One proposal built from a batch of changes (services/batch.ts `buildProposal`). */
export interface BuiltProposal {
  /** The Paxos value; undefined when nothing changed (answer the outcomes at once). */
  value: Uint8Array | undefined;
  /** One per change, in order. */
  outcomes: ChangeOutcome[];
}

export type CommandKind = 'read' | 'write';

export interface ServicePort {
  /** Apply committed value `version` (never throws on a bad value: it is skipped alike everywhere). */
  applyCommitted(state: MonState, version: number, value: Uint8Array): { state: MonState; rejected?: NacreError };
  installSnapshot(version: number, data: Uint8Array): MonState;
  encodeSnapshot(state: MonState): Uint8Array;
  /** The value that creates the cluster (Paxos version 1). */
  bootstrapValue(opts: BootstrapOptions): Uint8Array;

  /** Is `prefix` a read-only or a mutating command? undefined: unknown command. */
  commandKind(prefix: string): CommandKind | undefined;
  /** A read-only command against committed state. Throws NacreError on bad input. */
  runRead(state: MonState, entity: EntityName, cmd: MonCommand, facts: RuntimeFacts): MonCommandReply;
  /** Fold changes into one proposal on the committed state (leader only). */
  buildProposal(state: MonState, changes: readonly ServiceChange[], facts: RuntimeFacts): BuiltProposal;

  /** Leader-local failure detection input. */
  beacon(state: MonState, osd: number, epoch: number, nowMs: number): void;
  failureReport(state: MonState, reporter: EntityName, report: OsdFailure, nowMs: number): void;
  /** The failure decisions due now (mark down / out), as a change for the next proposal. */
  failureChange(state: MonState, nowMs: number): ServiceChange | undefined;
  /** The leader changed: failure detection restarts its clocks from `nowMs`. */
  resetFailureDetection(nowMs: number): void;

  /** PG statistics (every monitor aggregates what it receives). */
  pgStats(report: PgStatsReport, nowMs: number): void;
}
