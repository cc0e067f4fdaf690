/**
 * `nacre cluster …` — the local cluster spawner (like Ceph's vstart.sh, but one command):
 *
 *   nacre cluster up [-c cluster.example.yaml] [--dir DIR]     create/start everything, wait for health
 *   nacre cluster status [--dir DIR] [--format json]           every daemon: name, pid, address, running, RSS
 *   nacre cluster start|stop|kill DAEMON… [--dir DIR]          one daemon (kill = SIGKILL, for fault tests)
 *   nacre cluster down [--dir DIR]                             stop every daemon it started
 *
 * Only processes started by the spawner are ever signalled (pid file + command-line check, see
 * cluster/procs.ts). DIR defaults to ./run.
 */
import { existsSync } from 'node:fs';
import { NacreError } from '@nacre/util';
import { UsageError, flagString, parseArgs, type ParsedArgs } from '../args.js';
import { ClusterDir, daemonsOf, defaultRunDir, findDaemon, type DaemonRef } from '../cluster/layout.js';
import type { ClusterConf } from '@nacre/msgr';
import { checkPortsFree, deathReason, procSpecOf } from '../cluster/daemons.js';
import { rssBytes, runningPid, startProcess, stopProcess, waitGone, type StopOutcome } from '../cluster/procs.js';
import { subcommands } from '../subcommands.js';
import type { Command, CommandIo } from '../main.js';
import { formatJson, outputFormat } from '../mon-session.js';
import { formatBytes, formatTable } from '../output.js';

const usage = `usage: nacre cluster up [-c FILE] [--dir DIR] [--timeout SECONDS]
       nacre cluster status [--dir DIR] [--format json]
       nacre cluster start|stop|kill DAEMON... [--dir DIR]
       nacre cluster down [--dir DIR]`;

const cluster: Command = subcommands('cluster', usage, {
  up: async (rest, io) => (await import('./cluster-up.js')).clusterUp(rest, io),
  status: (rest, io) => status(rest, io),
  start: (rest, io) => start(rest, io),
  stop: (rest, io) => stop(rest, io, false),
  kill: (rest, io) => stop(rest, io, true),
  down: (rest, io) => down(rest, io),
});
export default cluster;

function dirOf(p: ParsedArgs): ClusterDir {
  return new ClusterDir(flagString(p, '--dir') ?? defaultRunDir);
}

export interface DaemonStatus {
  name: string;
  kind: 'mon' | 'osd';
  pid: number | null;
  addr: string | null;
  running: boolean;
  /** Resident memory (Linux), null when not running. */
  rss_bytes: number | null;
}

export function daemonStatuses(dir: ClusterDir): DaemonStatus[] {
  const conf = dir.readConf();
  return daemonsOf(conf).map((d) => {
    const pid = runningPid(procSpecOf(dir, d));
    return { name: d.name, kind: d.kind, pid, addr: conf.get(d.name, 'addr') ?? null, running: pid !== null, rss_bytes: pid === null ? null : rssBytes(pid) };
  });
}

async function status(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, { '--dir': { arity: 1 }, '--format': { arity: 1, aliases: ['-f'] } });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const format = outputFormat(p);
  const dir = dirOf(p);
  const conf = dir.readConf();
  const daemons = daemonStatuses(dir);
  if (format !== 'plain') {
    io.stdout(formatJson({ dir: dir.root, fsid: conf.fsid ?? null, conf: dir.confPath, daemons }, format));
    return 0;
  }
  const rows = daemons.map((d) => [d.name, d.pid === null ? '-' : String(d.pid), d.addr ?? '-', d.running ? 'yes' : 'no', d.rss_bytes === null ? '-' : formatBytes(d.rss_bytes)]);
  io.stdout(formatTable(['NAME', 'PID', 'ADDRESS', 'RUNNING', 'RSS'], rows));
  const up = daemons.filter((d) => d.running).length;
  io.stdout(`${up} of ${daemons.length} daemons running (${dir.root})\n`);
  return 0;
}

function daemonArgs(argv: string[], what: string): { dir: ClusterDir; conf: ClusterConf; daemons: DaemonRef[] } {
  const p = parseArgs(argv, { '--dir': { arity: 1 } });
  if (p.positionals.length === 0) throw new UsageError(`name the daemon(s) to ${what}, e.g. mon.a or osd.3`);
  const dir = dirOf(p);
  const conf = dir.readConf();
  const byName = new Map(p.positionals.map((n) => [n, findDaemon(conf, n)]));
  return { dir, conf, daemons: [...byName.values()] };
}

/** Time a freshly started daemon must survive before `start` reports it running. */
const startSettleMs = 300;

async function start(argv: string[], io: CommandIo): Promise<number> {
  const { dir, conf, daemons } = daemonArgs(argv, 'start');
  let failed = 0;
  for (const d of daemons) {
    const spec = procSpecOf(dir, d);
    const running = runningPid(spec);
    if (running !== null) {
      io.stdout(`${d.name} already running (pid ${running})\n`);
      continue;
    }
    await checkPortsFree(conf, [d]);
    const pid = startDaemon(dir, d);
    const died = await waitGone(pid, spec.markers, startSettleMs);
    if (died) {
      io.stderr(`nacre: ${d.name} exited right after start; ${deathReason(dir, d)}\n`);
      failed++;
      continue;
    }
    io.stdout(`${d.name} started (pid ${pid})\n`);
  }
  return failed === 0 ? 0 : 1;
}

/** Start one daemon whose data exists (the spawner never creates data outside `cluster up`). */
export function startDaemon(dir: ClusterDir, d: DaemonRef): number {
  if (d.kind === 'mon') {
    if (!existsSync(dir.dataDir(d.name))) {
      throw new NacreError(`${d.name} has no store (${dir.dataDir(d.name)}); \`nacre cluster up\` creates it`, { code: 'ENOENT' });
    }
  }
  return startProcess(procSpecOf(dir, d));
}

async function stop(argv: string[], io: CommandIo, hard: boolean): Promise<number> {
  const { dir, daemons } = daemonArgs(argv, hard ? 'kill' : 'stop');
  for (const d of daemons) {
    const pid = runningPid(procSpecOf(dir, d));
    const outcome = await stopProcess(procSpecOf(dir, d), { hard });
    io.stdout(`${d.name} ${describe(outcome, pid)}\n`);
  }
  return 0;
}

function describe(outcome: StopOutcome, pid: number | null): string {
  switch (outcome) {
    case 'not-running':
      return 'was not running';
    case 'stopped':
      return `stopped (pid ${pid})`;
    case 'killed':
      return `killed (pid ${pid}, SIGKILL)`;
  }
}

/**
 * Stop everything: OSDs first (so monitors do not spend the shutdown marking them down one by
 * one), then the monitors; each group is signalled at once and waited for together.
 */
async function down(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, { '--dir': { arity: 1 } });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const dir = dirOf(p);
  const all = daemonsOf(dir.readConf());
  const t0 = performance.now();
  let stopped = 0;
  for (const group of [all.filter((d) => d.kind === 'osd'), all.filter((d) => d.kind === 'mon')]) {
    const results = await Promise.all(group.map(async (d) => {
      const pid = runningPid(procSpecOf(dir, d));
      return { d, pid, outcome: await stopProcess(procSpecOf(dir, d)) };
    }));
    for (const r of results) {
      if (r.outcome === 'not-running') continue;
      stopped++;
      io.stdout(`${r.d.name} ${describe(r.outcome, r.pid)}\n`);
    }
  }
  io.stdout(`cluster in ${dir.root} is down: ${stopped} daemon${stopped === 1 ? '' : 's'} stopped in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}

