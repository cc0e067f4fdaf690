/**
 * Every `mon.command` prefix (proto/mon-messages.ts lists them) and its handler, and the two ways
 * to run one: `runReadCommand` on a committed state (any monitor, never a transaction) and
 * `runWriteCommand` on the leader's Draft (the change rides in the next proposal).
 */
import type { MonCommand, MonCommandReply } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { authCommands } from './auth-commands.js';
import { CommandArgs } from './command-args.js';
import { readCommand, type CommandSpec, type CommandTable } from './command-spec.js';
import { configCommands } from './config-commands.js';
import { crushCommands } from './crush-commands.js';
import type { Draft, ServiceContext } from './draft.js';
import type { MonState } from './mon-state.js';
import { osdCommands } from './osd-commands.js';
import { osdDump, osdTree } from './osd-tree.js';
import { poolCommands } from './pool-commands.js';
import { statusCommands } from './status.js';

const COMMANDS: CommandTable = {
  ...statusCommands,
  'osd tree': readCommand((s) => osdTree(s)),
  'osd dump': readCommand((s) => osdDump(s)),
  ...osdCommands,
  ...crushCommands,
  ...poolCommands,
  ...authCommands,
  ...configCommands,
};

/** Every prefix the monitor understands, sorted. */
export function commandPrefixes(): string[] {
  return Object.keys(COMMANDS).sort();
}

function normalizePrefix(prefix: string): string {
  return prefix.trim().split(/\s+/).join(' ');
}

function specFor(prefix: string): CommandSpec {
  const p = normalizePrefix(prefix);
  const spec = Object.prototype.hasOwnProperty.call(COMMANDS, p) ? COMMANDS[p] : undefined;
  if (spec === undefined) {
    // suggest the commands sharing the most leading words with what was typed
    const words = p.split(' ');
    const shared = (c: string): number => {
      const cw = c.split(' ');
      let n = 0;
      while (n < words.length && n < cw.length && words[n] === cw[n]) n++;
      return n;
    };
    const best = Math.max(0, ...commandPrefixes().map(shared));
    const near = best === 0 ? [] : commandPrefixes().filter((c) => shared(c) === best).slice(0, 12);
    throw new NacreError(`unknown command '${p}'${near.length > 0 ? ` (did you mean: ${near.join(', ')})` : ''}`, { code: 'EINVAL' });
  }
  return spec;
}

/** True for commands answered from committed state (any monitor may serve them with a lease). */
export function isReadOnlyCommand(prefix: string): boolean {
  try {
    return specFor(prefix).readOnly;
  } catch {
    return true; // an unknown command changes nothing; answering EINVAL locally is right
  }
}

export function runReadCommand(state: MonState, cmd: Pick<MonCommand, 'prefix' | 'args'>, ctx: ServiceContext): MonCommandReply {
  const spec = specFor(cmd.prefix);
  const args = new CommandArgs(normalizePrefix(cmd.prefix), cmd.args);
  if (spec.readOnly) return spec.run(state, args, ctx);
  throw new NacreError(`'${normalizePrefix(cmd.prefix)}' changes the cluster; it must go through the leader`, { code: 'EINVAL' });
}

/** Run any command against a draft (read-only ones see the draft's state). Throws on error, draft untouched. */
export function runWriteCommand(draft: Draft, cmd: Pick<MonCommand, 'prefix' | 'args'>): MonCommandReply {
  const spec = specFor(cmd.prefix);
  const args = new CommandArgs(normalizePrefix(cmd.prefix), cmd.args);
  if (spec.readOnly) return spec.run(draft.state, args, draft.ctx);
  const before = draft.state;
  try {
    return spec.run(draft, args);
  } catch (err) {
    draft.state = before;
    throw err;
  }
}
