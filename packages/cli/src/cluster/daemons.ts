/**
 * How the spawner runs each daemon: the compiled entry points (`node packages/mon/dist/main.js`,
 * `node packages/osd/dist/main.js`, as a user would) with `--conf DIR/nacre.conf --id ID`; every
 * other setting comes from the daemon's section of nacre.conf. The conf path and the id are also
 * the markers that identify the process as ours (procs.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NacreError } from '@nacre/util';
import type { ClusterDir, DaemonKind, DaemonRef } from './layout.js';
import { logTail, type ProcSpec } from './procs.js';

/** packages/ of this checkout (the CLI runs from packages/cli/dist/cluster/). */
const packagesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function daemonMain(kind: DaemonKind): string {
  return join(packagesDir, kind, 'dist', 'main.js');
}

function requireMain(kind: DaemonKind): string {
  const main = daemonMain(kind);
  if (!existsSync(main)) {
    throw new NacreError(`the ${kind === 'mon' ? 'monitor' : 'OSD'} daemon is not built (${main} is missing); run \`npm run build\``, { code: 'ENOENT' });
  }
  return main;
}

export function procSpecOf(dir: ClusterDir, d: DaemonRef): ProcSpec {
  return {
    name: d.name,
    command: process.execPath,
    args: [daemonMain(d.kind), '--conf', dir.confPath, '--id', d.id],
    logPath: dir.logPath(d.name),
    pidPath: dir.pidPath(d.name),
    markers: [dir.confPath, d.id],
    cwd: dir.root,
  };
}

/** Check the entry point exists before anything is started (one clear line instead of a crash log). */
export function checkBuilt(kind: DaemonKind): void {
  requireMain(kind);
}

/**
 * Create a monitor's store with the monitor's own `--mkfs` (same flags, same code as
 * `node packages/mon/dist/main.js --mkfs …`, run in this process: three process start-ups cost
 * more than the whole election). fsid, monmap (the [mon.X] sections in order), creation time and
 * keys come from nacre.conf and the keyring; pools and replicated config from DIR/bootstrap.json.
 * Fails with the monitor's own error line.
 */
export async function mkfsMonitor(dir: ClusterDir, d: DaemonRef): Promise<void> {
  requireMain('mon');
  const { runMonProcess } = await import('@nacre/mon/daemon/mon-process');
  const args = ['--mkfs', '--conf', dir.confPath, '--id', d.id];
  if (existsSync(dir.bootstrapPath)) args.push('--bootstrap', dir.bootstrapPath);
  let output = '';
  const code = await runMonProcess(args, { stdout: (t) => { output += t; }, stderr: (t) => { output += t; } });
  if (code !== 0) {
    const why = output.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-1)[0] ?? `exit code ${code}`;
    throw new NacreError(`mkfs of ${d.name} failed: ${why}`, { code: 'EIO' });
  }
}

/** Why a daemon that should run does not: its last log line, or "no output". */
export function deathReason(dir: ClusterDir, d: DaemonRef): string {
  const tail = logTail(dir.logPath(d.name), 1);
  return tail.length > 0 ? `last log line: ${tail[0]!.slice(0, 300)}` : 'no output in its log';
}
