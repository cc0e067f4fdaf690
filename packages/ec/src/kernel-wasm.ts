/**
 * The WebAssembly SIMD kernel: the generated module (wasm-kernel-code.ts) plus the one memory it
 * computes in, an arena inside that memory, and the staging that lets it accept any buffer.
 *
 * Zero copy: buffers that are views into this kernel's memory (obtained with alloc / the codec's
 * allocStripe) are passed to WebAssembly as plain addresses — nothing is copied, one call covers
 * the whole range. Any other buffer (a Node Buffer from the network, say) is staged: the range is
 * walked in blocks, inputs copied into slots of a staging area, outputs computed there and copied
 * out. Blocks are small enough (≤ 64 KiB per buffer) that the copies and the kernel share the L2
 * cache, so staging costs the copies but no extra trips to main memory.
 *
 * Memory layout (fixed size, never grown — see arena.ts for why):
 *   [0, 1024)       unused, so that address 0 can mean "no buffer"
 *   [1024, +IO)     the io block the kernel reads its pointers from (valid during one call only)
 *   [4096, end)     arena: the staging area, plan descriptors (tables), callers' chunks
 */
import { assert, NacreError } from '@nacre/util';
import { Arena } from './arena.js';
import { gfMulTable, gfNibbleTables } from './gf256.js';
import type { Kernel, KernelName, PreparedPlan, RunArgs } from './kernel.js';
import { runPlanJs } from './kernel-js.js';
import { PLAN_GENERAL_OUTPUTS_MAX, PLAN_INPUTS_MAX, type Plan } from './plan.js';
import {
  DESCRIPTOR_HEADER_BYTES, IO_BYTES, IO_CHAIN_MASK_OFFSET, IO_GENERAL_OUTPUTS_OFFSET, IO_INPUTS_OFFSET,
  IO_XOR_OUTPUT_OFFSET, WIDTH_BY_GENERAL_OUTPUTS, descriptorRecordBytes, emitKernelModule, kernelFunctionName,
  stepBytes,
} from './wasm-kernel-code.js';

export const WASM_PAGE_BYTES = 65536;
/** Default kernel memory: room for a handful of 4 MiB stripes in flight plus tables and scratch. */
export const WASM_MEMORY_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Pointers are i32 and must stay positive. */
export const WASM_MEMORY_BYTES_MAX = 1024 * 1024 * 1024;
/**
 * Largest staging block per buffer. 32–64 KiB measured best (bench: 4+2, inputs staged, ≈ 15 %
 * faster than 16 KiB): long runs for the prefetchers and few calls, while k+m blocks sit in L2.
 */
export const STAGE_BLOCK_BYTES_MAX = 64 * 1024;
/** Default staging area: 64 KiB blocks for up to 16 staged buffers, smaller blocks beyond. */
export const STAGE_AREA_BYTES_DEFAULT = 1024 * 1024;
/** Most buffers one run can stage: update mode with every input (2 each) and every output. */
const STAGE_BUFFERS_MAX = 2 * PLAN_INPUTS_MAX + PLAN_GENERAL_OUTPUTS_MAX + 1;
const IO_BASE = 1024;
const ARENA_BASE = 4096;
assert(IO_BASE + IO_BYTES <= ARENA_BASE, 'io block overlaps the arena');

/* The WebAssembly JS API, typed locally: the project's lib settings carry no DOM types. */
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmInstance { readonly exports: Record<string, unknown> }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}
type KernelFunction = (nIn: number, lenBytes: number, desc: number, io: number) => void;

function wasmApi(): WasmApi | null {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null;
}

const moduleBytesCache = new Map<boolean, Uint8Array>();
function kernelModuleBytes(relaxed: boolean): Uint8Array {
  let bytes = moduleBytesCache.get(relaxed);
  if (bytes === undefined) {
    bytes = emitKernelModule({ relaxed });
    moduleBytesCache.set(relaxed, bytes);
  }
  return bytes;
}

/**
 * True if this runtime validates our SIMD module (relaxed: with i8x16.relaxed_swizzle, which Node 20
 * accepts only with --experimental-wasm-relaxed-simd; Node 22+ has it on by default).
 */
export function wasmKernelSupported(relaxed: boolean): boolean {
  const api = wasmApi();
  if (api === null) return false;
  try {
    return api.validate(kernelModuleBytes(relaxed));
  } catch {
    return false;
  }
}

export interface WasmKernelOptions {
  readonly relaxed?: boolean;
  /** Fixed size of the kernel memory, a multiple of 64 KiB. */
  readonly memoryBytes?: number;
  /** Size of the staging area for buffers outside kernel memory (default 1 MiB). */
  readonly stageAreaBytes?: number;
  /** Benchmarks only: override vectors per step (see WIDTH_BY_GENERAL_OUTPUTS). */
  readonly widths?: readonly number[];
}

export interface WasmKernel extends Kernel {
  readonly memoryBytes: number;
  readonly arena: Arena;
  /** True if `view` lies in this kernel's memory (so it is used in place). */
  owns(view: Uint8Array): boolean;
}

interface WasmPrepared extends PreparedPlan {
  /** Descriptor address, or -1 if the arena was full (then the plan runs in JavaScript). */
  readonly desc: number;
  readonly fn: KernelFunction;
  readonly updateFn: KernelFunction;
  readonly stepBytes: number;
}

export function createWasmKernel(options: WasmKernelOptions = {}): WasmKernel {
  const relaxed = options.relaxed ?? false;
  const memoryBytes = options.memoryBytes ?? WASM_MEMORY_BYTES_DEFAULT;
  const stageAreaBytes = options.stageAreaBytes ?? STAGE_AREA_BYTES_DEFAULT;
  const widths = options.widths ?? WIDTH_BY_GENERAL_OUTPUTS;
  if (memoryBytes % WASM_PAGE_BYTES !== 0 || memoryBytes > WASM_MEMORY_BYTES_MAX) {
    throw new NacreError(`wasm kernel memory must be a multiple of 64 KiB up to 1 GiB, got ${memoryBytes}`, { code: 'EINVAL' });
  }
  if (!Number.isInteger(stageAreaBytes) || stageAreaBytes < STAGE_BUFFERS_MAX * 64 || stageAreaBytes > memoryBytes / 2) {
    throw new NacreError(`wasm kernel staging area of ${stageAreaBytes} bytes does not fit ${memoryBytes} bytes of memory`, { code: 'EINVAL' });
  }
  const api = wasmApi();
  const bytes = options.widths === undefined ? kernelModuleBytes(relaxed) : emitKernelModule({ relaxed, widths });
  if (api === null || !api.validate(bytes)) {
    throw new NacreError(`WebAssembly ${relaxed ? 'relaxed ' : ''}SIMD is not available in this runtime`, { code: 'ENOTSUP' });
  }
  const pages = memoryBytes / WASM_PAGE_BYTES;
  const memory = new api.Memory({ initial: pages, maximum: pages });
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  const buffer = memory.buffer;
  const heap = new Uint8Array(buffer);
  const heap32 = new Int32Array(buffer);
  const arena = new Arena(ARENA_BASE, memoryBytes);
  const table = gfMulTable();
  const fnOf = (n: number, update: boolean): KernelFunction => instance.exports[kernelFunctionName(n, update)] as KernelFunction;

  const stageBase = arena.alloc(stageAreaBytes);
  assert(stageBase >= 0, 'the staging area must fit in an empty arena');
  const stageArea = new Uint8Array(buffer, stageBase, stageAreaBytes);

  const owns = (view: Uint8Array): boolean => view.buffer === buffer;

  function prepare(plan: Plan): WasmPrepared {
    const recordBytes = descriptorRecordBytes(plan.generalCount);
    const desc = arena.alloc(recordBytes * plan.inputCount);
    if (desc >= 0) writeDescriptor(plan, desc, recordBytes);
    return {
      plan,
      desc,
      fn: fnOf(plan.generalCount, false),
      updateFn: fnOf(plan.generalCount, true),
      stepBytes: stepBytes(plan.generalCount, widths),
    };
  }

  function writeDescriptor(plan: Plan, desc: number, recordBytes: number): void {
    for (let i = 0; i < plan.inputCount; i++) {
      const record = desc + i * recordBytes;
      heap32[record >> 2] = plan.kinds[i]!;
      for (let j = 0; j < plan.generalCount; j++) {
        gfNibbleTables(plan.coefficients[j * plan.inputCount + i]!, heap, record + DESCRIPTOR_HEADER_BYTES + 32 * j);
      }
    }
  }

  /** All buffers are in kernel memory: one call for the vector part, JavaScript for the tail. */
  function runInPlace(p: WasmPrepared, args: RunArgs): void {
    const { startBytes: s, endBytes: e } = args;
    const body = (e - s) - ((e - s) % p.stepBytes);
    if (body > 0) {
      const io32 = IO_BASE >> 2;
      args.generalOutputs.forEach((v, j) => { heap32[io32 + (IO_GENERAL_OUTPUTS_OFFSET >> 2) + j] = v.byteOffset + s; });
      const x = p.plan.hasXorOutput ? args.xorOutput : null;
      heap32[io32 + (IO_XOR_OUTPUT_OFFSET >> 2)] = x === null ? 0 : x.byteOffset + s;
      heap32[io32 + (IO_CHAIN_MASK_OFFSET >> 2)] = p.plan.xorChainMask;
      args.inputs.forEach((v, i) => { heap32[io32 + (IO_INPUTS_OFFSET >> 2) + i] = v.byteOffset + s; });
      (args.update ? p.updateFn : p.fn)(p.plan.inputCount, body, p.desc, IO_BASE);
    }
    if (s + body < e) runPlanJs(p.plan, { ...args, startBytes: s + body }, table);
  }

  /** Some buffers are elsewhere: walk the range in blocks, staging those through the staging area. */
  function runStaged(p: WasmPrepared, args: RunArgs): void {
    const staged = args.inputs.length + args.generalOutputs.length + (args.xorOutput === null ? 0 : 1);
    const blockBytes = Math.min(STAGE_BLOCK_BYTES_MAX, Math.floor(stageAreaBytes / staged / 64) * 64);
    for (let s = args.startBytes; s < args.endBytes; s += blockBytes) {
      const e = Math.min(args.endBytes, s + blockBytes);
      const n = e - s;
      let slot = 0;
      const stage = (v: Uint8Array, copyIn: boolean): Uint8Array => {
        if (owns(v)) return v.subarray(s, e);
        const scratch = stageArea.subarray(slot * blockBytes, slot * blockBytes + n);
        slot++;
        if (copyIn) scratch.set(v.subarray(s, e));
        return scratch;
      };
      const inputs = args.inputs.map((v) => stage(v, true));
      const generalOutputs = args.generalOutputs.map((v) => stage(v, args.update));
      const xorOutput = args.xorOutput === null ? null : stage(args.xorOutput, args.update);
      runInPlace(p, { inputs, generalOutputs, xorOutput, startBytes: 0, endBytes: n, update: args.update });
      args.generalOutputs.forEach((v, j) => { if (!owns(v)) v.set(generalOutputs[j]!, s); });
      if (args.xorOutput !== null && xorOutput !== null && !owns(args.xorOutput)) args.xorOutput.set(xorOutput, s);
    }
  }

  const allOwned = (args: RunArgs): boolean =>
    args.inputs.every(owns) && args.generalOutputs.every(owns) && (args.xorOutput === null || owns(args.xorOutput));

  const kernel: WasmKernel = {
    name: (relaxed ? 'wasm-relaxed-simd' : 'wasm-simd') satisfies KernelName,
    memoryBytes,
    arena,
    owns,
    prepare,
    release(prepared: PreparedPlan): void {
      const p = prepared as WasmPrepared;
      if (p.desc >= 0) arena.free(p.desc);
    },
    run(prepared: PreparedPlan, args: RunArgs): void {
      const p = prepared as WasmPrepared;
      if (p.desc < 0 || args.endBytes - args.startBytes < p.stepBytes) runPlanJs(p.plan, args, table);
      else if (allOwned(args)) runInPlace(p, args);
      else runStaged(p, args);
    },
    alloc(bytesWanted: number): Uint8Array | null {
      const offset = arena.alloc(bytesWanted);
      return offset < 0 ? null : new Uint8Array(buffer, offset, bytesWanted);
    },
    free(view: Uint8Array): void {
      assert(owns(view), 'free of a view that is not in kernel memory');
      arena.free(view.byteOffset);
    },
  };
  return kernel;
}
