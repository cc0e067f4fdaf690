/**
 * The contract between the codec (validation, planning, caching) and a compute kernel (the byte
 * loops). A kernel executes a Plan (plan.ts) over a range of byte positions of equally long
 * buffers; it never validates arguments — the codec has done that — so its loops stay tight.
 *
 * Kernels are byte-identical by construction (same field, same plan); test/kernels.test.ts checks
 * it on random plans.
 */
import type { Plan } from './plan.js';

export type KernelName = 'js' | 'wasm-simd' | 'wasm-relaxed-simd';

/** A plan made ready for one kernel (tables laid out in its memory). Release when evicted. */
export interface PreparedPlan {
  readonly plan: Plan;
}

export interface RunArgs {
  /** Set mode: plan.inputCount buffers. Update mode: 2 × inputCount, as (before, after) pairs. */
  readonly inputs: readonly Uint8Array[];
  /** plan.generalCount buffers. */
  readonly generalOutputs: readonly Uint8Array[];
  /** Present iff plan.hasXorOutput. */
  readonly xorOutput: Uint8Array | null;
  /** Byte range computed, the same in every buffer. */
  readonly startBytes: number;
  readonly endBytes: number;
  /** Update mode: fold the deltas into the outputs instead of overwriting them. */
  readonly update: boolean;
}

export interface Kernel {
  readonly name: KernelName;
  prepare(plan: Plan): PreparedPlan;
  release(prepared: PreparedPlan): void;
  run(prepared: PreparedPlan, args: RunArgs): void;
  /**
   * `bytes` of memory the kernel computes on without copying (a view into WebAssembly memory), or
   * null if it has none to give (the JS kernel works on any buffer; an exhausted arena).
   * Contents are unspecified, like Buffer.allocUnsafe.
   */
  alloc(bytes: number): Uint8Array | null;
  /** Return a view obtained from alloc (the exact view, not a subarray). */
  free(view: Uint8Array): void;
}
