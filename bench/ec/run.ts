/**
 * Erasure-code throughput: Reed–Solomon 4+2 on 4 MiB objects (1 MiB chunks), one thread.
 *
 *   ./node_modules/.bin/tsc -b packages/ec && node --import tsx bench/ec/run.ts [--quick] [--no-isal]
 *
 * For each kernel: encode (4 data → 2 parity) and decode (data chunks 1 and 2 lost, rebuilt from
 * 0, 3 and both parities), in GB/s of object data (4 MiB per operation, 1 GB = 1e9 bytes), with
 *   zero-copy  chunks allocated in the kernel's WebAssembly memory (allocStripe), encoded and
 *              rebuilt in place — the path the OSD is meant to use;
 *   copy-in    inputs in ordinary Buffers (the object from a client message; shards from peers),
 *              staged into WebAssembly memory block by block; outputs written in place into a
 *              stripe in kernel memory and sent from there — nothing copied out;
 *   copying    ordinary Buffers in and out: every byte staged into WebAssembly memory and the
 *              results copied back (encode(data, parityInto) / reconstruct(..., into)).
 * When Debian's libisal-dev is installed, bench/ec/isal_bench.c is compiled and run on the same
 * code (our generator matrix), sizes and data in this run (before and after ours; the faster of
 * the two counts), and the ratios ours / ISA-L are printed; its parity hash must equal ours.
 * Relaxed SIMD is measured in a child Node started with --experimental-wasm-relaxed-simd.
 * Also reported: the longest synchronous slice for a 4 MiB object, sync and async.
 * Prints human lines, then one JSON line (last line of output).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReedSolomon, kernelAvailable, type KernelName, type PlannerMode } from '@nacre/ec';

const K = 4;
const M = 2;
const OBJECT_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = OBJECT_BYTES / K;
const LOST = [1, 2];
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const childRelaxed = argv.includes('--child-relaxed');
const ROUNDS = quick ? 3 : 7;
const ROUND_MS = quick ? 40 : 120;

interface Result {
  kernel: KernelName;
  buffers: 'zero-copy' | 'copy-in' | 'copying';
  planner: PlannerMode;
  /** Medians over the rounds. */
  encodeGBps: number;
  decodeGBps: number;
  /** Fastest round: on a shared machine the closest to what the code does undisturbed. */
  encodeGBpsBest: number;
  decodeGBpsBest: number;
}

/** GB/s of object data for `iterations` calls. */
function batch(op: () => void, iterations: number): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) op();
  return (OBJECT_BYTES * iterations) / ((performance.now() - start) / 1000) / 1e9;
}

/**
 * Median and best GB/s over ROUNDS rounds of ≈ ROUND_MS. Warm-up runs until two consecutive
 * batches agree within 5 % (V8 first runs WebAssembly in its baseline compiler and swaps in the
 * optimised code when a background compile finishes — later on a busy machine).
 */
function rate(op: () => void): { median: number; best: number } {
  const t0 = performance.now();
  op();
  const perOpMs = Math.max(performance.now() - t0, 0.01);
  const iterations = Math.max(3, Math.round(ROUND_MS / perOpMs));
  const warmIterations = Math.max(2, Math.round(iterations / 4));
  const warmupEnd = performance.now() + (quick ? 1000 : 3000);
  let previous = batch(op, warmIterations);
  for (;;) {
    const current = batch(op, warmIterations);
    if (Math.abs(current - previous) < 0.05 * previous || performance.now() > warmupEnd) break;
    previous = current;
  }
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) rates.push(batch(op, iterations));
  rates.sort((a, b) => a - b);
  return { median: rates[Math.floor(ROUNDS / 2)]!, best: rates[ROUNDS - 1]! };
}

function result(kernel: KernelName, buffers: Result['buffers'], planner: PlannerMode, encode: () => void, decode: () => void): Result {
  const e = rate(encode);
  const d = rate(decode);
  return { kernel, buffers, planner, encodeGBps: e.median, decodeGBps: d.median, encodeGBpsBest: e.best, decodeGBpsBest: d.best };
}

/** The byte stream isal_bench.c uses, so both sides encode the same data. */
function lcgChunks(): Uint8Array[] {
  let x = 12345;
  return Array.from({ length: K }, () => {
    const chunk = new Uint8Array(CHUNK_BYTES);
    for (let p = 0; p < CHUNK_BYTES; p++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      chunk[p] = x >>> 24;
    }
    return chunk;
  });
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function measureZeroCopy(kernel: KernelName, planner: PlannerMode, data: Uint8Array[]): Result {
  const rs = new ReedSolomon({ k: K, m: M, kernel, planner });
  const stripe = rs.allocStripe(CHUNK_BYTES);
  if (!stripe.zeroCopy) throw new Error('stripe did not fit in kernel memory');
  stripe.data.forEach((c, i) => c.set(data[i]!));
  rs.encodeStripe(stripe);
  const reference = stripe.chunks.map((c) => c.slice());
  for (const i of LOST) stripe.chunks[i]!.fill(0);
  rs.reconstructInPlace(stripe.chunks, LOST);
  if (!stripe.chunks.every((c, i) => same(c, reference[i]!))) throw new Error(`${kernel}: decode mismatch`);
  const r = result(kernel, 'zero-copy', planner, () => rs.encodeStripe(stripe), () => rs.reconstructInPlace(stripe.chunks, LOST));
  stripe.release();
  rs.dispose();
  return r;
}

/**
 * The OSD's realistic path: the object (for decode: the surviving shards) arrives in ordinary
 * Buffers — a client message, replies from peers — and the outputs go to a stripe in kernel memory,
 * from which they are sent (a socket or file write takes any Uint8Array). The codec stages the
 * inputs block by block while it computes; nothing is copied out.
 */
function measureCopyIn(kernel: KernelName, data: Uint8Array[]): Result {
  const rs = new ReedSolomon({ k: K, m: M, kernel });
  const stripe = rs.allocStripe(CHUNK_BYTES);
  if (!stripe.zeroCopy) throw new Error('stripe did not fit in kernel memory');
  const object = Buffer.concat(data); // one 4 MiB object, as a client message delivers it
  const objectChunks = data.map((_, i) => object.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
  const incoming = [...data, ...rs.encode(data)].map((c) => Buffer.from(c)); // shards from peers
  const survivors = incoming.map((c, i) => (LOST.includes(i) ? null : c));
  const rebuilt = LOST.map((i) => stripe.chunks[i]!);
  const encode = (): void => { rs.encode(objectChunks, stripe.parity); };
  const decode = (): void => { rs.reconstruct(survivors, LOST, rebuilt); };
  encode();
  decode();
  if (!stripe.parity.every((c, i) => same(c, incoming[K + i]!))) throw new Error(`${kernel}: copy-in encode mismatch`);
  if (!LOST.every((i) => same(stripe.chunks[i]!, incoming[i]!))) throw new Error(`${kernel}: copy-in decode mismatch`);
  const r = result(kernel, 'copy-in', 'xor-shortcuts', encode, decode);
  stripe.release();
  rs.dispose();
  return r;
}

function measureCopying(kernel: KernelName, data: Uint8Array[]): Result {
  const rs = new ReedSolomon({ k: K, m: M, kernel });
  const buffers = data.map((d) => Buffer.from(d)); // ordinary memory, outside the kernel's
  const parity = [Buffer.alloc(CHUNK_BYTES), Buffer.alloc(CHUNK_BYTES)];
  const into = LOST.map(() => Buffer.alloc(CHUNK_BYTES));
  rs.encode(buffers, parity);
  const chunks = [...buffers, ...parity].map((c, i) => (LOST.includes(i) ? null : c));
  rs.reconstruct(chunks, LOST, into);
  if (!LOST.every((i, j) => same(into[j]!, data[i]!))) throw new Error(`${kernel}: decode mismatch`);
  const r = result(kernel, 'copying', 'xor-shortcuts', () => rs.encode(buffers, parity), () => rs.reconstruct(chunks, LOST, into));
  rs.dispose();
  return r;
}

interface SliceFigures { syncMsMax: number; syncMsMedian: number; sliceMsMax: number; sliceMsMedian: number; slicesPerOperation: number }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** How long the event loop is blocked for a 4 MiB object: one sync call, and the async path's slices. */
async function eventLoopSlices(kernel: KernelName, data: Uint8Array[]): Promise<SliceFigures> {
  const rs = new ReedSolomon({ k: K, m: M, kernel });
  const stripe = rs.allocStripe(CHUNK_BYTES);
  stripe.data.forEach((c, i) => c.set(data[i]!));
  const sync: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    rs.encodeStripe(stripe);
    const t1 = performance.now();
    rs.reconstructInPlace(stripe.chunks, LOST);
    sync.push(t1 - t0, performance.now() - t1);
  }
  const slices: number[] = [];
  let sliceStart = 0;
  const yieldFn = async (): Promise<void> => {
    slices.push(performance.now() - sliceStart);
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const survivors = stripe.chunks.map((c, i) => (LOST.includes(i) ? null : c));
  for (let i = 0; i < 10; i++) {
    sliceStart = performance.now();
    if (i % 2 === 0) await rs.encodeAsync(stripe.data, stripe.parity, { yieldFn });
    else await rs.reconstructAsync(survivors, LOST, LOST.map((j) => stripe.chunks[j]!), { yieldFn });
    slices.push(performance.now() - sliceStart);
  }
  stripe.release();
  rs.dispose();
  return {
    syncMsMax: Math.max(...sync), syncMsMedian: median(sync),
    sliceMsMax: Math.max(...slices), sliceMsMedian: median(slices), slicesPerOperation: slices.length / 10,
  };
}

function fnv1a64(chunks: readonly Uint8Array[]): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const TWO32 = 0x1_0000_0000;
  for (const chunk of chunks) {
    for (let p = 0; p < chunk.length; p++) {
      lo = (lo ^ chunk[p]!) >>> 0;
      const a = lo * 0x1b3;
      hi = (hi * 0x1b3 + Math.floor(a / TWO32) + ((lo * 256) % TWO32)) % TWO32;
      lo = a % TWO32;
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

interface IsalResult {
  encodeGBps: number; decodeGBps: number; encodeGBpsBest: number; decodeGBpsBest: number;
  parityFnv1a64: string; decodeOk: boolean;
}

function prepareIsal(): { run: () => IsalResult } | { skipped: string } {
  if (argv.includes('--no-isal')) return { skipped: '--no-isal' };
  if (!existsSync('/usr/include/isa-l/erasure_code.h')) return { skipped: 'libisal-dev not installed (apt-get install libisal-dev)' };
  const dir = mkdtempSync(join(tmpdir(), 'nacre-isal-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const exe = join(dir, 'isal_bench');
  const source = fileURLToPath(new URL('./isal_bench.c', import.meta.url));
  const cc = spawnSync('gcc', ['-O2', '-o', exe, source, '-lisal'], { encoding: 'utf8' });
  if (cc.status !== 0) return { skipped: `gcc failed: ${cc.error?.message ?? cc.stderr}` };
  const hex = Buffer.from(new ReedSolomon({ k: K, m: M, kernel: 'js' }).generator.data).toString('hex');
  // ≈ ROUND_MS per round at ~15 GB/s.
  const iterations = Math.max(10, Math.round((ROUND_MS / 1000) * 15e9 / OBJECT_BYTES));
  return {
    run: () => {
      const r = spawnSync(exe, [K, M, CHUNK_BYTES, ROUNDS, iterations, hex, LOST[0], LOST[1]].map(String), { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`isal_bench failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim()) as IsalResult;
    },
  };
}

function measureKernels(kernels: readonly KernelName[], data: Uint8Array[]): Result[] {
  const results: Result[] = [];
  for (const kernel of kernels) {
    if (kernel !== 'js') {
      results.push(measureZeroCopy(kernel, 'xor-shortcuts', data));
      results.push(measureZeroCopy(kernel, 'plain', data));
      results.push(measureCopyIn(kernel, data));
    }
    results.push(measureCopying(kernel, data));
  }
  return results;
}

function relaxedFromChild(): Result[] {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', self, '--child-relaxed', ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return [];
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result[];
}

const gb = (x: number): string => x.toFixed(2).padStart(6);

interface Ratio { encode: number; decode: number; encodeBest: number; decodeBest: number }

/** ISA-L's figures (the faster of its runs before and after ours) and our ratios to them. */
function reportIsal(runs: readonly IsalResult[], results: readonly Result[], ourHash: string): { isal: IsalResult; ratios: Record<string, Ratio> } {
  const isal: IsalResult = {
    encodeGBps: Math.max(...runs.map((r) => r.encodeGBps)),
    decodeGBps: Math.max(...runs.map((r) => r.decodeGBps)),
    encodeGBpsBest: Math.max(...runs.map((r) => r.encodeGBpsBest)),
    decodeGBpsBest: Math.max(...runs.map((r) => r.decodeGBpsBest)),
    parityFnv1a64: runs[0]!.parityFnv1a64,
    decodeOk: runs.every((r) => r.decodeOk),
  };
  console.log(`${'ISA-L 2.30 ec_encode_data'.padEnd(45)} ${gb(isal.encodeGBps)} (${gb(isal.encodeGBpsBest)})  ${gb(isal.decodeGBps)} (${gb(isal.decodeGBpsBest)})`);
  console.log(`  ISA-L runs before/after ours, median encode ${runs.map((r) => r.encodeGBps.toFixed(2)).join('/')}, decode ${runs.map((r) => r.decodeGBps.toFixed(2)).join('/')}`);
  console.log(`  parity hash ISA-L ${isal.parityFnv1a64}, ours ${ourHash}: ${isal.parityFnv1a64 === ourHash ? 'identical' : 'DIFFERENT'}; ISA-L rebuilt the lost chunks: ${isal.decodeOk}`);
  const ratios: Record<string, Ratio> = {};
  console.log('\nratio to ISA-L (medians; fastest rounds in parentheses):');
  for (const r of results) {
    if (r.kernel === 'js') continue;
    const key = `${r.kernel} ${r.buffers} ${r.planner}`;
    const ratio = {
      encode: r.encodeGBps / isal.encodeGBps, decode: r.decodeGBps / isal.decodeGBps,
      encodeBest: r.encodeGBpsBest / isal.encodeGBpsBest, decodeBest: r.decodeGBpsBest / isal.decodeGBpsBest,
    };
    ratios[key] = ratio;
    console.log(`  ${key.padEnd(45)} encode ${ratio.encode.toFixed(2)} (${ratio.encodeBest.toFixed(2)})  decode ${ratio.decode.toFixed(2)} (${ratio.decodeBest.toFixed(2)})`);
  }
  return { isal, ratios };
}

async function main(): Promise<void> {
  const data = lcgChunks();
  if (childRelaxed) {
    console.log(JSON.stringify(kernelAvailable('wasm-relaxed-simd') ? measureKernels(['wasm-relaxed-simd'], data) : []));
    return;
  }
  const kernels = (['wasm-simd', 'wasm-relaxed-simd', 'js'] as KernelName[]).filter(kernelAvailable);
  console.log(`EC ${K}+${M}, ${OBJECT_BYTES / 1048576} MiB objects (${CHUNK_BYTES / 1048576} MiB chunks), lost [${LOST}], one thread`);
  console.log(`${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const isalRunner = prepareIsal();
  const isalRuns: IsalResult[] = [];
  if ('run' in isalRunner) isalRuns.push(isalRunner.run());
  const results = measureKernels(kernels, data);
  if (!kernels.includes('wasm-relaxed-simd')) results.push(...relaxedFromChild());
  if ('run' in isalRunner) isalRuns.push(isalRunner.run());

  console.log(`\n${'kernel, buffers, planner'.padEnd(45)} encode GB/s (best)  decode GB/s (best)`);
  for (const r of results) {
    console.log(`${`${r.kernel}, ${r.buffers}, ${r.planner}`.padEnd(45)} ${gb(r.encodeGBps)} (${gb(r.encodeGBpsBest)})  ${gb(r.decodeGBps)} (${gb(r.decodeGBpsBest)})`);
  }
  const ourHash = fnv1a64(new ReedSolomon({ k: K, m: M, kernel: kernels[0] }).encode(data));
  let isal: IsalResult | null = null;
  let ratios: Record<string, Ratio> = {};
  if (isalRuns.length > 0) ({ isal, ratios } = reportIsal(isalRuns, results, ourHash));
  else if ('skipped' in isalRunner) console.log(`\nISA-L comparison skipped: ${isalRunner.skipped}`);

  const eventLoop: Record<string, SliceFigures> = {};
  console.log('\nlongest synchronous slice for a 4 MiB object (10 encodes + 10 decodes; zero-copy where the kernel has memory):');
  for (const kernel of kernels) {
    const e = await eventLoopSlices(kernel, data);
    eventLoop[kernel] = e;
    console.log(`  ${kernel.padEnd(18)} sync call: max ${e.syncMsMax.toFixed(2)} ms, median ${e.syncMsMedian.toFixed(2)} ms; ` +
      `async path: ${e.slicesPerOperation} slices, max ${e.sliceMsMax.toFixed(2)} ms, median ${e.sliceMsMedian.toFixed(3)} ms`);
  }
  console.log(JSON.stringify({
    bench: 'ec', k: K, m: M, objectBytes: OBJECT_BYTES, chunkBytes: CHUNK_BYTES, lost: LOST, node: process.version,
    cpu: cpus()[0]?.model, cpus: cpus().length, loadavg: loadavg(), results, isal, isalRuns,
    isalParityMatches: isal === null ? null : isal.parityFnv1a64 === ourHash, ratioToIsal: ratios, eventLoop,
  }));
}

await main();
