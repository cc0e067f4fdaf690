/**
 * How the spawner runs each daemon: the compiled entry points (`node packages/mon/dist/main.js`,
 * `node packages/osd/dist/main.js`, as a user would) with `--conf DIR/nacre.conf --id ID`; every
 * other setting comes from the daemon's section of nacre.conf. The conf path and the id are also
 * the markers that identify the process as ours (procs.ts).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterConf } from '@nacre/msgr';
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

/** Addresses a daemon listens on, from its nacre.conf section. */
export function listenAddrs(conf: ClusterConf, d: DaemonRef): string[] {
  const keys = d.kind === 'mon' ? ['addr'] : ['addr', 'hb_addr'];
  return keys.map((k) => conf.get(d.name, k)).filter((a): a is string => a !== undefined);
}

function addrFree(addr: string): Promise<boolean> {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon);
  const port = Number(addr.slice(colon + 1));
  if (!(port > 0)) return Promise.resolve(true); // port 0: the daemon picks one
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => res(err.code !== 'EADDRINUSE'));
    srv.listen(port, host, () => srv.close(() => res(true)));
  });
}

/**
 * Before starting daemons: each of their ports must be free. A port held by some other program
 * (often another cluster on the default ports) would otherwise show up later as a confusing
 * authentication or connection error; say it plainly instead, before anything is started.
 */
export async function checkPortsFree(conf: ClusterConf, daemons: readonly DaemonRef[]): Promise<void> {
  await checkAddrsFree(daemons.flatMap((d) => listenAddrs(conf, d).map((addr): [string, string] => [d.name, addr])));
}

/** The same for [daemon name, address] pairs (a new cluster, before its directory is written). */
export async function checkAddrsFree(addrs: readonly (readonly [string, string])[]): Promise<void> {
  for (const [name, addr] of addrs) {
    if (!(await addrFree(addr))) {
      throw new NacreError(`${name} cannot listen on ${addr}: the port is in use by another process `
        + '(another cluster on the same ports? stop it, or change the ports in the cluster file)', { code: 'EBUSY' });
    }
  }
}
