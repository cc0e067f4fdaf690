/**
 * `nacre store` — offline BlockStore tool, in the spirit of ceph-bluestore-tool and
 * ceph-objectstore-tool. The store must not be mounted by a running OSD (LevelDB's lock refuses).
 *
 *   nacre store mkfs  --path DIR --size BYTES [--preallocate]
 *        create a store (BYTES takes K/M/G/T suffixes); --preallocate writes zeros over the block file
 *   nacre store fsck  --path DIR [--deep] [--format json]
 *        exit 0 if clean, 1 if problems were found (listed)
 *   nacre store ls    --path DIR [--collection CID] [--format json]
 *        collections with object counts, or the objects of one collection in listing order
 *   nacre store stat  --path DIR [--format json]    capacity, allocated, stored, objects
 *   nacre store bench --path DIR [--count N] [--object-size BYTES] [--queue-depth Q] [--format json]
 *        write N objects (default 64 × 4 MiB, 16 in flight), read them back, remove them
 */
import { performance } from 'node:perf_hooks';
import {
  BlockStore, Transaction, formatObjectId, mkfs, objectId, type ObjectId, type ObjectStore,
} from '@nacre/objectstore';
import { UsageError, flagBool, flagInt, flagString, parseArgs, requireString, type FlagSpec } from '../args.js';
import { subcommands } from '../subcommands.js';
import type { Command, CommandIo } from '../main.js';

const usage = `usage: nacre store mkfs --path DIR --size BYTES [--preallocate]
       nacre store fsck --path DIR [--deep] [--format json]
       nacre store ls --path DIR [--collection CID] [--format json]
       nacre store stat --path DIR [--format json]
       nacre store bench --path DIR [--count N] [--object-size BYTES] [--queue-depth Q] [--format json]`;

/** Objects listed per page while walking a collection. */
const listPageCount = 1000;
const benchCollection = 'nacre_store_bench';

const store: Command = subcommands('store', usage, {
  mkfs: (rest, io) => mkfsCommand(rest, io),
  fsck: (rest, io) => fsckCommand(rest, io),
  ls: (rest, io) => lsCommand(rest, io),
  stat: (rest, io) => statCommand(rest, io),
  bench: (rest, io) => benchCommand(rest, io),
});
export default store;

/** Parse `2G`, `512M`, `64K`, `1T` (powers of 1024) or plain bytes. */
export function parseSizeBytes(text: string, what: string): number {
  const m = /^(\d+)([KMGT]i?B?|B)?$/i.exec(text);
  if (m === null) throw new UsageError(`${what} must be a size like 4096, 64K, 512M or 2G, got '${text}'`);
  const scale: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, B: 1 };
  const n = Number(m[1]) * (m[2] === undefined ? 1 : scale[m[2][0]!.toUpperCase()]!);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} too large`);
  return n;
}

function parse(argv: string[], extra: Record<string, FlagSpec>): ReturnType<typeof parseArgs> {
  const p = parseArgs(argv, { '--path': { arity: 1 }, '--format': { arity: 1 }, ...extra });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const format = flagString(p, '--format');
  if (format !== undefined && format !== 'json' && format !== 'plain') throw new UsageError(`--format must be json or plain, got '${format}'`);
  return p;
}

function json(p: ReturnType<typeof parseArgs>): boolean {
  return flagString(p, '--format') === 'json';
}

async function withStore<T>(path: string, fn: (s: BlockStore) => Promise<T>): Promise<T> {
  const s = new BlockStore(path);
  await s.mount();
  try {
    return await fn(s);
  } finally {
    await s.umount();
  }
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

async function mkfsCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = parse(argv, { '--size': { arity: 1 }, '--preallocate': { arity: 0 } });
  const path = requireString(p, '--path');
  const sizeBytes = parseSizeBytes(requireString(p, '--size'), '--size');
  const preallocate = flagBool(p, '--preallocate');
  await mkfs(path, { sizeBytes, preallocate });
  if (json(p)) io.stdout(JSON.stringify({ path, sizeBytes, preallocate }) + '\n');
  else io.stdout(`created store in ${path}: ${human(sizeBytes)} ${preallocate ? 'preallocated' : 'sparse'} block file, 32 KiB units\n`);
  return 0;
}

async function fsckCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = parse(argv, { '--deep': { arity: 0 } });
  const path = requireString(p, '--path');
  const deep = flagBool(p, '--deep');
  const report = await withStore(path, (s) => s.fsck({ deep }));
  if (json(p)) {
    io.stdout(JSON.stringify(report) + '\n');
  } else {
    io.stdout(`fsck${deep ? ' (deep)' : ''}: ${report.objectCount} objects in ${report.collectionCount} collections, `
      + `${report.unitsReferenced} units referenced${deep ? `, ${report.unitsVerified} verified` : ''}\n`);
    for (const problem of report.problems) io.stdout(`  ${problem.kind}: ${problem.message}\n`);
    if (report.problemCount > report.problems.length) io.stdout(`  ... and ${report.problemCount - report.problems.length} more\n`);
    io.stdout(report.clean ? 'clean\n' : `${report.problemCount} problems\n`);
  }
  return report.clean ? 0 : 1;
}

async function listAll(s: ObjectStore, cid: string): Promise<ObjectId[]> {
  const out: ObjectId[] = [];
  let start: ObjectId | undefined;
  for (;;) {
    const page = await s.listObjects(cid, { limitCount: listPageCount, ...(start === undefined ? {} : { start }) });
    out.push(...page.objects);
    if (page.next === null) return out;
    start = page.next;
  }
}

async function lsCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = parse(argv, { '--collection': { arity: 1 } });
  const path = requireString(p, '--path');
  const cid = flagString(p, '--collection');
  await withStore(path, async (s) => {
    if (cid === undefined) {
      const rows: Array<{ collection: string; objects: number }> = [];
      for (const c of await s.listCollections()) rows.push({ collection: c, objects: (await listAll(s, c)).length });
      if (json(p)) io.stdout(JSON.stringify(rows) + '\n');
      else for (const r of rows) io.stdout(`${r.collection}\t${r.objects} objects\n`);
      return;
    }
    const objects = await listAll(s, cid);
    if (json(p)) {
      const rows = [];
      for (const o of objects) rows.push({ ...o, sizeBytes: (await s.stat(cid, o)).sizeBytes });
      io.stdout(JSON.stringify(rows) + '\n');
    } else {
      for (const o of objects) io.stdout(`${formatObjectId(o)}\t${(await s.stat(cid, o)).sizeBytes}\n`);
    }
  });
  return 0;
}

async function statCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = parse(argv, {});
  const path = requireString(p, '--path');
  const { fs, collections } = await withStore(path, async (s) => ({ fs: await s.statfs(), collections: (await s.listCollections()).length }));
  if (json(p)) {
    io.stdout(JSON.stringify({ ...fs, collectionCount: collections }) + '\n');
  } else {
    io.stdout(`total      ${human(fs.totalBytes)}\nallocated  ${human(fs.allocatedBytes)}\nstored     ${human(fs.storedBytes)}\n`
      + `available  ${human(fs.availableBytes)}\nobjects    ${fs.objectCount}\ncollections ${collections}\n`);
  }
  return 0;
}

async function benchCommand(argv: string[], io: CommandIo): Promise<number> {
  const p = parse(argv, { '--count': { arity: 1 }, '--object-size': { arity: 1 }, '--queue-depth': { arity: 1 } });
  const path = requireString(p, '--path');
  const count = flagInt(p, '--count', 1, 1_000_000) ?? 64;
  const sizeText = flagString(p, '--object-size');
  const objectBytes = sizeText === undefined ? 4 * 1024 * 1024 : parseSizeBytes(sizeText, '--object-size');
  if (objectBytes < 1 || objectBytes > 128 * 1024 * 1024) throw new UsageError('--object-size must be 1 byte .. 128M');
  const queueDepth = flagInt(p, '--queue-depth', 1, 1024) ?? 16;
  const result = await withStore(path, async (s) => {
    const data = Buffer.alloc(objectBytes);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const oids = Array.from({ length: count }, (_, i) => objectId(0, Math.imul(i + 1, 0x9e3779b1) >>> 0, `bench_${i}`));
    await s.queueTransaction(new Transaction().createCollection(benchCollection));
    const progress = progressLine(io, count);
    const writeMs = await timed(oids, queueDepth, async (o) => {
      await s.queueTransaction(new Transaction().write(benchCollection, o, 0, data));
      progress('write');
    });
    const readMs = await timed(oids, queueDepth, async (o) => { await s.read(benchCollection, o); progress('read'); });
    progress(null);
    const cleanup = new Transaction();
    for (const o of oids) cleanup.remove(benchCollection, o);
    await s.queueTransaction(cleanup.removeCollection(benchCollection));
    const totalBytes = count * objectBytes;
    return {
      objects: count, objectBytes, queueDepth,
      writeMBps: totalBytes / 1e6 / (writeMs / 1000), writeOpsPerSec: count / (writeMs / 1000),
      readMBps: totalBytes / 1e6 / (readMs / 1000), readOpsPerSec: count / (readMs / 1000),
    };
  });
  if (json(p)) io.stdout(JSON.stringify(result) + '\n');
  else {
    io.stdout(`${result.objects} objects of ${human(objectBytes)}, ${queueDepth} in flight\n`
      + `write ${result.writeMBps.toFixed(1)} MB/s (${result.writeOpsPerSec.toFixed(0)} ops/s)\n`
      + `read  ${result.readMBps.toFixed(1)} MB/s (${result.readOpsPerSec.toFixed(0)} ops/s)\n`);
  }
  return 0;
}

/** A `write 12/64` progress line on stderr, only when it is a terminal; `null` ends it. */
function progressLine(io: CommandIo, total: number): (phase: string | null) => void {
  const counts = new Map<string, number>();
  if (process.stderr.isTTY !== true) return () => {};
  return (phase) => {
    if (phase === null) { io.stderr('\n'); return; }
    const n = (counts.get(phase) ?? 0) + 1;
    counts.set(phase, n);
    io.stderr(`\r${phase} ${n}/${total}   `);
  };
}

/** Run `fn` over all items with `depth` in flight; returns elapsed milliseconds. */
async function timed<T>(items: T[], depth: number, fn: (item: T) => Promise<void>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lanes = Array.from({ length: Math.min(depth, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
  return performance.now() - start;
}
