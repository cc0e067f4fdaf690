/**
 * A tiny WebAssembly binary emitter: LEB128, the handful of opcodes the EC kernel uses, structured
 * control flow with named labels, and module assembly (types, one imported memory, functions,
 * exports, code). It exists so the SIMD kernel is generated from readable TypeScript at run time —
 * no build step, no wat2wasm, no opaque committed blob. Opcode numbers are from the WebAssembly
 * core specification 2.0 (binary format, §5.4) and the relaxed-SIMD proposal.
 */
import { assert } from '@nacre/util';

/** Unsigned LEB128 of a 32-bit value. */
export function uleb128(value: number): number[] {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, 'uleb128: not a u32');
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit value. */
export function sleb128(value: number): number[] {
  assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, 'sleb128: not an s32');
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7; // arithmetic shift keeps the sign
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export const ValType = { I32: 0x7f, V128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i32Const: 0x41,
  i32Eqz: 0x45, i32Ne: 0x47, i32GeU: 0x4f,
  i32Add: 0x6a, i32Sub: 0x6b, i32And: 0x71,
  simdPrefix: 0xfd,
} as const;

const SIMD = {
  v128Load: 0, v128Store: 11, v128Const: 12, i8x16Swizzle: 14, i8x16Splat: 15,
  v128And: 78, v128Xor: 81, i16x8ShrU: 141, i8x16RelaxedSwizzle: 256,
} as const;

const BLOCK_TYPE_EMPTY = 0x40;

/** A label for br/br_if, bound to one structured block. */
export interface Label { readonly id: number }

/**
 * Emits one function body. Locals are declared up front (params first, as wasm numbers them);
 * blocks take a callback so nesting — and therefore branch depths — can't be got wrong.
 */
export class FunctionBuilder {
  private readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private readonly labels: Label[] = [];
  private nextLabelId = 0;

  constructor(readonly params: readonly ValType[]) {}

  /** Declare a local; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number, ...immediates: number[]): this {
    return this.op(OP.simdPrefix, ...uleb128(opcode), ...immediates);
  }

  private structured(opcode: number, body: (label: Label) => void): this {
    const label = { id: this.nextLabelId++ };
    this.op(opcode, BLOCK_TYPE_EMPTY);
    this.labels.push(label);
    body(label);
    this.labels.pop();
    return this.op(OP.end);
  }

  private depth(label: Label): number {
    const i = this.labels.lastIndexOf(label);
    assert(i >= 0, 'branch to a label that is not in scope');
    return this.labels.length - 1 - i;
  }

  block(body: (label: Label) => void): this { return this.structured(OP.block, body); }
  loop(body: (label: Label) => void): this { return this.structured(OP.loop, body); }
  /** if (pop i32 ≠ 0) then … [else …] end */
  if(then: () => void, otherwise?: () => void): this {
    const label = { id: this.nextLabelId++ };
    this.op(OP.if, BLOCK_TYPE_EMPTY);
    this.labels.push(label);
    then();
    if (otherwise !== undefined) {
      this.op(OP.else);
      otherwise();
    }
    this.labels.pop();
    return this.op(OP.end);
  }
  br(label: Label): this { return this.op(OP.br, ...uleb128(this.depth(label))); }
  brIf(label: Label): this { return this.op(OP.brIf, ...uleb128(this.depth(label))); }

  get(local: number): this { return this.op(OP.localGet, ...uleb128(local)); }
  set(local: number): this { return this.op(OP.localSet, ...uleb128(local)); }
  tee(local: number): this { return this.op(OP.localTee, ...uleb128(local)); }

  i32Const(value: number): this { return this.op(OP.i32Const, ...sleb128(value | 0)); }
  /** i32.load with a constant byte offset (alignment hint 4 bytes). */
  i32Load(offsetBytes = 0): this { return this.op(OP.i32Load, 2, ...uleb128(offsetBytes)); }
  i32Add(): this { return this.op(OP.i32Add); }
  i32Sub(): this { return this.op(OP.i32Sub); }
  i32And(): this { return this.op(OP.i32And); }
  i32Eqz(): this { return this.op(OP.i32Eqz); }
  i32Ne(): this { return this.op(OP.i32Ne); }
  i32GeU(): this { return this.op(OP.i32GeU); }

  /** v128.load with a constant byte offset; alignment hint 1 byte, since chunks may be unaligned. */
  v128Load(offsetBytes = 0): this { return this.simd(SIMD.v128Load, 0, ...uleb128(offsetBytes)); }
  v128Store(offsetBytes = 0): this { return this.simd(SIMD.v128Store, 0, ...uleb128(offsetBytes)); }
  v128Const(bytes: readonly number[]): this {
    assert(bytes.length === 16, 'v128.const takes 16 bytes');
    return this.simd(SIMD.v128Const, ...bytes);
  }
  v128And(): this { return this.simd(SIMD.v128And); }
  v128Xor(): this { return this.simd(SIMD.v128Xor); }
  i8x16Splat(): this { return this.simd(SIMD.i8x16Splat); }
  i16x8ShrU(): this { return this.simd(SIMD.i16x8ShrU); }
  /** Lanes of the table (pushed first) selected by the index vector (pushed second). */
  i8x16Swizzle(relaxed: boolean): this {
    return this.simd(relaxed ? SIMD.i8x16RelaxedSwizzle : SIMD.i8x16Swizzle);
  }

  /** The encoded body: local declarations, code, end. */
  encode(): number[] {
    const groups: { count: number; type: ValType }[] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last.type === t) last.count++;
      else groups.push({ count: 1, type: t });
    }
    assert(this.labels.length === 0, 'unclosed block');
    const body = [
      ...uleb128(groups.length),
      ...groups.flatMap((g) => [...uleb128(g.count), g.type]),
      ...this.code,
      OP.end,
    ];
    return [...uleb128(body.length), ...body];
  }
}

export interface ModuleFunction {
  readonly exportName: string;
  readonly body: FunctionBuilder;
}

/**
 * A module importing one memory as env.memory (so JavaScript sizes it) and exporting functions that
 * take only i32 parameters and return nothing — all the kernel needs.
 */
export function emitModule(functions: readonly ModuleFunction[]): Uint8Array {
  const signatures: string[] = [];
  const typeIndex = functions.map((f) => {
    const key = f.body.params.join(',');
    let i = signatures.indexOf(key);
    if (i < 0) i = signatures.push(key) - 1;
    return i;
  });
  const types = signatures.map((key) => {
    const params = key === '' ? [] : key.split(',').map(Number);
    return [0x60, ...uleb128(params.length), ...params, ...uleb128(0)];
  });
  // Limits "at least 1 page, no maximum": the same bytes work with any memory size JavaScript picks.
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x00, ...uleb128(1)];
  const exports = functions.map((f, i) => [...name(f.exportName), 0x00, ...uleb128(i)]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(typeIndex.map((t) => uleb128(t)))),
    ...section(7, vector(exports)),
    ...section(10, vector(functions.map((f) => f.body.encode()))),
  ]);
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb128(bytes.length), ...bytes];
}

function vector(items: readonly (readonly number[])[]): number[] {
  return [...uleb128(items.length), ...items.flat()];
}

function section(id: number, contents: readonly number[]): number[] {
  return [id, ...uleb128(contents.length), ...contents];
}
