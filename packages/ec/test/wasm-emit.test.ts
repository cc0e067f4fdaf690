/**
 * The WebAssembly emitter: LEB128 against the specification's examples and edge values, and a
 * hand-built module that must validate and compute.
 */
import t from 'tap';
import { FunctionBuilder, emitKernelModule, emitModule, sleb128, uleb128, wasmKernelSupported } from '@nacre/ec';

t.test('unsigned LEB128', async (t) => {
  t.same(uleb128(0), [0x00]);
  t.same(uleb128(127), [0x7f]);
  t.same(uleb128(128), [0x80, 0x01]);
  t.same(uleb128(624485), [0xe5, 0x8e, 0x26]);
  t.same(uleb128(256), [0x80, 0x02], 'relaxed_swizzle opcode');
  t.same(uleb128(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  t.throws(() => uleb128(-1));
});

t.test('signed LEB128', async (t) => {
  t.same(sleb128(0), [0x00]);
  t.same(sleb128(63), [0x3f]);
  t.same(sleb128(64), [0xc0, 0x00]);
  t.same(sleb128(-1), [0x7f]);
  t.same(sleb128(-64), [0x40]);
  t.same(sleb128(-65), [0xbf, 0x7f]);
  t.same(sleb128(-123456), [0xc0, 0xbb, 0x78]);
  t.same(sleb128(0x7fffffff), [0xff, 0xff, 0xff, 0xff, 0x07]);
  t.same(sleb128(-0x80000000), [0x80, 0x80, 0x80, 0x80, 0x78]);
});

interface Wasm {
  validate(b: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
  Instance: new (m: object, i: object) => { exports: Record<string, (...a: number[]) => void> };
  Module: new (b: Uint8Array) => object;
}
const W = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

t.test('a hand-built module: swizzle a vector through a table in memory', async (t) => {
  // f(tablePtr, indexPtr, outPtr): out = swizzle(table, index) — control flow included to exercise labels.
  const f = new FunctionBuilder([0x7f, 0x7f, 0x7f]);
  const n = f.local(0x7f);
  f.i32Const(3).set(n);
  f.block((done) => {
    f.loop((again) => {
      f.get(n).i32Eqz().brIf(done);
      f.get(n).i32Const(1).i32Sub().set(n);
      f.br(again);
    });
  });
  f.get(2).get(0).v128Load(0).get(1).v128Load(0).i8x16Swizzle(false).v128Store(0);
  const bytes = emitModule([{ exportName: 'f', body: f }]);
  t.ok(W.validate(bytes));
  const memory = new W.Memory({ initial: 1, maximum: 1 });
  const { exports } = new W.Instance(new W.Module(bytes), { env: { memory } });
  const heap = new Uint8Array(memory.buffer);
  for (let i = 0; i < 16; i++) heap[100 + i] = 0xa0 + i;
  heap.set([15, 0, 1, 200, 16, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 7], 200);
  exports['f']!(100, 200, 300);
  t.same([...heap.subarray(300, 316)], [0xaf, 0xa0, 0xa1, 0, 0, 0xa3, 0xa3, 0xa3, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa7]);
});

t.test('the kernel module validates (SIMD), and relaxed matches what the runtime reports', async (t) => {
  t.ok(W.validate(emitKernelModule({ relaxed: false })));
  t.equal(W.validate(emitKernelModule({ relaxed: true })), wasmKernelSupported(true));
  t.ok(wasmKernelSupported(false));
});
