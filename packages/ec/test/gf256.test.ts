/**
 * The field: the package's log/antilog tables against a table-free textbook multiply, exhaustively
 * (all 65 536 products), plus the identities the codec relies on.
 */
import t from 'tap';
import { GF_POLY, gfDiv, gfInv, gfMul, gfMulTable, gfNibbleTables, gfPow } from '@nacre/ec';
import { slowInv, slowMul } from './helpers.js';

t.test('polynomial is 0x11d and 2 generates the multiplicative group', async (t) => {
  t.equal(GF_POLY, 0x11d);
  t.equal(gfMul(0x80, 2), 0x1d, 'x^7 · x = x^8 ≡ x^4+x^3+x^2+1');
  const seen = new Set<number>();
  for (let i = 0; i < 255; i++) seen.add(gfPow(2, i));
  t.equal(seen.size, 255);
  t.equal(gfPow(2, 255), 1);
});

t.test('gfMul and the 64 KiB product table equal the textbook multiply for all pairs', async (t) => {
  const table = gfMulTable();
  let bad = 0;
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      const want = slowMul(a, b);
      if (gfMul(a, b) !== want || table[a * 256 + b] !== want) bad++;
    }
  }
  t.equal(bad, 0);
});

t.test('inverse and division', async (t) => {
  let bad = 0;
  for (let a = 1; a < 256; a++) {
    if (gfInv(a) !== slowInv(a) || gfMul(a, gfInv(a)) !== 1) bad++;
    for (let b = 1; b < 256; b += 7) if (gfMul(gfDiv(a, b), b) !== a) bad++;
  }
  t.equal(bad, 0);
  t.equal(gfDiv(0, 5), 0);
  t.throws(() => gfInv(0), { name: 'AssertionFailure' });
  t.throws(() => gfDiv(1, 0), { name: 'AssertionFailure' });
});

t.test('split-nibble tables: c·x = lo[x & 15] ^ hi[x >> 4]', async (t) => {
  const tables = new Uint8Array(32);
  let bad = 0;
  for (let c = 0; c < 256; c++) {
    gfNibbleTables(c, tables, 0);
    for (let x = 0; x < 256; x++) if ((tables[x & 15]! ^ tables[16 + (x >> 4)]!) !== slowMul(c, x)) bad++;
  }
  t.equal(bad, 0);
});
