/**
 * Small dense matrices over GF(2^8), row-major in one Uint8Array. Only what the code needs:
 * products, row selection and Gauss–Jordan inversion. Sizes are at most 40×32, so clarity beats
 * cleverness here; the hot path never touches this file (it runs on precomputed tables).
 */
import { assert } from '@nacre/util';
import { gfDiv, gfInv, gfMul } from './gf256.js';

export class Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major: element (r, c) at r·cols + c. */
  readonly data: Uint8Array;

  constructor(rows: number, cols: number, data?: Uint8Array) {
    assert(Number.isInteger(rows) && rows >= 0 && Number.isInteger(cols) && cols >= 0, 'matrix shape');
    this.rows = rows;
    this.cols = cols;
    if (data === undefined) {
      this.data = new Uint8Array(rows * cols);
    } else {
      assert(data.length === rows * cols, 'matrix data length does not match its shape');
      this.data = data;
    }
  }

  static identity(n: number): Matrix {
    const m = new Matrix(n, n);
    for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
    return m;
  }

  /** Build from nested arrays (tests, docs). */
  static from(rows: readonly (readonly number[])[]): Matrix {
    const cols = rows.length === 0 ? 0 : rows[0]!.length;
    const m = new Matrix(rows.length, cols);
    rows.forEach((row, r) => {
      assert(row.length === cols, 'ragged matrix');
      row.forEach((v, c) => m.set(r, c, v));
    });
    return m;
  }

  get(r: number, c: number): number {
    return this.data[r * this.cols + c]!;
  }

  set(r: number, c: number, v: number): void {
    this.data[r * this.cols + c] = v;
  }

  /** A copy of one row. */
  row(r: number): Uint8Array {
    return this.data.slice(r * this.cols, (r + 1) * this.cols);
  }

  /** The matrix made of the given rows, in the given order. */
  selectRows(rowIndexes: readonly number[]): Matrix {
    const out = new Matrix(rowIndexes.length, this.cols);
    rowIndexes.forEach((r, i) => {
      assert(r >= 0 && r < this.rows, 'selectRows: row out of range');
      out.data.set(this.data.subarray(r * this.cols, (r + 1) * this.cols), i * this.cols);
    });
    return out;
  }

  /** this × other. */
  multiply(other: Matrix): Matrix {
    assert(this.cols === other.rows, 'multiply: shape mismatch');
    const out = new Matrix(this.rows, other.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < other.cols; c++) {
        let acc = 0;
        for (let i = 0; i < this.cols; i++) acc ^= gfMul(this.get(r, i), other.get(i, c));
        out.set(r, c, acc);
      }
    }
    return out;
  }

  equals(other: Matrix): boolean {
    if (this.rows !== other.rows || this.cols !== other.cols) return false;
    for (let i = 0; i < this.data.length; i++) if (this.data[i] !== other.data[i]) return false;
    return true;
  }

  /** The inverse, or null if the matrix is singular. */
  invert(): Matrix | null {
    assert(this.rows === this.cols, 'invert: matrix is not square');
    const n = this.rows;
    const a = new Matrix(n, n, this.data.slice());
    const inv = Matrix.identity(n);
    for (let col = 0; col < n; col++) {
      let pivot = col;
      while (pivot < n && a.get(pivot, col) === 0) pivot++;
      if (pivot === n) return null;
      if (pivot !== col) {
        swapRows(a, pivot, col);
        swapRows(inv, pivot, col);
      }
      const scale = gfInv(a.get(col, col));
      scaleRow(a, col, scale);
      scaleRow(inv, col, scale);
      for (let r = 0; r < n; r++) {
        const f = a.get(r, col);
        if (r === col || f === 0) continue;
        addScaledRow(a, r, col, f);
        addScaledRow(inv, r, col, f);
      }
    }
    return inv;
  }

  /** Rank by Gaussian elimination (on a copy). */
  rank(): number {
    const a = new Matrix(this.rows, this.cols, this.data.slice());
    let rank = 0;
    for (let col = 0; col < a.cols && rank < a.rows; col++) {
      let pivot = rank;
      while (pivot < a.rows && a.get(pivot, col) === 0) pivot++;
      if (pivot === a.rows) continue;
      swapRows(a, pivot, rank);
      for (let r = rank + 1; r < a.rows; r++) {
        const f = a.get(r, col);
        if (f !== 0) addScaledRow(a, r, rank, gfDiv(f, a.get(rank, col)));
      }
      rank++;
    }
    return rank;
  }
}

function swapRows(m: Matrix, r1: number, r2: number): void {
  if (r1 === r2) return;
  const a = m.data.slice(r1 * m.cols, (r1 + 1) * m.cols);
  m.data.copyWithin(r1 * m.cols, r2 * m.cols, (r2 + 1) * m.cols);
  m.data.set(a, r2 * m.cols);
}

function scaleRow(m: Matrix, r: number, f: number): void {
  for (let c = 0; c < m.cols; c++) m.set(r, c, gfMul(m.get(r, c), f));
}

/** row[dst] ^= f · row[src] */
function addScaledRow(m: Matrix, dst: number, src: number, f: number): void {
  for (let c = 0; c < m.cols; c++) m.set(dst, c, m.get(dst, c) ^ gfMul(m.get(src, c), f));
}
