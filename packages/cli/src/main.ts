/**
 * The `nacre` command: one entry point, subcommands in `commands/`. Every command prints human
 * output by default (`--format json` for scripts) and fails with exactly one clear line on stderr:
 * exit code 2 for bad input or usage, 1 for an operation that failed.
 */
import { UsageError } from './args.js';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export type Command = (argv: string[], io: CommandIo) => Promise<number>;

/** Subcommand table; each module owns one top-level word. */
const commands: Record<string, () => Promise<Command>> = {
  store: async () => (await import('./commands/store.js')).default,
  crush: async () => (await import('./commands/crush.js')).default,
  osdmap: async () => (await import('./commands/osdmap.js')).default,
  rados: async () => (await import('./commands/rados.js')).default,
  osd: async () => (await import('./commands/osd.js')).default,
  cluster: async () => (await import('./commands/cluster.js')).default,
  status: async () => (await import('./commands/status.js')).default,
  health: async () => (await import('./commands/health.js')).default,
  pool: async () => (await import('./commands/pool.js')).default,
  df: async () => (await import('./commands/df.js')).default,
};

const usage = `usage: nacre <command> [options]
commands: ${Object.keys(commands).sort().join(', ')}`;

export async function run(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout(usage + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    io.stderr(`nacre: unknown command '${name}'\n${usage}\n`);
    return 2;
  }
  try {
    const command = await load();
    return await command(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

/** One clear line: usage/validation problems exit 2, operational failures exit 1. */
export function reportError(err: unknown, io: CommandIo): number {
  const e = err as { message?: string; code?: string };
  const message = (e?.message ?? String(err)).split('\n')[0];
  io.stderr(`nacre: ${message}\n`);
  if (err instanceof UsageError || e?.code === 'EINVAL') return 2;
  return 1;
}

const defaultIo: CommandIo = {
  stdout: (t) => { process.stdout.write(t); },
  stderr: (t) => { process.stderr.write(t); },
};
