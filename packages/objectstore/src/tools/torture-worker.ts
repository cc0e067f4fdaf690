/**
 * Child process of the crash test: mounts a store, reads back what survived, then applies the
 * torture workload from `--next-seq` on, with `--queue-depth` transactions in flight, printing
 * `ACK <seq>` once each transaction is durable. It never exits by itself: the parent kills it
 * with SIGKILL, or it kills itself (`--crash-phase P --crash-after-commits N`: at phase P of its
 * N-th group commit) to hit the windows between data sync and metadata commit exactly.
 *
 *   node packages/objectstore/dist/tools/torture-worker.js --dir D --seed S --next-seq N \
 *        [--queue-depth Q] [--crash-phase data-written|data-synced|metadata-committed --crash-after-commits N]
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { BlockStore } from '../block-store.js';
import { readTortureModel, tortureTransaction } from './torture.js';

/** Stop on our own after this many transactions (a parent that forgot to kill us). */
const workerTxnsMax = 100_000;

function say(line: string): void {
  // Synchronous write: a line is either fully in the pipe or not at all when SIGKILL lands.
  fs.writeSync(1, line + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' }, seed: { type: 'string' }, 'next-seq': { type: 'string' },
      'queue-depth': { type: 'string', default: '4' }, 'crash-phase': { type: 'string' },
      'crash-after-commits': { type: 'string', default: '1' },
    },
  });
  const dir = values.dir!;
  const seed = Number(values.seed);
  let seq = Number(values['next-seq']);
  const queueDepth = Number(values['queue-depth']);
  const crashPhase = values['crash-phase'];
  let commitsLeft = Number(values['crash-after-commits']);
  const store = new BlockStore(dir, {
    onCommitPhase: (phase) => {
      if (phase === crashPhase && --commitsLeft <= 0) process.kill(process.pid, 'SIGKILL');
    },
  });
  await store.mount();
  let model = await readTortureModel(store);
  say('READY');
  const lastSeq = seq + workerTxnsMax;
  const inFlight = new Set<Promise<void>>();
  while (seq < lastSeq) {
    const next = tortureTransaction(seed, seq, model);
    model = next.model;
    const mySeq = seq++;
    const p: Promise<void> = store.queueTransaction(next.txn).then(
      () => { say(`ACK ${mySeq}`); inFlight.delete(p); },
      (err: unknown) => { say(`ERR ${mySeq} ${(err as Error).message}`); process.exit(1); },
    );
    inFlight.add(p);
    if (inFlight.size >= queueDepth) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await store.umount();
}

main().catch((err: unknown) => {
  say(`ERR ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
