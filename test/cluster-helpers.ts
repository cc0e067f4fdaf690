/**
 * Multi-process cluster tests: a temp directory, free loopback ports, the `nacre` CLI run as a
 * child process exactly as a user runs it (compiled JS, cwd = the temp dir, without the test
 * runner's NODE_OPTIONS hooks), and a teardown that kills every daemon the test's clusters
 * started — by the pids in their pid files, also when the test failed half-way.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const nacreBin = join(repoRoot, 'bin', 'nacre');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A free TCP port on 127.0.0.1 (bound then released: good enough for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < count) out.add(await freePort());
  return [...out];
}

/** A free port p such that p+1 is free too (an OSD's public + heartbeat pair), spaced by `stride`. */
export async function freePortBase(pairs: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(Array.from({ length: pairs * 2 }, (_, i) => portFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

export class TestCluster {
  readonly root: string;
  readonly dir: string;

  constructor(t: Test, prefix: string) {
    this.root = mkdtempSync(join(tmpdir(), prefix));
    this.dir = join(this.root, 'run');
    t.teardown(() => this.destroy());
  }

  get conf(): string {
    return join(this.dir, 'nacre.conf');
  }

  writeFile(name: string, text: string): string {
    const path = join(this.root, name);
    writeFileSync(path, text);
    return path;
  }

  /** Run `nacre ARGS` in the temp dir; resolves with exit code, output and wall time. */
  nacre(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
    const t0 = performance.now();
    return new Promise((res) => {
      const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, nacreBin, ...args], { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        res({ code: code ?? (signal !== null ? 128 : -1), stdout, stderr, ms: performance.now() - t0 });
      });
    });
  }

  /**
   * `nacre ARGS --conf DIR/nacre.conf --format json` (`cluster …` commands get `--dir DIR`
   * instead), parsed; throws with stderr on failure.
   */
  async json<T = Record<string, unknown>>(args: string[], conf = this.conf): Promise<T> {
    const where = args[0] === 'cluster' ? ['--dir', this.dir] : ['--conf', conf];
    const r = await this.nacre([...args, ...where, '--format', 'json']);
    if (r.code !== 0) throw new Error(`nacre ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Pids named by the pid files of the run directory. */
  pids(): Map<string, number> {
    const out = new Map<string, number>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const f of names) {
      if (!f.endsWith('.pid')) continue;
      const pid = Number(readFileSync(join(this.dir, f), 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0) out.set(f.slice(0, -4), pid);
    }
    return out;
  }

  /**
   * Kill what this test started: every pid file's process whose command line names our conf
   * (never anything else), then remove the temp dir.
   */
  destroy(): void {
    for (const pid of this.pids().values()) if (isAlive(pid, this.conf)) killQuietly(pid);
    for (const pid of this.extraPids) if (isAlive(pid, this.conf)) killQuietly(pid);
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Pids seen during the test (a daemon restarted after its pid file was replaced is still killed). */
  readonly extraPids = new Set<number>();

  remember(pids: Iterable<number>): void {
    for (const p of pids) this.extraPids.add(p);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** The process lives (not a zombie) and its command line mentions `marker`. */
export function isAlive(pid: number, marker?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
    if (marker === undefined) return true;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `fn` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, pollMs = 200): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastErr = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr !== '' ? ` (last error: ${lastErr})` : ''}`);
    await sleep(pollMs);
  }
}
