/**
 * `nacre health [detail] [--format json]` — the health status and its checks (like `ceph health`):
 * `HEALTH_OK`, or `HEALTH_WARN`/`HEALTH_ERR` followed by each check's summary, and with `detail`
 * the affected daemons/PGs and the remediation hint the monitor attaches to each check.
 * Exit code 0 whatever the health (it is a report, not a test); scripts read the JSON.
 */
import { UsageError, flagBool, parseArgs } from '../args.js';
import type { Command } from '../main.js';
import { runMonCommand, sessionFlags } from '../mon-session.js';

const health: Command = async (argv, io) => {
  const p = parseArgs(argv, { ...sessionFlags, '--detail': { arity: 0 } });
  const [word, extra] = p.positionals;
  if ((word !== undefined && word !== 'detail') || extra !== undefined) throw new UsageError('usage: nacre health [detail] [--format json]');
  return runMonCommand(p, io, 'health', { detail: word === 'detail' || flagBool(p, '--detail') });
};
export default health;
