/**
 * @nacre/ec — systematic Reed–Solomon erasure coding over GF(2^8) (poly 0x11d), k ≤ 32 data and
 * m ≤ 8 parity chunks (k + m ≤ 40), with a WebAssembly SIMD kernel (split-nibble tables,
 * i8x16.swizzle) and a portable JavaScript kernel chosen at run time. Pure: no I/O.
 *
 * ```ts
 * import { ReedSolomon } from '@nacre/ec';
 * const rs = new ReedSolomon({ k: 4, m: 2 });
 * const data = [0, 1, 2, 3].map((i) => new Uint8Array(4096).fill(i + 1));
 * const parity = rs.encode(data);                                  // 2 chunks of 4096 bytes
 * const restored = rs.decode([null, data[1]!, null, data[3]!, ...parity]);
 * // restored[0] and restored[2] equal data[0] and data[2]
 *
 * // Zero copy: chunks inside the kernel's memory, encoded and rebuilt in place.
 * const stripe = rs.allocStripe(1 << 20);
 * stripe.data.forEach((chunk, i) => chunk.fill(i));
 * rs.encodeStripe(stripe);
 * rs.reconstructInPlace(stripe.chunks, [1, 2]);
 * stripe.release();
 * ```
 * Error codes: EINVAL (bad arguments), EIO (more than m chunks missing), ESHUTDOWN (disposed codec),
 * ENOTSUP (kernel not available in this runtime).
 */
export { ReedSolomon, ASYNC_SLICE_BYTES_JS, ASYNC_SLICE_BYTES_WASM } from './codec.js';
export type { ReedSolomonOptions, ChunkChange, AsyncOptions, CodecStats } from './codec.js';
export type { Stripe } from './stripe.js';
export { xorInto } from './xor.js';
export { DECODE_CACHE_ENTRIES_DEFAULT, DECODE_CACHE_ENTRIES_MAX, LruCache } from './decode-cache.js';
export {
  DATA_CHUNKS_MAX, PARITY_CHUNKS_MAX, TOTAL_CHUNKS_MAX, checkGeometry, cauchyMatrix, parityMatrix, generatorMatrix,
} from './generator.js';
export { GF_POLY, GF_ORDER, gfMul, gfInv, gfDiv, gfPow, gfMulTable, gfNibbleTables } from './gf256.js';
export { Matrix } from './matrix.js';
export { KIND_MULTIPLY, KIND_XOR_ACC, PLAN_GENERAL_OUTPUTS_MAX, PLAN_INPUTS_MAX, makePlan, planOutputCount } from './plan.js';
export type { Plan, PlanInit } from './plan.js';
export { planDecode, planEncode, planUpdate } from './planner.js';
export type { ChunkPlan, PlannerMode } from './planner.js';
export type { Kernel, KernelName, PreparedPlan, RunArgs } from './kernel.js';
export { createJsKernel, runPlanJs } from './kernel-js.js';
export {
  createWasmKernel, wasmKernelSupported, WASM_MEMORY_BYTES_DEFAULT, WASM_MEMORY_BYTES_MAX, STAGE_BLOCK_BYTES_MAX,
  STAGE_AREA_BYTES_DEFAULT,
} from './kernel-wasm.js';
export type { WasmKernel, WasmKernelOptions } from './kernel-wasm.js';
export { kernelAvailable, sharedKernel, bestKernelName, resolveKernel } from './kernels.js';
export type { KernelChoice } from './kernels.js';
export { Arena, ARENA_ALIGN_BYTES } from './arena.js';
export { uleb128, sleb128, FunctionBuilder, emitModule } from './wasm-emit.js';
export { emitKernelModule, WIDTH_BY_GENERAL_OUTPUTS, stepBytes } from './wasm-kernel-code.js';
