/**
 * One dispatcher for every `nacre WORD SUBCOMMAND …` command: `-h`/`--help` prints the usage,
 * a missing subcommand prints it and exits 2, an unknown one is a usage error naming the known ones.
 */
import { UsageError } from './args.js';
import type { Command } from './main.js';

export function subcommands(word: string, usage: string, table: Readonly<Record<string, Command>>): Command {
  return async (argv, io) => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '-h' || sub === '--help') {
      io.stdout(usage + '\n');
      return sub === undefined ? 2 : 0;
    }
    const run = Object.prototype.hasOwnProperty.call(table, sub) ? table[sub] : undefined;
    if (run === undefined) throw new UsageError(`unknown ${word} subcommand '${sub}' (${Object.keys(table).join(', ')})`);
    return run(rest, io);
  };
}
