/**
 * The codec's contract at its edges: argument errors (EINVAL), unrecoverable patterns (EIO),
 * lifecycle (ESHUTDOWN), the bounded decode cache, kernel memory accounting (no leaks, plans pinned
 * across an eviction during an async decode), stripes and kernel selection.
 */
import t from 'tap';
import {
  ReedSolomon, bestKernelName, createJsKernel, createWasmKernel, kernelAvailable, type ChunkChange,
} from '@nacre/ec';
import { Prng } from '@nacre/util';
import { equalBytes, randomChunks, seed, seedLine } from './helpers.js';

t.comment(seedLine);
const rng = new Prng(seed);

t.test('geometry limits', async (t) => {
  for (const [k, m] of [[0, 2], [33, 2], [4, 0], [4, 9], [32, 9], [33, 7], [4.5, 2], [NaN, 1]] as const) {
    t.throws(() => new ReedSolomon({ k, m }), { code: 'EINVAL' }, `k=${k} m=${m}`);
  }
  for (const [k, m] of [[1, 1], [32, 8], [1, 8], [32, 1]] as const) {
    const rs = new ReedSolomon({ k, m });
    const data = randomChunks(rng, k, 100);
    const all = [...data, ...rs.encode(data)];
    const lost = Array.from({ length: m }, (_, i) => i % (k + m));
    const restored = rs.decode(all.map((c, i) => (lost.includes(i) ? null : c)));
    t.ok(restored.every((c, i) => equalBytes(c, all[i]!)), `k=${k} m=${m} round trip`);
    rs.dispose();
  }
});

t.test('chunk sizes 0, 1 and 3 for every k ∈ [2, 12], m ∈ [1, 4], every kernel (not left to chance)', async (t) => {
  let bad = 0;
  let cases = 0;
  for (const kernel of (['js', 'wasm-simd', 'wasm-relaxed-simd'] as const).filter(kernelAvailable)) {
    for (let k = 2; k <= 12; k++) {
      for (let m = 1; m <= 4; m++) {
        const rs = new ReedSolomon({ k, m, kernel });
        for (const size of [0, 1, 3]) {
          const data = randomChunks(rng, k, size);
          const all = [...data, ...rs.encode(data)];
          const lost = new Set(Array.from({ length: m }, () => rng.int(0, k + m - 1)));
          const restored = rs.decode(all.map((c, i) => (lost.has(i) ? null : c)));
          if (!restored.every((c, i) => equalBytes(c, all[i]!))) bad++;
          cases++;
        }
        rs.dispose();
      }
    }
  }
  t.equal(bad, 0, `${cases} cases`);
});

t.test('m = 1 is plain XOR parity; k = 1 parity are copies', async (t) => {
  const data = randomChunks(rng, 5, 77);
  const [p] = new ReedSolomon({ k: 5, m: 1 }).encode(data);
  const x = new Uint8Array(77);
  for (const d of data) for (let i = 0; i < 77; i++) x[i] ^= d[i]!;
  t.ok(equalBytes(p!, x));
  const one = randomChunks(rng, 1, 50);
  t.ok(new ReedSolomon({ k: 1, m: 3 }).encode(one).every((c) => equalBytes(c, one[0]!)));
});

t.test('argument errors are EINVAL', async (t) => {
  const rs = new ReedSolomon({ k: 4, m: 2 });
  const data = randomChunks(rng, 4, 64);
  const parity = rs.encode(data);
  const all = [...data, ...parity];
  t.throws(() => rs.encode(data.slice(0, 3)), { code: 'EINVAL' }, 'too few data chunks');
  t.throws(() => rs.encode([...data.slice(0, 3), new Uint8Array(65)]), { code: 'EINVAL' }, 'unequal lengths');
  t.throws(() => rs.encode([...data.slice(0, 3), [1, 2] as unknown as Uint8Array]), { code: 'EINVAL' }, 'not a Uint8Array');
  t.throws(() => rs.encode(data, [new Uint8Array(64)]), { code: 'EINVAL' }, 'too few parity buffers');
  t.throws(() => rs.encode(data, [new Uint8Array(63), new Uint8Array(63)]), { code: 'EINVAL' }, 'parity length');
  const shared = new Uint8Array(64);
  t.throws(() => rs.encode(data, [shared, shared]), { code: 'EINVAL' }, 'parity buffers overlap');
  t.throws(() => rs.encode(data, [data[1]!, new Uint8Array(64)]), { code: 'EINVAL' }, 'parity overlaps data');
  const big = new Uint8Array(200);
  t.throws(() => rs.encode(data, [big.subarray(0, 64), big.subarray(63, 127)]), { code: 'EINVAL' }, 'partial overlap');
  t.doesNotThrow(() => rs.encode(data, [big.subarray(0, 64), big.subarray(64, 128)]), 'adjacent is fine');
  const lost = all.map((c, i) => (i === 1 ? null : c));
  t.throws(() => rs.decode(all.slice(0, 5)), { code: 'EINVAL' }, 'wrong chunk count');
  t.throws(() => rs.reconstruct(lost, [0]), { code: 'EINVAL' }, 'want a present chunk');
  t.throws(() => rs.reconstruct(lost, [1, 1]), { code: 'EINVAL' }, 'duplicate want');
  t.throws(() => rs.reconstruct(lost, [6]), { code: 'EINVAL' }, 'want out of range');
  t.throws(() => rs.reconstruct(lost, [1], []), { code: 'EINVAL' }, 'into length');
  t.throws(() => rs.reconstruct(lost, [1], [data[0]!]), { code: 'EINVAL' }, 'into overlaps an input');
  t.throws(() => rs.decode(all.map((c, i) => (i === 1 ? new Uint8Array(3) : c))), { code: 'EINVAL' }, 'unequal chunk lengths');
  const change: ChunkChange = { index: 0, before: new Uint8Array(8), after: new Uint8Array(8), offsetBytes: 60 };
  t.throws(() => rs.updateParity(parity, [change]), { code: 'EINVAL' }, 'change past the chunk end');
  t.throws(() => rs.updateParity(parity, [{ ...change, offsetBytes: 0, index: 4 }]), { code: 'EINVAL' }, 'change of a parity index');
  t.throws(() => rs.updateParity(parity, [{ ...change, offsetBytes: 0, after: new Uint8Array(9) }]), { code: 'EINVAL' }, 'before/after lengths');
  t.throws(() => rs.updateParity(parity, [{ ...change, offsetBytes: 0, before: parity[0]!.subarray(0, 8) }]), { code: 'EINVAL' }, 'change aliases parity');
  t.throws(() => rs.allocStripe(-1), { code: 'EINVAL' });
  t.throws(() => new ReedSolomon({ k: 4, m: 2, kernel: 'gpu' as 'js' }), { code: 'EINVAL' }, 'unknown kernel');
  t.same(rs.reconstruct(lost, []), [], 'nothing wanted');
  t.ok(rs.decode(all).every((c, i) => c === all[i]), 'nothing missing: the same buffers back');
});

t.test('more than m lost is EIO, also when exactly k − 1 survive', async (t) => {
  const rs = new ReedSolomon({ k: 4, m: 2 });
  const all = [...randomChunks(rng, 4, 10), ...randomChunks(rng, 2, 10)];
  t.throws(() => rs.decode([null, null, null, all[3]!, all[4]!, all[5]!]), { code: 'EIO' });
  t.throws(() => rs.decode(all.map(() => null)), { code: 'EIO' });
});

t.test('dispose: later calls fail with ESHUTDOWN, kernel memory is returned, idempotent', async (t) => {
  const kernel = createWasmKernel({ memoryBytes: 8 << 20 });
  const baseline = kernel.arena.usedBytes;
  const rs = new ReedSolomon({ k: 6, m: 3, kernel });
  const data = randomChunks(rng, 6, 300);
  const all = [...data, ...rs.encode(data)];
  for (let i = 0; i < 9; i++) rs.decode(all.map((c, j) => (j === i || j === (i + 4) % 9 ? null : c)));
  rs.updateParity(all.slice(6), [{ index: 2, before: data[2]!, after: data[2]! }]);
  t.ok(kernel.arena.usedBytes > baseline, 'tables live in kernel memory');
  rs.dispose();
  rs.dispose();
  t.equal(kernel.arena.usedBytes, baseline, 'all returned');
  t.throws(() => rs.encode(data), { code: 'ESHUTDOWN' });
  t.throws(() => rs.decode(all), { code: 'ESHUTDOWN' });
  t.throws(() => rs.allocStripe(10), { code: 'ESHUTDOWN' });
  kernel.arena.checkInvariants();
});

t.test('the decode cache is bounded and counts hits', async (t) => {
  const kernel = createWasmKernel({ memoryBytes: 8 << 20 });
  const baseline = kernel.arena.usedBytes;
  const rs = new ReedSolomon({ k: 8, m: 4, kernel, decodeCacheEntriesMax: 3 });
  const data = randomChunks(rng, 8, 100);
  const all = [...data, ...rs.encode(data)];
  let decodes = 0;
  for (let a = 0; a < 12; a++) {
    for (let b = a + 1; b < 12; b++) {
      const restored = rs.decode(all.map((c, i) => (i === a || i === b ? null : c)));
      if (!restored.every((c, i) => equalBytes(c, all[i]!))) t.fail(`pattern ${a},${b}`);
      decodes++;
      t.ok(rs.stats().decodeCacheEntries <= 3);
    }
  }
  rs.decode(all.map((c, i) => (i === 10 || i === 11 ? null : c)));
  const stats = rs.stats();
  t.equal(stats.decodeCacheEntries, 3);
  t.equal(stats.decodeCacheMisses, decodes);
  t.equal(stats.decodeCacheHits, 1, 'the last pattern again is a hit');
  rs.dispose();
  t.equal(kernel.arena.usedBytes, baseline);
});

t.test('an async decode keeps its plan alive when another decode evicts it', async (t) => {
  const kernel = createWasmKernel({ memoryBytes: 8 << 20 });
  const baseline = kernel.arena.usedBytes;
  const rs = new ReedSolomon({ k: 4, m: 2, kernel, decodeCacheEntriesMax: 1 });
  const data = randomChunks(rng, 4, 4096);
  const all = [...data, ...rs.encode(data)];
  let interleaved = 0;
  const yieldFn = async (): Promise<void> => {
    // Each yield decodes other patterns, evicting (and, without pinning, freeing) the async plan.
    const other = rs.decode(all.map((c, i) => (i === (interleaved % 3) + 3 ? null : c)));
    if (!other.every((c, i) => equalBytes(c, all[i]!))) t.fail('interleaved decode');
    interleaved++;
  };
  const restored = await rs.decodeAsync(all.map((c, i) => (i === 0 || i === 2 ? null : c)), { sliceBytes: 256, yieldFn });
  t.equal(interleaved, 15);
  t.ok(restored.every((c, i) => equalBytes(c, all[i]!)), 'async result intact');
  rs.dispose();
  t.equal(kernel.arena.usedBytes, baseline, 'the pinned plan was released when unpinned');
});

t.test('stripes: zero-copy in wasm memory, ordinary memory otherwise; double release is a bug', async (t) => {
  const wasmKernel = createWasmKernel({ memoryBytes: 4 << 20 });
  const rs = new ReedSolomon({ k: 4, m: 2, kernel: wasmKernel });
  const stripe = rs.allocStripe(1000);
  t.ok(stripe.zeroCopy);
  t.equal(stripe.chunks.length, 6);
  t.ok(stripe.chunks.every((c) => c.length === 1000 && c.byteOffset % 64 === 0 && wasmKernel.owns(c)));
  stripe.release();
  t.throws(() => stripe.release(), { name: 'AssertionFailure' });
  const tooBig = rs.allocStripe(1 << 20);
  t.notOk(tooBig.zeroCopy, 'arena exhausted: ordinary memory');
  tooBig.data.forEach((c, i) => c.fill(i + 1));
  rs.encodeStripe(tooBig);
  rs.reconstructInPlace(tooBig.chunks, [0, 5]);
  t.ok(tooBig.chunks[0]!.every((b) => b === 1));
  tooBig.release();
  const js = new ReedSolomon({ k: 4, m: 2, kernel: createJsKernel() });
  t.notOk(js.allocStripe(10).zeroCopy);
  const empty = rs.allocStripe(0);
  rs.encodeStripe(empty);
  t.ok(empty.chunks.every((c) => c.length === 0));
  empty.release();
});

t.test('kernel selection', async (t) => {
  const rs = new ReedSolomon({ k: 4, m: 2 });
  t.equal(rs.kernelName, bestKernelName());
  t.equal(rs.stats().kernel, bestKernelName());
  t.ok(kernelAvailable('js'));
  t.ok(kernelAvailable('wasm-simd'), 'Node 20 runs WebAssembly SIMD');
  t.throws(() => createWasmKernel({ memoryBytes: 100_000 }), { code: 'EINVAL' }, 'not whole pages');
  t.throws(() => createWasmKernel({ memoryBytes: 2 << 30 }), { code: 'EINVAL' }, 'over the maximum');
  t.throws(() => createWasmKernel({ memoryBytes: 1 << 20, stageAreaBytes: 1 << 20 }), { code: 'EINVAL' }, 'staging area too large');
  t.throws(() => createWasmKernel({ stageAreaBytes: 64 }), { code: 'EINVAL' }, 'staging area too small');
  if (!kernelAvailable('wasm-relaxed-simd')) {
    t.throws(() => new ReedSolomon({ k: 4, m: 2, kernel: 'wasm-relaxed-simd' }), { code: 'ENOTSUP' });
  }
});
