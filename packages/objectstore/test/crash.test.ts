/**
 * Crash test with real processes: a child applies random transactions (4 KiB..4 MiB writes,
 * overwrites, truncates, removes, clones) and reports each acknowledged one; we kill -9 it at
 * random moments (and it kills itself between data sync and metadata commit), remount, run a deep
 * fsck and check that every acknowledged transaction is present and none is half-applied.
 * NACRE_CRASH_CYCLES overrides the number of cycles (default 50); NACRE_SEED reproduces a run.
 */
import t from 'tap';
import * as fs from 'node:fs';
import { runCrashTest } from '@nacre/objectstore/tools/crash-harness';
import { tempDir, testSeed } from './helpers.js';

const seed = testSeed('crash test');
const cycles = Number(process.env['NACRE_CRASH_CYCLES'] ?? 50);

t.test(`${cycles} kill -9 cycles`, async (t) => {
  const dir = tempDir('crash');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const result = await runCrashTest({ dir, seed, cycles, log: (line) => lines.push(line) });
  t.equal(result.cycles, cycles, 'every cycle killed, remounted, fsck-clean and verified');
  t.ok(result.transactionsAcked > cycles, `transactions acknowledged across kills: ${result.transactionsAcked}`);
  t.ok(result.selfKills > 0, `kills inside the commit protocol: ${result.selfKills}`);
  t.comment(`acked ${result.transactionsAcked}, durable-but-unacked ${result.transactionsUnackedButDurable}, self-kills ${result.selfKills}`);
  t.comment(lines.slice(0, 5).join('\n'));
});
