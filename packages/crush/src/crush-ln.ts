/**
 * Ceph's fixed-point `crush_ln(x)` ≈ 2^44 · log2(x + 1) for x in [0, 0xffff], the heart of straw2.
 *
 * The computation needs an exact 64-bit product (x · RH ≈ 2^63), so it is done once per input in
 * BigInt and tabulated: straw2 then costs one table read per item. All 65536 results are below 2^48
 * and therefore exact in a float64.
 */
import { LL_TABLE, RH_LH_TABLE } from './crush-ln-table.js';

/** crush_ln(u) for one input (BigInt, slow; used to build the table and in tests). */
export function crushLnExact(xin: number): bigint {
  let x = (xin + 1) >>> 0;
  let iexpon = 15;
  if ((x & 0x18000) === 0) {
    // normalise: shift left until bit 15 or 16 is set
    const bits = Math.clz32(x & 0x1ffff) - 16;
    x = (x << bits) >>> 0;
    iexpon = 15 - bits;
  }
  const index1 = (x >>> 8) << 1;
  const rh = RH_LH_TABLE[index1 - 256]!;
  const lh = RH_LH_TABLE[index1 + 1 - 256]!;
  const xl64 = (BigInt(x) * rh) & 0xffff_ffff_ffff_ffffn;
  const index2 = Number((xl64 >> 48n) & 0xffn);
  const ll = LL_TABLE[index2]!;
  return (BigInt(iexpon) << 44n) + ((lh + ll) >> 4n);
}

/**
 * `2^48 - crush_ln(u)` for every u in [0, 0xffff]: the magnitude of straw2's (negative) `ln`,
 * in [2^28, 2^48].
 */
export const NEG_LN_TABLE: Float64Array = (() => {
  const table = new Float64Array(0x10000);
  for (let u = 0; u < 0x10000; u++) table[u] = Number((1n << 48n) - crushLnExact(u));
  return table;
})();

/** crush_ln(u) as a number (exact). */
export function crushLn(u: number): number {
  return 2 ** 48 - NEG_LN_TABLE[u & 0xffff]!;
}
