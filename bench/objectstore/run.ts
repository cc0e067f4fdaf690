/**
 * BlockStore benchmark against a raw-file baseline measured in the same run.
 *
 *   ./node_modules/.bin/tsc -b packages/objectstore
 *   node --import tsx bench/objectstore/run.ts [--objects 64] [--overwrites 2000] [--meta-ops 4000]
 *        [--rounds 3] [--drop-caches] [--dir DIR]
 *   node --import tsx bench/objectstore/run.ts --soak [--cycles 500]     (see soak.ts)
 *
 * Raw baseline: Node writing the same bytes to a plain file with the same fsync policy (one
 * fdatasync per 4 MiB object, or one per 16 objects for the group-commit case), 4 KiB pwrite +
 * fdatasync at random offsets, and 4 MiB preads. Store: the same work through queueTransaction /
 * read. Prints human figures, then one JSON line (prefix `RESULT `).
 *
 * The targeted figures use preallocated space on both sides (the raw file zero-filled, the store
 * made with `mkfs --preallocate`): the steady state of a store, and what a raw block device gives.
 * Into sparse files the first write of every region waits for the filesystem to allocate it, which
 * on ext4 here varies 2-3x from run to run for the raw file alone; those figures are printed too.
 * Reads are of warm data: one unmeasured pass, then the median of three.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { BlockStore, Transaction, mkfs, objectId, type ObjectId } from '@nacre/objectstore';
import { Prng, seedFromEnv } from '@nacre/util';

const MiB = 1024 * 1024;
const objectBytes = 4 * MiB;
const smallBytes = 4096;
const groupDepth = 16;
const C = 'bench_1.0_head';

if (process.argv.includes('--soak')) {
  // `npm run bench -- objectstore --soak [--cycles N]`: the long kill -9 crash soak instead.
  await import('./soak.js');
  process.exit(process.exitCode ?? 0);
}

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '64' },
    overwrites: { type: 'string', default: '2000' },
    'meta-ops': { type: 'string', default: '4000' },
    dir: { type: 'string' },
    'drop-caches': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
  },
});
const objectCount = Number(values.objects);
const overwriteCount = Number(values.overwrites);
const metaOpCount = Number(values['meta-ops']);
/** Rounds of raw-then-store; medians are reported (the disk is shared and noisy). */
const roundCount = Number(values.rounds);
const seed = seedFromEnv();
/**
 * --drop-caches: also measure cold 4 MiB reads by writing 1 to /proc/sys/vm/drop_caches before
 * each read pass (root only; it evicts the whole machine's page cache, so it is opt-in).
 */
const dropCaches = values['drop-caches'] === true;
function evictPageCache(): boolean {
  if (!dropCaches) return false;
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}
console.log(`objectstore bench: seed ${seed}, ${objectCount} × 4 MiB objects, ${overwriteCount} 4 KiB overwrites, ${metaOpCount} metadata ops`);

const root = fs.mkdtempSync(join(values.dir ?? tmpdir(), 'nacre-bench-os-'));
const rng = new Prng(seed);
const payloads = Array.from({ length: 4 }, () => Buffer.from(rng.fill(new Uint8Array(objectBytes))));
const small = Buffer.from(rng.fill(new Uint8Array(smallBytes)));

function percentile(sortedMs: number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor(p * sortedMs.length))]!;
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

// ───────────────────────────── raw baseline ─────────────────────────────

/** Zeros over [0, bytes) of fd, synced: the file space exists before anything is measured. */
function zeroFill(fd: number, bytes: number): void {
  const zeros = Buffer.alloc(8 * MiB);
  for (let at = 0; at < bytes; at += zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - at), at);
  fs.fdatasyncSync(fd);
}

/**
 * The baseline. `preallocated`: the file's space is written once before measuring, as the store's
 * block file is after `mkfs --preallocate` (and as a raw block device always is); otherwise both
 * start sparse and the first write of every region waits for the filesystem to allocate it.
 */
function rawBench(preallocated: boolean, writesOnly: boolean): Record<string, number> {
  const path = join(root, 'raw.bin');
  const fd = fs.openSync(path, 'w+');
  // Sized up front like the store's block file, so neither pays for growing the file.
  fs.ftruncateSync(fd, 2 * objectCount * objectBytes);
  if (preallocated) zeroFill(fd, 2 * objectCount * objectBytes);
  try {
    // Each write phase goes to a fresh region of the file, as the store's copy-on-write does.
    const writeOne = (slot: number): void => {
      let done = 0;
      const buf = payloads[slot % payloads.length]!;
      while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, slot * objectBytes + done);
    };
    let t0 = performance.now();
    for (let i = 0; i < objectCount; i++) { writeOne(i); fs.fdatasyncSync(fd); }
    const writeSyncMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < objectCount; i++) { writeOne(objectCount + i); if ((i + 1) % groupDepth === 0 || i === objectCount - 1) fs.fdatasyncSync(fd); }
    const writeGroupMs = performance.now() - t0;
    if (writesOnly) return { writeSyncMBps: mbps(objectCount * objectBytes, writeSyncMs), writeGroupMBps: mbps(objectCount * objectBytes, writeGroupMs) };
    const lat: number[] = [];
    const r = new Prng(seed ^ 1);
    t0 = performance.now();
    for (let i = 0; i < overwriteCount; i++) {
      const at = r.int(0, objectCount * objectBytes / smallBytes - 1) * smallBytes;
      const s = performance.now();
      fs.writeSync(fd, small, 0, smallBytes, at);
      fs.fdatasyncSync(fd);
      lat.push(performance.now() - s);
    }
    const overwriteMs = performance.now() - t0;
    lat.sort((a, b) => a - b);
    // A reader returns a fresh buffer per object, like the store's read().
    const readAll = (): number => {
      const start = performance.now();
      for (let i = 0; i < objectCount; i++) {
        const buf = Buffer.allocUnsafe(objectBytes);
        let done = 0;
        while (done < objectBytes) done += fs.readSync(fd, buf, done, objectBytes - done, i * objectBytes + done);
      }
      return performance.now() - start;
    };
    const readMs = readPasses(readAll);
    const coldReadMs = evictPageCache() ? readAll() : NaN;
    const bytes = objectCount * objectBytes;
    return {
      coldReadMBps: mbps(bytes, coldReadMs),
      writeSyncMBps: mbps(bytes, writeSyncMs), writeGroupMBps: mbps(bytes, writeGroupMs),
      overwriteIops: overwriteCount / (overwriteMs / 1000), overwriteP50Ms: percentile(lat, 0.5), overwriteP99Ms: percentile(lat, 0.99),
      readMBps: mbps(bytes, readMs),
    };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  }
}

// ───────────────────────────── store ─────────────────────────────

/** Reads of warm data: one unmeasured pass (JIT, allocator), then the median of three passes. */
function readPasses(pass: () => number): number {
  pass();
  const ms = [pass(), pass(), pass()].sort((a, b) => a - b);
  return ms[1]!;
}

async function readPassesAsync(pass: () => Promise<number>): Promise<number> {
  await pass();
  const ms = [await pass(), await pass(), await pass()].sort((a, b) => a - b);
  return ms[1]!;
}

async function withDepth<T>(items: T[], depth: number, fn: (item: T) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(depth, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
  return performance.now() - t0;
}

async function storeBench(preallocated: boolean, writesOnly: boolean): Promise<Record<string, number>> {
  const dir = join(root, 'store');
  // Room for the objects twice over (copy-on-write keeps old units until the commit).
  await mkfs(dir, { sizeBytes: Math.max(1024 * MiB, objectCount * objectBytes * 3), preallocate: preallocated });
  const store = new BlockStore(dir);
  await store.mount();
  try {
    await store.queueTransaction(new Transaction().createCollection(C));
    const oids: ObjectId[] = Array.from({ length: objectCount }, (_, i) => objectId(1, Math.imul(i + 1, 0x9e3779b1) >>> 0, `rbd_data.bench.${i.toString(16).padStart(16, '0')}`));
    const put = (o: ObjectId, i: number): Promise<void> => store.queueTransaction(new Transaction().write(C, o, 0, payloads[i % payloads.length]!));
    const idx = new Map(oids.map((o, i) => [o, i]));
    const writeSyncMs = await withDepth(oids, 1, (o) => put(o, idx.get(o)!));
    const writeGroupMs = await withDepth(oids, groupDepth, (o) => put(o, idx.get(o)! + 1));
    if (writesOnly) return { writeSyncMBps: mbps(objectCount * objectBytes, writeSyncMs), writeGroupMBps: mbps(objectCount * objectBytes, writeGroupMs) };
    const readMs = await readPassesAsync(() => withDepth(oids, 1, (o) => store.read(C, o)));
    const coldReadMs = evictPageCache() ? await withDepth(oids, 1, (o) => store.read(C, o)) : NaN;
    const r = new Prng(seed ^ 1);
    const lat: number[] = [];
    const overwrites = Array.from({ length: overwriteCount }, () => ({ o: oids[r.int(0, objectCount - 1)]!, at: r.int(0, objectBytes / smallBytes - 1) * smallBytes }));
    const overwriteMs = await withDepth(overwrites, 1, async ({ o, at }) => {
      const s = performance.now();
      await store.queueTransaction(new Transaction().write(C, o, at, small));
      lat.push(performance.now() - s);
    });
    lat.sort((a, b) => a - b);
    // Copy-on-write overwrites scattered some units of every object: read them again.
    const fragmentedReadMs = await withDepth(oids, 1, (o) => store.read(C, o));
    // Metadata: xattr + omap updates (16 in flight, group commit), then stats (reads).
    const metaItems = Array.from({ length: metaOpCount }, (_, i) => i);
    const metaMs = await withDepth(metaItems, groupDepth, (i) => store.queueTransaction(new Transaction()
      .setattr(C, oids[i % objectCount]!, 'v', Buffer.from(String(i)))
      .omapSetKeys(C, oids[i % objectCount]!, { [`k${i % 64}`]: Buffer.from(String(i)) })));
    const metaSyncItems = metaItems.slice(0, Math.floor(metaOpCount / 4));
    const metaSyncMs = await withDepth(metaSyncItems, 1, (i) => store.queueTransaction(new Transaction()
      .setattr(C, oids[i % objectCount]!, 'v', Buffer.from(String(i)))));
    const statMs = await withDepth(metaItems, 1, (i) => store.stat(C, oids[i % objectCount]!));
    const fsck = await store.fsck({ deep: false });
    if (!fsck.clean) throw new Error(`fsck after bench: ${JSON.stringify(fsck.problems.slice(0, 3))}`);
    const bytes = objectCount * objectBytes;
    return {
      writeSyncMBps: mbps(bytes, writeSyncMs), writeGroupMBps: mbps(bytes, writeGroupMs),
      overwriteIops: overwriteCount / (overwriteMs / 1000), overwriteP50Ms: percentile(lat, 0.5), overwriteP99Ms: percentile(lat, 0.99),
      readMBps: mbps(bytes, readMs),
      coldReadMBps: mbps(bytes, coldReadMs),
      fragmentedReadMBps: mbps(bytes, fragmentedReadMs),
      metaTxnsPerSecQd16: metaOpCount / (metaMs / 1000),
      metaTxnsPerSecQd1: metaSyncItems.length / (metaSyncMs / 1000),
      statOpsPerSec: metaOpCount / (statMs / 1000),
    };
  } finally {
    await store.umount();
  }
}

function medians(rounds: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(rounds[0]!)) {
    const v = rounds.map((r) => r[key]!).sort((a, b) => a - b);
    out[key] = v[Math.floor(v.length / 2)]!;
  }
  return out;
}

try {
  const rawRounds: Array<Record<string, number>> = [];
  const storeRounds: Array<Record<string, number>> = [];
  const rawSparseRounds: Array<Record<string, number>> = [];
  const storeSparseRounds: Array<Record<string, number>> = [];
  for (let round = 0; round < roundCount; round++) {
    rawRounds.push(rawBench(true, false));
    storeRounds.push(await storeBench(true, false));
    fs.rmSync(join(root, 'store'), { recursive: true, force: true });
    rawSparseRounds.push(rawBench(false, true));
    storeSparseRounds.push(await storeBench(false, true));
    fs.rmSync(join(root, 'store'), { recursive: true, force: true });
    console.log(`round ${round + 1}/${roundCount}: 4 MiB write raw ${rawRounds[round]!.writeSyncMBps!.toFixed(0)} / store ${storeRounds[round]!.writeSyncMBps!.toFixed(0)} MB/s`
      + ` (sparse: raw ${rawSparseRounds[round]!.writeSyncMBps!.toFixed(0)} / store ${storeSparseRounds[round]!.writeSyncMBps!.toFixed(0)})`);
  }
  const raw = medians(rawRounds);
  const st = medians(storeRounds);
  const rawSparse = medians(rawSparseRounds);
  const stSparse = medians(storeSparseRounds);
  const ratio = (k: string): number => st[k]! / raw[k]!;
  const rssMiB = process.memoryUsage().rss / MiB;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  const f = (x: number): string => x.toFixed(1);
  console.log(`medians of ${roundCount} rounds (preallocated files; reads: median of 3 warm passes)`);
  console.log(`                                   raw        store    store/raw`);
  console.log(`4 MiB write, sync each (MB/s)  ${f(raw.writeSyncMBps!).padStart(8)}  ${f(st.writeSyncMBps!).padStart(8)}   ${ratio('writeSyncMBps').toFixed(2)}  (target ≥ 0.8)`);
  console.log(`4 MiB write, QD ${groupDepth} (MB/s)      ${f(raw.writeGroupMBps!).padStart(8)}  ${f(st.writeGroupMBps!).padStart(8)}   ${ratio('writeGroupMBps').toFixed(2)}  (target ≥ 0.8)`);
  console.log(`  sparse files, sync each        ${f(rawSparse.writeSyncMBps!).padStart(8)}  ${f(stSparse.writeSyncMBps!).padStart(8)}   ${(stSparse.writeSyncMBps! / rawSparse.writeSyncMBps!).toFixed(2)}  (first writes: the filesystem allocates)`);
  console.log(`  sparse files, QD ${groupDepth}            ${f(rawSparse.writeGroupMBps!).padStart(8)}  ${f(stSparse.writeGroupMBps!).padStart(8)}   ${(stSparse.writeGroupMBps! / rawSparse.writeGroupMBps!).toFixed(2)}`);
  console.log(`4 KiB overwrite QD1 (IOPS)     ${f(raw.overwriteIops!).padStart(8)}  ${f(st.overwriteIops!).padStart(8)}   ${ratio('overwriteIops').toFixed(2)}`);
  console.log(`  p50 / p99 latency (ms)       ${raw.overwriteP50Ms!.toFixed(3)}/${raw.overwriteP99Ms!.toFixed(3)}  ${st.overwriteP50Ms!.toFixed(3)}/${st.overwriteP99Ms!.toFixed(3)}`);
  console.log(`4 MiB read (MB/s)              ${f(raw.readMBps!).padStart(8)}  ${f(st.readMBps!).padStart(8)}   ${ratio('readMBps').toFixed(2)}  (target ≥ 0.9)`);
  if (dropCaches) console.log(`4 MiB read, cold (MB/s)        ${f(raw.coldReadMBps!).padStart(8)}  ${f(st.coldReadMBps!).padStart(8)}   ${ratio('coldReadMBps').toFixed(2)}  (target ≥ 0.9)`);
  console.log(`4 MiB read after the overwrites  ${''.padStart(6)}  ${f(st.fragmentedReadMBps!).padStart(8)}   ${(st.fragmentedReadMBps! / raw.readMBps!).toFixed(2)}  (units scattered by copy-on-write)`);
  console.log(`metadata txns/s (xattr+omap, QD ${groupDepth}) ${f(st.metaTxnsPerSecQd16!)}; QD1 ${f(st.metaTxnsPerSecQd1!)}; stat ops/s ${f(st.statOpsPerSec!)}`);
  console.log(`RSS ${f(rssMiB)} MiB (peak ${f(maxRssMiB)} MiB)`);
  console.log('RESULT ' + JSON.stringify({
    bench: 'objectstore', seed, objects: objectCount, rounds: roundCount, raw, store: st, rawSparse, storeSparse: stSparse,
    ratios: { writeSync: ratio('writeSyncMBps'), writeGroup: ratio('writeGroupMBps'),
      writeSyncSparse: stSparse.writeSyncMBps! / rawSparse.writeSyncMBps!, writeGroupSparse: stSparse.writeGroupMBps! / rawSparse.writeGroupMBps!, overwriteIops: ratio('overwriteIops'), read: ratio('readMBps'), coldRead: ratio('coldReadMBps') },
    rssMiB, maxRssMiB,
  }));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
