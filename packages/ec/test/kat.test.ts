/**
 * Known answers, derived without the package's tables:
 *   1. a textbook byte-by-byte matrix multiply (table-free GF multiply, generator recomputed from
 *      its formula) on seeded random data, for every kernel and both planners;
 *   2. parity hashes produced by ISA-L 2.30 (Debian libisal 2.30.0) from our generator matrix and
 *      the LCG byte stream of bench/ec/isal_bench.c: `isal_bench K M BYTES 1 1 <generator hex> 0 1`
 *      prints parityFnv1a64 — an independent native implementation agreeing with ours;
 *   3. one small vector written out in full.
 */
import t from 'tap';
import { ReedSolomon, kernelAvailable, type KernelName, type PlannerMode } from '@nacre/ec';
import { Prng } from '@nacre/util';
import { equalBytes, randomChunks, seed, seedLine, slowCombine, slowInv, slowMul } from './helpers.js';

t.comment(seedLine);
const kernels = (['js', 'wasm-simd', 'wasm-relaxed-simd'] as KernelName[]).filter(kernelAvailable);
const planners: PlannerMode[] = ['xor-shortcuts', 'plain'];

/** Parity row i of the generator, from the formula in generator.ts, with table-free arithmetic. */
function textbookParityRow(k: number, i: number): number[] {
  const c = (r: number, j: number): number => slowInv((k + r) ^ j);
  return Array.from({ length: k }, (_, j) =>
    slowMul(c(i, j), slowInv(slowMul(slowMul(c(0, j), c(i, 0)), slowInv(c(0, 0))))));
}

/** The byte stream of isal_bench.c: x ← x·1103515245 + 12345 mod 2^32, byte = x >> 24. */
function lcgChunks(k: number, lengthBytes: number): Uint8Array[] {
  let x = 12345;
  return Array.from({ length: k }, () => {
    const chunk = new Uint8Array(lengthBytes);
    for (let p = 0; p < lengthBytes; p++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      chunk[p] = x >>> 24;
    }
    return chunk;
  });
}

/** FNV-1a 64 over the chunks in order, as 16 hex digits (two 32-bit halves, exact in doubles). */
function fnv1a64(chunks: readonly Uint8Array[]): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const TWO32 = 0x1_0000_0000;
  for (const chunk of chunks) {
    for (let p = 0; p < chunk.length; p++) {
      lo = (lo ^ chunk[p]!) >>> 0;
      // h · (2^40 + 0x1b3) mod 2^64
      const a = lo * 0x1b3;
      const carry = Math.floor(a / TWO32);
      hi = (hi * 0x1b3 + carry + ((lo * 256) % TWO32)) % TWO32;
      lo = a % TWO32;
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

t.test('parity equals the textbook matrix product (all kernels, both planners)', async (t) => {
  const rng = new Prng(seed);
  let cases = 0;
  for (const [k, m, lengthBytes] of [[4, 2, 1000], [2, 1, 17], [6, 3, 129], [10, 4, 64], [12, 4, 333], [32, 8, 100], [5, 8, 77]] as const) {
    const data = randomChunks(rng, k, lengthBytes);
    const want = Array.from({ length: m }, (_, i) => slowCombine(textbookParityRow(k, i), data, lengthBytes));
    for (const kernel of kernels) {
      for (const planner of planners) {
        const rs = new ReedSolomon({ k, m, kernel, planner });
        const parity = rs.encode(data);
        t.ok(parity.every((p, i) => equalBytes(p, want[i]!)), `${k}+${m} ${lengthBytes} B ${kernel} ${planner}`);
        rs.dispose();
        cases++;
      }
    }
  }
  t.comment(`${cases} cases`);
});

const ISAL_VECTORS: readonly [k: number, m: number, chunkBytes: number, parityFnv1a64: string][] = [
  [4, 2, 1048576, 'b6dd3415483fed15'],
  [4, 2, 4099, 'facbf4658f7adab5'],
  [8, 3, 4099, 'f60b08ecf04f4864'],
  [10, 4, 1000, '1f3163624620bfad'],
  [6, 3, 1, '97676419f9decf13'],
  [12, 4, 333, '6f30ba0798b937c9'],
  [32, 8, 1031, 'dd33374967b8aa8b'],
  [20, 4, 65536, 'a5b5c38d0ddd2258'],
];

t.test('parity hashes agree with ISA-L 2.30 on the same generator and data', async (t) => {
  for (const [k, m, chunkBytes, hash] of ISAL_VECTORS) {
    const data = lcgChunks(k, chunkBytes);
    for (const kernel of kernels) {
      const rs = new ReedSolomon({ k, m, kernel });
      t.equal(fnv1a64(rs.encode(data)), hash, `${k}+${m} × ${chunkBytes} B, ${kernel}`);
      rs.dispose();
    }
  }
});

t.test('a small vector in full: 4+2, chunk i = [16i, 16i+1, …, 16i+7]', async (t) => {
  const data = [0, 1, 2, 3].map((i) => Uint8Array.from({ length: 8 }, (_, p) => 16 * i + p));
  // Parity 0 is the XOR of the data; parity 1 = d0 ⊕ 0xd9·d1 ⊕ 0x5c·d2 ⊕ 0xac·d3.
  const want = ['0000000000000000', slowCombine([1, 0xd9, 0x5c, 0xac], data, 8)].map((x) =>
    typeof x === 'string' ? x : Buffer.from(x).toString('hex'));
  t.equal(want[1], '68403810c8e098b0');
  for (const kernel of kernels) {
    const parity = new ReedSolomon({ k: 4, m: 2, kernel }).encode(data).map((p) => Buffer.from(p).toString('hex'));
    t.same(parity, want, kernel);
  }
});
