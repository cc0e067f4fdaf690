/**
 * Creating a store: the block file with its superblock, and the metadata database with the
 * superblock record, an all-free freelist (but unit 0) and zero totals. Layout: block-file.ts and
 * keys.ts; docs/objectstore.md.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Level } from 'level';
import { Packr } from 'msgpackr';
import { NacreError } from '@nacre/util';
import { BitmapAllocator } from './bitmap-allocator.js';
import { BlockFile, blockFormatVersion, encodeBlockSuperblock } from './block-file.js';
import { loadChecksum } from './checksum.js';
import { bitmapKey, keySuperblock, keyTotals } from './keys.js';
import { unitSizeBytes } from './limits.js';

export type Db = Level<Buffer, Buffer>;

/** msgpack for the small metadata records (superblock record, totals, collections). */
export const metaPackr = new Packr({ useRecords: false });
const packr = metaPackr;

export const metaFormatVersion = 1;
/** Smallest device: the superblock unit, the shrink reserve and a few data units. */
export const deviceUnitsMin = 64;

export interface MkfsOptions {
  sizeBytes: number;
  /** 16-byte device id (default: random). */
  uuid?: Buffer;
  /** Write zeros over the whole block file now instead of leaving it sparse (see BlockFile.create). */
  preallocate?: boolean;
}

export interface SuperRecord {
  formatVersion: number;
  uuid: Buffer;
  unitSizeBytes: number;
  unitCount: number;
  reserveUnits: number;
}

export interface Totals {
  storedBytes: number;
  objectCount: number;
}

export function blockPath(dir: string): string {
  return join(dir, 'block');
}

export function metaPath(dir: string): string {
  return join(dir, 'meta');
}

/** Units kept back for shrink-only transactions. */
export function shrinkReserveUnitsFor(unitCount: number): number {
  return Math.min(64, Math.max(2, Math.floor(unitCount / 32)));
}

export function openDb(dir: string, create: boolean): Db {
  return new Level<Buffer, Buffer>(metaPath(dir), {
    keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: create, errorIfExists: create,
  });
}

/** Create an empty store in `dir` (the directory may exist but must not hold a store). */
export async function mkfs(dir: string, options: MkfsOptions): Promise<void> {
  const { sizeBytes } = options;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < deviceUnitsMin * unitSizeBytes) {
    throw new NacreError(`device size must be at least ${deviceUnitsMin * unitSizeBytes} bytes`, { code: 'EINVAL' });
  }
  const unitCount = Math.floor(sizeBytes / unitSizeBytes);
  if (unitCount > 0xffff_fffe) throw new NacreError('device too large', { code: 'EINVAL' });
  const uuid = options.uuid ?? randomBytes(16);
  if (uuid.length !== 16) throw new NacreError('uuid must be 16 bytes', { code: 'EINVAL' });
  await loadChecksum();
  fs.mkdirSync(dir, { recursive: true });
  if (fs.existsSync(blockPath(dir)) || fs.existsSync(metaPath(dir))) {
    throw new NacreError(`${dir} already holds a store`, { code: 'EEXIST' });
  }
  const file = BlockFile.create(blockPath(dir), unitCount, { preallocate: options.preallocate === true });
  try {
    file.writeUnits(0, [encodeBlockSuperblock({ formatVersion: blockFormatVersion, unitSizeBytes, unitCount, uuid })]);
    file.sync();
  } finally {
    file.close();
  }
  const reserveUnits = shrinkReserveUnitsFor(unitCount);
  const allocator = new BitmapAllocator(unitCount, reserveUnits);
  allocator.markUsed(0);
  const db = openDb(dir, true);
  await db.open();
  try {
    const superRecord: SuperRecord = { formatVersion: metaFormatVersion, uuid, unitSizeBytes, unitCount, reserveUnits };
    const ops: Array<{ type: 'put'; key: Buffer; value: Buffer }> = [];
    for (let c = 0; c < allocator.chunkCount; c++) ops.push({ type: 'put', key: bitmapKey(c), value: allocator.chunkBytes(c) });
    ops.push({ type: 'put', key: keyTotals, value: packr.pack({ storedBytes: 0, objectCount: 0 } satisfies Totals) });
    // The superblock record goes last in the same batch: a store without it does not mount.
    ops.push({ type: 'put', key: keySuperblock, value: packr.pack(superRecord) });
    await db.batch(ops, { sync: true });
  } finally {
    await db.close();
  }
  const dirFd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(dirFd); } finally { fs.closeSync(dirFd); }
}

