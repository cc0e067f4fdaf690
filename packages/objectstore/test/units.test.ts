/** Unit tests of the pure pieces: bitmap allocator, object id encoding, mkfs/mount errors. */
import t from 'tap';
import * as fs from 'node:fs';
import fc from 'fast-check';
import {
  BitmapAllocator, BlockStore, Transaction, bitmapChunkUnits, compareObjectIds, decodeObjectKey,
  encodeObjectKey, mkfs, objectId, reverseBits32, NO_SHARD, SNAP_HEAD,
} from '@nacre/objectstore';
import { Prng } from '@nacre/util';
import { coalesceViews } from '@nacre/objectstore/block-file';
import { tempDir, testSeed } from './helpers.js';

const seed = testSeed('objectstore unit tests');

t.test('adjacent views of one buffer are written as one', async (t) => {
  const a = Buffer.alloc(96);
  const b = Buffer.alloc(32);
  const parts = [a.subarray(0, 32), a.subarray(32, 64), b, a.subarray(64, 96), a.subarray(0, 32)];
  const merged = coalesceViews(parts);
  t.equal(merged[0]!.byteLength, 64, 'the first two parts are adjacent: one view');
  t.equal(merged[0]!.byteOffset, a.byteOffset);
  t.equal(merged[1], b, 'another buffer stays apart');
  t.equal(merged.length, 4, 'only the first two parts are adjacent');
  t.same(Buffer.concat(merged), Buffer.concat(parts), 'same bytes in the same order');
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 8 })), { maxLength: 12 }), (spec) => {
    const pool = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    let at = 0;
    const views = spec.map(([adjacent, len]) => {
      if (!adjacent) at = (at + 3) % 90;
      const v = pool.subarray(at, at + len);
      at = (at + len) % 90;
      return v;
    });
    const out = coalesceViews(views);
    return Buffer.concat(out).equals(Buffer.concat(views)) && out.length <= Math.max(views.length, 0);
  }), { seed });
});

t.test('bitmap allocator', async (t) => {
  const a = new BitmapAllocator(3000, 10);
  a.markUsed(0);
  t.equal(a.freeCount, 2999);
  t.equal(a.availableCount, 2989);
  const run = a.allocate(128)!;
  t.same(run, Array.from({ length: 128 }, (_, i) => 1 + i), 'a contiguous run after the superblock');
  const next = a.allocate(5)!;
  t.equal(next[0], 129, 'next-fit continues after the previous run');
  a.release(run.slice(10, 20));
  t.equal(a.freeCount, 2999 - 133 + 10);
  t.equal(a.allocate(3000), null, 'more than available: null, nothing taken');
  t.equal(a.freeCount, 2999 - 133 + 10);
  t.throws(() => a.release([5000]), /out of range/);
  t.throws(() => a.release([run[10]!]), /double free/);
  // Fill everything except the reserve, then only shrink allocations get units.
  const rest = a.allocate(a.availableCount)!;
  t.ok(rest.length > 0);
  t.equal(a.allocate(1), null);
  t.same(a.allocate(1, { useReserve: true })?.length, 1);
  // Bits past the device end stay set in persisted chunks.
  const last = a.chunkBytes(a.chunkCount - 1);
  t.equal(last[last.length - 1], 0xff);
  // Round trip through chunks.
  const b = new BitmapAllocator(3000, 10);
  b.load(new Map(Array.from({ length: a.chunkCount }, (_, c) => [c, a.chunkBytes(c)])));
  t.equal(b.freeCount, a.freeCount);
  for (let u = 0; u < 3000; u++) if (a.isUsed(u) !== b.isUsed(u)) { t.fail(`unit ${u} differs`); break; }
  t.equal(bitmapChunkUnits, 1024);
});

t.test('allocator never hands out a used unit (property)', async (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 200 })), { maxLength: 200 }), (steps) => {
    const a = new BitmapAllocator(2048, 16);
    const owned = new Set<number>();
    const held: number[][] = [];
    for (const [alloc, n] of steps) {
      if (alloc || held.length === 0) {
        const units = a.allocate(n);
        if (units === null) { if (n <= a.availableCount) return false; continue; }
        for (const u of units) { if (owned.has(u)) return false; owned.add(u); }
        held.push(units);
      } else {
        const units = held.splice(n % held.length, 1)[0]!;
        a.release(units);
        for (const u of units) owned.delete(u);
      }
      if (a.freeCount !== 2048 - owned.size) return false;
    }
    return true;
  }), { seed, numRuns: 200 });
  t.pass('checked');
});

t.test('object id keys round-trip and order', async (t) => {
  t.equal(reverseBits32(1), 0x8000_0000);
  t.equal(reverseBits32(0x8000_0000), 1);
  t.equal(reverseBits32(0x1234_5678), 0x1e6a_2c48);
  const oidArb = fc.record({
    pool: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
    hash: fc.integer({ min: 0, max: 0xffff_ffff }),
    name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    snap: fc.oneof(fc.constant(SNAP_HEAD), fc.integer({ min: 0, max: 2 ** 40 })),
    shard: fc.integer({ min: NO_SHARD, max: 20 }),
  });
  fc.assert(fc.property(oidArb, oidArb, (a, b) => {
    const ka = encodeObjectKey(a);
    const back = decodeObjectKey(ka);
    if (JSON.stringify(back.oid) !== JSON.stringify(a) || back.endOffset !== ka.length) return false;
    // Prefix-free: no key is a prefix of another distinct key.
    const kb = encodeObjectKey(b);
    if (!ka.equals(kb) && (ka.subarray(0, kb.length).equals(kb) || kb.subarray(0, ka.length).equals(ka))) return false;
    // Field order: pool, reversed hash, name bytes, snap, shard.
    const cmp = compareObjectIds(a, b);
    const ref = a.pool !== b.pool ? a.pool - b.pool
      : a.hash !== b.hash ? reverseBits32(a.hash) - reverseBits32(b.hash)
      : a.name !== b.name ? Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))
      : a.snap !== b.snap ? a.snap - b.snap : a.shard - b.shard;
    return Math.sign(cmp) === Math.sign(ref);
  }), { seed, numRuns: 2000 });
  t.pass('checked');
});

t.test('mkfs and mount errors', async (t) => {
  const dir = tempDir('mkfs');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await t.rejects(mkfs(dir, { sizeBytes: 1000 }), { code: 'EINVAL' });
  await t.rejects(new BlockStore(dir).mount(), { code: 'ENOENT' });
  await mkfs(dir, { sizeBytes: 16 * 1024 * 1024 });
  await t.rejects(mkfs(dir, { sizeBytes: 16 * 1024 * 1024 }), { code: 'EEXIST' });
  const store = new BlockStore(dir);
  await store.mount();
  t.same((await store.statfs()).totalBytes, 16 * 1024 * 1024 - 32 * 1024);
  // A second mount of the same directory is refused (LevelDB lock) while the first is live.
  await t.rejects(new BlockStore(dir).mount());
  await store.queueTransaction(new Transaction().createCollection('c'));
  await store.umount();
  // Pair a block file with another store's metadata: refused.
  const other = tempDir('mkfs2');
  t.teardown(() => fs.rmSync(other, { recursive: true, force: true }));
  await mkfs(other, { sizeBytes: 16 * 1024 * 1024 });
  fs.copyFileSync(`${other}/block`, `${dir}/block`);
  await t.rejects(new BlockStore(dir).mount(), { code: 'EIO' });
});

t.test('one commit group: later transactions see the earlier ones\' large writes still in flight', async (t) => {
  const dir = tempDir('group-inflight');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await mkfs(dir, { sizeBytes: 128 * 1024 * 1024 });
  // Every large write waits before it is issued: still in flight when the next transaction of the
  // group reads its units, unless the store waits for it. The 4th (transaction 5's, which fails)
  // waits longest: it would land on top of transaction 6's if its units were handed out at once.
  let asyncWrites = 0;
  const store = new BlockStore(dir, { beforeAsyncWrite: () => new Promise((r) => setTimeout(r, ++asyncWrites === 4 ? 150 : 20)) });
  await store.mount();
  await store.queueTransaction(new Transaction().createCollection('c'));
  const rng = new Prng(seed);
  const big = (): Buffer => Buffer.from(rng.fill(new Uint8Array(4 * 1024 * 1024)));
  const a = objectId(1, 1, 'a');
  const b = objectId(1, 2, 'b');
  const c = objectId(1, 3, 'c');
  const d = objectId(1, 4, 'd');
  const [da, db, dc, dd] = [big(), big(), big(), big()];
  const patch = Buffer.from('patched in the same group');
  // Queued in one tick: one group. 2 and 3 read-modify-write units that 1 and 4 have in flight;
  // 5 fails after its write was issued (its units go back while 6 allocates).
  const results = await Promise.allSettled([
    store.queueTransaction(new Transaction().write('c', a, 0, da)),
    store.queueTransaction(new Transaction().write('c', a, 100_000, patch)),
    store.queueTransaction(new Transaction().write('c', b, 0, db).truncate('c', b, 40_000)),
    store.queueTransaction(new Transaction().write('c', c, 0, dc).write('c', c, 5, patch)),
    store.queueTransaction(new Transaction().write('c', d, 0, big()).remove('c', objectId(1, 9, 'missing'))),
    store.queueTransaction(new Transaction().write('c', d, 0, dd)),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  patch.copy(da, 100_000);
  patch.copy(dc, 5);
  t.ok((await store.read('c', a)).equals(da), 'a: full write, then a patch inside one of its units');
  t.ok((await store.read('c', b)).equals(db.subarray(0, 40_000)), 'b: written and truncated mid-unit');
  t.ok((await store.read('c', c)).equals(dc), 'c: patched within the same transaction');
  t.ok((await store.read('c', d)).equals(dd), 'd: the refused transaction left nothing; the next one is whole');
  t.ok((await store.fsck({ deep: true })).clean, 'deep fsck clean');
  await store.umount();
  await store.mount();
  t.ok((await store.read('c', a)).equals(da), 'a after remount');
  t.ok((await store.read('c', d)).equals(dd), 'd after remount');
  await store.umount();
});

t.test('secure delete zeroes freed units', async (t) => {
  const dir = tempDir('secdel');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await mkfs(dir, { sizeBytes: 16 * 1024 * 1024 });
  const store = new BlockStore(dir, { secureDelete: true });
  await store.mount();
  const o = objectId(1, 1, 'secret');
  const secret = Buffer.alloc(64 * 1024, 0x42);
  await store.queueTransaction(new Transaction().createCollection('c').write('c', o, 0, secret));
  const at = (await store.physicalOffsetOf('c', o, 0))!;
  await store.queueTransaction(new Transaction().remove('c', o));
  const fd = fs.openSync(`${dir}/block`, 'r');
  const buf = Buffer.alloc(64 * 1024);
  fs.readSync(fd, buf, 0, buf.length, at);
  fs.closeSync(fd);
  t.ok(buf.equals(Buffer.alloc(64 * 1024)), 'freed data is zeroed on disk');
  t.ok((await store.fsck({ deep: true })).clean);
  await store.umount();
});

t.test('reads racing with commits return old or new data, never a reused unit', async (t) => {
  const dir = tempDir('race');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Small device so freed units are reused quickly.
  await mkfs(dir, { sizeBytes: 24 * 1024 * 1024 });
  const store = new BlockStore(dir, { pipelinedReadBytesMin: 1024 * 1024 });
  await store.mount();
  const C = 'race';
  const target = objectId(1, 7, 'target');
  const MiB = 1024 * 1024;
  const versions = [0x11, 0x22, 0x33, 0x44].map((b) => Buffer.alloc(4 * MiB, b));
  await store.queueTransaction(new Transaction().createCollection(C).write(C, target, 0, versions[0]!));
  const rng = new Prng(seed);
  let reads = 0;
  let writing = true;
  // One writer keeps commits coming back to back (each frees the previous version's units, which
  // the next-fit allocator soon hands out again); readers read the 4 MiB target meanwhile.
  const writer = (async () => {
    try {
      for (let i = 0; i < 60; i++) {
        const churn = new Transaction().write(C, target, 0, versions[rng.int(0, versions.length - 1)]!);
        if (i % 2 === 0) churn.write(C, objectId(1, 8, `junk${i % 3}`), 0, Buffer.alloc(2 * MiB, i));
        else churn.remove(C, objectId(1, 8, `junk${(i - 1) % 3}`));
        await store.queueTransaction(churn);
      }
    } finally {
      writing = false;
    }
  })();
  const readers = Array.from({ length: 4 }, async () => {
    while (writing) {
      const data = await store.read(C, target);
      reads++;
      if (!versions.some((x) => x.equals(data))) throw new Error('read returned a mix of versions or reused bytes');
    }
  });
  await Promise.all([writer, ...readers]);
  t.ok(reads > 0, `${reads} reads raced with 60 commits`);
  t.ok((await store.fsck({ deep: true })).clean);
  await store.umount();
});

t.test('a read held while its units are freed and reused never returns the new bytes', async (t) => {
  const dir = tempDir('held-read');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await mkfs(dir, { sizeBytes: 8 * 1024 * 1024 });
  let gate: Promise<void> | undefined;
  let hold: () => void = () => {};
  const store = new BlockStore(dir, { onReadChunk: () => gate, pipelinedReadBytesMin: 1024 * 1024 });
  await store.mount();
  const C = 'held';
  const MiB = 1024 * 1024;
  const victim = objectId(1, 1, 'victim');
  const old = Buffer.alloc(4 * MiB, 0xaa);
  await store.queueTransaction(new Transaction().createCollection(C).write(C, victim, 0, old));
  // Fill the rest, so the only free space after the remove is the victim's units.
  const avail = (await store.statfs()).availableBytes;
  await store.queueTransaction(new Transaction().write(C, objectId(1, 2, 'filler'), 0, Buffer.alloc(avail, 1)));
  t.equal((await store.statfs()).availableBytes, 0);
  gate = new Promise<void>((r) => { hold = r; });
  const reading = store.read(C, victim).then((b) => ({ ok: true as const, b }), (err: unknown) => ({ ok: false as const, err }));
  await new Promise((r) => setTimeout(r, 20)); // the first chunks arrive and wait at the gate
  await store.queueTransaction(new Transaction().remove(C, victim));
  await store.queueTransaction(new Transaction().write(C, objectId(1, 3, 'intruder'), 0, Buffer.alloc(4 * MiB, 0x55)));
  t.equal((await store.statfs()).availableBytes, 0, 'the intruder took exactly the freed units');
  gate = undefined;
  hold();
  const result = await reading;
  if (result.ok) t.ok(result.b.equals(old), 'the held read returned the old data');
  else t.match(result.err, { code: 'ENOENT' }, 'the held read saw the object removed, not EIO or new bytes');
  t.ok((await store.fsck({ deep: true })).clean);
  await store.umount();
});
