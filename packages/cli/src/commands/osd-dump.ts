/**
 * `nacre osd dump [--format json]` — the whole current OSDMap as the monitors hold it, like
 * `ceph osd dump`: epoch, flags, pools, every OSD with up/in, weight, up_from/up_thru/down_at and
 * address, and the pg_temp/upmap overlays.
 */
import { UsageError, parseArgs } from '../args.js';
import type { Command } from '../main.js';
import { runMonCommand, sessionFlags } from '../mon-session.js';

const osdDump: Command = async (argv, io) => {
  const p = parseArgs(argv, sessionFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}' (usage: nacre osd dump [--format json])`);
  return runMonCommand(p, io, 'osd dump');
};
export default osdDump;
