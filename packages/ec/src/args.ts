/**
 * Argument checks for the public codec methods. Every bad argument is an EINVAL NacreError with a
 * message naming the problem; kernels behind the codec never re-check, so these are the only guard
 * between a caller's mistake and memory the kernel would otherwise scribble on (an output that
 * overlaps an input would silently produce garbage parity).
 */
import { NacreError } from '@nacre/util';

export function invalid(message: string): NacreError {
  return new NacreError(message, { code: 'EINVAL' });
}

export function checkBuffer(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`${what} must be a Uint8Array (or Buffer)`);
  return value;
}

/** Checks a list of exactly `count` buffers of one common length; returns that length. */
export function checkBufferList(list: unknown, count: number, what: string, lengthBytes?: number): number {
  if (!Array.isArray(list) || list.length !== count) throw invalid(`${what}: expected ${count} buffers`);
  let common = lengthBytes;
  list.forEach((b: unknown, i) => {
    const buf = checkBuffer(b, `${what}[${i}]`);
    if (common === undefined) common = buf.length;
    else if (buf.length !== common) throw invalid(`${what}[${i}] is ${buf.length} bytes, expected ${common}`);
  });
  return common ?? 0;
}

/** Distinct integer chunk indexes in [0, limit). */
export function checkIndexes(indexes: unknown, limit: number, what: string): number[] {
  if (!Array.isArray(indexes)) throw invalid(`${what} must be an array of chunk indexes`);
  const seen = new Set<number>();
  for (const i of indexes as unknown[]) {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= limit) throw invalid(`${what}: bad chunk index ${String(i)}`);
    if (seen.has(i)) throw invalid(`${what}: chunk index ${i} given twice`);
    seen.add(i);
  }
  return indexes as number[];
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Outputs must not overlap each other or any input (inputs may share memory among themselves). */
export function checkNoOverlap(inputs: readonly Uint8Array[], outputs: readonly Uint8Array[]): void {
  outputs.forEach((out, j) => {
    for (let i = j + 1; i < outputs.length; i++) {
      if (overlaps(out, outputs[i]!)) throw invalid('output buffers overlap each other');
    }
    for (const input of inputs) if (overlaps(out, input)) throw invalid('an output buffer overlaps an input buffer');
  });
}
