/**
 * First-fit allocator over a fixed byte range of the kernel's WebAssembly memory. The memory never
 * grows: growing would detach its ArrayBuffer and silently turn every view we handed out into an
 * empty array (writes to it become no-ops) — so the size is fixed at creation and an exhausted
 * arena makes callers fall back to ordinary buffers (copied through scratch) instead.
 *
 * Free blocks are kept sorted by offset and coalesced on free, so the free list never holds more
 * entries than live allocations + 1. Offsets are aligned to ARENA_ALIGN_BYTES (a cache line), which
 * keeps chunks from sharing lines and lets vector loads start aligned.
 */
import { assert } from '@nacre/util';

export const ARENA_ALIGN_BYTES = 64;

export class Arena {
  /** Free blocks, sorted by start, never adjacent (always coalesced). */
  private readonly freeStarts: number[] = [];
  private readonly freeSizes: number[] = [];
  private readonly allocated = new Map<number, number>();
  private usedBytesNow = 0;

  constructor(readonly baseBytes: number, readonly limitBytes: number) {
    assert(baseBytes % ARENA_ALIGN_BYTES === 0 && limitBytes > baseBytes, 'arena range');
    this.freeStarts.push(baseBytes);
    this.freeSizes.push(limitBytes - baseBytes);
  }

  get usedBytes(): number { return this.usedBytesNow; }
  get allocationCount(): number { return this.allocated.size; }
  get freeBlockCount(): number { return this.freeStarts.length; }

  /** Offset of a new block of at least `bytes`, or -1 if no free block is large enough. */
  alloc(bytes: number): number {
    assert(Number.isInteger(bytes) && bytes >= 0, 'arena alloc size');
    const size = Math.max(ARENA_ALIGN_BYTES, Math.ceil(bytes / ARENA_ALIGN_BYTES) * ARENA_ALIGN_BYTES);
    for (let i = 0; i < this.freeStarts.length; i++) {
      const blockSize = this.freeSizes[i]!;
      if (blockSize < size) continue;
      const start = this.freeStarts[i]!;
      if (blockSize === size) {
        this.freeStarts.splice(i, 1);
        this.freeSizes.splice(i, 1);
      } else {
        this.freeStarts[i] = start + size;
        this.freeSizes[i] = blockSize - size;
      }
      this.allocated.set(start, size);
      this.usedBytesNow += size;
      return start;
    }
    return -1;
  }

  /** Free a block returned by alloc; asserts against double frees and foreign offsets. */
  free(offset: number): void {
    const size = this.allocated.get(offset);
    assert(size !== undefined, () => `arena free of ${offset}: not an allocated block`);
    this.allocated.delete(offset);
    this.usedBytesNow -= size;
    // Insertion point: first free block starting after `offset`.
    let lo = 0;
    let hi = this.freeStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.freeStarts[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    let start = offset;
    let blockSize = size;
    const next = lo;
    if (next < this.freeStarts.length && this.freeStarts[next] === offset + size) {
      blockSize += this.freeSizes[next]!;
      this.freeStarts.splice(next, 1);
      this.freeSizes.splice(next, 1);
    }
    const prev = lo - 1;
    if (prev >= 0 && this.freeStarts[prev]! + this.freeSizes[prev]! === offset) {
      start = this.freeStarts[prev]!;
      blockSize += this.freeSizes[prev]!;
      this.freeStarts[prev] = start;
      this.freeSizes[prev] = blockSize;
      return;
    }
    this.freeStarts.splice(lo, 0, start);
    this.freeSizes.splice(lo, 0, blockSize);
  }

  /** Size of an allocated block (rounded up), or undefined. */
  sizeOf(offset: number): number | undefined {
    return this.allocated.get(offset);
  }

  /** Checks the allocator's invariants (tests). */
  checkInvariants(): void {
    let freeBytes = 0;
    for (let i = 0; i < this.freeStarts.length; i++) {
      freeBytes += this.freeSizes[i]!;
      if (i > 0) {
        assert(this.freeStarts[i - 1]! + this.freeSizes[i - 1]! < this.freeStarts[i]!, 'free blocks overlap or touch');
      }
    }
    assert(freeBytes + this.usedBytesNow === this.limitBytes - this.baseBytes, 'arena bytes do not add up');
    for (const [start, size] of this.allocated) {
      for (let i = 0; i < this.freeStarts.length; i++) {
        const fs = this.freeStarts[i]!;
        assert(start + size <= fs || fs + this.freeSizes[i]! <= start, 'allocated block overlaps a free one');
      }
    }
  }
}
