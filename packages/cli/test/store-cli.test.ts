/** `nacre store mkfs|fsck|ls|stat|bench` run as a real child process (`node bin/nacre store ...`). */
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BlockStore, Transaction, objectId } from '@nacre/objectstore';
import { nacreProcess } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'nacre-store-cli-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

t.test('mkfs, stat, ls, fsck, bench', async (t) => {
  const path = join(root, 'osd0');
  const mk = nacreProcess(['store', 'mkfs', '--path', path, '--size', '64M']);
  t.equal(mk.code, 0, mk.stderr);
  t.match(mk.stdout, /created store/);
  const again = nacreProcess(['store', 'mkfs', '--path', path, '--size', '64M']);
  t.equal(again.code, 1, 'mkfs over an existing store fails');
  t.match(again.stderr, /^nacre: .*already holds a store\n$/);
  t.ok(statSync(join(path, 'block')).blocks * 512 < 4 * 1024 * 1024, 'the block file is sparse by default');
  const pre = join(root, 'prealloc');
  const mkPre = nacreProcess(['store', 'mkfs', '--path', pre, '--size', '16M', '--preallocate', '--format', 'json']);
  t.equal(mkPre.code, 0, mkPre.stderr);
  t.same(JSON.parse(mkPre.stdout), { path: pre, sizeBytes: 16 * 1024 * 1024, preallocate: true });
  t.ok(statSync(join(pre, 'block')).blocks * 512 >= 16 * 1024 * 1024, '--preallocate: every byte of the block file is allocated');
  t.equal(nacreProcess(['store', 'fsck', '--path', pre, '--deep']).code, 0, 'a preallocated store is clean');

  // Put some objects in with the library.
  const s = new BlockStore(path);
  await s.mount();
  const txn = new Transaction().createCollection('1.0_head').createCollection('1.1_head');
  for (let i = 0; i < 5; i++) txn.write('1.0_head', objectId(1, i * 0x10000001, `obj${i}`), 0, Buffer.alloc(1000 * (i + 1), i));
  await s.queueTransaction(txn);
  await s.umount();

  const stat = nacreProcess(['store', 'stat', '--path', path, '--format', 'json']);
  t.equal(stat.code, 0, stat.stderr);
  const fs = JSON.parse(stat.stdout) as { totalBytes: number; objectCount: number; storedBytes: number; collectionCount: number };
  t.equal(fs.totalBytes, 64 * 1024 * 1024 - 32 * 1024);
  t.equal(fs.objectCount, 5);
  t.equal(fs.storedBytes, 15000);
  t.equal(fs.collectionCount, 2);
  t.match(nacreProcess(['store', 'stat', '--path', path]).stdout, /objects\s+5/);

  const ls = nacreProcess(['store', 'ls', '--path', path, '--format', 'json']);
  t.same(JSON.parse(ls.stdout), [{ collection: '1.0_head', objects: 5 }, { collection: '1.1_head', objects: 0 }]);
  const lsObj = nacreProcess(['store', 'ls', '--path', path, '--collection', '1.0_head', '--format', 'json']);
  const rows = JSON.parse(lsObj.stdout) as Array<{ name: string; sizeBytes: number }>;
  t.equal(rows.length, 5);
  t.same(rows.map((r) => r.name).sort(), ['obj0', 'obj1', 'obj2', 'obj3', 'obj4']);
  const plain = nacreProcess(['store', 'ls', '--path', path, '--collection', '1.0_head']);
  t.equal(plain.stdout.trim().split('\n').length, 5);
  t.equal(nacreProcess(['store', 'ls', '--path', path, '--collection', 'nope']).code, 1);

  const fsck = nacreProcess(['store', 'fsck', '--path', path, '--deep']);
  t.equal(fsck.code, 0, fsck.stderr);
  t.match(fsck.stdout, /clean/);

  const bench = nacreProcess(['store', 'bench', '--path', path, '--count', '8', '--object-size', '1M', '--format', 'json']);
  t.equal(bench.code, 0, bench.stderr);
  const b = JSON.parse(bench.stdout) as { objects: number; writeMBps: number; readMBps: number };
  t.equal(b.objects, 8);
  t.ok(b.writeMBps > 0 && b.readMBps > 0);
  t.equal(JSON.parse(nacreProcess(['store', 'stat', '--path', path, '--format', 'json']).stdout).objectCount, 5, 'bench cleaned up');

  // Rot a data unit: deep fsck exits 1 and names the problem.
  const meta = JSON.parse(nacreProcess(['store', 'fsck', '--path', path, '--format', 'json']).stdout) as { clean: boolean };
  t.ok(meta.clean);
  const s2 = new BlockStore(path);
  await s2.mount();
  const at = (await s2.physicalOffsetOf('1.0_head', objectId(1, 4 * 0x10000001, 'obj4'), 100))!;
  await s2.umount();
  const fd = openSync(join(path, 'block'), 'r+');
  writeSync(fd, Buffer.from([0xff, 0x00, 0xff]), 0, 3, at);
  closeSync(fd);
  const bad = nacreProcess(['store', 'fsck', '--path', path, '--deep', '--format', 'json']);
  t.equal(bad.code, 1);
  const report = JSON.parse(bad.stdout) as { clean: boolean; problems: Array<{ kind: string }> };
  t.notOk(report.clean);
  t.equal(report.problems[0]?.kind, 'checksum');
  t.ok(readFileSync(join(path, 'block')).length > 0);
});

t.test('bad input: one clear line, exit 2', async (t) => {
  for (const args of [
    ['store'],
    ['store', 'frobnicate', '--path', root],
    ['store', 'mkfs', '--size', '1G'],
    ['store', 'mkfs', '--path', join(root, 'x'), '--size', 'lots'],
    ['store', 'mkfs', '--path', join(root, 'y'), '--size', '1K'],
    ['store', 'fsck', '--path', root, '--bogus'],
    ['store', 'stat', '--path', root, '--format', 'yaml'],
    ['store', 'bench', '--path', root, '--count', '0'],
  ]) {
    const r = nacreProcess(args);
    t.equal(r.code, 2, `${args.join(' ')} → exit 2`);
    if (args.length > 1) t.match(r.stderr, /^nacre: [^\n]+\n$/, `${args.join(' ')}: one line`);
  }
  const missing = nacreProcess(['store', 'stat', '--path', join(root, 'does-not-exist')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^nacre: cannot open block file/);
});
