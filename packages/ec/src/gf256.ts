/**
 * Arithmetic in GF(2^8) with the reduction polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), the field
 * used by ISA-L, jerasure's default w=8 and most storage Reed–Solomon codes. Addition is XOR;
 * multiplication goes through log/antilog tables built from the generator 2 (which is primitive for
 * 0x11d, so its powers enumerate all 255 non-zero elements — the table builder asserts this).
 *
 * The tables are computed at module load (≈ 0.1 ms), never typed in by hand, so there is no magic
 * constant to get wrong. The tests check them against a slow shift-and-add multiply.
 */
import { assert } from '@nacre/util';

/** The reduction polynomial, including the x^8 term. */
export const GF_POLY = 0x11d;
/** Number of field elements. */
export const GF_ORDER = 256;

/** expTable[i] = 2^i for i in [0, 510): doubled so mul can index log(a) + log(b) without a modulo. */
const expTable = new Uint8Array(510);
/** logTable[a] = i with 2^i = a, for a ≠ 0 (logTable[0] is unused). */
const logTable = new Uint8Array(GF_ORDER);

(function buildTables(): void {
  let x = 1;
  const seen = new Uint8Array(GF_ORDER);
  for (let i = 0; i < 255; i++) {
    assert(seen[x] === 0, 'generator 2 is not primitive for the field polynomial');
    seen[x] = 1;
    expTable[i] = x;
    expTable[i + 255] = x;
    logTable[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLY;
  }
  assert(x === 1, 'generator 2 must have order 255');
})();

/** a · b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return expTable[logTable[a]! + logTable[b]!]!;
}

/** Multiplicative inverse; asserts a ≠ 0 (dividing by zero means a singular matrix slipped through). */
export function gfInv(a: number): number {
  assert(a !== 0 && a < GF_ORDER, () => `gfInv(${a}): no inverse`);
  return expTable[255 - logTable[a]!]!;
}

/** a / b in GF(2^8); asserts b ≠ 0. */
export function gfDiv(a: number, b: number): number {
  assert(b !== 0, 'gfDiv: division by zero');
  if (a === 0) return 0;
  return expTable[logTable[a]! + 255 - logTable[b]!]!;
}

/** a^n for n ≥ 0 (0^0 = 1). */
export function gfPow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return expTable[(logTable[a]! * n) % 255]!;
}

let mulTableCache: Uint8Array | null = null;

/**
 * The full 256×256 product table (64 KiB), row c at offset c·256: the scalar kernel's inner loop is
 * then a single indexed load per byte. Built on first use and shared.
 */
export function gfMulTable(): Uint8Array {
  if (mulTableCache !== null) return mulTableCache;
  const t = new Uint8Array(GF_ORDER * GF_ORDER);
  for (let a = 1; a < GF_ORDER; a++) {
    for (let b = 1; b < GF_ORDER; b++) t[a * GF_ORDER + b] = expTable[logTable[a]! + logTable[b]!]!;
  }
  mulTableCache = t;
  return t;
}

/**
 * Split-nibble tables for multiplying by the constant c: since multiplication distributes over XOR,
 * c·x = c·(x & 0x0f) ⊕ c·(x & 0xf0), so two 16-entry tables cover all 256 inputs. This is what a
 * 16-lane byte shuffle (i8x16.swizzle, pshufb) can look up in one instruction.
 * Writes low[16] then high[16] at `out[offsetBytes..offsetBytes+32)`.
 */
export function gfNibbleTables(c: number, out: Uint8Array, offsetBytes: number): void {
  for (let x = 0; x < 16; x++) {
    out[offsetBytes + x] = gfMul(c, x);
    out[offsetBytes + 16 + x] = gfMul(c, x << 4);
  }
}
