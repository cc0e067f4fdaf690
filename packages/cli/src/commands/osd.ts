/**
 * `nacre osd <subcommand>` — one top-level word shared by several modules: each subcommand lives
 * in its own file and is registered here with one line (`map` → osd-map.ts; `tree`, `out`, `in`,
 * `down` … are added by their modules the same way).
 */
import { subcommands } from '../subcommands.js';
import type { Command } from '../main.js';

const lazy = (load: () => Promise<Command>): Command => async (rest, io) => (await load())(rest, io);

const table: Record<string, Command> = {
  map: lazy(async () => (await import('./osd-map.js')).default),
  tree: lazy(async () => (await import('./osd-tree.js')).default),
  dump: lazy(async () => (await import('./osd-dump.js')).default),
  out: lazy(async () => (await import('./osd-mark.js')).osdMarkCommand('out')),
  in: lazy(async () => (await import('./osd-mark.js')).osdMarkCommand('in')),
  down: lazy(async () => (await import('./osd-mark.js')).osdMarkCommand('down')),
};

const osd: Command = subcommands('osd', `usage: nacre osd <${Object.keys(table).sort().join('|')}> ...`, table);
export default osd;
