/**
 * Straw (v1) lengths: legacy `straw` buckets store a per-item straw computed from the item weights
 * when the bucket is built (Ceph builder.c `crush_calc_straw`). The computation is floating point
 * and differs between `straw_calc_version` 0 (the original, which mishandles equal weights) and ≥ 1.
 * It must match bit for bit: a different straw changes every mapping through that bucket.
 */
export function calcStraws(weights: readonly number[], strawCalcVersion: number): number[] {
  const size = weights.length;
  const straws = new Array<number>(size).fill(0);
  // indices in ascending weight order; an insertion sort that keeps equal weights in input order
  const order: number[] = [];
  for (let i = 0; i < size; i++) {
    let j = 0;
    while (j < order.length && !(weights[i]! < weights[order[j]!]!)) j++;
    order.splice(j, 0, i);
  }

  let numLeft = size;
  let straw = 1.0;
  let wBelow = 0;
  let lastW = 0;
  let i = 0;
  while (i < size) {
    const wi = weights[order[i]!]!;
    if (wi === 0) {
      // zero-weight items get zero-length straws
      straws[order[i]!] = 0;
      i++;
      if (strawCalcVersion >= 1) numLeft--;
      continue;
    }
    straws[order[i]!] = toU32(straw * 0x10000);
    i++;
    if (i === size) break;

    const prev = weights[order[i - 1]!]!;
    const cur = weights[order[i]!]!;
    if (strawCalcVersion === 0) {
      if (cur === prev) continue; // v0 keeps the straw for a run of equal weights
      wBelow += (prev - lastW) * numLeft;
      for (let j = i; j < size; j++) {
        if (weights[order[j]!] === cur) numLeft--;
        else break;
      }
    } else {
      wBelow += (prev - lastW) * numLeft;
      numLeft--;
    }
    // C computes `numleft * (w[i] - w[i-1])` in unsigned 32-bit arithmetic
    const wNext = Math.imul(numLeft, (cur - prev) >>> 0) >>> 0;
    const pBelow = wBelow / (wBelow + wNext);
    straw *= Math.pow(1.0 / pBelow, 1.0 / numLeft);
    lastW = prev;
  }
  return straws;
}

/** C's double → __u32 conversion for values in range (truncation). */
function toU32(v: number): number {
  return Math.trunc(v) >>> 0;
}
