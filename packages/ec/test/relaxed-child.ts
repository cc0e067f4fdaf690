/**
 * Run by kernels.test.ts in `node --experimental-wasm-relaxed-simd`: the relaxed-SIMD kernel
 * against the JavaScript one on random plans. Prints one JSON line.
 */
import { createJsKernel, createWasmKernel, wasmKernelSupported } from '@nacre/ec';
import { Prng } from '@nacre/util';
import { compareKernels, randomPlanCase } from './kernel-check.js';

const seed = Number(process.argv[2] ?? 1);
const runs = Number(process.argv[3] ?? 100);
if (!wasmKernelSupported(true)) {
  console.log(JSON.stringify({ supported: false }));
} else {
  const rng = new Prng(seed);
  const relaxed = createWasmKernel({ relaxed: true, memoryBytes: 16 << 20 });
  const js = createJsKernel();
  let failure: string | null = null;
  for (let n = 0; n < runs && failure === null; n++) failure = compareKernels(rng, randomPlanCase(rng), js, relaxed);
  console.log(JSON.stringify({ supported: true, runs, failure, arenaUsedBytes: relaxed.arena.usedBytes }));
}
