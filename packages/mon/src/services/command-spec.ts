/**
 * The shape of a command handler. Read-only commands see the committed state and never produce a
 * transaction; mutating commands edit a Draft (the leader's working copy for the next proposal)
 * and return the reply that is sent once the proposal commits. Both throw NacreError with a code
 * on bad input; a mutating command that throws leaves the draft as it was.
 */
import type { MonCommandReply } from '@nacre/proto';
import type { CommandArgs } from './command-args.js';
import type { Draft, ServiceContext } from './draft.js';
import type { MonState } from './mon-state.js';

export type CommandSpec =
  | { readOnly: true; run: (state: MonState, args: CommandArgs, ctx: ServiceContext) => MonCommandReply }
  | { readOnly: false; run: (draft: Draft, args: CommandArgs) => MonCommandReply };

export type CommandTable = Readonly<Record<string, CommandSpec>>;

export function readCommand(run: (state: MonState, args: CommandArgs, ctx: ServiceContext) => MonCommandReply): CommandSpec {
  return { readOnly: true, run };
}

export function writeCommand(run: (draft: Draft, args: CommandArgs) => MonCommandReply): CommandSpec {
  return { readOnly: false, run };
}
