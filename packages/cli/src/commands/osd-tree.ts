/**
 * `nacre osd tree [--format json]` — the CRUSH hierarchy (root → rack → host → osd) with every
 * OSD's weight, class, up/down and in (reweight), like `ceph osd tree`.
 */
import { UsageError, parseArgs } from '../args.js';
import type { Command } from '../main.js';
import { runMonCommand, sessionFlags } from '../mon-session.js';

const osdTree: Command = async (argv, io) => {
  const p = parseArgs(argv, sessionFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}' (usage: nacre osd tree [--format json])`);
  return runMonCommand(p, io, 'osd tree');
};
export default osdTree;
