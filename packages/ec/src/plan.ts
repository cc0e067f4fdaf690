/**
 * A plan is what a kernel executes: a small linear program over byte streams, the same at every
 * byte position, so any range of positions can be computed on its own (which is what makes
 * slicing, staging through scratch memory and the async path trivial).
 *
 *   set mode      general_j = Σ_i coef[j][i] · in_i                       (j < generalCount)
 *                 xorOut    = Σ_{i : kinds[i] has XOR_ACC} in_i ⊕ Σ_{j in xorChainMask} general_j
 *   update mode   inputs come in pairs (before_i, after_i), δ_i = before_i ⊕ after_i, and
 *                 general_j ^= Σ_i coef[j][i] · δ_i,  xorOut ^= Σ_{XOR_ACC} δ_i   (no chaining)
 *
 * The separate XOR output exists because one parity row of our generator is all ones (see
 * generator.ts): XOR is one vector instruction where a general coefficient costs six. The per-input
 * kind lets a kernel skip the nibble split and table lookups for inputs whose coefficients in every
 * general row are 1 (then general_j ^= in_i).
 */
import { assert } from '@nacre/util';
import type { Matrix } from './matrix.js';

/** kinds bit: some general-row coefficient of this input is not 1, so the kernel must multiply. */
export const KIND_MULTIPLY = 1;
/** kinds bit: this input is XORed into the XOR output. */
export const KIND_XOR_ACC = 2;

/** Most general outputs a plan may have (= most parity chunks). */
export const PLAN_GENERAL_OUTPUTS_MAX = 8;
/** Most inputs a plan may have (= most data chunks). */
export const PLAN_INPUTS_MAX = 32;

export interface Plan {
  readonly inputCount: number;
  readonly generalCount: number;
  /** generalCount × inputCount, row-major. */
  readonly coefficients: Uint8Array;
  /** One byte per input: KIND_MULTIPLY | KIND_XOR_ACC. */
  readonly kinds: Uint8Array;
  readonly hasXorOutput: boolean;
  /** Bit j set: general output j is XORed into the XOR output (set mode only). */
  readonly xorChainMask: number;
}

export interface PlanInit {
  /** generalCount × inputCount coefficients. */
  general: Matrix;
  /** Which inputs feed the XOR output; ignored unless hasXorOutput. */
  xorInputs?: readonly boolean[];
  hasXorOutput: boolean;
  xorChainMask?: number;
}

export function makePlan(init: PlanInit): Plan {
  const inputCount = init.general.cols;
  const generalCount = init.general.rows;
  assert(inputCount >= 1 && inputCount <= PLAN_INPUTS_MAX, 'plan: input count out of range');
  assert(generalCount <= PLAN_GENERAL_OUTPUTS_MAX, 'plan: too many general outputs');
  assert(generalCount > 0 || init.hasXorOutput, 'plan: no outputs');
  const chain = init.hasXorOutput ? init.xorChainMask ?? 0 : 0;
  assert(chain >>> 0 === chain && chain < 1 << generalCount, 'plan: chain mask names a missing output');
  const kinds = new Uint8Array(inputCount);
  for (let i = 0; i < inputCount; i++) {
    let multiply = false;
    for (let j = 0; j < generalCount; j++) if (init.general.get(j, i) !== 1) multiply = true;
    const xorAcc = init.hasXorOutput && (init.xorInputs?.[i] ?? false);
    kinds[i] = (multiply ? KIND_MULTIPLY : 0) | (xorAcc ? KIND_XOR_ACC : 0);
  }
  return {
    inputCount,
    generalCount,
    coefficients: init.general.data.slice(),
    kinds,
    hasXorOutput: init.hasXorOutput,
    xorChainMask: chain,
  };
}

/** Number of output streams a plan writes. */
export function planOutputCount(plan: Plan): number {
  return plan.generalCount + (plan.hasXorOutput ? 1 : 0);
}
