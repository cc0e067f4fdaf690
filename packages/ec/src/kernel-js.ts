/**
 * The portable kernel: plain JavaScript over the 64 KiB product table, one indexed load and one XOR
 * per byte and coefficient (≈ 0.3 GB/s for 4+2). It runs everywhere, serves as the reference the
 * SIMD kernel is tested against, and computes the few tail bytes the SIMD loop leaves over.
 */
import { gfMulTable } from './gf256.js';
import type { Kernel, PreparedPlan, RunArgs } from './kernel.js';
import { KIND_XOR_ACC, type Plan } from './plan.js';

export function createJsKernel(): Kernel {
  const table = gfMulTable();
  return {
    name: 'js',
    prepare: (plan: Plan): PreparedPlan => ({ plan }),
    release: () => {},
    run: (prepared: PreparedPlan, args: RunArgs) => runPlanJs(prepared.plan, args, table),
    alloc: () => null,
    free: () => {},
  };
}

/** Execute `plan` over [startBytes, endBytes) with scalar code. */
export function runPlanJs(plan: Plan, args: RunArgs, table: Uint8Array): void {
  const { startBytes: s, endBytes: e } = args;
  if (e <= s) return;
  for (let j = 0; j < plan.generalCount; j++) {
    const out = args.generalOutputs[j]!;
    if (!args.update) out.fill(0, s, e);
    for (let i = 0; i < plan.inputCount; i++) {
      const c = plan.coefficients[j * plan.inputCount + i]!;
      if (args.update) mulAddDelta(out, args.inputs[2 * i]!, args.inputs[2 * i + 1]!, c, table, s, e);
      else mulAdd(out, args.inputs[i]!, c, table, s, e);
    }
  }
  const x = args.xorOutput;
  if (!plan.hasXorOutput || x === null) return;
  if (!args.update) x.fill(0, s, e);
  for (let i = 0; i < plan.inputCount; i++) {
    if ((plan.kinds[i]! & KIND_XOR_ACC) === 0) continue;
    if (args.update) mulAddDelta(x, args.inputs[2 * i]!, args.inputs[2 * i + 1]!, 1, table, s, e);
    else mulAdd(x, args.inputs[i]!, 1, table, s, e);
  }
  if (args.update) return;
  for (let j = 0; j < plan.generalCount; j++) {
    if ((plan.xorChainMask >>> j) & 1) mulAdd(x, args.generalOutputs[j]!, 1, table, s, e);
  }
}

/** out[p] ^= c · src[p] */
function mulAdd(out: Uint8Array, src: Uint8Array, c: number, table: Uint8Array, s: number, e: number): void {
  if (c === 0) return;
  if (c === 1) {
    for (let p = s; p < e; p++) out[p] ^= src[p]!;
    return;
  }
  const row = table.subarray(c << 8, (c + 1) << 8);
  for (let p = s; p < e; p++) out[p] ^= row[src[p]!]!;
}

/** out[p] ^= c · (a[p] ⊕ b[p]) */
function mulAddDelta(out: Uint8Array, a: Uint8Array, b: Uint8Array, c: number, table: Uint8Array, s: number, e: number): void {
  if (c === 0) return;
  const row = table.subarray(c << 8, (c + 1) << 8);
  for (let p = s; p < e; p++) out[p] ^= row[a[p]! ^ b[p]!]!;
}
