/**
 * Shared test helpers: the seed every property uses (printed; NACRE_SEED=N reproduces), a textbook
 * GF(2^8) multiply that shares nothing with the package's tables, and small buffer utilities.
 */
import fc from 'fast-check';
import { seedFromEnv } from '@nacre/util';

export const seed = seedFromEnv();
export const runs = 100;
export const seedLine = `property seed ${seed} (reproduce with NACRE_SEED=${seed})`;

/** Shift-and-add ("Russian peasant") multiply modulo x^8+x^4+x^3+x^2+1, no tables. */
export function slowMul(a: number, b: number): number {
  let r = 0;
  let x = a;
  let y = b;
  while (y !== 0) {
    if (y & 1) r ^= x;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
    y >>= 1;
  }
  return r;
}

/** Inverse by exhaustive search. */
export function slowInv(a: number): number {
  for (let x = 1; x < 256; x++) if (slowMul(a, x) === 1) return x;
  throw new Error(`no inverse for ${a}`);
}

/** out[p] = Σ_i row[i] · chunks[i][p], one byte at a time: the textbook matrix-vector product. */
export function slowCombine(row: ArrayLike<number>, chunks: readonly Uint8Array[], lengthBytes: number): Uint8Array {
  const out = new Uint8Array(lengthBytes);
  for (let p = 0; p < lengthBytes; p++) {
    let acc = 0;
    for (let i = 0; i < chunks.length; i++) acc ^= slowMul(row[i]!, chunks[i]![p]!);
    out[p] = acc;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Chunk sizes weighted towards the edge cases: 0, 1, odd, around the SIMD step (64), larger. */
export const chunkSizeArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 300, max: 5000 }),
);

/** (k, m) in the property range: k ∈ [2, 12], m ∈ [1, 4]. */
export const geometryArb = fc.record({ k: fc.integer({ min: 2, max: 12 }), m: fc.integer({ min: 1, max: 4 }) });

/** A subset of [0, n) with size in [minSize, maxSize], in random order. */
export function subsetArb(n: number, minSize: number, maxSize: number): fc.Arbitrary<number[]> {
  return fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: minSize, maxLength: Math.min(maxSize, n) });
}

export function randomChunks(rng: { fill(b: Uint8Array): Uint8Array }, count: number, lengthBytes: number): Uint8Array[] {
  return Array.from({ length: count }, () => rng.fill(new Uint8Array(lengthBytes)));
}
