/**
 * bench/msgr: the messenger against a plain `net` socket baseline, two processes on 127.0.0.1
 * (this one sends, bench/msgr/peer.ts receives), in one run:
 *   - 4 MiB one-way messages, MB/s (sender keeps going while the transport accepts; the figure
 *     counts what the receiver confirms);
 *   - 4 KiB request/reply (4 KiB echoed back), ops/s and p50/p99 latency, 1 and 32 outstanding.
 *
 *   npm run bench -- msgr [--seconds S] [--rounds R]
 *   node --import tsx bench/msgr/run.ts [--seconds 2] [--rounds 3]      (after tsc -b)
 *
 * Each round runs every case on both transports, alternating; medians over rounds are reported.
 * Prints human lines, then one JSON line (`{"bench":"msgr",...}`). Target: 4 MiB one-way
 * ≥ 0.8 × the net baseline. No assertions: machines are noisy, compare the ratios.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, realEnv } from '@nacre/util';
import { Keyring, createMessenger, type Connection } from '@nacre/msgr';
import { BenchCpu, BenchData, BenchEcho, BenchSync, NetKind, NetReader, netHeader } from './protocol.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = arg('--seconds', 2);
const rounds = arg('--rounds', 3);
const bigBytes = 4 * 1024 * 1024;
const smallBytes = 4 * 1024;
const here = dirname(fileURLToPath(import.meta.url));

/** CPU time per operation (µs) in this process and in the peer: load-independent cost. */
interface Cpu { cpuUsPerOp: number; peerCpuUsPerOp: number }
interface Throughput extends Cpu { mbPerS: number; ops: number }
interface Latency extends Cpu { opsPerS: number; p50Us: number; p99Us: number; ops: number }

function cpuNowUs(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

/** Run a case and attach the CPU it cost on both sides, divided by its operations. */
async function withCpu<T extends { ops: number }>(peerCpuUs: () => Promise<number>, run: () => Promise<T>): Promise<T & Cpu> {
  const peer0 = await peerCpuUs();
  const self0 = cpuNowUs();
  const r = await run();
  const self1 = cpuNowUs();
  const peer1 = await peerCpuUs();
  return { ...r, cpuUsPerOp: (self1 - self0) / r.ops, peerCpuUsPerOp: (peer1 - peer0) / r.ops };
}

function percentile(sortedUs: Float64Array, p: number): number {
  return sortedUs.length === 0 ? 0 : sortedUs[Math.min(sortedUs.length - 1, Math.floor(p * sortedUs.length))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ---------------------------------------------------------------- messenger side

async function msgrPeerCpu(conn: Connection): Promise<number> {
  const c = await conn.request(BenchCpu, {});
  return c.userUs + c.systemUs;
}

async function msgrOneway(conn: Connection, data: Buffer): Promise<{ mbPerS: number; ops: number }> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) await conn.send(BenchData, { data });
  const got = await conn.request(BenchSync, {}, { timeoutMs: 120_000 });
  return { mbPerS: got.bytes / 1e6 / ((performance.now() - t0) / 1000), ops: got.messages };
}

async function msgrReqRep(conn: Connection, data: Buffer, outstanding: number): Promise<{ opsPerS: number; p50Us: number; p99Us: number; ops: number }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = performance.now();
      await conn.request(BenchEcho, { data });
      latencies.push((performance.now() - s) * 1000);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, worker));
  return summarize(latencies, performance.now() - t0);
}

function summarize(latenciesUs: number[], elapsedMs: number): { opsPerS: number; p50Us: number; p99Us: number; ops: number } {
  const sorted = Float64Array.from(latenciesUs).sort();
  return { opsPerS: latenciesUs.length / (elapsedMs / 1000), p50Us: percentile(sorted, 0.5), p99Us: percentile(sorted, 0.99), ops: latenciesUs.length };
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

async function netPeerCpu(client: NetClient): Promise<number> {
  const r = await client.request(NetKind.cpu, Buffer.alloc(0));
  return r.readDoubleLE(0) + r.readDoubleLE(8);
}

async function netOneway(client: NetClient, data: Buffer): Promise<{ mbPerS: number; ops: number }> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) await client.send(NetKind.data, 0, data);
  const r = await client.request(NetKind.sync, Buffer.alloc(0));
  return { mbPerS: r.readDoubleLE(8) / 1e6 / ((performance.now() - t0) / 1000), ops: r.readDoubleLE(0) };
}

async function netReqRep(client: NetClient, data: Buffer, outstanding: number): Promise<{ opsPerS: number; p50Us: number; p99Us: number; ops: number }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = performance.now();
      await client.request(NetKind.echo, data);
      latencies.push((performance.now() - s) * 1000);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, worker));
  return summarize(latencies, performance.now() - t0);
}

// ---------------------------------------------------------------- driver

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-bench-msgr-'));
  const keyring = new Keyring();
  keyring.add('mon.bench');
  keyring.add('client.bench');
  keyring.writeFile(join(dir, 'keyring'));
  const peer = spawn(process.execPath, ['--import', 'tsx', join(here, 'peer.ts'), '--keyring', join(dir, 'keyring')], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(peer.stdout!, 'data')) as [Buffer];
    const ready = JSON.parse(line.toString('utf8').split('\n')[0]!) as { pid: number; msgrPort: number; netPort: number };

    const msgr = createMessenger({ entity: 'client.bench', keyring }, { env: realEnv(createLogger('bench', { level: 'warn' })) });
    await msgr.start();
    const conn = msgr.connect(`127.0.0.1:${ready.msgrPort}`);
    await conn.ready();
    const sock = connect(ready.netPort, '127.0.0.1');
    await once(sock, 'connect');
    const net = new NetClient(sock);

    const big = Buffer.alloc(bigBytes, 0x5a);
    const small = Buffer.alloc(smallBytes, 0xa5);
    // Warm up JITs and socket buffers on both paths.
    for (let i = 0; i < 20; i++) {
      await conn.send(BenchData, { data: big });
      await net.send(NetKind.data, 0, big);
    }
    await conn.request(BenchSync, {});
    await net.request(NetKind.sync, Buffer.alloc(0));
    for (let i = 0; i < 2000; i++) {
      await conn.request(BenchEcho, { data: small });
      await net.request(NetKind.echo, small);
    }

    const results = { oneway: { msgr: [] as Throughput[], net: [] as Throughput[] }, qd1: { msgr: [] as Latency[], net: [] as Latency[] }, qd32: { msgr: [] as Latency[], net: [] as Latency[] } };
    for (let r = 0; r < rounds; r++) {
      // Alternate which transport goes first so drift in machine load hits both alike.
      const order: Array<'msgr' | 'net'> = r % 2 === 0 ? ['net', 'msgr'] : ['msgr', 'net'];
      const msgrCpu = (): Promise<number> => msgrPeerCpu(conn);
      const netCpu = (): Promise<number> => netPeerCpu(net);
      for (const which of order) {
        results.oneway[which].push(which === 'msgr' ? await withCpu(msgrCpu, () => msgrOneway(conn, big)) : await withCpu(netCpu, () => netOneway(net, big)));
      }
      for (const which of order) {
        results.qd1[which].push(which === 'msgr' ? await withCpu(msgrCpu, () => msgrReqRep(conn, small, 1)) : await withCpu(netCpu, () => netReqRep(net, small, 1)));
      }
      for (const which of order) {
        results.qd32[which].push(which === 'msgr' ? await withCpu(msgrCpu, () => msgrReqRep(conn, small, 32)) : await withCpu(netCpu, () => netReqRep(net, small, 32)));
      }
      process.stderr.write(`round ${r + 1}/${rounds} done\n`);
    }

    const med = <T extends object>(xs: T[], key: keyof T): number => Math.round(median(xs.map((x) => x[key] as number)) * 10) / 10;
    const cpu = (xs: Cpu[]): Cpu => ({ cpuUsPerOp: med(xs, 'cpuUsPerOp'), peerCpuUsPerOp: med(xs, 'peerCpuUsPerOp') });
    const tp = (xs: Throughput[]): { mbPerS: number } & Cpu => ({ mbPerS: med(xs, 'mbPerS'), ...cpu(xs) });
    const lat = (xs: Latency[]): { opsPerS: number; p50Us: number; p99Us: number } & Cpu => ({
      opsPerS: med(xs, 'opsPerS'), p50Us: med(xs, 'p50Us'), p99Us: med(xs, 'p99Us'), ...cpu(xs),
    });
    const oneway = { msgr: tp(results.oneway.msgr), net: tp(results.oneway.net) };
    const qd1 = { msgr: lat(results.qd1.msgr), net: lat(results.qd1.net) };
    const qd32 = { msgr: lat(results.qd32.msgr), net: lat(results.qd32.net) };
    const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
    const f0 = (x: number): string => Math.round(x).toLocaleString('en-US');
    const cpuText = (c: Cpu, unit: string): string => `cpu ${f0(c.cpuUsPerOp)}+${f0(c.peerCpuUsPerOp)} µs/${unit}`;

    let pressure = 'n/a';
    try {
      const { readFileSync } = await import('node:fs');
      pressure = readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0]!;
    } catch {
      // not Linux
    }
    console.log(`msgr bench: 2 processes on 127.0.0.1, ${cpus().length} CPUs, ${rounds} rounds × ${seconds} s per case, medians (cpu ${pressure})`);
    console.log('  (cpu A+B = CPU time in the sending process + in the peer, per message or operation)');
    console.log(`  4 MiB one-way       messenger ${f0(oneway.msgr.mbPerS).padStart(6)} MB/s  ${cpuText(oneway.msgr, 'msg')}`);
    console.log(`                      net       ${f0(oneway.net.mbPerS).padStart(6)} MB/s  ${cpuText(oneway.net, 'msg')}`);
    console.log(`                      ratio ${ratio(oneway.msgr.mbPerS, oneway.net.mbPerS)} (target ≥ 0.8)`);
    for (const [name, r] of [['4 KiB req/rep qd1 ', qd1], ['4 KiB req/rep qd32', qd32]] as const) {
      for (const [label, x] of [['messenger', r.msgr], ['net      ', r.net]] as const) {
        console.log(`  ${label === 'messenger' ? name : ' '.repeat(name.length)}  ${label} ${f0(x.opsPerS).padStart(6)} ops/s  p50 ${f0(x.p50Us)} µs  p99 ${f0(x.p99Us)} µs  ${cpuText(x, 'op')}`);
      }
      console.log(`                      ratio ${ratio(r.msgr.opsPerS, r.net.opsPerS)}`);
    }
    console.log(JSON.stringify({
      bench: 'msgr',
      seconds, rounds, cpus: cpus().length, cpuPressure: pressure,
      oneway4MiB: { ...oneway, ratio: ratio(oneway.msgr.mbPerS, oneway.net.mbPerS) },
      reqrep4KiB: { qd1: { ...qd1, ratio: ratio(qd1.msgr.opsPerS, qd1.net.opsPerS) }, qd32: { ...qd32, ratio: ratio(qd32.msgr.opsPerS, qd32.net.opsPerS) } },
    }));
    sock.destroy();
    await msgr.stop();
  } finally {
    if (peer.exitCode === null && peer.pid !== undefined) {
      const exited = once(peer, 'exit');
      process.kill(peer.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
