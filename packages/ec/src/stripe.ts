/**
 * A stripe: the k+m equally long chunks of one object (or one stripe of it), allocated in the
 * kernel's memory when it has room so that encode/decode work on them in place — the zero-copy
 * path. The caller fills the data chunks directly (read from disk or socket into them), encodes,
 * and sends the parity chunks straight from them. Falls back to an ordinary ArrayBuffer when the
 * kernel has no memory to give (JS kernel, exhausted arena); then `zeroCopy` is false and the
 * WebAssembly kernel stages through scratch memory instead.
 */
import { assert } from '@nacre/util';
import { ARENA_ALIGN_BYTES } from './arena.js';
import type { Kernel } from './kernel.js';

export interface Stripe {
  /** All k+m chunks: data then parity. */
  readonly chunks: readonly Uint8Array[];
  readonly data: readonly Uint8Array[];
  readonly parity: readonly Uint8Array[];
  readonly chunkBytes: number;
  /** True if the chunks live in kernel memory (used in place, nothing copied). */
  readonly zeroCopy: boolean;
  /** Give the memory back. The views must not be used afterwards; releasing twice is a bug. */
  release(): void;
}

export function allocStripe(kernel: Kernel, k: number, m: number, chunkBytes: number): Stripe {
  // Each chunk starts on its own cache line: no false sharing, aligned vector loads.
  const strideBytes = Math.ceil(chunkBytes / ARENA_ALIGN_BYTES) * ARENA_ALIGN_BYTES;
  const block = kernel.alloc((k + m) * strideBytes);
  const base = block ?? new Uint8Array((k + m) * strideBytes);
  const chunks = Array.from({ length: k + m }, (_, i) =>
    new Uint8Array(base.buffer, base.byteOffset + i * strideBytes, chunkBytes));
  let released = false;
  return {
    chunks,
    data: chunks.slice(0, k),
    parity: chunks.slice(k),
    chunkBytes,
    zeroCopy: block !== null,
    release(): void {
      // A second release could free memory that now belongs to another stripe.
      assert(!released, 'stripe released twice');
      released = true;
      if (block !== null) kernel.free(block);
    },
  };
}
