/**
 * The spawner's process handling with stand-in daemons (plain node processes carrying the marker
 * arguments): detached start + pid file, liveness, SIGTERM stop, SIGKILL for a daemon that ignores
 * SIGTERM, `kill`, and — the rule that matters most — a pid file naming a process we did not
 * start is never signalled.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { isOurs, lockDir, readPid, runningPid, startProcess, stopProcess, type ProcSpec } from '../src/cluster/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-procs-'));
const pids: number[] = [];
t.teardown(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function standIn(name: string, script: string): ProcSpec {
  const marker = join(dir, 'nacre.conf');
  return {
    name,
    command: process.execPath,
    args: ['-e', script, '--', '--conf', marker, '--id', name],
    logPath: join(dir, `${name}.log`),
    pidPath: join(dir, `${name}.pid`),
    markers: [marker, name],
    cwd: dir,
  };
}

const idle = "console.log('up'); setInterval(() => {}, 1000)";
const stubborn = "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000)";

t.test('start, check, stop', async (t) => {
  const spec = standIn('a', idle);
  const pid = startProcess(spec);
  pids.push(pid);
  t.equal(readPid(spec.pidPath), pid, 'pid file');
  t.equal(runningPid(spec), pid, 'running and ours');
  t.equal(await stopProcess(spec), 'stopped');
  t.equal(runningPid(spec), null);
  t.equal(readPid(spec.pidPath), null, 'pid file removed');
  t.equal(await stopProcess(spec), 'not-running', 'stopping twice is fine');
});

t.test('a daemon that ignores SIGTERM is killed after the timeout; kill is immediate', async (t) => {
  const spec = standIn('b', stubborn);
  pids.push(startProcess(spec));
  await new Promise((r) => setTimeout(r, 300)); // let it install the handler
  t.equal(await stopProcess(spec, { timeoutMs: 300 }), 'killed');
  t.equal(runningPid(spec), null);
  const again = standIn('c', stubborn);
  pids.push(startProcess(again));
  const t0 = performance.now();
  t.equal(await stopProcess(again, { hard: true }), 'killed');
  t.ok(performance.now() - t0 < 2000, 'SIGKILL does not wait for the grace period');
});

t.test('a pid file naming someone else\'s process is never signalled', async (t) => {
  // An unrelated process (no markers on its command line) whose pid lands in our pid file.
  const other = spawn(process.execPath, ['-e', idle], { stdio: 'ignore' });
  pids.push(other.pid!);
  const spec = standIn('d', idle);
  writeFileSync(spec.pidPath, `${other.pid}\n`);
  t.equal(isOurs(other.pid!, spec.markers), false);
  t.equal(runningPid(spec), null, 'not reported as running');
  t.equal(await stopProcess(spec, { hard: true }), 'not-running');
  t.equal(other.exitCode, null, 'still alive');
  process.kill(other.pid!, 0);
  other.kill('SIGKILL');
  // Garbage and stale pid files read as "not running".
  writeFileSync(spec.pidPath, 'garbage\n');
  t.equal(runningPid(spec), null);
  writeFileSync(spec.pidPath, '999999999\n');
  t.equal(runningPid(spec), null);
});

t.test('one cluster up per directory at a time', async (t) => {
  const lock = join(dir, 'up.lock');
  const release = lockDir(lock, 'cluster up');
  const other = spawn(process.execPath, ['-e', idle], { stdio: 'ignore' });
  pids.push(other.pid!);
  release();
  writeFileSync(lock, `${other.pid}\n`);
  t.throws(() => lockDir(lock, 'cluster up on X'), { code: 'EBUSY', message: /cluster up on X is already in progress \(pid \d+/ });
  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  const again = lockDir(lock, 'cluster up');
  t.equal(readPid(lock), process.pid, 'a stale lock is taken over');
  again();
  t.equal(readPid(lock), null, 'released');
});
