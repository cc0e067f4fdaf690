/**
 * `nacre df [--format json]` — space, like `ceph df`: raw capacity, allocated and available over
 * every OSD's store, and per pool the logical bytes stored, the raw bytes they take with
 * replication or erasure coding (allocated), and the object count. Thin provisioning shows as
 * stored < allocated < capacity. Figures come from the OSDs' latest reports to the monitors.
 */
import { UsageError, parseArgs } from '../args.js';
import type { Command } from '../main.js';
import { runMonCommand, sessionFlags } from '../mon-session.js';

const df: Command = async (argv, io) => {
  const p = parseArgs(argv, { ...sessionFlags, '--detail': { arity: 0 } });
  const [word, extra] = p.positionals;
  if ((word !== undefined && word !== 'detail') || extra !== undefined) throw new UsageError('usage: nacre df [detail] [--format json]');
  return runMonCommand(p, io, 'df', { detail: word === 'detail' || p.flags.has('--detail') });
};
export default df;
