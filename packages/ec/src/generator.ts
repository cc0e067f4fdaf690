/**
 * The generator matrix of the code: systematic, (k+m)×k, G = [ I_k ; P ] where P is an m×k
 * *normalised Cauchy* matrix. Chunk i (0 ≤ i < k+m) is row i of G times the data column vector,
 * byte position by byte position; chunks 0..k-1 are the data itself, k..k+m-1 the parity.
 *
 * Construction (all arithmetic in GF(2^8), poly 0x11d):
 *   x_i = k + i (0 ≤ i < m),  y_j = j (0 ≤ j < k)      — k+m distinct field elements
 *   C[i][j] = 1 / (x_i ⊕ y_j)                          — Cauchy; x_i ⊕ y_j ≠ 0 since x_i ≠ y_j
 *   P[i][j] = C[i][j] / (C[0][j] · (C[i][0] / C[0][0])) — scale columns so row 0 is all ones, then
 *                                                         rows so column 0 is all ones
 * (C alone is the matrix ISA-L's gf_gen_cauchy1_matrix builds; the scaling is ours.)
 *
 * Why normalise: parity 0 becomes the plain XOR of the data (RAID-5's P) and every parity row has a
 * 1 for data chunk 0. XOR costs one vector instruction where a general coefficient costs six
 * (two nibble lookups, their range fix-ups and two XORs), so encoding 4+2 does about half the work,
 * a single lost chunk with parity 0 present is rebuilt by XOR alone, and for two lost data chunks
 * the second one is the XOR of everything else (see plan.ts). m = 1 is exactly RAID-5.
 *
 * Proof that every k×k matrix used for decoding is invertible (the code is MDS):
 *   Decoding from any k surviving chunks uses the k×k matrix A made of their rows of G. Say the
 *   survivors are the data rows D and parity rows Q, and L is the set of lost data columns; then
 *   |Q| = |L| = e. Ordering columns D first, A = [[I, 0], [P_QD, P_QL]] is block triangular, so
 *   det A = det P_QL, an e×e submatrix of P. P = Dr·C·Dc with Dr, Dc diagonal and non-zero on the
 *   diagonal, so det P_QL = (non-zero scalars) · det C_QL, and C_QL is itself a Cauchy matrix with
 *   parameters (x_i)_{i∈Q}, (y_j)_{j∈L}. Cauchy's determinant formula, valid over any field,
 *       det C_QL = Π_{i<i'} (x_i' − x_i)(y_i − y_i') / Π_{i,j} (x_i + y_j),
 *   has in characteristic 2 the numerator Π (x_i ⊕ x_i')(y_j ⊕ y_j') ≠ 0 (distinct x's, distinct
 *   y's) and a non-zero denominator, so det A ≠ 0. ∎  This holds for every k + m ≤ 256; the limits
 *   below are the supported range (they bound table and cache sizes). test/mds.test.ts checks it
 *   exhaustively wherever that is feasible and by sampling elsewhere.
 */
import { NacreError } from '@nacre/util';
import { gfDiv, gfInv } from './gf256.js';
import { Matrix } from './matrix.js';

/** Largest number of data chunks. */
export const DATA_CHUNKS_MAX = 32;
/** Largest number of parity chunks. */
export const PARITY_CHUNKS_MAX = 8;
/** Largest k + m. */
export const TOTAL_CHUNKS_MAX = 40;

/** Throws EINVAL unless (k, m) is in the supported range. */
export function checkGeometry(k: number, m: number): void {
  const ok = Number.isInteger(k) && Number.isInteger(m) && k >= 1 && k <= DATA_CHUNKS_MAX &&
    m >= 1 && m <= PARITY_CHUNKS_MAX && k + m <= TOTAL_CHUNKS_MAX;
  if (!ok) {
    throw new NacreError(
      `unsupported erasure code k=${k} m=${m} (need 1 ≤ k ≤ ${DATA_CHUNKS_MAX}, 1 ≤ m ≤ ${PARITY_CHUNKS_MAX}, ` +
        `k + m ≤ ${TOTAL_CHUNKS_MAX})`,
      { code: 'EINVAL' },
    );
  }
}

/** The raw m×k Cauchy matrix 1 / (x_i ⊕ y_j) with x_i = k + i, y_j = j. */
export function cauchyMatrix(k: number, m: number): Matrix {
  checkGeometry(k, m);
  const c = new Matrix(m, k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) c.set(i, j, gfInv((k + i) ^ j));
  }
  return c;
}

/** The m×k parity part P of the generator (normalised Cauchy, see the file comment). */
export function parityMatrix(k: number, m: number): Matrix {
  const c = cauchyMatrix(k, m);
  const p = new Matrix(m, k);
  for (let j = 0; j < k; j++) {
    const colScale = c.get(0, j);
    for (let i = 0; i < m; i++) p.set(i, j, gfDiv(c.get(i, j), colScale));
  }
  for (let i = 1; i < m; i++) {
    const rowScale = p.get(i, 0);
    for (let j = 0; j < k; j++) p.set(i, j, gfDiv(p.get(i, j), rowScale));
  }
  return p;
}

/** The full (k+m)×k systematic generator [ I_k ; P ]. */
export function generatorMatrix(k: number, m: number): Matrix {
  const p = parityMatrix(k, m);
  const g = new Matrix(k + m, k);
  for (let i = 0; i < k; i++) g.set(i, i, 1);
  g.data.set(p.data, k * k);
  return g;
}
