/**
 * Sweep for WIDTH_BY_GENERAL_OUTPUTS (packages/ec/src/wasm-kernel-code.ts): how many 16-byte
 * vectors per input the generated SIMD loop should process per step, for each number N of general
 * outputs. Runs an all-multiply plan (k inputs, N outputs, plus the XOR output) in place in kernel
 * memory and prints GB/s of input per width (fastest of 9 rounds), then the best width per N.
 *
 *   node --import tsx bench/ec/widths.ts [--k 8] [--chunk-kib 64] [--relaxed] [--candidates 1,2,4]
 * (build first: ./node_modules/.bin/tsc -b packages/ec)
 */
import { Matrix, createWasmKernel, makePlan, type RunArgs } from '@nacre/ec';
import { Prng } from '@nacre/util';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const k = arg('k', 8);
const chunkBytes = arg('chunk-kib', 64) * 1024; // cache-resident: measures the loop, not memory
const relaxed = argv.includes('--relaxed');
const candidatesIndex = argv.indexOf('--candidates');
const candidates = candidatesIndex >= 0 ? argv[candidatesIndex + 1]!.split(',').map(Number) : [1, 2, 4];
const rng = new Prng(1);

function measure(widths: number[], n: number): number {
  const kernel = createWasmKernel({ relaxed, widths, memoryBytes: 64 << 20 });
  const general = new Matrix(n, k);
  for (let i = 0; i < general.data.length; i++) general.data[i] = rng.int(2, 255);
  const plan = makePlan({ general, hasXorOutput: true, xorInputs: new Array<boolean>(k).fill(true) });
  const prepared = kernel.prepare(plan);
  const buffer = (): Uint8Array => rng.fill(kernel.alloc(chunkBytes)!);
  const args: RunArgs = {
    inputs: Array.from({ length: k }, buffer),
    generalOutputs: Array.from({ length: n }, buffer),
    xorOutput: buffer(),
    startBytes: 0,
    endBytes: chunkBytes,
    update: false,
  };
  for (let i = 0; i < 100; i++) kernel.run(prepared, args); // let V8 tier the function up
  // The fastest of several rounds: on a shared machine the least disturbed one.
  let best = 0;
  for (let round = 0; round < 9; round++) {
    const iterations = 20;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) kernel.run(prepared, args);
    best = Math.max(best, (k * chunkBytes * iterations) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return best;
}

console.log(`k=${k} inputs, ${chunkBytes / 1024} KiB chunks, ${relaxed ? 'relaxed ' : ''}SIMD; GB/s of input`);
const best: number[] = [];
for (let n = 0; n <= 8; n++) {
  const row = candidates.map((w) => {
    const widths = new Array<number>(9).fill(1);
    widths[n] = w;
    return measure(widths, n);
  });
  const bestIndex = row.indexOf(Math.max(...row));
  best.push(candidates[bestIndex]!);
  console.log(`N=${n}: ${row.map((r, i) => `W=${candidates[i]} ${r.toFixed(2)}`).join('  ')}`);
}
console.log(JSON.stringify({ bench: 'ec-widths', k, chunkBytes, relaxed, bestWidthByGeneralOutputs: best }));
