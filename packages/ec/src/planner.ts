/**
 * Turns "compute these chunks from those" into a Plan (plan.ts) plus the chunk index of every
 * input and output. Encoding is the special case "all data present, want all parity".
 *
 * With shortcuts on (the default) the planner exploits the all-ones parity row 0 of our generator:
 *   A. parity 0 is wanted and every lost data chunk is wanted too: parity 0 = XOR of the present
 *      data inputs and of the rebuilt data outputs (for encoding: plain XOR of the data);
 *   B. parity 0 survived and every lost data chunk is wanted: one lost data chunk (the last) is
 *      parity 0 ⊕ the other data chunks, present or just rebuilt — one general row fewer.
 * Otherwise (and with shortcuts off) every wanted chunk is a general row over the k inputs. Both
 * modes give identical bytes; the tests run both.
 */
import { assert } from '@nacre/util';
import { Matrix } from './matrix.js';
import { makePlan, type Plan } from './plan.js';

export type PlannerMode = 'xor-shortcuts' | 'plain';

export interface ChunkPlan {
  readonly plan: Plan;
  /** Chunk index of each plan input (for update plans: the data chunk whose delta is applied). */
  readonly inputIndexes: readonly number[];
  /** Chunk index of each general output. */
  readonly generalOutputIndexes: readonly number[];
  /** Chunk index of the XOR output, or -1. */
  readonly xorOutputIndex: number;
}

/**
 * Plan to rebuild `want` (ascending, all absent) from `present` (ascending, at least k entries) for
 * the (k+m)×k `generator`. Uses the first k present chunks, so surviving data is preferred and a
 * pattern maps to one cache key.
 */
export function planDecode(
  k: number,
  generator: Matrix,
  present: readonly number[],
  want: readonly number[],
  mode: PlannerMode,
): ChunkPlan {
  assert(present.length >= k && want.length >= 1, 'planDecode: need k present chunks and a wanted one');
  const inputs = present.slice(0, k);
  const inverse = generator.selectRows(inputs).invert();
  // Never null for an MDS generator (proof in generator.ts); a null here would mean data loss.
  assert(inverse !== null, () => `decode matrix for chunks [${inputs.join(',')}] is singular`);
  const rowOf = (index: number): Uint8Array =>
    index < k ? inverse.row(index) : generator.selectRows([index]).multiply(inverse).row(0);

  const xorOutputIndex = mode === 'xor-shortcuts' ? chooseXorOutput(k, inputs, present, want) : -1;
  const generalOutputIndexes = want.filter((i) => i !== xorOutputIndex);
  const general = new Matrix(generalOutputIndexes.length, k);
  generalOutputIndexes.forEach((index, j) => general.data.set(rowOf(index), j * k));

  let xorChainMask = 0;
  generalOutputIndexes.forEach((index, j) => {
    if (index < k) xorChainMask |= 1 << j; // rebuilt data chunks fold into the XOR relation
  });
  const plan = makePlan({
    general,
    hasXorOutput: xorOutputIndex >= 0,
    xorInputs: inputs.map((i) => i <= k), // data chunks and parity 0 (index k)
    xorChainMask,
  });
  return { plan, inputIndexes: inputs, generalOutputIndexes, xorOutputIndex };
}

/** Which wanted chunk (if any) can be computed as the XOR relation of parity 0 (cases A and B). */
function chooseXorOutput(k: number, inputs: readonly number[], present: readonly number[], want: readonly number[]): number {
  const presentSet = new Set(present);
  const wantSet = new Set(want);
  const lostData: number[] = [];
  for (let i = 0; i < k; i++) if (!presentSet.has(i)) lostData.push(i);
  if (!lostData.every((i) => wantSet.has(i))) return -1;
  if (wantSet.has(k)) return k; // case A
  if (inputs.includes(k) && lostData.length > 0) return lostData[lostData.length - 1]!; // case B
  return -1;
}

/** Plan to compute all parity from all data. */
export function planEncode(k: number, m: number, generator: Matrix, mode: PlannerMode): ChunkPlan {
  const present = Array.from({ length: k }, (_, i) => i);
  const want = Array.from({ length: m }, (_, i) => k + i);
  return planDecode(k, generator, present, want, mode);
}

/**
 * Plan (update mode) that folds the delta of data chunk `dataIndex` into every parity chunk:
 * parity_i ^= P[i][dataIndex] · (before ⊕ after). Parity 0's coefficient is always 1.
 */
export function planUpdate(k: number, m: number, generator: Matrix, dataIndex: number, mode: PlannerMode): ChunkPlan {
  assert(dataIndex >= 0 && dataIndex < k, 'planUpdate: not a data chunk');
  const useXor = mode === 'xor-shortcuts';
  const firstGeneral = useXor ? k + 1 : k;
  const generalOutputIndexes: number[] = [];
  for (let i = firstGeneral; i < k + m; i++) generalOutputIndexes.push(i);
  const general = new Matrix(generalOutputIndexes.length, 1);
  generalOutputIndexes.forEach((index, j) => general.set(j, 0, generator.get(index, dataIndex)));
  assert(generator.get(k, dataIndex) === 1, 'parity row 0 must be all ones');
  const plan = makePlan({ general, hasXorOutput: useXor, xorInputs: [true] });
  return { plan, inputIndexes: [dataIndex], generalOutputIndexes, xorOutputIndex: useXor ? k : -1 };
}
