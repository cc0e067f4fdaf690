#!/usr/bin/env node
// `npm run bench -- NAME [args...]`: builds, then runs bench/NAME/run.ts (printing figures and a
// JSON line). Without NAME, lists the benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benches = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'bench', d.name, 'run.ts')))
  .map((d) => d.name)
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !benches.includes(name)) {
  console.log(`usage: npm run bench -- <${benches.join('|')}> [args...]`);
  process.exit(name === undefined ? 0 : 2);
}
const build = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', name, 'run.ts'), ...rest], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
