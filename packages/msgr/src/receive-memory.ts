/**
 * Where the TCP transport puts received bytes (tcp-reader.ts), chosen to keep V8's external
 * memory allocation — what drives its mark-compact GCs on the data path — to about one byte
 * allocated per byte received:
 *
 * - One static read buffer per transport: every socket read that is not aimed straight into a
 *   big frame (see tcp-reader.ts) lands here (net's `onread` option), instead of in a fresh
 *   64 KiB Buffer per read as with `'data'` events. Sharing it between the sockets of one process
 *   is safe: libuv fills it and calls us back synchronously, and the reader copies everything out
 *   before returning; reads of two sockets never interleave on the one JavaScript thread.
 * - Frames up to `arenaFrameBytesMax` are carved from `arenaChunkBytes` chunks, one allocation per
 *   chunk instead of one per frame. A chunk is never reused: a new one replaces it when full, and
 *   the old one is freed by GC once no frame (or view decoded from one) refers to it — handlers may
 *   keep received buffers, so recycling memory behind their backs would corrupt their data. The
 *   price is that one kept small frame pins its chunk (at most arenaChunkBytes).
 * - Bigger frames get a buffer of exactly their size, allocated once when their header arrives.
 */

/** Bytes of the static read buffer: one socket read at most (Node's own default read size). */
export const readBufferBytes = 64 * 1024;
/** Frames up to this size are carved from a shared chunk. */
export const arenaFrameBytesMax = 16 * 1024;
/** Bytes per chunk of the small-frame arena (≥ 4 frames of the largest carved size). */
export const arenaChunkBytes = 64 * 1024;
/** Carved frames start at multiples of this (keeps typed-array views of payloads aligned). */
const arenaAlignBytes = 8;

/** Where received bytes went and what was allocated for them (TcpTransport.stats()). */
export interface ReceiveStats {
  /** Bytes read into the static read buffer (then copied into frames). */
  staticReadBytes: number;
  /** Bytes the kernel read straight into a frame's buffer. */
  directReadBytes: number;
  /** Bytes that arrived as Node-allocated chunks ('data' events: the fallback when a socket cannot use onread). */
  chunkReadBytes: number;
  /** Frame buffers allocated on their own (big frames) and arena chunks allocated (small frames). */
  frameAllocations: number;
  arenaChunkAllocations: number;
}

export class ReceiveMemory {
  /** The static read buffer (see header). */
  readonly readBuffer: Buffer = Buffer.allocUnsafeSlow(readBufferBytes);
  readonly stats: ReceiveStats = { staticReadBytes: 0, directReadBytes: 0, chunkReadBytes: 0, frameAllocations: 0, arenaChunkAllocations: 0 };
  private chunk: Buffer | null = null;
  private chunkUsedBytes = 0;

  /** A buffer of exactly `bytes` for one frame's body (uninitialised: the caller fills all of it). */
  frameBuffer(bytes: number): Buffer {
    if (bytes > arenaFrameBytesMax) {
      this.stats.frameAllocations++;
      return Buffer.allocUnsafeSlow(bytes);
    }
    if (this.chunk === null || this.chunkUsedBytes + bytes > arenaChunkBytes) {
      this.chunk = Buffer.allocUnsafeSlow(arenaChunkBytes);
      this.chunkUsedBytes = 0;
      this.stats.arenaChunkAllocations++;
    }
    const start = this.chunkUsedBytes;
    this.chunkUsedBytes = Math.ceil((start + bytes) / arenaAlignBytes) * arenaAlignBytes;
    return this.chunk.subarray(start, start + bytes);
  }
}
