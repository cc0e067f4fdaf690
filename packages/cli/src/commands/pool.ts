/**
 * `nacre pool …` — pools through the monitors (`osd pool …` commands, committed by Paxos):
 *
 *   nacre pool create NAME [PG_NUM] [--size N] [--min-size N] [--failure-domain osd|host|rack]
 *   nacre pool create NAME [PG_NUM] --erasure [--k K] [--m M] [--stripe-unit BYTES] [--min-size N] [--failure-domain …]
 *   nacre pool ls [--detail]
 *   nacre pool rm NAME NAME --yes-i-really-really-mean-it
 *   nacre pool set NAME size|min_size|pg_num|pgp_num VALUE
 *   nacre pool get NAME KEY
 *
 * Every subcommand takes --conf, --name, --keyring, --timeout SECONDS and --format json.
 * Removing a pool destroys its data: as in Ceph, the name is given twice plus the long flag, and
 * the refusal happens here before anything is sent.
 */
import { subcommands } from '../subcommands.js';
import type { CommandArg } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { UsageError, flagBool, flagInt, flagString, parseArgs, parseIntStrict } from '../args.js';
import type { Command, CommandIo } from '../main.js';
import { runMonCommand, sessionFlags } from '../mon-session.js';

const usage = `usage: nacre pool create NAME [PG_NUM] [--size N] [--min-size N] [--failure-domain osd|host|rack]
       nacre pool create NAME [PG_NUM] --erasure [--k K] [--m M] [--stripe-unit BYTES] [--min-size N]
       nacre pool ls [--detail]
       nacre pool rm NAME NAME --yes-i-really-really-mean-it
       nacre pool set NAME size|min_size|pg_num|pgp_num VALUE
       nacre pool get NAME KEY
options: --conf FILE, --name ENTITY, --keyring FILE, --timeout SECONDS, --format json`;

const confirmFlag = '--yes-i-really-really-mean-it';

const pool: Command = subcommands('pool', usage, {
  create: (rest, io) => create(rest, io),
  ls: (rest, io) => ls(rest, io),
  list: (rest, io) => ls(rest, io),
  rm: (rest, io) => rm(rest, io),
  delete: (rest, io) => rm(rest, io),
  set: (rest, io) => set(rest, io),
  get: (rest, io) => get(rest, io),
});
export default pool;

async function create(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, {
    ...sessionFlags,
    '--size': { arity: 1 },
    '--min-size': { arity: 1 },
    '--pg-num': { arity: 1 },
    '--erasure': { arity: 0 },
    '--k': { arity: 1 },
    '--m': { arity: 1 },
    '--stripe-unit': { arity: 1 },
    '--failure-domain': { arity: 1 },
  });
  const [name, pgText, extra] = p.positionals;
  if (name === undefined) throw new UsageError('pool create needs a NAME');
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  if (pgText !== undefined && flagString(p, '--pg-num') !== undefined) throw new UsageError('give PG_NUM once (positional or --pg-num)');
  const pgNum = pgText !== undefined ? parseIntStrict(pgText, 'PG_NUM', 1, 65536) : flagInt(p, '--pg-num', 1, 65536);
  const erasure = flagBool(p, '--erasure');
  const args: Record<string, CommandArg> = { name, type: erasure ? 'erasure' : 'replicated' };
  if (pgNum !== undefined) args['pg_num'] = pgNum;
  const minSize = flagInt(p, '--min-size', 1, 40);
  if (minSize !== undefined) args['min_size'] = minSize;
  const fd = flagString(p, '--failure-domain');
  if (fd !== undefined) args['failure_domain'] = fd;
  if (erasure) {
    if (flagString(p, '--size') !== undefined) throw new UsageError('--size is for replicated pools (an erasure pool has k+m shards)');
    const k = flagInt(p, '--k', 1, 64);
    const m = flagInt(p, '--m', 1, 64);
    const su = flagInt(p, '--stripe-unit', 1, 1 << 30);
    if (k !== undefined) args['k'] = k;
    if (m !== undefined) args['m'] = m;
    if (su !== undefined) args['stripe_unit'] = su;
  } else {
    for (const f of ['--k', '--m', '--stripe-unit']) if (flagString(p, f) !== undefined) throw new UsageError(`${f} needs --erasure`);
    const size = flagInt(p, '--size', 1, 40);
    if (size !== undefined) args['size'] = size;
  }
  return runMonCommand(p, io, 'osd pool create', args);
}

async function ls(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, { ...sessionFlags, '--detail': { arity: 0 } });
  const [word, extra] = p.positionals;
  // `ceph osd pool ls detail` spells it as a word; accept both.
  if ((word !== undefined && word !== 'detail') || extra !== undefined) throw new UsageError(`unexpected argument '${word === 'detail' ? extra : word}'`);
  return runMonCommand(p, io, 'osd pool ls', { detail: flagBool(p, '--detail') || word === 'detail' });
}

async function rm(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, { ...sessionFlags, [confirmFlag]: { arity: 0 } });
  const [name, again, extra] = p.positionals;
  if (name === undefined) throw new UsageError(`usage: nacre pool rm NAME NAME ${confirmFlag}`);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  if (again !== name || !flagBool(p, confirmFlag)) {
    throw new NacreError(`refusing to remove pool '${name}': this destroys all of its data permanently. `
      + `Repeat the pool name to confirm: nacre pool rm ${name} ${name} ${confirmFlag}`, { code: 'EPERM' });
  }
  return runMonCommand(p, io, 'osd pool rm', { name, confirm: name });
}

async function set(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, sessionFlags);
  if (p.positionals.length !== 3) throw new UsageError('usage: nacre pool set NAME size|min_size|pg_num|pgp_num VALUE');
  const [name, key, value] = p.positionals as [string, string, string];
  return runMonCommand(p, io, 'osd pool set', { name, key: key.replace(/-/g, '_'), value });
}

async function get(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, sessionFlags);
  if (p.positionals.length !== 2) throw new UsageError('usage: nacre pool get NAME KEY');
  const [name, key] = p.positionals as [string, string];
  return runMonCommand(p, io, 'osd pool get', { name, key: key.replace(/-/g, '_') });
}
