#!/usr/bin/env node
// `npm test`: build + type-check everything (sources and tests), then run every test file with tap.
// Ends with one summary line `N passed, N failed` (top-level tests), which CI greps for.
// Extra arguments are passed to tap, e.g. `npm test -- packages/crush/test/mapper.test.ts`.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: opts.capture ? ['inherit', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', maxBuffer: 1 << 30 });
  if (opts.capture && r.stdout) process.stdout.write(r.stdout);
  return r;
}

function finish(passed, failed) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

for (const [what, args] of [['build', ['-b']], ['type-check tests', ['-p', 'tsconfig.test.json']]]) {
  console.log(`> tsc ${args.join(' ')}`);
  const r = run(bin('tsc'), args);
  if (r.status !== 0) { console.log(`${what} failed`); finish(0, 1); }
}

// tap caches its plugin set; after a fresh install (or a .taprc change) it must be rebuilt once,
// otherwise the first run still loads the TypeScript plugin we disabled.
const stamp = join(root, 'node_modules', '.nacre-tap-build');
const taprc = join(root, '.taprc');
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(taprc).mtimeMs) {
  const r = run(bin('tap'), ['build']);
  if (r.status !== 0) { console.log('tap build failed'); finish(0, 1); }
  writeFileSync(stamp, new Date().toISOString() + '\n');
}

const r = run(bin('tap'), ['-R', 'base', ...process.argv.slice(2)], { capture: true });
const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(r.stdout ?? '');
if (!m) { console.log('tap did not report a summary'); finish(0, 1); }
const total = Number(m[1]);
const passed = Number(m[2] ?? 0);
const failed = Math.max(Number(m[3] ?? 0), total - passed, r.status === 0 ? 0 : 1);
finish(passed, failed);
