/** Running the `nacre` CLI in tests: in-process (fast, same code) or as a real child process. */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@nacre/cli';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const nacreBin = join(repoRoot, 'bin', 'nacre');

export interface CliResult { code: number; stdout: string; stderr: string }

export async function nacre(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

/**
 * Child processes run the compiled JS exactly as a user would, without the test runner's loader
 * hooks: tap re-injects its hooks through NODE_OPTIONS into every child it sees spawned, so the
 * command is started through `env -u NODE_OPTIONS`.
 */
export function nacreProcess(args: string[], input?: string): CliResult {
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, nacreBin, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
