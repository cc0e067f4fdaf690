/**
 * `nacre rados -p POOL bench SECONDS write|seq|rand [-b BYTES] [-t CONCURRENCY] [--no-cleanup]
 * [--run-name NAME] [--format json]` — rados-bench style load generator.
 *
 * - `write`: keep CONCURRENCY whole-object writes of BYTES in flight for SECONDS (objects
 *   `benchmark_data_<host>_<pid>_object<N>`), then wait for the ones in flight. Without
 *   `--no-cleanup` the objects are removed afterwards; with it they stay and a metadata object
 *   (`--run-name`, default `benchmark_last_metadata`) records them for `seq`/`rand`.
 * - `seq`: read those objects back in order (until all are read or SECONDS pass); `rand`: read
 *   random ones of them for SECONDS. Each read is checked against the written size.
 *
 * Prints a progress line per second (`sec Cur ops started finished avg MB/s cur MB/s last lat(s)
 * avg lat(s)`) and a summary: bandwidth (MB/s, MB = 2^20 bytes as rados bench counts), IOPS, and
 * average/stddev/max/min latency in seconds. With `--format json` the summary is one JSON object
 * on stdout and the progress lines go to stderr.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { IoCtx } from '@nacre/client';
import { NacreError, Prng } from '@nacre/util';
import type { CommandIo } from '../main.js';

export type BenchMode = 'write' | 'seq' | 'rand';

export interface BenchConfig {
  seconds: number;
  mode: BenchMode;
  blockBytes: number;
  concurrency: number;
  cleanup: boolean;
  runName: string;
  json: boolean;
}

interface BenchMetadata {
  prefix: string;
  objects: number;
  objectBytes: number;
}

/** Running statistics without keeping every sample. */
class Stat {
  count = 0;
  sum = 0;
  sumSq = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  add(v: number): void {
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    this.min = Math.min(this.min, v);
    this.max = Math.max(this.max, v);
  }

  get avg(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  get stddev(): number {
    if (this.count < 2) return 0;
    const v = (this.sumSq - (this.sum * this.sum) / this.count) / (this.count - 1);
    return Math.sqrt(Math.max(0, v));
  }

  get minOrZero(): number {
    return this.count === 0 ? 0 : this.min;
  }
}

const mib = 1024 * 1024;

export async function runBench(ioctx: IoCtx, cfg: BenchConfig, io: CommandIo): Promise<number> {
  const progress = cfg.json ? io.stderr : io.stdout;
  if (cfg.mode === 'write') {
    const prefix = `benchmark_data_${hostname()}_${process.pid}`;
    progress(`Maintaining ${cfg.concurrency} concurrent writes of ${cfg.blockBytes} bytes to objects of size ${cfg.blockBytes} for up to ${cfg.seconds} seconds\n`);
    progress(`Object prefix: ${prefix}\n`);
    const data = Buffer.from(new Prng(process.pid).fill(new Uint8Array(cfg.blockBytes)));
    const result = await drive(cfg, progress, (i) => ({ index: i, run: () => ioctx.writeFull(objectName(prefix, i), data).then(() => {}) }), null);
    printSummary(io, cfg, result);
    if (cfg.cleanup) {
      progress('Cleaning up (deleting benchmark objects)\n');
      const t0 = performance.now();
      await removeObjects(ioctx, prefix, result.started, cfg.concurrency);
      await ioctx.remove(cfg.runName).catch(() => {});
      progress(`Clean up completed and total clean up time :${((performance.now() - t0) / 1000).toFixed(6)}\n`);
    } else {
      const meta: BenchMetadata = { prefix, objects: result.started, objectBytes: cfg.blockBytes };
      await ioctx.writeFull(cfg.runName, JSON.stringify(meta));
    }
    return 0;
  }
  const meta = await readMetadata(ioctx, cfg.runName);
  if (meta.objects === 0) throw new NacreError(`benchmark run ${cfg.runName} wrote no objects`, { code: 'ENOENT' });
  const reads = { ...cfg, blockBytes: meta.objectBytes };
  const rng = new Prng(process.pid);
  const pick = cfg.mode === 'seq' ? (i: number) => (i < meta.objects ? i : -1) : () => rng.int(0, meta.objects - 1);
  const result = await drive(reads, progress, (i) => {
    const index = pick(i);
    if (index < 0) return null;
    return {
      index,
      run: async () => {
        const got = await ioctx.read(objectName(meta.prefix, index), { lengthBytes: meta.objectBytes });
        if (got.length !== meta.objectBytes) {
          throw new NacreError(`${objectName(meta.prefix, index)} has ${got.length} bytes, ${meta.objectBytes} were written`, { code: 'EIO' });
        }
      },
    };
  }, cfg.mode === 'seq' ? meta.objects : null);
  printSummary(io, reads, result);
  return 0;
}

function objectName(prefix: string, index: number): string {
  return `${prefix}_object${index}`;
}

async function readMetadata(ioctx: IoCtx, runName: string): Promise<BenchMetadata> {
  let raw: Buffer;
  try {
    raw = await ioctx.read(runName);
  } catch (err) {
    if ((err as NacreError).code === 'ENOENT') {
      throw new NacreError(`no benchmark objects in pool ${ioctx.poolName}: run 'bench SECONDS write --no-cleanup' first (metadata object ${runName} not found)`, { code: 'ENOENT' });
    }
    throw err;
  }
  let meta: BenchMetadata;
  try {
    meta = JSON.parse(raw.toString('utf8')) as BenchMetadata;
  } catch {
    throw new NacreError(`benchmark metadata object ${runName} is not valid JSON`, { code: 'EINVAL' });
  }
  if (typeof meta.prefix !== 'string' || !Number.isSafeInteger(meta.objects) || !Number.isSafeInteger(meta.objectBytes)) {
    throw new NacreError(`benchmark metadata object ${runName} is malformed`, { code: 'EINVAL' });
  }
  return meta;
}

/** Remove objects 0..count-1 of a run with `concurrency` in flight (missing ones are fine). */
export async function removeObjects(ioctx: IoCtx, prefix: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await ioctx.remove(objectName(prefix, i)).catch((err: NacreError) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(count, 1)) }, worker));
}

/** Remove what a `write --no-cleanup` left behind (the `cleanup` subcommand). */
export async function cleanupBench(ioctx: IoCtx, runName: string, concurrency: number, io: CommandIo): Promise<number> {
  const meta = await readMetadata(ioctx, runName);
  await removeObjects(ioctx, meta.prefix, meta.objects, concurrency);
  await ioctx.remove(runName);
  io.stdout(`removed ${meta.objects} benchmark objects\n`);
  return 0;
}

interface DriveResult {
  started: number;
  finished: number;
  elapsedS: number;
  latencyS: Stat;
  perSecondMBps: Stat;
  perSecondIops: Stat;
}

/**
 * Keep `concurrency` operations in flight until `seconds` pass (or `limit` operations were
 * started), printing one progress line per second; then wait for the ones in flight.
 */
async function drive(
  cfg: BenchConfig, progress: (text: string) => void,
  makeOp: (i: number) => { index: number; run: () => Promise<void> } | null, limit: number | null,
): Promise<DriveResult> {
  const startMs = performance.now();
  const endMs = startMs + cfg.seconds * 1000;
  const latencyS = new Stat();
  const perSecondMBps = new Stat();
  const perSecondIops = new Stat();
  let started = 0;
  let finished = 0;
  let inFlight = 0;
  let lastLatS = 0;
  let finishedAtLastTick = 0;
  let failure: Error | null = null;
  progress('  sec Cur ops   started  finished  avg MB/s  cur MB/s last lat(s)  avg lat(s)\n');
  let sec = 0;
  const tick = (): void => {
    sec++;
    const elapsedS = (performance.now() - startMs) / 1000;
    const curOps = finished - finishedAtLastTick;
    finishedAtLastTick = finished;
    const curMBps = (curOps * cfg.blockBytes) / mib;
    perSecondMBps.add(curMBps);
    perSecondIops.add(curOps);
    const avgMBps = elapsedS > 0 ? (finished * cfg.blockBytes) / mib / elapsedS : 0;
    progress(`${pad(sec, 5)} ${pad(inFlight, 7)} ${pad(started, 9)} ${pad(finished, 9)} ${pad(avgMBps.toFixed(3), 9)} ${pad(curMBps.toFixed(0), 9)} ${pad(lastLatS.toFixed(6), 11)} ${pad(latencyS.avg.toFixed(6), 11)}\n`);
  };
  const ticker = setInterval(tick, 1000);
  const worker = async (): Promise<void> => {
    while (failure === null && performance.now() < endMs && (limit === null || started < limit)) {
      const op = makeOp(started);
      if (op === null) return;
      started++;
      inFlight++;
      const t0 = performance.now();
      try {
        await op.run();
      } catch (err) {
        failure ??= err as Error;
        return;
      } finally {
        inFlight--;
      }
      lastLatS = (performance.now() - t0) / 1000;
      latencyS.add(lastLatS);
      finished++;
    }
  };
  try {
    await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  } finally {
    clearInterval(ticker);
  }
  if (failure !== null) throw failure;
  const elapsedS = (performance.now() - startMs) / 1000;
  if (sec === 0) tick(); // runs shorter than a second still show one line
  return { started, finished, elapsedS, latencyS, perSecondMBps, perSecondIops };
}

function pad(v: string | number, width: number): string {
  return String(v).padStart(width);
}

function printSummary(io: CommandIo, cfg: BenchConfig, r: DriveResult): void {
  const bandwidth = r.elapsedS > 0 ? (r.finished * cfg.blockBytes) / mib / r.elapsedS : 0;
  const iops = r.elapsedS > 0 ? r.finished / r.elapsedS : 0;
  const writing = cfg.mode === 'write';
  if (cfg.json) {
    io.stdout(JSON.stringify({
      mode: cfg.mode,
      total_time_run: round(r.elapsedS),
      [writing ? 'total_writes_made' : 'total_reads_made']: r.finished,
      [writing ? 'write_size' : 'read_size']: cfg.blockBytes,
      object_size: cfg.blockBytes,
      concurrency: cfg.concurrency,
      bandwidth: round(bandwidth),
      stddev_bandwidth: round(r.perSecondMBps.stddev),
      max_bandwidth: round(r.perSecondMBps.max),
      min_bandwidth: round(r.perSecondMBps.minOrZero),
      average_iops: Math.round(iops),
      stddev_iops: round(r.perSecondIops.stddev),
      max_iops: r.perSecondIops.max,
      min_iops: r.perSecondIops.minOrZero,
      average_latency: round(r.latencyS.avg),
      stddev_latency: round(r.latencyS.stddev),
      max_latency: round(r.latencyS.max),
      min_latency: round(r.latencyS.minOrZero),
    }) + '\n');
    return;
  }
  const rows: [string, string | number][] = [
    ['Total time run', r.elapsedS.toFixed(4)],
    [writing ? 'Total writes made' : 'Total reads made', r.finished],
    [writing ? 'Write size' : 'Read size', cfg.blockBytes],
    ['Object size', cfg.blockBytes],
    ['Bandwidth (MB/sec)', bandwidth.toFixed(3)],
    ...(writing ? [
      ['Stddev Bandwidth', r.perSecondMBps.stddev.toFixed(3)],
      ['Max bandwidth (MB/sec)', r.perSecondMBps.max.toFixed(0)],
      ['Min bandwidth (MB/sec)', r.perSecondMBps.minOrZero.toFixed(0)],
    ] as [string, string][] : []),
    ['Average IOPS', Math.round(iops)],
    ['Stddev IOPS', r.perSecondIops.stddev.toFixed(3)],
    ['Max IOPS', r.perSecondIops.max],
    ['Min IOPS', r.perSecondIops.minOrZero],
    ['Average Latency(s)', r.latencyS.avg.toFixed(6)],
    ...(writing ? [['Stddev Latency(s)', r.latencyS.stddev.toFixed(6)]] as [string, string][] : []),
    ['Max latency(s)', r.latencyS.max.toFixed(6)],
    ['Min latency(s)', r.latencyS.minOrZero.toFixed(6)],
  ];
  for (const [k, v] of rows) io.stdout(`${(k + ':').padEnd(24)}${v}\n`);
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
