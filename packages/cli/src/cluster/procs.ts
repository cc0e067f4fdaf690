/**
 * Daemon processes of a local cluster: start detached (own process group, output to a log file,
 * pid file), check liveness, signal and wait — only ever processes this spawner started.
 *
 * "Ours" = the pid file names a live, non-zombie process whose command line contains every one of
 * the daemon's marker arguments (the absolute path of DIR/nacre.conf and its id). A pid reused by
 * an unrelated process fails that check and is never signalled. Where /proc is missing (not
 * Linux) the check degrades to "the pid exists".
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { NacreError } from '@nacre/util';

/** Longest time `stop` waits for a daemon to exit after SIGTERM before it sends SIGKILL. */
export const stopTimeoutMsDefault = 10_000;
/** Longest time we wait for the kernel to reap a process after SIGKILL. */
export const killTimeoutMs = 5_000;
const pollMs = 50;
/** Bytes of a daemon log shown when it died at start. */
const logTailBytes = 2048;

export interface ProcSpec {
  name: string;
  /** Executable and its arguments (node + script + flags). */
  command: string;
  args: string[];
  logPath: string;
  pidPath: string;
  /** Arguments that identify this daemon in /proc/PID/cmdline. */
  markers: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

/** The pid recorded for a daemon, or null (no file, or garbage in it). */
export function readPid(pidPath: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidPath, 'utf8').trim();
  } catch {
    return null;
  }
  return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
}

function procCmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return null;
  }
}

function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) S ... — comm may contain spaces and parentheses; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

const haveProc = existsSync('/proc/self/cmdline');

/** Resident memory of a process in bytes (Linux /proc), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** True if `pid` is alive, not a zombie, and (on Linux) its command line carries every marker. */
export function isOurs(pid: number, markers: readonly string[]): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // gone (ESRCH) or someone else's process (EPERM): never ours
  }
  if (!haveProc) return true;
  const state = procState(pid);
  if (state === null || state === 'Z' || state === 'X') return false;
  const cmd = procCmdline(pid);
  if (cmd === null) return false;
  return markers.every((m) => cmd.includes(m));
}

/** The pid of the running daemon, or null if it does not run (a stale pid file is ignored). */
export function runningPid(spec: Pick<ProcSpec, 'pidPath' | 'markers'>): number | null {
  const pid = readPid(spec.pidPath);
  return pid !== null && isOurs(pid, spec.markers) ? pid : null;
}

/**
 * Start a daemon detached from us: its own session/process group (a Ctrl-C on the CLI does not
 * reach it), stdin closed, stdout+stderr appended to its log. Returns the pid (also written to the
 * pid file).
 */
export function startProcess(spec: ProcSpec): number {
  const fd = openSync(spec.logPath, 'a', 0o644);
  try {
    const env = { ...(spec.env ?? process.env) };
    // Test runners and debuggers inject loaders/hooks through NODE_OPTIONS; daemons run plain node.
    delete env['NODE_OPTIONS'];
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new NacreError(`cannot start ${spec.name}: spawn failed`, { code: 'EIO' });
    child.on('error', () => { /* reported through liveness checks */ });
    child.unref();
    writeFileSync(spec.pidPath, `${child.pid}\n`, { mode: 0o644 });
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until the process is gone (or not ours any more); true if it went within `timeoutMs`. */
export async function waitGone(pid: number, markers: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (isOurs(pid, markers)) {
    if (performance.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed';

/**
 * Stop a daemon: SIGTERM, wait up to `timeoutMs` for a clean exit, then SIGKILL (reported as
 * 'killed'). `hard` sends SIGKILL at once (fault tests: `cluster kill`). The pid file is removed
 * once the process is gone.
 */
export async function stopProcess(spec: Pick<ProcSpec, 'name' | 'pidPath' | 'markers'>, opts: { hard?: boolean; timeoutMs?: number } = {}): Promise<StopOutcome> {
  const pid = runningPid(spec);
  if (pid === null) {
    rmSync(spec.pidPath, { force: true });
    return 'not-running';
  }
  let outcome: StopOutcome = opts.hard === true ? 'killed' : 'stopped';
  signal(pid, opts.hard === true ? 'SIGKILL' : 'SIGTERM');
  if (!(await waitGone(pid, spec.markers, opts.hard === true ? killTimeoutMs : opts.timeoutMs ?? stopTimeoutMsDefault))) {
    if (opts.hard === true) throw new NacreError(`${spec.name} (pid ${pid}) is still there ${killTimeoutMs} ms after SIGKILL`, { code: 'EBUSY' });
    outcome = 'killed';
    signal(pid, 'SIGKILL');
    if (!(await waitGone(pid, spec.markers, killTimeoutMs))) {
      throw new NacreError(`${spec.name} (pid ${pid}) did not exit after SIGTERM and SIGKILL`, { code: 'EBUSY' });
    }
  }
  rmSync(spec.pidPath, { force: true });
  return outcome;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The last lines of a daemon's log (why it died at start), one line per entry, newest last. */
export function logTail(logPath: string, linesMax = 5): string[] {
  try {
    const size = statSync(logPath).size;
    const fd = openSync(logPath, 'r');
    try {
      const len = Math.min(size, logTailBytes);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-linesMax);
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
}

/**
 * An exclusive lock on a run directory for the duration of `cluster up` (two at once would both
 * mkfs and start the same daemons): a file holding our pid, created with O_EXCL. A lock left by a
 * process that no longer exists is taken over. Returns the release function.
 */
export function lockDir(lockPath: string, what: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => {
        if (readPid(lockPath) === process.pid) rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readPid(lockPath);
      if (holder !== null && holder !== process.pid && pidExists(holder)) {
        throw new NacreError(`${what} is already in progress (pid ${holder}; lock ${lockPath})`, { code: 'EBUSY' });
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new NacreError(`cannot take the lock ${lockPath}`, { code: 'EBUSY' });
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return procState(pid) !== 'Z';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
