/**
 * Code generator for the WebAssembly SIMD kernel: one function per (number of general outputs N,
 * set/update mode), each executing a Plan (plan.ts) over `lenBytes` bytes. The technique is the split-
 * nibble table lookup: for a coefficient c, c·x = lo_c[x & 15] ⊕ hi_c[x >> 4], and i8x16.swizzle
 * (x86 pshufb, ARM tbl) looks up 16 bytes at once in a 16-entry table held in a vector register.
 *
 * Per step of 16·W bytes the generated code does, for each input i (a runtime loop, so one function
 * serves every k):
 *   x = load(in_i + pos)                                  [update mode: ⊕ load(after_i + pos)]
 *   if kind_i has XOR_ACC:  xacc ^= x
 *   if kind_i has MULTIPLY: lo = x & 0x0f, hi = (x >>u16 4) & 0x0f
 *                           acc_j ^= swizzle(loTable_ij, lo) ^ swizzle(hiTable_ij, hi)   (all j < N)
 *   else:                   acc_j ^= x                                                   (all j < N)
 * then stores acc_j (and xacc ⊕ chained acc_j) — see plan.ts for the exact semantics. The byte
 * shift is an i16x8 shift plus the same mask, because WebAssembly's i8x16.shr_u lowers to more
 * instructions on x86. Accumulators live in locals, which V8 keeps in registers when they fit (W is
 * chosen per N to avoid spills; see WIDTH_BY_GENERAL_OUTPUTS).
 *
 * Memory interface (all addresses absolute in the kernel's memory):
 *   params (nIn, lenBytes, desc, io)
 *   io:   +0  N general output pointers (i32), +32 XOR output pointer or 0, +36 chain mask,
 *         +64 input pointers (2 per input in update mode: before, after)
 *   desc: nIn records of DESCRIPTOR_HEADER_BYTES + 32·N bytes: kind (i32) then, for each j,
 *         the 16-byte low-nibble and 16-byte high-nibble tables of coefficient (j, i)
 * `lenBytes` must be a multiple of stepBytes(N); the caller does the remainder in JavaScript.
 */
import { FunctionBuilder, ValType, emitModule, type ModuleFunction } from './wasm-emit.js';
import { KIND_MULTIPLY, KIND_XOR_ACC, PLAN_GENERAL_OUTPUTS_MAX, PLAN_INPUTS_MAX } from './plan.js';

export const IO_GENERAL_OUTPUTS_OFFSET = 0;
export const IO_XOR_OUTPUT_OFFSET = 32;
export const IO_CHAIN_MASK_OFFSET = 36;
export const IO_INPUTS_OFFSET = 64;
/** Size of the io block: header plus two pointers per input (update mode). */
export const IO_BYTES = IO_INPUTS_OFFSET + 2 * 4 * PLAN_INPUTS_MAX;
export const DESCRIPTOR_HEADER_BYTES = 16;

/**
 * Vectors (16 bytes each) processed per input per step, by number of general outputs N. Wider
 * steps amortise the per-input loop overhead (pointer and kind loads, two branches); narrower ones
 * keep the N·W + W accumulators in the 15 vector registers V8 allocates on x64. Measured with
 * bench/ec/widths.ts (k = 4 and 8, cache-resident chunks, 2-vCPU Xeon VM): 4 wins or ties
 * everywhere except N = 3 and 5, where 2 is ahead by 2–10 %; 8 loses to 4 even for N = 0.
 */
export const WIDTH_BY_GENERAL_OUTPUTS: readonly number[] = [4, 4, 4, 2, 4, 2, 4, 4, 4];

export function descriptorRecordBytes(generalCount: number): number {
  return DESCRIPTOR_HEADER_BYTES + 32 * generalCount;
}

export function stepBytes(generalCount: number, widths: readonly number[] = WIDTH_BY_GENERAL_OUTPUTS): number {
  return 16 * widths[generalCount]!;
}

export function kernelFunctionName(generalCount: number, update: boolean): string {
  return `${update ? 'update' : 'set'}${generalCount}`;
}

export interface KernelCodeOptions {
  /** Use i8x16.relaxed_swizzle (our indices are always < 16, so results are identical). */
  readonly relaxed: boolean;
  /** Override WIDTH_BY_GENERAL_OUTPUTS (benchmarks). */
  readonly widths?: readonly number[];
}

/** The whole kernel module: set0..set8 and update0..update8. */
export function emitKernelModule(options: KernelCodeOptions): Uint8Array {
  const widths = options.widths ?? WIDTH_BY_GENERAL_OUTPUTS;
  const functions: ModuleFunction[] = [];
  for (const update of [false, true]) {
    for (let n = 0; n <= PLAN_GENERAL_OUTPUTS_MAX; n++) {
      functions.push({
        exportName: kernelFunctionName(n, update),
        body: emitPlanFunction({ generalCount: n, width: widths[n]!, update, relaxed: options.relaxed }),
      });
    }
  }
  return emitModule(functions);
}

interface FunctionShape {
  generalCount: number;
  width: number;
  update: boolean;
  relaxed: boolean;
}

const ZERO16 = new Array<number>(16).fill(0);

function emitPlanFunction(shape: FunctionShape): FunctionBuilder {
  const { generalCount: N, width: W, update } = shape;
  const f = new FunctionBuilder([ValType.I32, ValType.I32, ValType.I32, ValType.I32]);
  const [nIn, lenBytes, desc, io] = [0, 1, 2, 3];
  const L = {
    pos: f.local(ValType.I32), i: f.local(ValType.I32), d: f.local(ValType.I32), a: f.local(ValType.I32),
    kind: f.local(ValType.I32), xorOut: f.local(ValType.I32), chain: f.local(ValType.I32),
    out: Array.from({ length: N }, () => f.local(ValType.I32)),
    mask: f.local(ValType.V128),
    x: Array.from({ length: W }, () => f.local(ValType.V128)),
    lo: Array.from({ length: W }, () => f.local(ValType.V128)),
    hi: Array.from({ length: W }, () => f.local(ValType.V128)),
    xacc: Array.from({ length: W }, () => f.local(ValType.V128)),
    acc: Array.from({ length: N }, () => Array.from({ length: W }, () => f.local(ValType.V128))),
    tlo: f.local(ValType.V128), thi: f.local(ValType.V128),
  };

  f.i32Const(0x0f).i8x16Splat().set(L.mask);
  L.out.forEach((local, j) => f.get(io).i32Load(IO_GENERAL_OUTPUTS_OFFSET + 4 * j).set(local));
  f.get(io).i32Load(IO_XOR_OUTPUT_OFFSET).set(L.xorOut);
  f.get(io).i32Load(IO_CHAIN_MASK_OFFSET).set(L.chain);
  f.i32Const(0).set(L.pos);
  f.block((done) => {
    f.loop((step) => {
      f.get(L.pos).get(lenBytes).i32GeU().brIf(done);
      emitInitAccumulators(f, shape, L);
      f.get(desc).set(L.d).get(io).i32Const(IO_INPUTS_OFFSET).i32Add().set(L.a).get(nIn).set(L.i);
      f.loop((nextInput) => {
        emitOneInput(f, shape, L);
        f.get(L.d).i32Const(descriptorRecordBytes(N)).i32Add().set(L.d);
        f.get(L.a).i32Const(update ? 8 : 4).i32Add().set(L.a);
        f.get(L.i).i32Const(1).i32Sub().tee(L.i).brIf(nextInput);
      });
      emitStores(f, shape, L);
      f.get(L.pos).i32Const(16 * W).i32Add().set(L.pos);
      f.br(step);
    });
  });
  return f;
}

type Locals = {
  pos: number; i: number; d: number; a: number; kind: number; xorOut: number; chain: number;
  out: number[]; mask: number; x: number[]; lo: number[]; hi: number[]; xacc: number[];
  acc: number[][]; tlo: number; thi: number;
};

function emitInitAccumulators(f: FunctionBuilder, shape: FunctionShape, L: Locals): void {
  for (let w = 0; w < shape.width; w++) {
    f.v128Const(ZERO16).set(L.xacc[w]!);
    for (let j = 0; j < shape.generalCount; j++) {
      if (shape.update) f.get(L.out[j]!).get(L.pos).i32Add().v128Load(16 * w).set(L.acc[j]![w]!);
      else f.v128Const(ZERO16).set(L.acc[j]![w]!);
    }
  }
}

function emitOneInput(f: FunctionBuilder, shape: FunctionShape, L: Locals): void {
  const { generalCount: N, width: W } = shape;
  for (let w = 0; w < W; w++) {
    f.get(L.a).i32Load(0).get(L.pos).i32Add().v128Load(16 * w);
    if (shape.update) f.get(L.a).i32Load(4).get(L.pos).i32Add().v128Load(16 * w).v128Xor();
    f.set(L.x[w]!);
  }
  f.get(L.d).i32Load(0).set(L.kind);
  f.get(L.kind).i32Const(KIND_XOR_ACC).i32And().if(() => {
    for (let w = 0; w < W; w++) f.get(L.xacc[w]!).get(L.x[w]!).v128Xor().set(L.xacc[w]!);
  });
  if (N === 0) return;
  f.get(L.kind).i32Const(KIND_MULTIPLY).i32And().if(
    () => {
      for (let w = 0; w < W; w++) {
        f.get(L.x[w]!).get(L.mask).v128And().set(L.lo[w]!);
        f.get(L.x[w]!).i32Const(4).i16x8ShrU().get(L.mask).v128And().set(L.hi[w]!);
      }
      for (let j = 0; j < N; j++) {
        f.get(L.d).v128Load(DESCRIPTOR_HEADER_BYTES + 32 * j).set(L.tlo);
        f.get(L.d).v128Load(DESCRIPTOR_HEADER_BYTES + 32 * j + 16).set(L.thi);
        for (let w = 0; w < W; w++) {
          const acc = L.acc[j]![w]!;
          f.get(acc);
          f.get(L.tlo).get(L.lo[w]!).i8x16Swizzle(shape.relaxed);
          f.get(L.thi).get(L.hi[w]!).i8x16Swizzle(shape.relaxed);
          f.v128Xor().v128Xor().set(acc);
        }
      }
    },
    () => {
      for (let j = 0; j < N; j++) {
        for (let w = 0; w < W; w++) f.get(L.acc[j]![w]!).get(L.x[w]!).v128Xor().set(L.acc[j]![w]!);
      }
    },
  );
}

function emitStores(f: FunctionBuilder, shape: FunctionShape, L: Locals): void {
  const { generalCount: N, width: W } = shape;
  for (let j = 0; j < N; j++) {
    for (let w = 0; w < W; w++) f.get(L.out[j]!).get(L.pos).i32Add().get(L.acc[j]![w]!).v128Store(16 * w);
  }
  f.get(L.xorOut).if(() => {
    if (shape.update) {
      for (let w = 0; w < W; w++) {
        f.get(L.xacc[w]!).get(L.xorOut).get(L.pos).i32Add().v128Load(16 * w).v128Xor().set(L.xacc[w]!);
      }
    } else {
      for (let j = 0; j < N; j++) {
        f.get(L.chain).i32Const(1 << j).i32And().if(() => {
          for (let w = 0; w < W; w++) f.get(L.xacc[w]!).get(L.acc[j]![w]!).v128Xor().set(L.xacc[w]!);
        });
      }
    }
    for (let w = 0; w < W; w++) f.get(L.xorOut).get(L.pos).i32Add().get(L.xacc[w]!).v128Store(16 * w);
  });
}
