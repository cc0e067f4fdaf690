/**
 * Parent side of the crash test: runs torture-worker.js as a real child process, kills it with
 * SIGKILL at random moments (or lets it kill itself at a chosen commit phase), then remounts the
 * store, runs a deep fsck and checks that the surviving state is exactly the state after some
 * prefix of the transaction stream that includes every acknowledged transaction: nothing
 * acknowledged is lost and no transaction is half-applied. Used by the test suite (≥ 50 cycles)
 * and by the soak mode of bench/objectstore (more).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Prng } from '@nacre/util';
import { BlockStore, mkfs } from '../block-store.js';
import { Transaction } from '../txn.js';
import { modelsEqual, readTortureModel, tortureCollection, tortureTransaction, type TortureModel } from './torture.js';

export interface CrashTestOptions {
  dir: string;
  seed: number;
  cycles: number;
  /** Transactions the worker keeps in flight (group commit). */
  queueDepth?: number;
  /** Called with one line per cycle. */
  log?: (line: string) => void;
  /** Give up on a worker that neither acks nor dies for this long. */
  cycleTimeoutMs?: number;
}

export interface CrashTestResult {
  cycles: number;
  transactionsAcked: number;
  /** Transactions found durable although the kill came before their ack. */
  transactionsUnackedButDurable: number;
  selfKills: number;
}

const crashPhases = ['data-written', 'data-synced', 'metadata-committed'] as const;
const workerPath = fileURLToPath(new URL('./torture-worker.js', import.meta.url));

interface CycleOutcome { ackedThrough: number; signal: string | null; output: string }

/** Run the worker until it dies; kill it once `killAfterAcks` acks arrived (+ a short delay). */
function runWorker(args: string[], killAfterAcks: number | null, killDelayMs: number, timeoutMs: number): Promise<CycleOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [workerPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ackedThrough = -1;
    let acks = 0;
    let output = '';
    let buffered = '';
    let killScheduled = false;
    const kill = (): void => { if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL'); };
    const timer = setTimeout(() => { output += '\n[timeout]'; kill(); }, timeoutMs);
    const scheduleKill = (): void => {
      if (killScheduled) return;
      killScheduled = true;
      setTimeout(kill, killDelayMs);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        output += line + '\n';
        const m = /^ACK (\d+)$/.exec(line);
        if (m !== null) {
          const seq = Number(m[1]);
          if (seq !== ackedThrough + 1 && ackedThrough >= 0) output += `[ack out of order: ${seq} after ${ackedThrough}]\n`;
          ackedThrough = Math.max(ackedThrough, seq);
          acks++;
        }
        if (killAfterAcks !== null && ((line === 'READY' && killAfterAcks === 0) || (m !== null && acks >= killAfterAcks))) scheduleKill();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { output += chunk; });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ ackedThrough, signal, output });
    });
  });
}

export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestResult> {
  const { dir, seed, cycles } = options;
  const queueDepth = options.queueDepth ?? 4;
  const log = options.log ?? (() => {});
  const rng = new Prng(seed);
  await mkfs(dir, { sizeBytes: 192 * 1024 * 1024 });
  {
    const store = new BlockStore(dir);
    await store.mount();
    await store.queueTransaction(new Transaction().createCollection(tortureCollection));
    await store.umount();
  }
  let model: TortureModel = new Map();
  let nextSeq = 0;
  const result: CrashTestResult = { cycles: 0, transactionsAcked: 0, transactionsUnackedButDurable: 0, selfKills: 0 };
  for (let cycle = 0; cycle < cycles; cycle++) {
    const selfKill = rng.int(0, 3) === 0;
    const args = ['--dir', dir, '--seed', String(seed), '--next-seq', String(nextSeq), '--queue-depth', String(queueDepth)];
    let killAfterAcks: number | null = null;
    if (selfKill) {
      args.push('--crash-phase', rng.pick(crashPhases), '--crash-after-commits', String(rng.int(1, 12)));
    } else {
      killAfterAcks = rng.int(0, 25);
    }
    const killDelayMs = rng.int(0, 12);
    const outcome = await runWorker(args, killAfterAcks, killDelayMs, options.cycleTimeoutMs ?? 60_000);
    if (outcome.signal !== 'SIGKILL' || /ERR|timeout|out of order/.test(outcome.output)) {
      throw new Error(`cycle ${cycle}: worker ended with ${outcome.signal ?? 'exit'}:\n${outcome.output.slice(-2000)}`);
    }
    const verified = await verifySurvivors(dir, seed, model, nextSeq, outcome.ackedThrough, queueDepth);
    const acked = Math.max(0, outcome.ackedThrough - nextSeq + 1);
    result.transactionsAcked += acked;
    result.transactionsUnackedButDurable += verified.durableThrough - Math.max(outcome.ackedThrough, nextSeq - 1);
    if (selfKill) result.selfKills++;
    result.cycles++;
    log(`cycle ${cycle}: ${selfKill ? `self-kill at ${args[args.indexOf('--crash-phase') + 1]}` : `kill after ${killAfterAcks} acks +${killDelayMs} ms`}; `
      + `acked through ${outcome.ackedThrough}, durable through ${verified.durableThrough}`);
    model = verified.model;
    nextSeq = verified.durableThrough + 1;
  }
  return result;
}

/**
 * Mount, deep fsck, and find the prefix the store holds: the state after transaction K for some
 * K in [ackedThrough, ackedThrough + queueDepth]; anything else is a lost ack or a torn transaction.
 */
async function verifySurvivors(dir: string, seed: number, base: TortureModel, nextSeq: number, ackedThrough: number, queueDepth: number): Promise<{ model: TortureModel; durableThrough: number }> {
  const store = new BlockStore(dir);
  await store.mount();
  try {
    const report = await store.fsck({ deep: true });
    if (!report.clean) throw new Error(`deep fsck after kill: ${JSON.stringify(report.problems.slice(0, 10))}`);
    const found = await readTortureModel(store);
    let model = base;
    let seq = nextSeq - 1;
    const lastCandidate = Math.max(ackedThrough, nextSeq - 1) + queueDepth;
    for (;;) {
      if (seq >= ackedThrough && modelsEqual(model, found)) return { model, durableThrough: seq };
      if (seq >= lastCandidate) break;
      seq++;
      model = tortureTransaction(seed, seq, model).model;
    }
    throw new Error(`store state after the kill matches no prefix of transactions ${ackedThrough}..${lastCandidate} (acked through ${ackedThrough})`);
  } finally {
    await store.umount();
  }
}
