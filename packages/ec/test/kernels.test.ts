/**
 * Kernel equivalence: random plans (1–32 inputs, 0–8 general outputs, 0/1/random coefficients,
 * XOR outputs and chains, set and update mode) over random ranges of buffers that are inside
 * kernel memory or not, at odd offsets — the SIMD kernels must match the JavaScript one byte for
 * byte, including bytes outside the range (untouched). Relaxed SIMD is checked in a child Node
 * started with the flag when this one lacks it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import { createJsKernel, createWasmKernel, wasmKernelSupported } from '@nacre/ec';
import { Prng } from '@nacre/util';
import { compareKernels, randomPlanCase } from './kernel-check.js';
import { runs, seed, seedLine } from './helpers.js';

t.comment(seedLine);
const js = createJsKernel();

t.test('wasm-simd ≡ js on random plans', async (t) => {
  const wasm = createWasmKernel({ memoryBytes: 16 << 20 });
  const usedBefore = wasm.arena.usedBytes;
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (caseSeed) => {
    const rng = new Prng(caseSeed);
    const failure = compareKernels(rng, randomPlanCase(rng), js, wasm);
    if (failure !== null) throw new Error(failure);
  }), { seed, numRuns: 3 * runs });
  t.equal(wasm.arena.usedBytes, usedBefore, 'every descriptor and buffer returned to the arena');
  wasm.arena.checkInvariants();
});

t.test('a kernel whose arena cannot hold a plan falls back to JavaScript for it', async (t) => {
  const tiny = createWasmKernel({ memoryBytes: 1 << 20, stageAreaBytes: 64 * 1024 });
  while (tiny.alloc(4096) !== null) { /* exhaust the arena */ }
  while (tiny.alloc(1) !== null) { /* down to the last cache line */ }
  const rng = new Prng(seed);
  let failures = 0;
  for (let n = 0; n < 20; n++) if (compareKernels(rng, randomPlanCase(rng), js, tiny) !== null) failures++;
  t.equal(failures, 0);
});

t.test('wasm-relaxed-simd ≡ js on random plans', async (t) => {
  if (wasmKernelSupported(true)) {
    const relaxed = createWasmKernel({ relaxed: true, memoryBytes: 16 << 20 });
    const rng = new Prng(seed);
    let failure: string | null = null;
    for (let n = 0; n < runs && failure === null; n++) failure = compareKernels(rng, randomPlanCase(rng), js, relaxed);
    t.equal(failure, null);
    return;
  }
  const child = fileURLToPath(new URL('./relaxed-child.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', child, String(seed), String(runs)], {
    encoding: 'utf8',
  });
  t.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { supported?: boolean; failure?: string | null };
  if (result.supported !== true) {
    t.comment('relaxed SIMD not available even with the flag; skipped');
    return;
  }
  t.equal(result.failure, null, 'relaxed kernel matches in the child');
});
