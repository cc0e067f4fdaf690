/**
 * bench/msgr: the messenger on each of its transports (WebSocket `ws`, plain TCP records `tcp`)
 * against a plain `net` socket baseline, two processes on 127.0.0.1 (this one sends,
 * bench/msgr/peer.ts receives), in one run:
 *   - 4 MiB one-way messages, MB/s (sender keeps going while the transport accepts; the figure
 *     counts what the receiver confirms);
 *   - 4 KiB request/reply (4 KiB echoed back), ops/s and p50/p99 latency, 1 and 32 outstanding.
 *
 *   npm run bench -- msgr [--seconds S] [--rounds R]
 *   node --import tsx bench/msgr/run.ts [--seconds 2] [--rounds 3]      (after tsc -b)
 *
 * Each round runs every case on every path, rotating the order; medians over rounds are
 * reported. Besides speed: CPU time per message/operation in the sender and in the peer, and the
 * garbage collections they caused (all, and mark-compact) — what the tcp transport is for.
 * Prints human lines, then one JSON line (`{"bench":"msgr",...}`). Target: 4 MiB one-way
 * ≥ 0.8 × the net baseline. No assertions: machines are noisy, compare the ratios.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, realEnv } from '@nacre/util';
import { Keyring, createMessenger, createTransport, type Connection, type Messenger } from '@nacre/msgr';
import { BenchCpu, BenchData, BenchEcho, BenchSync, GcCounter, NetKind, NetReader, cpuSampleFields, netHeader, type CpuSample } from './protocol.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = arg('--seconds', 2);
const rounds = arg('--rounds', 3);
const bigBytes = 4 * 1024 * 1024;
const smallBytes = 4 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const paths = ['ws', 'tcp', 'net'] as const;
type PathName = (typeof paths)[number];

/** What one case cost per operation, in this process (A) and in the peer (B). */
interface Cost {
  cpuUsPerOp: number;
  peerCpuUsPerOp: number;
  /** Garbage collections (all kinds) per 1000 operations. */
  gcPerKop: number;
  peerGcPerKop: number;
  /** Mark-compact GCs per 1000 operations, and their time per operation (µs). */
  majorGcPerKop: number;
  peerMajorGcPerKop: number;
  peerMajorGcUsPerOp: number;
}
interface Throughput extends Cost { mbPerS: number; ops: number }
interface Latency extends Cost { opsPerS: number; p50Us: number; p99Us: number; ops: number }

/** One way of moving the bench's messages: a messenger connection or the raw baseline. */
interface BenchPath {
  oneway(data: Buffer): Promise<{ mbPerS: number; ops: number }>;
  reqRep(data: Buffer, outstanding: number): Promise<{ opsPerS: number; p50Us: number; p99Us: number; ops: number }>;
  peerSample(): Promise<CpuSample>;
  warmUp(big: Buffer, small: Buffer): Promise<void>;
}

const selfGc = new GcCounter();

/** Run a case and attach what it cost on both sides, divided by its operations. */
async function withCost<T extends { ops: number }>(path: BenchPath, run: () => Promise<T>): Promise<T & Cost> {
  const peer0 = await path.peerSample();
  const self0 = selfGc.sample();
  const r = await run();
  const self1 = selfGc.sample();
  const peer1 = await path.peerSample();
  const cpu = (a: CpuSample, b: CpuSample): number => b.userUs + b.systemUs - a.userUs - a.systemUs;
  const perKop = (n: number): number => (1000 * n) / r.ops;
  return {
    ...r,
    cpuUsPerOp: cpu(self0, self1) / r.ops,
    peerCpuUsPerOp: cpu(peer0, peer1) / r.ops,
    gcPerKop: perKop(self1.gcCount - self0.gcCount),
    peerGcPerKop: perKop(peer1.gcCount - peer0.gcCount),
    majorGcPerKop: perKop(self1.gcMajorCount - self0.gcMajorCount),
    peerMajorGcPerKop: perKop(peer1.gcMajorCount - peer0.gcMajorCount),
    peerMajorGcUsPerOp: (1000 * (peer1.gcMajorMs - peer0.gcMajorMs)) / r.ops,
  };
}

function percentile(sortedUs: Float64Array, p: number): number {
  return sortedUs.length === 0 ? 0 : sortedUs[Math.min(sortedUs.length - 1, Math.floor(p * sortedUs.length))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function summarize(latenciesUs: number[], elapsedMs: number): { opsPerS: number; p50Us: number; p99Us: number; ops: number } {
  const sorted = Float64Array.from(latenciesUs).sort();
  return { opsPerS: latenciesUs.length / (elapsedMs / 1000), p50Us: percentile(sorted, 0.5), p99Us: percentile(sorted, 0.99), ops: latenciesUs.length };
}

/** `outstanding` workers issuing `op` back to back for `seconds`. */
async function closedLoop(outstanding: number, op: () => Promise<unknown>): Promise<{ opsPerS: number; p50Us: number; p99Us: number; ops: number }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = performance.now();
      await op();
      latencies.push((performance.now() - s) * 1000);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, worker));
  return summarize(latencies, performance.now() - t0);
}

// ---------------------------------------------------------------- messenger side

function messengerPath(conn: Connection): BenchPath {
  return {
    async oneway(data) {
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      while (performance.now() < end) await conn.send(BenchData, { data });
      const got = await conn.request(BenchSync, {}, { timeoutMs: 120_000 });
      return { mbPerS: got.bytes / 1e6 / ((performance.now() - t0) / 1000), ops: got.messages };
    },
    reqRep: (data, outstanding) => closedLoop(outstanding, () => conn.request(BenchEcho, { data })),
    peerSample: () => conn.request(BenchCpu, {}),
    async warmUp(big, small) {
      for (let i = 0; i < 20; i++) await conn.send(BenchData, { data: big });
      await conn.request(BenchSync, {});
      for (let i = 0; i < 2000; i++) await conn.request(BenchEcho, { data: small });
    },
  };
}

// ---------------------------------------------------------------- net baseline side

class NetClient {
  private nextTid = 1;
  private readonly waiting = new Map<number, (body: Buffer) => void>();

  constructor(private readonly sock: Socket) {
    sock.setNoDelay(true);
    const reader = new NetReader((_kind, tid, body) => {
      const done = this.waiting.get(tid);
      this.waiting.delete(tid);
      done?.(body);
    });
    sock.on('data', (chunk: Buffer) => reader.push(chunk));
  }

  /** Write one message, waiting for 'drain' when the socket buffer is full (same backpressure idea). */
  async send(kind: number, tid: number, body: Buffer): Promise<void> {
    this.sock.cork();
    this.sock.write(netHeader(kind, tid, body.length));
    const ok = this.sock.write(body);
    this.sock.uncork();
    if (!ok) await once(this.sock, 'drain');
  }

  request(kind: number, body: Buffer): Promise<Buffer> {
    const tid = this.nextTid++;
    return new Promise((resolve) => {
      this.waiting.set(tid, resolve);
      void this.send(kind, tid, body);
    });
  }
}

function netPath(client: NetClient): BenchPath {
  return {
    async oneway(data) {
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      while (performance.now() < end) await client.send(NetKind.data, 0, data);
      const r = await client.request(NetKind.sync, Buffer.alloc(0));
      return { mbPerS: r.readDoubleLE(8) / 1e6 / ((performance.now() - t0) / 1000), ops: r.readDoubleLE(0) };
    },
    reqRep: (data, outstanding) => closedLoop(outstanding, () => client.request(NetKind.echo, data)),
    async peerSample() {
      const r = await client.request(NetKind.cpu, Buffer.alloc(0));
      const out = {} as CpuSample;
      cpuSampleFields.forEach((f, i) => (out[f] = r.readDoubleLE(8 * i)));
      return out;
    },
    async warmUp(big, small) {
      for (let i = 0; i < 20; i++) await client.send(NetKind.data, 0, big);
      await client.request(NetKind.sync, Buffer.alloc(0));
      for (let i = 0; i < 2000; i++) await client.request(NetKind.echo, small);
    },
  };
}

// ---------------------------------------------------------------- driver

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-bench-msgr-'));
  const keyring = new Keyring();
  keyring.add('mon.bench');
  keyring.add('client.bench');
  keyring.writeFile(join(dir, 'keyring'));
  const peer = spawn(process.execPath, ['--import', 'tsx', join(here, 'peer.ts'), '--keyring', join(dir, 'keyring')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const messengers: Messenger[] = [];
  try {
    const [line] = (await once(peer.stdout!, 'data')) as [Buffer];
    const ready = JSON.parse(line.toString('utf8').split('\n')[0]!) as { pid: number; wsPort: number; tcpPort: number; netPort: number };

    const env = realEnv(createLogger('bench', { level: 'warn' }));
    const benchPaths = {} as Record<PathName, BenchPath>;
    for (const [name, port] of [['ws', ready.wsPort], ['tcp', ready.tcpPort]] as const) {
      const msgr = createMessenger({ entity: 'client.bench', keyring }, { env, transport: createTransport(name) });
      messengers.push(msgr);
      await msgr.start();
      const conn = msgr.connect(`127.0.0.1:${port}`);
      await conn.ready();
      benchPaths[name] = messengerPath(conn);
    }
    const sock = connect(ready.netPort, '127.0.0.1');
    await once(sock, 'connect');
    benchPaths.net = netPath(new NetClient(sock));

    const big = Buffer.alloc(bigBytes, 0x5a);
    const small = Buffer.alloc(smallBytes, 0xa5);
    // Warm up JITs and socket buffers on every path.
    for (const p of paths) await benchPaths[p].warmUp(big, small);

    const results = {
      oneway: { ws: [], tcp: [], net: [] } as Record<PathName, Throughput[]>,
      qd1: { ws: [], tcp: [], net: [] } as Record<PathName, Latency[]>,
      qd32: { ws: [], tcp: [], net: [] } as Record<PathName, Latency[]>,
    };
    for (let r = 0; r < rounds; r++) {
      // Rotate which path goes first so drift in machine load hits all alike.
      const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
      for (const p of order) results.oneway[p].push(await withCost(benchPaths[p], () => benchPaths[p].oneway(big)));
      for (const p of order) results.qd1[p].push(await withCost(benchPaths[p], () => benchPaths[p].reqRep(small, 1)));
      for (const p of order) results.qd32[p].push(await withCost(benchPaths[p], () => benchPaths[p].reqRep(small, 32)));
      process.stderr.write(`round ${r + 1}/${rounds} done\n`);
    }

    const med = <T extends object>(xs: T[], key: keyof T, digits = 1): number => {
      const f = 10 ** digits;
      return Math.round(median(xs.map((x) => x[key] as number)) * f) / f;
    };
    const cost = (xs: Cost[]): Cost => ({
      cpuUsPerOp: med(xs, 'cpuUsPerOp'), peerCpuUsPerOp: med(xs, 'peerCpuUsPerOp'),
      gcPerKop: med(xs, 'gcPerKop'), peerGcPerKop: med(xs, 'peerGcPerKop'),
      majorGcPerKop: med(xs, 'majorGcPerKop', 2), peerMajorGcPerKop: med(xs, 'peerMajorGcPerKop', 2), peerMajorGcUsPerOp: med(xs, 'peerMajorGcUsPerOp'),
    });
    const perPath = <X, Y>(rs: Record<PathName, X[]>, f: (xs: X[]) => Y): Record<PathName, Y> => ({ ws: f(rs.ws), tcp: f(rs.tcp), net: f(rs.net) });
    const oneway = perPath(results.oneway, (xs) => ({ mbPerS: med(xs, 'mbPerS'), ...cost(xs) }));
    const lat = (xs: Latency[]): { opsPerS: number; p50Us: number; p99Us: number } & Cost => ({ opsPerS: med(xs, 'opsPerS'), p50Us: med(xs, 'p50Us'), p99Us: med(xs, 'p99Us'), ...cost(xs) });
    const qd1 = perPath(results.qd1, lat);
    const qd32 = perPath(results.qd32, lat);
    const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
    const f0 = (x: number): string => Math.round(x).toLocaleString('en-US');
    const costText = (c: Cost, unit: string, perK: string): string =>
      `cpu ${f0(c.cpuUsPerOp)}+${f0(c.peerCpuUsPerOp)} µs/${unit}  gc ${c.gcPerKop}+${c.peerGcPerKop} (major ${c.majorGcPerKop}+${c.peerMajorGcPerKop}) per ${perK}`;

    let pressure = 'n/a';
    try {
      pressure = readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0]!;
    } catch {
      // not Linux
    }
    const label: Record<PathName, string> = { ws: 'msgr ws ', tcp: 'msgr tcp', net: 'net     ' };
    console.log(`msgr bench: 2 processes on 127.0.0.1, ${cpus().length} CPUs, ${rounds} rounds × ${seconds} s per case, medians (cpu ${pressure})`);
    console.log('  (cpu A+B = CPU time in the sending process + in the peer, per message or operation; gc A+B = collections in each, per 1000)');
    for (const p of paths) {
      console.log(`  ${p === 'ws' ? '4 MiB one-way     ' : ' '.repeat(18)}  ${label[p]} ${f0(oneway[p].mbPerS).padStart(6)} MB/s  ${costText(oneway[p], 'msg', '1000 msgs')}`);
    }
    console.log(`                      ratio to net: ws ${ratio(oneway.ws.mbPerS, oneway.net.mbPerS)}, tcp ${ratio(oneway.tcp.mbPerS, oneway.net.mbPerS)} (target ≥ 0.8); tcp/ws ${ratio(oneway.tcp.mbPerS, oneway.ws.mbPerS)}`);
    for (const [name, r] of [['4 KiB req/rep qd1 ', qd1], ['4 KiB req/rep qd32', qd32]] as const) {
      for (const p of paths) {
        const x = r[p];
        console.log(`  ${p === 'ws' ? name : ' '.repeat(name.length)}  ${label[p]} ${f0(x.opsPerS).padStart(6)} ops/s  p50 ${f0(x.p50Us)} µs  p99 ${f0(x.p99Us)} µs  ${costText(x, 'op', '1000 ops')}`);
      }
      console.log(`                      ratio to net: ws ${ratio(r.ws.opsPerS, r.net.opsPerS)}, tcp ${ratio(r.tcp.opsPerS, r.net.opsPerS)}; tcp/ws ${ratio(r.tcp.opsPerS, r.ws.opsPerS)}`);
    }
    console.log(JSON.stringify({
      bench: 'msgr',
      seconds, rounds, cpus: cpus().length, cpuPressure: pressure,
      oneway4MiB: { ...oneway, ratio: { ws: ratio(oneway.ws.mbPerS, oneway.net.mbPerS), tcp: ratio(oneway.tcp.mbPerS, oneway.net.mbPerS) } },
      reqrep4KiB: {
        qd1: { ...qd1, ratio: { ws: ratio(qd1.ws.opsPerS, qd1.net.opsPerS), tcp: ratio(qd1.tcp.opsPerS, qd1.net.opsPerS) } },
        qd32: { ...qd32, ratio: { ws: ratio(qd32.ws.opsPerS, qd32.net.opsPerS), tcp: ratio(qd32.tcp.opsPerS, qd32.net.opsPerS) } },
      },
    }));
    sock.destroy();
  } finally {
    await Promise.all(messengers.map((m) => m.stop()));
    selfGc.stop();
    if (peer.exitCode === null && peer.pid !== undefined) {
      const exited = once(peer, 'exit');
      process.kill(peer.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
