/**
 * The generator is MDS: every k×k matrix used for decoding is invertible, for every supported
 * (k, m) — k ≤ 32, m ≤ 8, k + m ≤ 40.
 *
 * generator.ts proves it: a decode matrix made of data rows D and parity rows Q is block triangular
 * with determinant det P_QL (L = lost data columns), and every square submatrix of the normalised
 * Cauchy matrix P is non-singular. So the tests check:
 *   1. P is what the documented formula gives (recomputed here with a table-free multiply);
 *   2. exhaustively, every square submatrix of P for each (k, m) with at most MDS_BUDGET of them
 *      (C(k+m, m) − 1 submatrices) — 180 of the 256 supported pairs by default; NACRE_EC_MDS_BUDGET
 *      raises the budget (e.g. 1e9 to run the full check, which takes hours);
 *   3. by sampling for the other pairs;
 *   4. the block argument itself: for k + m ≤ 12 every k-row subset of G is inverted directly, and
 *      for every pair a few random real decode matrices.
 * The determinant check below is test-local Gaussian elimination, not the package's Matrix.
 */
import t from 'tap';
import {
  DATA_CHUNKS_MAX, Matrix, PARITY_CHUNKS_MAX, TOTAL_CHUNKS_MAX, gfInv, gfMul, generatorMatrix, parityMatrix,
} from '@nacre/ec';
import { Prng } from '@nacre/util';
import { seed, seedLine, slowInv, slowMul } from './helpers.js';

t.comment(seedLine);
const MDS_BUDGET = Number(process.env['NACRE_EC_MDS_BUDGET'] ?? 50_000);

const supported: { k: number; m: number }[] = [];
for (let k = 1; k <= DATA_CHUNKS_MAX; k++) {
  for (let m = 1; m <= PARITY_CHUNKS_MAX; m++) if (k + m <= TOTAL_CHUNKS_MAX) supported.push({ k, m });
}

function binomial(n: number, r: number): number {
  let x = 1;
  for (let i = 0; i < r; i++) x = (x * (n - i)) / (i + 1);
  return Math.round(x);
}

/** Non-singular? Elimination on a copy of the r×r submatrix (rows, cols) of p. */
function nonSingular(p: Matrix, rows: readonly number[], cols: readonly number[]): boolean {
  const r = rows.length;
  const a = rows.map((i) => cols.map((j) => p.get(i, j)));
  for (let c = 0; c < r; c++) {
    let pivot = c;
    while (pivot < r && a[pivot]![c] === 0) pivot++;
    if (pivot === r) return false;
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    const inv = gfInv(a[c]![c]!);
    for (let i = c + 1; i < r; i++) {
      const f = gfMul(a[i]![c]!, inv);
      if (f === 0) continue;
      for (let j = c; j < r; j++) a[i]![j] ^= gfMul(f, a[c]![j]!);
    }
  }
  return true;
}

/** Calls visit for every size-r subset of [0, n) (as a reused array). */
function forEachSubset(n: number, r: number, visit: (subset: readonly number[]) => void): void {
  if (r > n) return;
  const s = Array.from({ length: r }, (_, i) => i);
  for (;;) {
    visit(s);
    let i = r - 1;
    while (i >= 0 && s[i] === n - r + i) i--;
    if (i < 0) return;
    s[i]!++;
    for (let j = i + 1; j < r; j++) s[j] = s[j - 1]! + 1;
  }
}

function randomSubset(rng: Prng, n: number, r: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < r; i++) {
    const j = rng.int(i, n - 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, r).sort((a, b) => a - b);
}

t.test('generator = [I; normalised Cauchy], recomputed from the formula with a table-free multiply', async (t) => {
  let bad = 0;
  for (const { k, m } of supported) {
    const g = generatorMatrix(k, m);
    const cauchy = (i: number, j: number): number => slowInv((k + i) ^ j);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) {
        // P[i][j] = C[i][j] / (C[0][j] · C[i][0] / C[0][0])
        const scale = slowMul(slowMul(cauchy(0, j), cauchy(i, 0)), slowInv(cauchy(0, 0)));
        if (g.get(k + i, j) !== slowMul(cauchy(i, j), slowInv(scale))) bad++;
      }
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (g.get(i, j) !== (i === j ? 1 : 0)) bad++;
    for (let j = 0; j < k; j++) if (g.get(k, j) !== 1) bad++; // parity 0 is plain XOR
    for (let i = 0; i < m; i++) if (g.get(k + i, 0) !== 1) bad++; // column 0 all ones
  }
  t.equal(bad, 0);
  t.same([...generatorMatrix(4, 2).data.subarray(16)], [1, 1, 1, 1, 1, 0xd9, 0x5c, 0xac], '4+2 parity rows');
});

t.test(`every square submatrix of P is non-singular: exhaustive where C(k+m,m) ≤ ${MDS_BUDGET}, sampled elsewhere`, async (t) => {
  const rng = new Prng(seed);
  let exhaustivePairs = 0;
  let checked = 0;
  let singular = 0;
  for (const { k, m } of supported) {
    const p = parityMatrix(k, m);
    if (binomial(k + m, m) - 1 <= MDS_BUDGET) {
      exhaustivePairs++;
      for (let r = 1; r <= Math.min(m, k); r++) {
        forEachSubset(m, r, (rows) => {
          const rowsCopy = [...rows];
          forEachSubset(k, r, (cols) => {
            checked++;
            if (!nonSingular(p, rowsCopy, cols)) singular++;
          });
        });
      }
    } else {
      for (let n = 0; n < 2000; n++) {
        const r = rng.int(1, Math.min(m, k));
        checked++;
        if (!nonSingular(p, randomSubset(rng, m, r), randomSubset(rng, k, r))) singular++;
      }
    }
  }
  t.equal(singular, 0);
  t.comment(`${exhaustivePairs} of ${supported.length} (k, m) pairs exhaustive; ${checked} submatrices checked`);
});

t.test('decode matrices directly: every k-row subset of G for k+m ≤ 12, random ones for all pairs', async (t) => {
  const rng = new Prng(seed ^ 0x5eed);
  let bad = 0;
  let checked = 0;
  const check = (g: Matrix, k: number, rows: readonly number[]): void => {
    checked++;
    const a = g.selectRows(rows);
    const inv = a.invert();
    if (inv === null || !a.multiply(inv).equals(Matrix.identity(k))) bad++;
  };
  for (const { k, m } of supported) {
    const g = generatorMatrix(k, m);
    if (k + m <= 12) forEachSubset(k + m, k, (rows) => check(g, k, rows));
    else for (let n = 0; n < 3; n++) check(g, k, randomSubset(rng, k + m, k));
  }
  t.equal(bad, 0);
  t.comment(`${checked} decode matrices inverted`);
});

t.test('Matrix.invert detects singular matrices and inverts random ones', async (t) => {
  const rng = new Prng(seed ^ 0x1234);
  t.equal(Matrix.from([[1, 2], [2, 4]]).invert(), null);
  t.equal(new Matrix(3, 3).invert(), null);
  let bad = 0;
  for (let n = 0; n < 200; n++) {
    const size = rng.int(1, 10);
    const a = new Matrix(size, size, rng.fill(new Uint8Array(size * size)));
    const inv = a.invert();
    const full = a.rank() === size;
    if (full !== (inv !== null)) bad++;
    if (inv !== null && !a.multiply(inv).equals(Matrix.identity(size))) bad++;
  }
  t.equal(bad, 0);
});
