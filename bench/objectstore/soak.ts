/**
 * Long crash soak: the kill -9 crash test of the test suite with many more cycles.
 *
 *   ./node_modules/.bin/tsc -b packages/objectstore
 *   node --import tsx bench/objectstore/soak.ts [--cycles 500] [--queue-depth 8] [--seed N] [--dir DIR]
 *
 * Prints the seed first; the same seed replays the same transaction stream and kill plan (kill
 * timing still depends on the machine). Exits non-zero on the first lost ack, torn transaction or
 * fsck problem.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { runCrashTest } from '@nacre/objectstore/tools/crash-harness';
import { seedFromEnv } from '@nacre/util';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '500' },
    'queue-depth': { type: 'string', default: '8' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    soak: { type: 'boolean' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : seedFromEnv();
const cycles = Number(values.cycles);
console.log(`objectstore crash soak: seed ${seed}, ${cycles} cycles (reproduce with --seed ${seed})`);
const dir = fs.mkdtempSync(join(values.dir ?? tmpdir(), 'nacre-soak-os-'));
const t0 = performance.now();
try {
  const result = await runCrashTest({
    dir, seed, cycles, queueDepth: Number(values['queue-depth']),
    log: (line) => { if (/^cycle \d*0:/.test(line)) console.log(line); },
  });
  console.log(`${result.cycles} cycles in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${result.transactionsAcked} acked transactions all durable, `
    + `${result.transactionsUnackedButDurable} durable before their ack, ${result.selfKills} kills inside the commit protocol`);
  console.log('RESULT ' + JSON.stringify({ bench: 'objectstore-soak', seed, ...result }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
