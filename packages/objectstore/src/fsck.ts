/**
 * fsck of a BlockStore: proves that the allocator and the metadata agree.
 *
 *   1. walk every onode: decodable, in an existing collection, extent map inside the device and
 *      never pointing at the superblock unit; count the references of every data unit
 *   2. refcount keys ('R') equal the counted references of shared units (a unit referenced twice
 *      without a refcount is doubly owned: freeing one owner would free the other's data)
 *   3. the persisted freelist equals the set of referenced units (+ the superblock unit): a used
 *      bit with no reference is a leak, a referenced unit marked free can be handed out again
 *   4. the in-memory allocator equals the persisted freelist (nothing is in flight during fsck)
 *   5. omap entries belong to an existing onode that has its omap flag; totals match
 *   6. deep: read every referenced unit and check its xxhash64 against every onode that uses it
 *
 * Runs with the commit lock held, so it sees one consistent state.
 */
import type { Level } from 'level';
import { checksum64 } from './checksum.js';
import type { BlockFile } from './block-file.js';
import { bitmapChunkBytes, bitmapChunkUnits, type BitmapAllocator } from './bitmap-allocator.js';
import { keySuperblock, keyTotals, prefixBitmap, prefixOmap, prefixOnode, prefixRange, prefixRefcount } from './keys.js';
import { unitSizeBytes } from './limits.js';
import { decodeObjectKey, formatObjectId } from './object-id.js';
import { HOLE, Onode } from './onode.js';
import type { FsckProblem, FsckProblemKind, FsckReport } from './types.js';
import { Packr } from 'msgpackr';

/** Problems listed in a report (the count goes on). */
export const fsckProblemsMax = 1000;

const packr = new Packr({ useRecords: false });

export interface FsckTarget {
  db: Level<Buffer, Buffer>;
  file: BlockFile;
  allocator: BitmapAllocator;
  unitCount: number;
  refs: ReadonlyMap<number, number>;
  collections: ReadonlySet<string>;
  totals: { storedBytes: number; objectCount: number };
}

class Problems {
  readonly list: FsckProblem[] = [];
  count = 0;
  add(kind: FsckProblemKind, message: string): void {
    this.count++;
    if (this.list.length < fsckProblemsMax) this.list.push({ kind, message });
  }
}

/** Split 'O'/'M' cid 0x00 rest into cid and the offset of rest. */
function splitCollection(key: Buffer): { cid: string; restOffset: number } | null {
  const end = key.indexOf(0, 1);
  if (end < 0) return null;
  return { cid: key.subarray(1, end).toString('latin1'), restOffset: end + 1 };
}

export async function runFsck(t: FsckTarget, deep: boolean): Promise<FsckReport> {
  const problems = new Problems();
  const refCounts = new Uint32Array(t.unitCount);
  const omapOwners = new Set<string>();
  let objectCount = 0;
  let storedBytes = 0;
  let unitsVerified = 0;
  const verified = deep ? new Uint8Array(t.unitCount) : undefined;

  for await (const [key, value] of t.db.iterator(prefixRange(prefixOnode))) {
    const where = splitCollection(key);
    let name = key.toString('hex');
    let onode: Onode;
    try {
      if (where === null) throw new Error('no collection terminator');
      const { oid, endOffset } = decodeObjectKey(key, where.restOffset);
      if (endOffset !== key.length) throw new Error('trailing bytes in key');
      name = `${where.cid}/${formatObjectId(oid)}`;
      onode = Onode.decode(value);
      onode.check();
    } catch (err) {
      problems.add('onode', `onode ${name}: ${(err as Error).message}`);
      continue;
    }
    objectCount++;
    storedBytes += onode.sizeBytes;
    if (!t.collections.has(where!.cid)) problems.add('collection', `onode ${name} in missing collection ${where!.cid}`);
    if (onode.omap) omapOwners.add(key.subarray(where!.restOffset).toString('latin1') + '\u0000' + where!.cid);
    for (let lu = 0; lu < onode.units.length; lu++) {
      const phys = onode.units[lu]!;
      if (phys === HOLE) continue;
      if (phys < 1 || phys >= t.unitCount) {
        problems.add('unit-out-of-range', `onode ${name} offset ${lu * unitSizeBytes} points at unit ${phys}`);
        continue;
      }
      refCounts[phys]!++;
      if (verified !== undefined) unitsVerified += verifyUnit(t.file, onode, lu, name, verified, problems);
    }
  }

  await checkRefcounts(t, refCounts, problems);
  const unitsReferenced = await checkFreelist(t, refCounts, problems);
  await checkOmap(t, omapOwners, problems);
  if (objectCount !== t.totals.objectCount || storedBytes !== t.totals.storedBytes) {
    problems.add('stats', `totals say ${t.totals.objectCount} objects / ${t.totals.storedBytes} bytes, onodes say ${objectCount} / ${storedBytes}`);
  }
  const rawTotals = t.db.getSync(keyTotals);
  const persisted = rawTotals === undefined ? undefined : packr.unpack(rawTotals) as { storedBytes: number; objectCount: number };
  if (persisted?.objectCount !== t.totals.objectCount || persisted.storedBytes !== t.totals.storedBytes) {
    problems.add('stats', 'persisted totals differ from the mounted totals');
  }
  if (t.db.getSync(keySuperblock) === undefined) problems.add('superblock', 'superblock record missing');
  return {
    clean: problems.count === 0,
    deep,
    problems: problems.list,
    problemCount: problems.count,
    objectCount,
    collectionCount: t.collections.size,
    unitsReferenced,
    unitsVerified,
  };
}

function verifyUnit(file: BlockFile, onode: Onode, lu: number, name: string, verified: Uint8Array, problems: Problems): number {
  const phys = onode.units[lu]!;
  const buf = Buffer.allocUnsafe(unitSizeBytes);
  try {
    file.readUnits(phys, buf);
  } catch (err) {
    problems.add('checksum', `onode ${name} offset ${lu * unitSizeBytes}: unit ${phys} unreadable: ${(err as Error).message}`);
    return 0;
  }
  if (checksum64(buf) !== onode.csums[lu]) {
    problems.add('checksum', `onode ${name} offset ${lu * unitSizeBytes}: checksum mismatch in unit ${phys}`);
  }
  const first = verified[phys] === 0;
  verified[phys] = 1;
  return first ? 1 : 0;
}

async function checkRefcounts(t: FsckTarget, refCounts: Uint32Array, problems: Problems): Promise<void> {
  const persisted = new Map<number, number>();
  for await (const [key, value] of t.db.iterator(prefixRange(prefixRefcount))) persisted.set(key.readUInt32BE(1), value.readUInt32BE(0));
  if (persisted.size !== t.refs.size || [...persisted].some(([u, c]) => t.refs.get(u) !== c)) {
    problems.add('refcount', 'in-memory refcounts differ from the persisted ones');
  }
  for (const [unit, count] of persisted) {
    if (unit >= t.unitCount || count < 2) problems.add('refcount', `refcount key of unit ${unit} holds ${count}`);
    else if (refCounts[unit] !== count) problems.add('refcount', `unit ${unit}: refcount ${count}, referenced by ${refCounts[unit]} onodes`);
  }
  for (let u = 1; u < t.unitCount; u++) {
    if (refCounts[u]! >= 2 && !persisted.has(u)) problems.add('shared-unit', `unit ${u} is referenced by ${refCounts[u]} onodes without a refcount (doubly owned)`);
  }
}

async function checkFreelist(t: FsckTarget, refCounts: Uint32Array, problems: Problems): Promise<number> {
  const persisted = new Uint8Array(t.allocator.bytes.length);
  const seen = new Set<number>();
  for await (const [key, value] of t.db.iterator(prefixRange(prefixBitmap))) {
    const chunk = key.readUInt32BE(1);
    if (chunk >= t.allocator.chunkCount || value.length !== bitmapChunkBytes) {
      problems.add('allocator', `malformed freelist chunk ${chunk}`);
      continue;
    }
    seen.add(chunk);
    persisted.set(value, chunk * bitmapChunkBytes);
  }
  if (seen.size !== t.allocator.chunkCount) problems.add('allocator', `freelist has ${seen.size} of ${t.allocator.chunkCount} chunks`);
  const used = (u: number): boolean => (persisted[u >>> 3]! & (1 << (u & 7))) !== 0;
  if (!used(0)) problems.add('superblock', 'freelist marks the superblock unit free');
  let referenced = 0;
  for (let u = 1; u < t.unitCount; u++) {
    const refd = refCounts[u]! > 0;
    if (refd) referenced++;
    if (refd && !used(u)) problems.add('unallocated-unit', `unit ${u} is referenced but marked free`);
    if (!refd && used(u)) problems.add('leaked-unit', `unit ${u} is marked used but nothing references it`);
  }
  for (let u = t.unitCount; u < t.allocator.chunkCount * bitmapChunkUnits; u++) {
    if (!used(u)) { problems.add('allocator', `bit of unit ${u} past the device end is clear`); break; }
  }
  for (let i = 0; i < persisted.length; i++) {
    if (persisted[i] !== t.allocator.bytes[i]) {
      problems.add('allocator', `in-memory allocator differs from the persisted freelist near unit ${i * 8}`);
      break;
    }
  }
  return referenced;
}

async function checkOmap(t: FsckTarget, omapOwners: Set<string>, problems: Problems): Promise<void> {
  for await (const key of t.db.keys(prefixRange(prefixOmap))) {
    const where = splitCollection(key);
    try {
      if (where === null) throw new Error('no collection terminator');
      const { endOffset } = decodeObjectKey(key, where.restOffset);
      const owner = key.subarray(where.restOffset, endOffset).toString('latin1') + '\u0000' + where.cid;
      if (!omapOwners.has(owner)) problems.add('omap-orphan', `omap key ${key.toString('hex')} has no owning onode`);
    } catch (err) {
      problems.add('omap-orphan', `malformed omap key ${key.toString('hex')}: ${(err as Error).message}`);
    }
  }
}
