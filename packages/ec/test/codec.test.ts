/**
 * The codec's properties (seeded; NACRE_SEED=N reproduces), for random k ∈ [2, 12], m ∈ [1, 4],
 * chunk sizes including 0, 1 and odd ones, every kernel this runtime has and both planners:
 *   - any ≤ m erasures (data or parity) decode to the exact bytes; > m fail with EIO;
 *   - kernels and planners agree byte for byte, with zero-copy and ordinary buffers;
 *   - read–modify–write parity updates equal a full re-encode;
 *   - the async path equals the sync path.
 */
import fc from 'fast-check';
import t from 'tap';
import { ReedSolomon, kernelAvailable, xorInto, type KernelName, type PlannerMode } from '@nacre/ec';
import { Prng, hasCode } from '@nacre/util';
import { chunkSizeArb, equalBytes, geometryArb, randomChunks, runs, seed, seedLine } from './helpers.js';

t.comment(seedLine);
const kernels = (['js', 'wasm-simd', 'wasm-relaxed-simd'] as KernelName[]).filter(kernelAvailable);
const planners: PlannerMode[] = ['xor-shortcuts', 'plain'];
t.comment(`kernels: ${kernels.join(', ')}`);

/** Codecs are reused across runs (as an OSD would) and disposed at the end. */
const codecs = new Map<string, ReedSolomon>();
function codec(k: number, m: number, kernel: KernelName, planner: PlannerMode): ReedSolomon {
  const key = `${k}/${m}/${kernel}/${planner}`;
  let rs = codecs.get(key);
  if (rs === undefined) {
    rs = new ReedSolomon({ k, m, kernel, planner });
    codecs.set(key, rs);
  }
  return rs;
}
t.teardown(() => { for (const rs of codecs.values()) rs.dispose(); });

const kernelArb = fc.constantFrom(...kernels);
const plannerArb = fc.constantFrom(...planners);
const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

function pickSubset(rng: Prng, n: number, size: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = rng.int(i, n - 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, size);
}

t.test('≤ m erasures decode to the exact bytes', async (t) => {
  fc.assert(fc.property(geometryArb, chunkSizeArb, seedArb, kernelArb, plannerArb, ({ k, m }, size, s, kernel, planner) => {
    const rng = new Prng(s);
    const rs = codec(k, m, kernel, planner);
    const data = randomChunks(rng, k, size);
    const all = [...data, ...rs.encode(data)];
    const erased = pickSubset(rng, k + m, rng.int(0, m));
    const chunks = all.map((c, i) => (erased.includes(i) ? null : c));
    const restored = rs.decode(chunks);
    if (!restored.every((c, i) => equalBytes(c, all[i]!))) return false;
    // Rebuild only some of the lost chunks, in caller order.
    const want = erased.slice(0, rng.int(0, erased.length));
    const some = rs.reconstruct(chunks, want);
    return some.every((c, j) => equalBytes(c, all[want[j]!]!));
  }), { seed, numRuns: 2 * runs });
  t.pass(`${2 * runs} runs`);
});

t.test('> m erasures fail with EIO and name the problem', async (t) => {
  fc.assert(fc.property(geometryArb, chunkSizeArb, seedArb, kernelArb, ({ k, m }, size, s, kernel) => {
    const rng = new Prng(s);
    const rs = codec(k, m, kernel, 'xor-shortcuts');
    const data = randomChunks(rng, k, size);
    const all = [...data, ...rs.encode(data)];
    const erased = pickSubset(rng, k + m, rng.int(m + 1, k + m));
    const chunks = all.map((c, i) => (erased.includes(i) ? null : c));
    try {
      rs.decode(chunks);
      return false;
    } catch (err) {
      return hasCode(err, 'EIO') && /at most m=/.test((err as Error).message);
    }
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('kernels and planners agree byte for byte; zero-copy stripes equal ordinary buffers', async (t) => {
  fc.assert(fc.property(geometryArb, chunkSizeArb, seedArb, ({ k, m }, size, s) => {
    const rng = new Prng(s);
    const data = randomChunks(rng, k, size);
    const erased = pickSubset(rng, k + m, rng.int(1, m));
    let reference: Uint8Array[] | null = null;
    for (const kernel of kernels) {
      for (const planner of planners) {
        const rs = codec(k, m, kernel, planner);
        // Ordinary buffers at an odd offset.
        const odd = data.map((d) => { const b = new Uint8Array(size + 1).subarray(1); b.set(d); return b; });
        const parity = rs.encode(odd);
        const viaBuffers = rs.decode([...odd, ...parity].map((c, i) => (erased.includes(i) ? null : c)));
        // The same through a stripe, decoded in place.
        const stripe = rs.allocStripe(size);
        stripe.data.forEach((c, i) => c.set(data[i]!));
        rs.encodeStripe(stripe);
        for (const i of erased) stripe.chunks[i]!.fill(0xee);
        rs.reconstructInPlace(stripe.chunks, erased);
        const viaStripe = stripe.chunks.map((c) => c.slice());
        stripe.release();
        reference ??= viaBuffers;
        const ref = reference;
        if (!viaBuffers.every((c, i) => equalBytes(c, ref[i]!))) return false;
        if (!viaStripe.every((c, i) => equalBytes(c, ref[i]!))) return false;
      }
    }
    return true;
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('read–modify–write: updateParity and parityDelta equal a full re-encode', async (t) => {
  fc.assert(fc.property(geometryArb, chunkSizeArb, seedArb, kernelArb, plannerArb, ({ k, m }, size, s, kernel, planner) => {
    const rng = new Prng(s);
    const rs = codec(k, m, kernel, planner);
    const data = randomChunks(rng, k, size);
    const parity = rs.encode(data);
    const viaDelta = parity.map((p) => p.slice());
    const newData = data.map((d) => d.slice());
    const changes = Array.from({ length: rng.int(1, k + 1) }, () => {
      const index = rng.int(0, k - 1); // repeats allowed: successive writes to one chunk
      const offsetBytes = rng.int(0, size);
      const lengthBytes = rng.int(0, size - offsetBytes);
      const before = newData[index]!.slice(offsetBytes, offsetBytes + lengthBytes);
      const after = rng.fill(new Uint8Array(lengthBytes));
      newData[index]!.set(after, offsetBytes);
      return { index, before, after, offsetBytes };
    });
    rs.updateParity(parity, changes);
    for (const change of changes) {
      const deltas = rs.parityDelta({ index: change.index, before: change.before, after: change.after });
      deltas.forEach((d, j) => xorInto(viaDelta[j]!.subarray(change.offsetBytes, change.offsetBytes + d.length), d));
    }
    const fresh = rs.encode(newData);
    return fresh.every((p, j) => equalBytes(p, parity[j]!) && equalBytes(p, viaDelta[j]!));
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('the async path equals the sync path and yields between slices', async (t) => {
  await fc.assert(fc.asyncProperty(geometryArb, chunkSizeArb, seedArb, kernelArb, async ({ k, m }, size, s, kernel) => {
    const rng = new Prng(s);
    const rs = codec(k, m, kernel, 'xor-shortcuts');
    const sliceBytes = rng.int(1, 700);
    let yields = 0;
    const options = { sliceBytes, yieldFn: async () => { yields++; } };
    const data = randomChunks(rng, k, size);
    const parity = await rs.encodeAsync(data, undefined, options);
    if (!parity.every((p, j) => equalBytes(p, rs.encode(data)[j]!))) return false;
    const slices = Math.ceil(size / sliceBytes);
    if (yields !== Math.max(0, slices - 1)) return false;
    const erased = pickSubset(rng, k + m, rng.int(1, m));
    const all = [...data, ...parity];
    const restored = await rs.decodeAsync(all.map((c, i) => (erased.includes(i) ? null : c)), options);
    if (!restored.every((c, i) => equalBytes(c, all[i]!))) return false;
    const after = rng.fill(new Uint8Array(size));
    await rs.updateParityAsync(parity, [{ index: 0, before: data[0]!, after }], options);
    return rs.encode([after, ...data.slice(1)]).every((p, j) => equalBytes(p, parity[j]!));
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});
