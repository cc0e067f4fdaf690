/**
 * `nacre osd <subcommand>` — one top-level word shared by several modules: each subcommand lives
 * in its own file and is registered here with one line (`map` → osd-map.ts; `tree`, `out`, `in`,
 * `down` … are added by their modules the same way).
 */
import { UsageError } from '../args.js';
import type { Command } from '../main.js';

const subcommands: Record<string, () => Promise<Command>> = {
  map: async () => (await import('./osd-map.js')).default,
  tree: async () => (await import('./osd-tree.js')).default,
  dump: async () => (await import('./osd-dump.js')).default,
  out: async () => (await import('./osd-mark.js')).osdMarkCommand('out'),
  in: async () => (await import('./osd-mark.js')).osdMarkCommand('in'),
  down: async () => (await import('./osd-mark.js')).osdMarkCommand('down'),
};

const usage = () => `usage: nacre osd <${Object.keys(subcommands).sort().join('|')}> ...`;

const osd: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    io.stdout(usage() + '\n');
    return sub === undefined ? 2 : 0;
  }
  const load = subcommands[sub];
  if (load === undefined) throw new UsageError(`unknown osd subcommand '${sub}'\n${usage()}`);
  return (await load())(rest, io);
};
export default osd;
