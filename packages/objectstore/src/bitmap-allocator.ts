/**
 * The in-memory allocator: one bit per 32 KiB unit (1 = used), LSB-first within each byte, so the
 * persisted freelist chunks are plain slices of `bytes` (see keys.ts, prefix 'B').
 *
 * Allocation is next-fit: from a rotating cursor, look for one contiguous run of the requested
 * length (a 4 MiB write wants 128 units in one pwrite); failing that, take the free runs found
 * from the cursor onwards. Whole 32-bit words that are full are skipped, so a scan costs
 * unitCount/32 word reads at worst.
 *
 * A reserve of units is kept for shrink-only transactions (removes, truncates), so a full store can
 * always be emptied: a truncate inside a unit must copy-on-write that unit.
 *
 * Plain state machine: no I/O. The BlockStore persists `chunkBytes()` of dirty chunks in the same
 * metadata batch as the onodes that reference the units.
 */
import { assert } from '@nacre/util';

/** Units per persisted freelist chunk: 1024 units = 128 bytes of bitmap = 32 MiB of data. */
export const bitmapChunkUnits = 1024;
export const bitmapChunkBytes = bitmapChunkUnits / 8;

export class BitmapAllocator {
  /** Bitmap bytes, length = chunkCount * bitmapChunkBytes; bits past unitCount stay set. */
  readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  private freeUnits = 0;
  private cursorUnit = 0;

  constructor(readonly unitCount: number, readonly reserveUnits: number) {
    assert(Number.isInteger(unitCount) && unitCount > 0, 'unitCount must be positive');
    assert(reserveUnits >= 0 && reserveUnits < unitCount, 'reserve must be smaller than the device');
    const chunkCount = Math.ceil(unitCount / bitmapChunkUnits);
    this.bytes = new Uint8Array(chunkCount * bitmapChunkBytes);
    this.words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length / 4);
    this.bytes.fill(0xff);
    for (let u = 0; u < unitCount; u++) this.clearBit(u);
    this.freeUnits = unitCount;
  }

  get chunkCount(): number {
    return this.bytes.length / bitmapChunkBytes;
  }

  get freeCount(): number {
    return this.freeUnits;
  }

  /** Units a normal (growing) transaction may still take. */
  get availableCount(): number {
    return Math.max(0, this.freeUnits - this.reserveUnits);
  }

  isUsed(unit: number): boolean {
    return (this.bytes[unit >>> 3]! & (1 << (unit & 7))) !== 0;
  }

  private setBit(unit: number): void {
    this.bytes[unit >>> 3]! |= 1 << (unit & 7);
  }

  private clearBit(unit: number): void {
    this.bytes[unit >>> 3]! &= ~(1 << (unit & 7));
  }

  /** Mark a unit used outside allocation (superblock, or loading state). */
  markUsed(unit: number): void {
    assert(unit >= 0 && unit < this.unitCount, `unit ${unit} out of range`);
    assert(!this.isUsed(unit), `unit ${unit} already used`);
    this.setBit(unit);
    this.freeUnits--;
  }

  /** Replace the bitmap with persisted chunks (mount). Bits past unitCount are forced set. */
  load(chunks: ReadonlyMap<number, Uint8Array>): void {
    for (let c = 0; c < this.chunkCount; c++) {
      const chunk = chunks.get(c);
      assert(chunk !== undefined && chunk.length === bitmapChunkBytes, `freelist chunk ${c} missing or malformed`);
      this.bytes.set(chunk, c * bitmapChunkBytes);
    }
    for (let u = this.unitCount; u < this.chunkCount * bitmapChunkUnits; u++) this.setBit(u);
    let used = 0;
    for (let u = 0; u < this.unitCount; u++) if (this.isUsed(u)) used++;
    this.freeUnits = this.unitCount - used;
  }

  /** Copy of one persisted chunk. */
  chunkBytes(chunkIndex: number): Buffer {
    assert(chunkIndex >= 0 && chunkIndex < this.chunkCount, 'chunk index out of range');
    return Buffer.from(this.bytes.slice(chunkIndex * bitmapChunkBytes, (chunkIndex + 1) * bitmapChunkBytes));
  }

  /**
   * Take `count` units, preferring one contiguous run. Returns null (taking nothing) if fewer than
   * `count` units are available; shrink-only callers may dip into the reserve.
   */
  allocate(count: number, options: { useReserve?: boolean } = {}): number[] | null {
    assert(Number.isInteger(count) && count > 0, 'allocate count must be positive');
    const limit = options.useReserve === true ? this.freeUnits : this.availableCount;
    if (count > limit) return null;
    const run = this.findRun(count);
    const units: number[] = [];
    if (run >= 0) {
      for (let i = 0; i < count; i++) units.push(run + i);
    } else {
      this.collectScattered(count, units);
    }
    assert(units.length === count, 'allocator accounting is inconsistent');
    for (const u of units) {
      assert(!this.isUsed(u), `allocator handed out used unit ${u}`);
      this.setBit(u);
    }
    this.freeUnits -= count;
    this.cursorUnit = (units[units.length - 1]! + 1) % this.unitCount;
    return units;
  }

  /** Return units (after the metadata that freed them is durable). */
  release(units: Iterable<number>): void {
    for (const u of units) {
      assert(u >= 0 && u < this.unitCount, `release of unit ${u} out of range`);
      assert(this.isUsed(u), `double free of unit ${u}`);
      this.clearBit(u);
      this.freeUnits++;
    }
  }

  /** First unit of a free run of `count` units at or after the cursor (wrapping), or -1. */
  private findRun(count: number): number {
    const n = this.unitCount;
    let runStart = -1;
    let runLength = 0;
    // Two passes over [cursor, n) then [0, cursor): runs do not wrap around the end.
    for (const [from, to] of [[this.cursorUnit, n], [0, this.cursorUnit]] as const) {
      runLength = 0;
      let u = from;
      while (u < to) {
        if ((u & 31) === 0 && u + 32 <= to) {
          const w = this.words[u >>> 5]!;
          if (w === 0xffff_ffff) { runLength = 0; u += 32; continue; }
          if (w === 0) {
            if (runLength === 0) runStart = u;
            runLength += 32;
            if (runLength >= count) return runStart;
            u += 32;
            continue;
          }
        }
        if (this.isUsed(u)) {
          runLength = 0;
        } else {
          if (runLength === 0) runStart = u;
          runLength++;
          if (runLength >= count) return runStart;
        }
        u++;
      }
    }
    return -1;
  }

  private collectScattered(count: number, out: number[]): void {
    const n = this.unitCount;
    for (let i = 0; i < n && out.length < count; i++) {
      const u = (this.cursorUnit + i) % n;
      if ((u & 31) === 0 && this.words[u >>> 5] === 0xffff_ffff && u + 32 <= n) { i += 31; continue; }
      if (!this.isUsed(u)) out.push(u);
    }
  }
}
