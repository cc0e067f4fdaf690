/**
 * The raw block file: unit 0 holds the superblock, units 1..unitCount-1 hold object data.
 *
 *   offset 0 (unit 0, 32 KiB, rest zero)
 *   ┌──────────┬───────────────┬───────────────┬─────────────┬──────────┬───────────────┐
 *   │ magic 8  │ formatVer u32 │ unitSize u32  │ unitCnt u64 │ uuid 16  │ xxh64 of 0..40│
 *   │"NACREBLK"│ LE            │ LE            │ LE          │          │ LE            │
 *   └──────────┴───────────────┴───────────────┴─────────────┴──────────┴───────────────┘
 *   offset u * 32 KiB: data unit u (u ≥ 1), addressed only through onodes
 *
 * All calls are synchronous: on this class of disk a 4 KiB pwrite+fdatasync costs tens of
 * microseconds and the thread-pool hop of fs/promises costs more than the I/O (measured ~40 %).
 * Large writes are issued as one pwritev per contiguous run; a 4 MiB run blocks the loop for a
 * few milliseconds at most.
 */
import * as fs from 'node:fs';
import { assert, NacreError } from '@nacre/util';
import { checksum64 } from './checksum.js';
import { unitSizeBytes } from './limits.js';

export const blockFormatVersion = 1;
const magic = Buffer.from('NACREBLK', 'latin1');
const superblockBytes = 48;

export interface BlockSuperblock {
  formatVersion: number;
  unitSizeBytes: number;
  unitCount: number;
  uuid: Buffer;
}

export function encodeBlockSuperblock(sb: BlockSuperblock): Buffer {
  const b = Buffer.alloc(unitSizeBytes);
  magic.copy(b, 0);
  b.writeUInt32LE(sb.formatVersion, 8);
  b.writeUInt32LE(sb.unitSizeBytes, 12);
  b.writeBigUInt64LE(BigInt(sb.unitCount), 16);
  assert(sb.uuid.length === 16, 'uuid must be 16 bytes');
  sb.uuid.copy(b, 24);
  b.writeBigUInt64LE(checksum64(b.subarray(0, 40)), 40);
  return b;
}

export function decodeBlockSuperblock(b: Buffer): BlockSuperblock {
  const bad = (why: string): never => { throw new NacreError(`block file superblock: ${why}`, { code: 'EIO' }); };
  if (b.length < superblockBytes) return bad('short read');
  if (!b.subarray(0, 8).equals(magic)) return bad('bad magic (not a Nacre block file)');
  if (b.readBigUInt64LE(40) !== checksum64(b.subarray(0, 40))) return bad('checksum mismatch');
  return {
    formatVersion: b.readUInt32LE(8),
    unitSizeBytes: b.readUInt32LE(12),
    unitCount: Number(b.readBigUInt64LE(16)),
    uuid: Buffer.from(b.subarray(24, 40)),
  };
}

/**
 * Adjacent views of one ArrayBuffer (the units of one large write) merged into one view: a
 * pwritev of one 4 MiB buffer costs the event loop a fraction of one with 128 32 KiB iovecs.
 */
export function coalesceViews(buffers: Uint8Array[]): Uint8Array[] {
  if (buffers.length < 2) return buffers;
  const out: Uint8Array[] = [];
  let cur = buffers[0]!;
  for (let i = 1; i < buffers.length; i++) {
    const b = buffers[i]!;
    if (b.buffer === cur.buffer && b.byteOffset === cur.byteOffset + cur.byteLength) {
      cur = new Uint8Array(cur.buffer, cur.byteOffset, cur.byteLength + b.byteLength);
    } else {
      out.push(cur);
      cur = b;
    }
  }
  out.push(cur);
  return out;
}

/** Zeros written per call while preallocating. */
const preallocateChunkBytes = 8 * 1024 * 1024;

export class BlockFile {
  private fd: number;

  private constructor(fd: number, readonly unitCount: number) {
    this.fd = fd;
  }

  /**
   * Sparse by default: space is taken as units are written (thin provisioning, like BlueStore on a
   * file). `preallocate` writes zeros over the whole device once, so no later write waits for the
   * filesystem to allocate blocks (what a raw block device gives for free).
   */
  static create(path: string, unitCount: number, options: { preallocate?: boolean } = {}): BlockFile {
    const fd = fs.openSync(path, 'wx+');
    try {
      fs.ftruncateSync(fd, unitCount * unitSizeBytes);
      if (options.preallocate === true) {
        const zeros = Buffer.alloc(preallocateChunkBytes);
        const end = unitCount * unitSizeBytes;
        for (let at = 0; at < end;) {
          const n = fs.writeSync(fd, zeros, 0, Math.min(zeros.length, end - at), at);
          assert(n > 0, 'pwrite wrote nothing');
          at += n;
        }
        fs.fdatasyncSync(fd);
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new BlockFile(fd, unitCount);
  }

  static open(path: string): BlockFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r+');
    } catch (cause) {
      throw new NacreError(`cannot open block file ${path}`, { code: 'ENOENT', cause });
    }
    const sizeBytes = fs.fstatSync(fd).size;
    return new BlockFile(fd, Math.floor(sizeBytes / unitSizeBytes));
  }

  private checkUnit(unit: number, count: number): void {
    assert(Number.isInteger(unit) && unit >= 0 && unit + count <= this.unitCount, `unit range ${unit}+${count} outside the device`);
  }

  /** Write buffers (each a whole number of units) at consecutive units starting at `unit`. */
  writeUnits(unit: number, buffers: Uint8Array[]): void {
    buffers = coalesceViews(buffers);
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    assert(bytes % unitSizeBytes === 0, 'writes are whole units');
    this.checkUnit(unit, bytes / unitSizeBytes);
    let position = unit * unitSizeBytes;
    let pending = buffers;
    while (pending.length > 0) {
      let written = fs.writevSync(this.fd, pending, position);
      assert(written > 0, 'pwritev wrote nothing');
      position += written;
      // Short writes are legal; drop the bytes already written and go on.
      const rest: Uint8Array[] = [];
      for (const b of pending) {
        if (written >= b.length) { written -= b.length; continue; }
        rest.push(written > 0 ? b.subarray(written) : b);
        written = 0;
      }
      pending = rest;
    }
  }

  /** Read `count` consecutive units into `target` (whose length is count * unit size). */
  readUnits(unit: number, target: Uint8Array): void {
    assert(target.length % unitSizeBytes === 0, 'reads are whole units');
    this.checkUnit(unit, target.length / unitSizeBytes);
    let done = 0;
    while (done < target.length) {
      const n = fs.readSync(this.fd, target, done, target.length - done, unit * unitSizeBytes + done);
      if (n === 0) throw new NacreError(`short read of unit ${unit}`, { code: 'EIO' });
      done += n;
    }
  }

  /**
   * Asynchronous write (thread pool) of whole units at consecutive positions: lets a large write
   * overlap the copy into the page cache with checksumming on the main thread.
   */
  writeUnitsAsync(unit: number, buffers: Uint8Array[]): Promise<void> {
    buffers = coalesceViews(buffers);
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    assert(bytes % unitSizeBytes === 0, 'writes are whole units');
    this.checkUnit(unit, bytes / unitSizeBytes);
    const fd = this.fd;
    return new Promise<void>((resolve, reject) => {
      const step = (pending: Uint8Array[], position: number): void => {
        if (pending.length === 0) { resolve(); return; }
        fs.writev(fd, pending as NodeJS.ArrayBufferView[], position, (err, written) => {
          if (err !== null) { reject(new NacreError(`write of unit ${unit} failed`, { code: 'EIO', cause: err })); return; }
          const rest: Uint8Array[] = [];
          let skip = written;
          for (const b of pending) {
            if (skip >= b.length) { skip -= b.length; continue; }
            rest.push(skip > 0 ? b.subarray(skip) : b);
            skip = 0;
          }
          step(rest, position + written);
        });
      };
      step(buffers, unit * unitSizeBytes);
    });
  }

  /**
   * Asynchronous read (thread pool) of consecutive units: lets a large read overlap the disk with
   * checksumming on the main thread. Same contract as readUnits.
   */
  readUnitsAsync(unit: number, target: Uint8Array): Promise<void> {
    assert(target.length % unitSizeBytes === 0, 'reads are whole units');
    this.checkUnit(unit, target.length / unitSizeBytes);
    const fd = this.fd;
    return new Promise<void>((resolve, reject) => {
      const step = (done: number): void => {
        if (done === target.length) { resolve(); return; }
        fs.read(fd, target, done, target.length - done, unit * unitSizeBytes + done, (err, n) => {
          if (err !== null) reject(new NacreError(`read of unit ${unit} failed`, { code: 'EIO', cause: err }));
          else if (n === 0) reject(new NacreError(`short read of unit ${unit}`, { code: 'EIO' }));
          else step(done + n);
        });
      };
      step(0);
    });
  }

  sync(): void {
    fs.fdatasyncSync(this.fd);
  }

  /**
   * fdatasync on the thread pool. For large flushes (megabytes of dirty data) the event loop stays
   * free to receive the next writes while the disk works; tiny flushes are cheaper synchronously.
   */
  syncAsync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.fd, (err) => {
        if (err === null) resolve();
        else reject(new NacreError('fdatasync of the block file failed', { code: 'EIO', cause: err }));
      });
    });
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}
