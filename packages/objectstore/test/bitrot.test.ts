/**
 * Bit rot: flip bytes in the block file under an object (found by scanning the raw file for the
 * object's data, not through the store's metadata) → reads of that unit fail with EIO, never
 * wrong bytes, and deep fsck names the object; other objects and units still read.
 */
import t from 'tap';
import * as fs from 'node:fs';
import { BlockStore, Transaction, blockPath, mkfs, objectId, unitSizeBytes } from '@nacre/objectstore';
import { Prng } from '@nacre/util';
import { flipBytes, tempDir, testSeed } from './helpers.js';

const seed = testSeed('bit-rot test');
const C = '2.1f_head';
const U = unitSizeBytes;

/** Byte offset of `needle` in the raw block file (read in big chunks). */
function findInFile(path: string, needle: Buffer): number {
  const fd = fs.openSync(path, 'r');
  try {
    const chunkBytes = 8 * 1024 * 1024;
    const buf = Buffer.alloc(chunkBytes + needle.length);
    for (let pos = 0; ; pos += chunkBytes) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n < needle.length) return -1;
      const i = buf.subarray(0, n).indexOf(needle);
      if (i >= 0) return pos + i;
    }
  } finally {
    fs.closeSync(fd);
  }
}

t.test('flipped bytes under an object give EIO and a deep fsck error', async (t) => {
  const dir = tempDir('bitrot');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await mkfs(dir, { sizeBytes: 64 * 1024 * 1024 });
  let store = new BlockStore(dir);
  await store.mount();
  const rng = new Prng(seed);
  const victim = objectId(2, 0xdeadbeef, 'rbd_data.abc.0000000000000001');
  const bystander = objectId(2, 0x12345678, 'rbd_data.abc.0000000000000002');
  const data = Buffer.from(rng.fill(new Uint8Array(4 * 1024 * 1024)));
  const other = Buffer.from(rng.fill(new Uint8Array(1024 * 1024)));
  await store.queueTransaction(new Transaction().createCollection(C).write(C, victim, 0, data).write(C, bystander, 0, other));
  t.ok((await store.fsck({ deep: true })).clean);
  await store.umount();

  // Rot one byte range inside unit 37 of the victim, located by content alone.
  const unitIndex = 37;
  const at = findInFile(blockPath(dir), data.subarray(unitIndex * U, unitIndex * U + 64));
  t.ok(at > 0, 'found the object data in the raw file');
  flipBytes(dir, at + rng.int(100, U - 200), 3);

  store = new BlockStore(dir);
  await store.mount();
  await t.rejects(store.read(C, victim), { code: 'EIO' }, 'whole-object read fails');
  await t.rejects(store.read(C, victim, unitIndex * U + 10, 1), { code: 'EIO' }, 'a one-byte read of the unit fails');
  t.ok((await store.read(C, victim, 0, unitIndex * U)).equals(data.subarray(0, unitIndex * U)), 'units before still read');
  t.ok((await store.read(C, victim, (unitIndex + 1) * U)).equals(data.subarray((unitIndex + 1) * U)), 'units after still read');
  t.ok((await store.read(C, bystander)).equals(other), 'other objects unaffected');
  const shallow = await store.fsck();
  t.ok(shallow.clean, 'metadata is still consistent');
  const deep = await store.fsck({ deep: true });
  t.notOk(deep.clean);
  t.equal(deep.problemCount, 1);
  t.match(deep.problems[0], { kind: 'checksum', message: /rbd_data\.abc\.0000000000000001.*offset 1212416/ });
  // A clone shares the bad unit: it reports EIO too (never wrong bytes).
  await store.queueTransaction(new Transaction().clone(C, victim, objectId(2, 0xdeadbeef, 'rbd_data.abc.0000000000000001', { snap: 3 })));
  await t.rejects(store.read(C, objectId(2, 0xdeadbeef, 'rbd_data.abc.0000000000000001', { snap: 3 }), unitIndex * U, U), { code: 'EIO' });
  // Repair by rewriting the unit from a good copy (what recovery from a replica does).
  await store.queueTransaction(new Transaction().write(C, victim, unitIndex * U, data.subarray(unitIndex * U, (unitIndex + 1) * U))
    .remove(C, objectId(2, 0xdeadbeef, 'rbd_data.abc.0000000000000001', { snap: 3 })));
  t.ok((await store.read(C, victim)).equals(data));
  t.ok((await store.fsck({ deep: true })).clean, 'clean after the rewrite');
  await store.umount();
});

t.test('a corrupted superblock refuses to mount', async (t) => {
  const dir = tempDir('bitrot-sb');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await mkfs(dir, { sizeBytes: 8 * 1024 * 1024 });
  flipBytes(dir, 20, 1);
  await t.rejects(new BlockStore(dir).mount(), { code: 'EIO' });
});
