/**
 * The monitor's pid file: written (atomically: temp file + rename) once the store is open — the
 * store's LevelDB lock already guarantees one monitor per data directory — and removed on a clean
 * exit if it still names this process. After a kill -9 it stays behind naming a dead pid; tools
 * (`nacre cluster status`) check whether that pid is alive.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writePidFile(path: string, pid: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${pid}`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Remove `path` if it holds `pid` (a newer process may have replaced it). */
export function removePidFile(path: string, pid: number): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(pid)) rmSync(path, { force: true });
  } catch {
    // already gone: nothing to clean up
  }
}
