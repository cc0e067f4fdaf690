/**
 * Batching (Ceph's PaxosService): the leader queues changes — commands, OSD boots and reports,
 * failure decisions — and, one proposal at a time, folds up to `changesPerProposalMax` of them
 * into one StateTransaction with `buildProposal`. Each change is applied to a Draft in queue
 * order and sees the changes before it; a change that fails gets its error and leaves the draft
 * as it was, so one bad command never spoils its batch. The proposal's bytes are checked by
 * applying them to the committed state exactly as every monitor will, before they are proposed.
 *
 * Driver loop (leader only; see docs/mon-services.md):
 *   queue changes → when no proposal is in flight: [tick → queue], take a batch, buildProposal →
 *   no txn: answer at once | txn: propose `value`; on commit answer the outcomes (and re-queue
 *   `retry` ones first); on failure answer EAGAIN.
 */
import type { MonCommand, MonCommandReply, OsdBoot, PgTempRequest } from '@nacre/proto';
import { AssertionFailure, NacreError } from '@nacre/util';
import { CrushError } from '@nacre/crush';
import { isReadOnlyCommand, runWriteCommand } from './commands.js';
import { Draft, type ServiceContext } from './draft.js';
import { draftMismatch } from './draft-check.js';
import { changesPerProposalMax, commandLogTextBytesMax, pendingChangesMax } from './limits.js';
import { commandKey, isEmptyMonState, type MonState } from './mon-state.js';
import {
  applyFailureMarks, applyOsdAlive, applyOsdBoot, applyOsdPgTemp, cleanPgTemps, type FailureMark,
} from './osd-reports.js';
import { applyTransaction, decodeTransaction, encodeTransaction, type StateTransaction } from './transaction.js';

export type PendingChange =
  /** `entity` (the sender) with `command.cmdId` makes a retried command return its first result. */
  | { kind: 'command'; command: MonCommand; entity?: string }
  | { kind: 'osdBoot'; boot: OsdBoot }
  | { kind: 'osdAlive'; osd: number; upThru: number }
  | { kind: 'osdPgTemp'; osd?: number; request: PgTempRequest }
  | { kind: 'failures'; down: FailureMark[]; out: number[] };

export type ChangeOutcome =
  /** `epoch`: the OSDMap epoch the change is visible in once the proposal commits (boot/alive/pg_temp replies). */
  | { status: 'ok'; reply: MonCommandReply; epoch: number }
  | { status: 'error'; error: NacreError }
  /** Part of the change is in this proposal; queue the same change again for the next one. */
  | { status: 'retry' };

export interface Proposal {
  /** Undefined when nothing changed: answer the outcomes at once, propose nothing. */
  txn: StateTransaction | undefined;
  /** The encoded transaction: the Paxos value to propose. */
  value: Buffer | undefined;
  /** One per change, in order. */
  outcomes: ChangeOutcome[];
  /** The state every monitor will have after committing `value` (the base state when no txn). */
  next: MonState;
}

function asNacreError(err: unknown): NacreError {
  if (err instanceof NacreError) return err;
  if (err instanceof CrushError) return new NacreError(err.message, { code: 'EINVAL', cause: err });
  throw err; // a bug (TypeError, AssertionFailure): never turned into a reply
}

function textForLog(reply: MonCommandReply): MonCommandReply {
  if (Buffer.byteLength(reply.text) <= commandLogTextBytesMax) return reply;
  return { data: reply.data, text: `${Buffer.from(reply.text).subarray(0, commandLogTextBytesMax - 16).toString()} …(cut)` };
}

function applyCommand(draft: Draft, change: Extract<PendingChange, { kind: 'command' }>): MonCommandReply {
  const { command, entity } = change;
  const key = entity !== undefined && command.cmdId !== undefined ? commandKey(entity, command.cmdId) : undefined;
  if (key !== undefined) {
    const done = draft.state.commandLog.get(key);
    if (done !== undefined) return done.reply;
  }
  const before = draft.state;
  const reply = runWriteCommand(draft, command);
  if (key !== undefined && draft.state !== before && !isReadOnlyCommand(command.prefix)) {
    draft.record({ entity: entity!, cmdId: command.cmdId!, reply: textForLog(reply) });
  }
  return reply;
}

/** Apply one change to the draft. Returns the outcome without the final epoch filled in. */
function applyChange(draft: Draft, change: PendingChange): { reply: MonCommandReply; epoch?: number } | 'retry' {
  switch (change.kind) {
    case 'command':
      return { reply: applyCommand(draft, change) };
    case 'osdBoot': {
      const r = applyOsdBoot(draft, change.boot);
      if (r.retry) return 'retry';
      return { reply: { data: { epoch: r.epoch }, text: `osd.${change.boot.osd} up in epoch ${r.epoch}` }, epoch: r.epoch };
    }
    case 'osdAlive': {
      const r = applyOsdAlive(draft, change.osd, change.upThru);
      return { reply: { data: r, text: `osd.${change.osd} up_thru ${change.upThru}` }, epoch: r.epoch };
    }
    case 'osdPgTemp': {
      const r = applyOsdPgTemp(draft, change.request);
      return { reply: { data: r, text: `pg_temp updated in epoch ${r.epoch}` }, epoch: r.epoch };
    }
    case 'failures': {
      const r = applyFailureMarks(draft, change.down, change.out);
      return { reply: { data: r, text: `marked down [${r.down.join(',')}], out [${r.out.join(',')}]` } };
    }
  }
}

function runChanges(draft: Draft, changes: readonly PendingChange[], verifyEach: boolean): (ChangeOutcome | { status: 'ok'; reply: MonCommandReply; epoch?: number })[] {
  return changes.map((change) => {
    const before = draft.state;
    try {
      const r = applyChange(draft, change);
      if (verifyEach) verify(draft);
      return r === 'retry' ? { status: 'retry' as const } : { status: 'ok' as const, reply: r.reply, ...(r.epoch !== undefined ? { epoch: r.epoch } : {}) };
    } catch (err) {
      draft.state = before;
      return { status: 'error' as const, error: asNacreError(err) };
    }
  });
}

/** Check that the draft's transaction applies and reproduces the draft; throws if not. */
function verify(draft: Draft): void {
  const txn = draft.transaction();
  if (txn === undefined) return;
  const next = applyTransaction(draft.base, decodeTransaction(encodeTransaction(txn)));
  const problem = draftMismatch(draft.state, next);
  if (problem !== undefined) throw mismatchError(problem);
}

function mismatchError(problem: string): NacreError {
  return new NacreError(`internal error: the transaction would not reproduce the change (${problem} differs)`, { code: 'EIO' });
}

/**
 * Fold `changes` (at most changesPerProposalMax) into one proposal on top of the committed
 * `state`. Pure apart from `ctx.newKey` (auth keys).
 */
export function buildProposal(state: MonState, changes: readonly PendingChange[], ctx: ServiceContext): Proposal {
  if (changes.length > changesPerProposalMax) {
    throw new NacreError(`at most ${changesPerProposalMax} changes per proposal, got ${changes.length}`, { code: 'EINVAL' });
  }
  if (isEmptyMonState(state)) {
    // Before the initial state commits there is nothing to change (the leader proposes it first).
    const error = new NacreError('the cluster is still being created; try again shortly', { code: 'EAGAIN' });
    return { txn: undefined, value: undefined, outcomes: changes.map(() => ({ status: 'error', error })), next: state };
  }
  let draft = new Draft(state, ctx);
  let results = runChanges(draft, changes, false);
  let built = finish(draft);
  if (built instanceof NacreError) {
    // Slow path, only if some change produced a draft that does not apply or is not reproduced
    // by its transaction (a bug): redo the batch checking after each change, so the offending
    // change alone fails (EIO/EINVAL to its sender) instead of the leader crashing on every retry.
    draft = new Draft(state, ctx);
    results = runChanges(draft, changes, true);
    built = finish(draft);
    if (built instanceof NacreError) throw new AssertionFailure(`proposal does not apply even change by change: ${built.message}`);
  }
  const { txn, value, next } = built;
  const outcomes: ChangeOutcome[] = results.map((r) => (r.status === 'ok' ? { status: 'ok', reply: r.reply, epoch: r.epoch ?? next.osdmap.epoch } : r));
  return { txn, value, outcomes, next };
}

function finish(draft: Draft): { txn: StateTransaction | undefined; value: Buffer | undefined; next: MonState } | NacreError {
  if (draft.map !== draft.base.osdmap && draft.map.pgTemp.size > 0) cleanPgTemps(draft);
  const txn = draft.transaction();
  if (txn === undefined) return { txn: undefined, value: undefined, next: draft.base };
  const value = encodeTransaction(txn);
  let next: MonState;
  try {
    next = applyTransaction(draft.base, decodeTransaction(value));
  } catch (err) {
    return asNacreError(err);
  }
  const problem = draftMismatch(draft.state, next);
  return problem === undefined ? { txn, value, next } : mismatchError(problem);
}

/**
 * The leader's queue of changes waiting for the next proposal, bounded by `pendingChangesMax`
 * (beyond it `push` refuses with EAGAIN: the sender retries, and the monitor's memory stays
 * bounded under a storm). `T` carries whatever the driver needs to answer (a request handle).
 */
export class ChangeQueue<T extends { change: PendingChange }> {
  private items: T[] = [];

  constructor(readonly capacity: number = pendingChangesMax) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.items.length >= this.capacity) {
      throw new NacreError(`the monitor has ${this.capacity} changes waiting; try again shortly`, { code: 'EAGAIN' });
    }
    this.items.push(item);
  }

  /** Put changes back at the front (the `retry` outcomes of the batch just committed). */
  requeueFront(items: readonly T[]): void {
    this.items = [...items, ...this.items];
  }

  /** The next batch, oldest first. */
  take(max: number = changesPerProposalMax): T[] {
    return this.items.splice(0, Math.min(max, changesPerProposalMax));
  }

  /** Everything queued (on leadership loss: answer each with EAGAIN). */
  drain(): T[] {
    const all = this.items;
    this.items = [];
    return all;
  }
}
