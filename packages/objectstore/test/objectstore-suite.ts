/**
 * The ObjectStore conformance suite: one set of behaviours every store must show. Run against
 * BlockStore and MemStore from conformance.test.ts.
 */
import type { Test } from 'tap';
import {
  Transaction, objectId, compareObjectIds, SNAP_HEAD, NO_SHARD, unitSizeBytes, objectSizeBytesMax,
  type ObjectId, type ObjectStore,
} from '@nacre/objectstore';
import { Prng } from '@nacre/util';

export interface StoreHandle {
  store: ObjectStore;
  /** Make the unit under `offsetBytes` of the object fail its checksum. */
  corrupt(cid: string, oid: ObjectId, offsetBytes: number): Promise<void>;
  /** Unmount and mount again (durable stores); returns the store to use from then on. */
  remount(): Promise<ObjectStore>;
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  create(options: { sizeBytes: number }): Promise<StoreHandle>;
}

const C = 'coll_1.0_head';
const MiB = 1024 * 1024;
const U = unitSizeBytes;

function pattern(seed: number, lengthBytes: number): Buffer {
  return Buffer.from(new Prng(seed).fill(new Uint8Array(lengthBytes)));
}

function oidOf(name: string, hash = 0x1234): ObjectId {
  return objectId(3, hash, name);
}

async function withStore(t: Test, factory: StoreFactory, sizeBytes: number, fn: (h: StoreHandle) => Promise<void>): Promise<void> {
  const h = await factory.create({ sizeBytes });
  try {
    await h.store.queueTransaction(new Transaction().createCollection(C));
    await fn(h);
    const report = await h.store.fsck({ deep: true });
    t.ok(report.clean, `fsck clean after the test${report.clean ? '' : ': ' + JSON.stringify(report.problems.slice(0, 5))}`);
  } finally {
    await h.cleanup();
  }
}

export function runConformanceSuite(t: Test, factory: StoreFactory): void {
  const sizeBytes = 64 * MiB;

  t.test('collections', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      t.ok(await store.collectionExists(C));
      t.notOk(await store.collectionExists('other'));
      await t.rejects(store.queueTransaction(new Transaction().createCollection(C)), { code: 'EEXIST' });
      await store.queueTransaction(new Transaction().createCollection('b.1').createCollection('a.2'));
      t.same(await store.listCollections(), ['a.2', 'b.1', C].sort());
      await t.rejects(store.queueTransaction(new Transaction().touch('missing', oidOf('x'))), { code: 'ENOENT' });
      await t.rejects(store.listObjects('missing'), { code: 'ENOENT' });
      await store.queueTransaction(new Transaction().touch('b.1', oidOf('x')));
      await t.rejects(store.queueTransaction(new Transaction().removeCollection('b.1')), { code: 'ENOTEMPTY' });
      await store.queueTransaction(new Transaction().remove('b.1', oidOf('x')).removeCollection('b.1').removeCollection('a.2'));
      t.same(await store.listCollections(), [C]);
      await t.rejects(store.queueTransaction(new Transaction().removeCollection('a.2')), { code: 'ENOENT' });
      // Same object name in two collections: independent objects.
      await store.queueTransaction(new Transaction().createCollection('d').write('d', oidOf('x'), 0, Buffer.from('dd')).write(C, oidOf('x'), 0, Buffer.from('cc')));
      t.equal((await store.read('d', oidOf('x'))).toString(), 'dd');
      t.equal((await store.read(C, oidOf('x'))).toString(), 'cc');
    });
  });

  t.test('write and read', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const o = oidOf('obj');
      t.notOk(await store.exists(C, o));
      await t.rejects(store.read(C, o), { code: 'ENOENT' });
      await t.rejects(store.stat(C, o), { code: 'ENOENT' });
      const data = pattern(1, 100_000);
      await store.queueTransaction(new Transaction().write(C, o, 0, data));
      t.ok(await store.exists(C, o));
      t.same((await store.stat(C, o)).sizeBytes, 100_000);
      t.ok((await store.read(C, o)).equals(data));
      t.ok((await store.read(C, o, 1000, 50_000)).equals(data.subarray(1000, 51_000)));
      t.ok((await store.read(C, o, 99_000, 5000)).equals(data.subarray(99_000)), 'short read at the end');
      t.equal((await store.read(C, o, 100_000)).length, 0, 'read at EOF is empty');
      t.equal((await store.read(C, o, 200_000, 10)).length, 0, 'read past EOF is empty');
      // Overwrite across a unit boundary, unaligned.
      const patch = pattern(2, 5000);
      await store.queueTransaction(new Transaction().write(C, o, U - 2000, patch));
      const expect = Buffer.from(data);
      patch.copy(expect, U - 2000);
      t.ok((await store.read(C, o)).equals(expect));
      // Sparse write far away: the gap reads as zeros and costs no space.
      await store.queueTransaction(new Transaction().write(C, o, 3 * MiB, Buffer.from('tail')));
      const st = await store.stat(C, o);
      t.equal(st.sizeBytes, 3 * MiB + 4);
      t.ok(st.allocatedBytes <= 5 * U, `sparse object allocates few units (${st.allocatedBytes})`);
      const gap = await store.read(C, o, 200_000, 100_000);
      t.ok(gap.equals(Buffer.alloc(100_000)), 'hole reads as zeros');
      t.equal((await store.read(C, o, 3 * MiB)).toString(), 'tail');
      // Zero-length write creates but does not extend.
      await store.queueTransaction(new Transaction().write(C, oidOf('empty'), 10, Buffer.alloc(0)));
      t.equal((await store.stat(C, oidOf('empty'))).sizeBytes, 0);
      // A 4 MiB object, unit aligned.
      const big = pattern(3, 4 * MiB);
      await store.queueTransaction(new Transaction().write(C, oidOf('big'), 0, big));
      t.ok((await store.read(C, oidOf('big'))).equals(big));
      t.equal((await store.stat(C, oidOf('big'))).allocatedBytes, 4 * MiB);
    });
  });

  t.test('touch, zero, truncate, remove', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const o = oidOf('z');
      await store.queueTransaction(new Transaction().touch(C, o));
      t.same(await store.stat(C, o), { sizeBytes: 0, allocatedBytes: 0 });
      const data = pattern(4, 5 * U);
      await store.queueTransaction(new Transaction().write(C, o, 0, data));
      // zero: part of unit 0, all of units 1–2, part of unit 3
      await store.queueTransaction(new Transaction().zero(C, o, 100, 3 * U));
      const expect = Buffer.from(data);
      expect.fill(0, 100, 100 + 3 * U);
      t.ok((await store.read(C, o)).equals(expect));
      t.equal((await store.stat(C, o)).allocatedBytes, 3 * U, 'fully zeroed units are freed');
      // zero past the end extends the size
      await store.queueTransaction(new Transaction().zero(C, o, 5 * U, 1000));
      t.equal((await store.stat(C, o)).sizeBytes, 5 * U + 1000);
      // truncate down inside a unit, then grow: the cut-off bytes read as zeros
      await store.queueTransaction(new Transaction().truncate(C, o, 4 * U + 10));
      await store.queueTransaction(new Transaction().truncate(C, o, 5 * U));
      const grown = await store.read(C, o);
      t.equal(grown.length, 5 * U);
      t.ok(grown.subarray(4 * U, 4 * U + 10).equals(data.subarray(4 * U, 4 * U + 10)));
      t.ok(grown.subarray(4 * U + 10).equals(Buffer.alloc(U - 10)), 'bytes past an old truncate read as zeros');
      await store.queueTransaction(new Transaction().truncate(C, o, 0));
      t.same(await store.stat(C, o), { sizeBytes: 0, allocatedBytes: 0 });
      // truncate creates the object
      await store.queueTransaction(new Transaction().truncate(C, oidOf('t2'), 12345));
      t.ok((await store.read(C, oidOf('t2'))).equals(Buffer.alloc(12345)));
      await store.queueTransaction(new Transaction().remove(C, o).remove(C, oidOf('t2')));
      t.notOk(await store.exists(C, o));
      await t.rejects(store.queueTransaction(new Transaction().remove(C, o)), { code: 'ENOENT' });
      t.equal((await store.statfs()).objectCount, 0);
      t.equal((await store.statfs()).allocatedBytes, 0);
    });
  });

  t.test('ordering within a transaction and atomicity', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const a = oidOf('a');
      const b = oidOf('b');
      await store.queueTransaction(new Transaction()
        .write(C, a, 0, Buffer.from('first'))
        .truncate(C, a, 2)
        .write(C, a, 4, Buffer.from('X'))
        .clone(C, a, b)
        .write(C, a, 0, Buffer.from('Z'))
        .setattr(C, a, 'k', Buffer.from('1'))
        .remove(C, a)
        .write(C, a, 0, Buffer.from('again')));
      t.equal((await store.read(C, a)).toString(), 'again');
      t.same(await store.getattrs(C, a), new Map(), 'remove dropped the attrs');
      t.ok((await store.read(C, b)).equals(Buffer.from([0x66, 0x69, 0, 0, 0x58])), 'clone saw the earlier ops only');
      const before = await store.statfs();
      // A failing op at the end undoes everything before it.
      await t.rejects(store.queueTransaction(new Transaction()
        .write(C, a, 0, pattern(5, 200_000))
        .setattr(C, b, 'x', Buffer.from('y'))
        .omapSetKeys(C, b, { k: Buffer.from('v') })
        .remove(C, b)
        .createCollection('newcoll')
        .remove(C, oidOf('nope'))), { code: 'ENOENT' });
      t.equal((await store.read(C, a)).toString(), 'again');
      t.ok(await store.exists(C, b));
      t.same(await store.getattrs(C, b), new Map());
      t.same((await store.omapGetRange(C, b)).entries, []);
      t.notOk(await store.collectionExists('newcoll'));
      t.same(await store.statfs(), before, 'statfs unchanged by the failed transaction');
      // Transactions queued together apply in order.
      const results = await Promise.allSettled([
        store.queueTransaction(new Transaction().write(C, oidOf('q'), 0, Buffer.from('1'))),
        store.queueTransaction(new Transaction().remove(C, oidOf('never'))),
        store.queueTransaction(new Transaction().write(C, oidOf('q'), 1, Buffer.from('2'))),
        store.queueTransaction(new Transaction().write(C, oidOf('q'), 2, Buffer.from('3'))),
      ]);
      t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      t.equal((await store.read(C, oidOf('q'))).toString(), '123');
    });
  });

  t.test('xattrs', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const o = oidOf('attrs');
      await store.queueTransaction(new Transaction().setattrs(C, o, { _: Buffer.from('oi'), snapset: Buffer.alloc(3000, 1) }));
      t.equal((await store.getattr(C, o, '_')).toString(), 'oi');
      await t.rejects(store.getattr(C, o, 'none'), { code: 'ENOENT' });
      await store.queueTransaction(new Transaction().setattr(C, o, '_', Buffer.from('new')).rmattr(C, o, 'snapset').rmattr(C, o, 'absent'));
      t.same([...(await store.getattrs(C, o))].map(([k, v]) => [k, v.toString()]), [['_', 'new']]);
      await t.rejects(store.queueTransaction(new Transaction().rmattr(C, oidOf('none'), 'x')), { code: 'ENOENT' });
      // Returned buffers are copies.
      (await store.getattr(C, o, '_')).fill(0);
      t.equal((await store.getattr(C, o, '_')).toString(), 'new');
      await t.rejects(store.getattr(C, oidOf('none'), 'x'), { code: 'ENOENT' });
    });
  });

  t.test('omap', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const o = oidOf('omap');
      const entries: Record<string, Buffer> = {};
      for (let i = 0; i < 50; i++) entries[`key_${String(i).padStart(3, '0')}`] = Buffer.from(`value ${i}`);
      await store.queueTransaction(new Transaction().omapSetKeys(C, o, entries));
      t.equal((await store.stat(C, o)).sizeBytes, 0, 'omap set creates an empty object');
      const got = await store.omapGetValues(C, o, ['key_003', 'key_049', 'missing']);
      t.same([...got].map(([k, v]) => [k, v.toString()]), [['key_003', 'value 3'], ['key_049', 'value 49']]);
      const all = await store.omapGetRange(C, o);
      t.equal(all.entries.length, 50);
      t.notOk(all.more);
      t.same(all.entries.map(([k]) => k), Object.keys(entries).sort());
      const range = await store.omapGetRange(C, o, { start: 'key_010', end: 'key_015' });
      t.same(range.entries.map(([k]) => k), ['key_010', 'key_011', 'key_012', 'key_013', 'key_014']);
      // Paging with `after`.
      const keys: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.omapGetRange(C, o, { limitCount: 7, ...(after === undefined ? {} : { after }) });
        keys.push(...page.entries.map(([k]) => k));
        if (!page.more) break;
        after = page.entries[page.entries.length - 1]![0];
      }
      t.same(keys, Object.keys(entries).sort(), 'paged omap listing sees every key once');
      await store.queueTransaction(new Transaction().omapRmKeys(C, o, ['key_000', 'key_001', 'nope']).write(C, o, 0, Buffer.from('data')));
      t.equal((await store.omapGetRange(C, o)).entries.length, 48);
      t.equal((await store.read(C, o)).toString(), 'data');
      await store.queueTransaction(new Transaction().omapClear(C, o).omapSetKeys(C, o, { after: Buffer.from('clear') }));
      t.same((await store.omapGetRange(C, o)).entries.map(([k, v]) => [k, v.toString()]), [['after', 'clear']]);
      // Remove drops the omap: a new object of the same name starts empty.
      await store.queueTransaction(new Transaction().remove(C, o).touch(C, o));
      t.same((await store.omapGetRange(C, o)).entries, []);
      // Keys sort by UTF-8 bytes.
      await store.queueTransaction(new Transaction().omapSetKeys(C, o, { b: Buffer.from('1'), a: Buffer.from('2'), 'é': Buffer.from('3'), Z: Buffer.from('4') }));
      t.same((await store.omapGetRange(C, o)).entries.map(([k]) => k), ['Z', 'a', 'b', 'é']);
      await t.rejects(store.omapGetValues(C, oidOf('none'), ['a']), { code: 'ENOENT' });
    });
  });

  t.test('clone independence', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const src = oidOf('src');
      const snap = objectId(3, 0x1234, 'src', { snap: 7 });
      const data = pattern(6, 3 * U + 100);
      await store.queueTransaction(new Transaction().write(C, src, 0, data).setattr(C, src, 'a', Buffer.from('1')).omapSetKeys(C, src, { k: Buffer.from('v') }));
      await store.queueTransaction(new Transaction().clone(C, src, snap));
      t.ok((await store.read(C, snap)).equals(data));
      t.equal((await store.getattr(C, snap, 'a')).toString(), '1');
      t.same((await store.omapGetRange(C, snap)).entries.map(([k, v]) => [k, v.toString()]), [['k', 'v']]);
      // Change the source in every way: the clone keeps its own state.
      await store.queueTransaction(new Transaction().write(C, src, 10, Buffer.from('changed')).truncate(C, src, 2 * U)
        .setattr(C, src, 'a', Buffer.from('2')).omapSetKeys(C, src, { k: Buffer.from('w'), k2: Buffer.from('x') }));
      t.ok((await store.read(C, snap)).equals(data), 'clone data unchanged');
      t.equal((await store.getattr(C, snap, 'a')).toString(), '1');
      t.equal((await store.omapGetRange(C, snap)).entries.length, 1);
      // And the other way round.
      await store.queueTransaction(new Transaction().write(C, snap, 0, Buffer.from('snapwrite')).omapClear(C, snap));
      const srcNow = await store.read(C, src);
      t.equal(srcNow.subarray(10, 17).toString(), 'changed');
      t.equal(srcNow.length, 2 * U);
      t.equal((await store.omapGetRange(C, src)).entries.length, 2);
      // Removing the source leaves the clone intact; cloning over an existing object replaces it.
      await store.queueTransaction(new Transaction().remove(C, src));
      const snapData = await store.read(C, snap);
      t.equal(snapData.subarray(0, 9).toString(), 'snapwrite');
      t.ok(snapData.subarray(9).equals(data.subarray(9)));
      const other = oidOf('other');
      await store.queueTransaction(new Transaction().write(C, other, 0, pattern(7, 10 * U)).setattr(C, other, 'z', Buffer.from('z')));
      await store.queueTransaction(new Transaction().clone(C, snap, other));
      t.ok((await store.read(C, other)).equals(snapData));
      t.same([...(await store.getattrs(C, other)).keys()], ['a']);
      await t.rejects(store.queueTransaction(new Transaction().clone(C, oidOf('missing'), other)), { code: 'ENOENT' });
      await t.rejects(store.queueTransaction(new Transaction().clone(C, other, other)), { code: 'EINVAL' });
      // Clone within one transaction of data written in the same transaction, then diverge.
      const x = oidOf('x');
      const y = oidOf('y');
      await store.queueTransaction(new Transaction().write(C, x, 0, Buffer.from('xxxx')).clone(C, x, y).write(C, y, 0, Buffer.from('yy')));
      t.equal((await store.read(C, x)).toString(), 'xxxx');
      t.equal((await store.read(C, y)).toString(), 'yyxx');
    });
  });

  t.test('listing order and paging', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const rng = new Prng(99);
      const oids: ObjectId[] = [];
      for (let i = 0; i < 60; i++) oids.push(objectId(3, rng.nextU32(), `obj${i}`));
      oids.push(objectId(3, 0x0000_0001, 'low1'), objectId(3, 0x8000_0000, 'high'));
      oids.push(objectId(3, 0xabc, 'snappy', { snap: 4 }), objectId(3, 0xabc, 'snappy', { snap: 2 }), objectId(3, 0xabc, 'snappy'));
      oids.push(objectId(3, 0xabc, 'shard', { shard: 2 }), objectId(3, 0xabc, 'shard', { shard: 0 }));
      oids.push(objectId(-1, 5, 'temp'), objectId(3, 5, 'a\u0000b'), objectId(3, 5, 'a'), objectId(3, 5, 'a\u0001'));
      const txn = new Transaction();
      for (const o of oids) txn.touch(C, o);
      await store.queueTransaction(txn);
      const sorted = [...oids].sort(compareObjectIds);
      const seen: ObjectId[] = [];
      let start: ObjectId | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.listObjects(C, { limitCount: 7, ...(start === undefined ? {} : { start }) });
        t.ok(page.objects.length <= 7);
        seen.push(...page.objects);
        if (page.next === null) break;
        start = page.next;
      }
      t.same(seen, sorted, 'paged listing returns every object once, in order');
      const idx = (name: string, snap = SNAP_HEAD, shard = NO_SHARD, hash?: number): number =>
        seen.findIndex((o) => o.name === name && o.snap === snap && o.shard === shard && (hash === undefined || o.hash === hash));
      t.ok(idx('temp') === 0, 'pool -1 sorts first');
      t.ok(idx('high') < idx('low1'), 'hash order is bit-reversed (0x80000000 before 0x00000001)');
      t.ok(idx('snappy', 2) < idx('snappy', 4) && idx('snappy', 4) < idx('snappy'), 'clones before head, by snap id');
      t.ok(idx('shard', SNAP_HEAD, 0) < idx('shard', SNAP_HEAD, 2));
      t.ok(idx('a') < idx('a\u0000b') && idx('a\u0000b') < idx('a\u0001'), 'names sort by bytes, NUL included');
      // Start at a position that is not an object.
      const mid = objectId(3, sorted[30]!.hash, sorted[30]!.name + '~');
      const rest = await store.listObjects(C, { start: mid, limitCount: 1000 });
      t.same(rest.objects, sorted.filter((o) => compareObjectIds(o, mid) >= 0));
      t.equal(rest.next, null);
    });
  });

  t.test('ENOSPC leaves everything unchanged; removes and truncates still work', async (t) => {
    await withStore(t, factory, 8 * MiB, async ({ store }) => {
      const chunk = pattern(8, MiB);
      let count = 0;
      let failure: unknown;
      for (; count < 64; count++) {
        try {
          await store.queueTransaction(new Transaction().write(C, oidOf(`fill${count}`), 0, chunk));
        } catch (err) {
          failure = err;
          break;
        }
      }
      t.match(failure, { code: 'ENOSPC' }, `filled after ${count} objects`);
      t.ok(count >= 4 && count < 8, 'an 8 MiB store holds a few 1 MiB objects');
      t.notOk(await store.exists(C, oidOf(`fill${count}`)), 'the failed write created nothing');
      const full = await store.statfs();
      // A transaction that needs space in its middle fails as a whole.
      await t.rejects(store.queueTransaction(new Transaction().setattr(C, oidOf('fill0'), 'x', Buffer.from('1'))
        .write(C, oidOf('fill0'), 0, pattern(9, 2 * MiB))), { code: 'ENOSPC' });
      t.same(await store.statfs(), full);
      t.ok((await store.read(C, oidOf('fill0'))).equals(chunk));
      t.same(await store.getattrs(C, oidOf('fill0')), new Map());
      // Fill the last units with small writes.
      for (let i = 0; i < 300; i++) {
        try {
          await store.queueTransaction(new Transaction().write(C, oidOf(`small${i}`), 0, Buffer.alloc(U, 1)));
        } catch (err) {
          t.match(err, { code: 'ENOSPC' });
          break;
        }
      }
      t.equal((await store.statfs()).availableBytes, 0, 'no space left for normal writes');
      // Truncate inside a unit needs a unit (copy-on-write) — it comes from the reserve.
      await store.queueTransaction(new Transaction().truncate(C, oidOf('fill1'), 1000).zero(C, oidOf('fill2'), 10, 100));
      t.equal((await store.read(C, oidOf('fill1'))).length, 1000);
      await store.queueTransaction(new Transaction().remove(C, oidOf('fill0')));
      await store.queueTransaction(new Transaction().write(C, oidOf('again'), 0, pattern(10, MiB / 2)));
      t.ok((await store.read(C, oidOf('again'))).equals(pattern(10, MiB / 2)));
    });
  });

  t.test('EIO on a corrupted unit', async (t) => {
    await withStore(t, factory, sizeBytes, async (h) => {
      const { store } = h;
      const o = oidOf('rot');
      const data = pattern(11, 3 * U);
      await store.queueTransaction(new Transaction().write(C, o, 0, data).write(C, oidOf('fine'), 0, Buffer.from('ok')));
      await h.corrupt(C, o, U + 5);
      await t.rejects(store.read(C, o), { code: 'EIO' }, 'read over the bad unit fails');
      await t.rejects(store.read(C, o, U + 100, 10), { code: 'EIO' });
      t.ok((await store.read(C, o, 0, U)).equals(data.subarray(0, U)), 'other units still read');
      t.ok((await store.read(C, o, 2 * U)).equals(data.subarray(2 * U)));
      // A partial overwrite must read the bad unit: EIO, nothing changes.
      await t.rejects(store.queueTransaction(new Transaction().write(C, o, U + 10, Buffer.from('x'))), { code: 'EIO' });
      const report = await store.fsck({ deep: true });
      t.notOk(report.clean, 'deep fsck reports the bad unit');
      t.ok(report.problems.some((p) => p.kind === 'checksum'));
      t.ok((await store.fsck({ deep: false })).clean, 'shallow fsck does not read data');
      // Rewriting the whole unit replaces it.
      await store.queueTransaction(new Transaction().write(C, o, U, data.subarray(U, 2 * U)));
      t.ok((await store.read(C, o)).equals(data));
    });
  });

  t.test('statfs', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const s0 = await store.statfs();
      t.ok(s0.totalBytes > 60 * MiB && s0.totalBytes <= 64 * MiB);
      t.equal(s0.objectCount, 0);
      t.equal(s0.storedBytes, 0);
      await store.queueTransaction(new Transaction().write(C, oidOf('s1'), 0, Buffer.alloc(U + 1, 1)).truncate(C, oidOf('s2'), MiB));
      const s1 = await store.statfs();
      t.equal(s1.objectCount, 2);
      t.equal(s1.storedBytes, U + 1 + MiB);
      t.equal(s1.allocatedBytes, 2 * U, 'thin: truncate allocates nothing');
      t.ok(s1.availableBytes < s0.availableBytes);
    });
  });

  t.test('bad input is refused and changes nothing', async (t) => {
    await withStore(t, factory, sizeBytes, async ({ store }) => {
      const o = oidOf('v');
      t.throws(() => new Transaction().write(C, o, -1, Buffer.from('x')), { code: 'EINVAL' });
      t.throws(() => new Transaction().write(C, o, objectSizeBytesMax, Buffer.from('x')), { code: 'EFBIG' });
      t.throws(() => new Transaction().touch(C, objectId(3, 1, '')), { code: 'EINVAL' });
      t.throws(() => new Transaction().touch('bad/coll', o), { code: 'EINVAL' });
      t.throws(() => new Transaction().touch(C, { pool: 1.5, hash: 1, name: 'x', snap: 0, shard: -1 }), { code: 'EINVAL' });
      t.throws(() => new Transaction().touch(C, objectId(3, 1, 'x', { shard: 999 })), { code: 'EINVAL' });
      t.throws(() => new Transaction().setattr(C, o, '', Buffer.from('x')), { code: 'EINVAL' });
      t.throws(() => new Transaction().omapSetKeys(C, o, { k: 'not bytes' as unknown as Uint8Array }), { code: 'EINVAL' });
      await t.rejects(store.read(C, o, -5), { code: 'EINVAL' });
      await t.rejects(store.listObjects(C, { limitCount: 0 }), { code: 'EINVAL' });
      await t.rejects(store.queueTransaction({ ops: [] } as unknown as Transaction), { code: 'EINVAL' });
      t.equal((await store.statfs()).objectCount, 0);
    });
  });

  t.test('durability across remount', async (t) => {
    await withStore(t, factory, sizeBytes, async (h) => {
      const o = oidOf('durable');
      const data = pattern(12, 300_000);
      await h.store.queueTransaction(new Transaction().write(C, o, 0, data).setattr(C, o, 'a', Buffer.from('b'))
        .omapSetKeys(C, o, { k: Buffer.from('v') }).clone(C, o, oidOf('durable-clone')));
      const before = await h.store.statfs();
      const store = await h.remount();
      t.ok((await store.read(C, o)).equals(data));
      t.ok((await store.read(C, oidOf('durable-clone'))).equals(data));
      t.equal((await store.getattr(C, o, 'a')).toString(), 'b');
      t.equal((await store.omapGetValues(C, o, ['k'])).get('k')?.toString(), 'v');
      t.same(await store.statfs(), before);
      t.same(await store.listCollections(), [C]);
    });
  });

  t.test('lifecycle', async (t) => {
    const h = await factory.create({ sizeBytes });
    try {
      t.equal(h.store.status, 'open');
      await t.rejects(h.store.mount(), { code: 'EBUSY' });
      await h.store.umount();
      t.equal(h.store.status, 'closed');
      await t.rejects(h.store.read(C, oidOf('x')), { code: 'ESHUTDOWN' });
      await t.rejects(h.store.queueTransaction(new Transaction().createCollection(C)), { code: 'ESHUTDOWN' });
      await h.store.mount();
      t.equal(h.store.status, 'open');
    } finally {
      await h.cleanup();
    }
  });
}
