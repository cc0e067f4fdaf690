/**
 * One-change entry points over `buildProposal`, for callers that do not batch (tests, tools, a
 * simple driver): each returns the reply or error and, if something changed, the transaction to
 * commit. Read-only commands are answered from `state` and never produce a transaction.
 */
import type { MonCommand, MonCommandReply, OsdBoot, PgTempRequest } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { buildProposal, type PendingChange, type Proposal } from './batch.js';
import { isReadOnlyCommand, runReadCommand } from './commands.js';
import type { ServiceContext } from './draft.js';
import type { MonState } from './mon-state.js';
import type { StateTransaction } from './transaction.js';

export type ChangeResult =
  | { ok: true; reply: MonCommandReply; epoch: number; txn?: StateTransaction; value?: Buffer; next: MonState; retry?: false }
  | { ok: true; retry: true; txn?: StateTransaction; value?: Buffer; next: MonState }
  | { ok: false; error: NacreError };

function single(state: MonState, change: PendingChange, ctx: ServiceContext): ChangeResult {
  const p: Proposal = buildProposal(state, [change], ctx);
  const o = p.outcomes[0]!;
  const txn = p.txn !== undefined ? { txn: p.txn, value: p.value! } : {};
  if (o.status === 'error') return { ok: false, error: o.error };
  if (o.status === 'retry') return { ok: true, retry: true, next: p.next, ...txn };
  return { ok: true, reply: o.reply, epoch: o.epoch, next: p.next, ...txn };
}

/**
 * Any `mon.command`. `entity` (the sender) with `cmd.cmdId` makes a retry of a committed command
 * return the first result instead of applying it again.
 */
export function handleCommand(state: MonState, cmd: MonCommand, ctx: ServiceContext, entity?: string): ChangeResult {
  if (isReadOnlyCommand(cmd.prefix)) {
    try {
      return { ok: true, reply: runReadCommand(state, cmd, ctx), epoch: state.osdmap.epoch, next: state };
    } catch (err) {
      if (err instanceof NacreError) return { ok: false, error: err };
      throw err;
    }
  }
  return single(state, { kind: 'command', command: cmd, ...(entity !== undefined ? { entity } : {}) }, ctx);
}

export function handleOsdBoot(state: MonState, boot: OsdBoot, ctx: ServiceContext): ChangeResult {
  return single(state, { kind: 'osdBoot', boot }, ctx);
}

export function handleOsdAlive(state: MonState, req: { osd: number; upThru: number }, ctx: ServiceContext): ChangeResult {
  return single(state, { kind: 'osdAlive', osd: req.osd, upThru: req.upThru }, ctx);
}

export function handleOsdPgTemp(state: MonState, req: PgTempRequest, ctx: ServiceContext): ChangeResult {
  return single(state, { kind: 'osdPgTemp', request: req }, ctx);
}
