/**
 * Random plans executed by two kernels must give identical bytes. Shared by kernels.test.ts and
 * relaxed-child.ts (which runs it in a Node started with --experimental-wasm-relaxed-simd).
 */
import { Matrix, makePlan, type Kernel, type Plan, type RunArgs } from '@nacre/ec';
import { Prng } from '@nacre/util';

export interface PlanCase {
  plan: Plan;
  lengthBytes: number;
  startBytes: number;
  endBytes: number;
  update: boolean;
}

export function randomPlanCase(rng: Prng): PlanCase {
  const inputCount = rng.int(1, 32);
  const generalCount = rng.int(0, 8);
  const general = new Matrix(generalCount, inputCount);
  for (let i = 0; i < inputCount; i++) {
    const allOnes = rng.next() < 0.3; // exercises the XOR-only input path
    for (let j = 0; j < generalCount; j++) {
      const r = rng.next();
      general.set(j, i, allOnes || r < 0.2 ? 1 : r < 0.3 ? 0 : rng.int(0, 255));
    }
  }
  const hasXorOutput = generalCount === 0 || rng.next() < 0.6;
  const plan = makePlan({
    general,
    hasXorOutput,
    xorInputs: Array.from({ length: inputCount }, () => rng.next() < 0.7),
    xorChainMask: generalCount === 0 ? 0 : rng.int(0, (1 << generalCount) - 1),
  });
  const lengthBytes = rng.pick([0, 1, 15, 16, 17, 63, 64, 65, 200, rng.int(0, 5000), rng.int(16_000, 40_000)]);
  const startBytes = rng.next() < 0.5 ? 0 : rng.int(0, lengthBytes);
  const endBytes = rng.next() < 0.5 ? lengthBytes : rng.int(startBytes, lengthBytes);
  return { plan, lengthBytes, startBytes, endBytes, update: rng.next() < 0.3 };
}

/** A buffer either inside `kernel`'s memory or an ordinary one, at a random (often odd) offset. */
function placeBuffer(rng: Prng, kernel: Kernel, lengthBytes: number, frees: (() => void)[]): Uint8Array {
  const offset = rng.pick([0, 0, 1, 3, 7, 16, 33]);
  const owned = rng.next() < 0.5 ? kernel.alloc(lengthBytes + offset) : null;
  if (owned !== null) {
    frees.push(() => kernel.free(owned));
    return owned.subarray(offset, offset + lengthBytes);
  }
  return new Uint8Array(new ArrayBuffer(lengthBytes + offset), offset, lengthBytes);
}

/** Runs the case on both kernels; returns a description of the first difference, or null. */
export function compareKernels(rng: Prng, c: PlanCase, reference: Kernel, candidate: Kernel): string | null {
  const frees: (() => void)[] = [];
  try {
    const inputCount = c.plan.inputCount * (c.update ? 2 : 1);
    const outputCount = c.plan.generalCount + (c.plan.hasXorOutput ? 1 : 0);
    const inputs = Array.from({ length: inputCount }, () => rng.fill(placeBuffer(rng, candidate, c.lengthBytes, frees)));
    const outsA = Array.from({ length: outputCount }, () => rng.fill(placeBuffer(rng, candidate, c.lengthBytes, frees)));
    const outsB = outsA.map((o) => o.slice());
    const args = (outs: Uint8Array[]): RunArgs => ({
      inputs,
      generalOutputs: outs.slice(0, c.plan.generalCount),
      xorOutput: c.plan.hasXorOutput ? outs[c.plan.generalCount]! : null,
      startBytes: c.startBytes,
      endBytes: c.endBytes,
      update: c.update,
    });
    const pa = candidate.prepare(c.plan);
    const pb = reference.prepare(c.plan);
    candidate.run(pa, args(outsA));
    reference.run(pb, args(outsB));
    candidate.release(pa);
    reference.release(pb);
    for (let j = 0; j < outputCount; j++) {
      const a = outsA[j]!;
      const b = outsB[j]!;
      for (let p = 0; p < c.lengthBytes; p++) {
        if (a[p] !== b[p]) return `output ${j} differs at byte ${p} (${candidate.name} ${a[p]}, ${reference.name} ${b[p]})`;
      }
    }
    return null;
  } finally {
    for (const free of frees) free();
  }
}
