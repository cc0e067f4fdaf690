/** The README's example runs as written against a fake cluster (nacre.conf in the working directory). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ObjectOperation, connect } from '@nacre/client';
import { FakeCluster } from '@nacre/client/testing';

t.test('README example', async (t) => {
  const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  const body = block.split('\n').filter((l) => !l.startsWith('import ')).join('\n');
  const fc = await FakeCluster.start({ hosts: 3, osdsPerHost: 1, pools: [{ name: 'rbd', pgNum: 8 }] });
  const dir = mkdtempSync(join(tmpdir(), 'nacre-readme-'));
  fc.writeConf(dir);
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(async () => {
    process.chdir(cwd);
    await fc.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const printed: unknown[][] = [];
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
  const run = new AsyncFunction('connect', 'ObjectOperation', 'console', body);
  await run(connect, ObjectOperation, { log: (...a: unknown[]) => printed.push(a) });
  t.equal(printed[0]![0], 'hello, world');
  t.match(printed[1]![0], { sizeBytes: 12 });
  t.same(printed.slice(2).map((p) => p[0]), ['greeting'], 'ls lists the one object');
});
