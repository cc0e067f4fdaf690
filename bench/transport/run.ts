/**
 * bench/transport: the example cluster (3 monitors, 8 OSDs, pool rbd size 3) end to end on each
 * messenger transport (`ms_transport` ws and tcp), fresh clusters, alternating which goes first:
 *   - `nacre rados -p rbd bench S write -b 4M -t 16 --no-cleanup`, then `bench S seq -t 16`,
 *     then `bench S write -b 4K -t 16`;
 *   - around each phase: CPU time of the OSDs (/proc/PID/stat) and the mark-compact and scavenge
 *     GCs of osd.0, which is restarted with `node --trace-gc` for that (the spawner strips
 *     NODE_OPTIONS from daemons).
 *
 *   npm run bench -- transport [--runs 2] [--seconds 20] [--port-base 17789] [--block-size 8GiB]
 *   node --import tsx bench/transport/run.ts …                                  (after tsc -b)
 *
 * Ports: monitors on BASE, BASE+1, BASE+2; OSDs from BASE+11 (osd_port_base). Every run's
 * daemons are stopped and its directory removed. Prints human lines per run and medians, then
 * one JSON line (`{"bench":"transport",...}`). Linux only (/proc). Takes about 75 s per run and
 * transport with the defaults.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nacreBin = join(root, 'bin', 'nacre');
const transports = ['ws', 'tcp'] as const;
type TransportName = (typeof transports)[number];
const phases = ['write4M', 'seq', 'write4K'] as const;
type Phase = (typeof phases)[number];
/** Clock ticks per second of /proc/PID/stat (USER_HZ; 100 on Linux). */
const ticksPerS = 100;
const healthyWaitS = 120;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const runs = Number(arg('--runs', '2'));
const seconds = Number(arg('--seconds', '20'));
const portBase = Number(arg('--port-base', '17789'));
const blockSize = arg('--block-size', '8GiB');

interface PhaseResult {
  mbPerS: number;
  iops: number;
  latencyMs: number;
  ops: number;
  /** CPU seconds of all OSDs during the phase. */
  osdCpuS: number;
  /** osd.0's GCs during the phase. */
  markCompacts: number;
  scavenges: number;
}
type RunResult = Record<Phase, PhaseResult>;

function nacre(args: string[], conf?: string): { code: number; out: string } {
  const r = spawnSync(process.execPath, [nacreBin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...(conf ? { NACRE_CONF: conf } : {}) }, maxBuffer: 1 << 26 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** Daemons run plain node, as the spawner starts them (no loader hooks of a test runner). */
function withoutNodeOptions(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  return env;
}

function clusterFile(transport: TransportName): string {
  const example = readFileSync(join(root, 'cluster.example.yaml'), 'utf8');
  const text = example
    .replace(/^osd_block_size: .*/m, `osd_block_size: ${blockSize}`)
    .replace(/^osd_port_base: .*/m, `osd_port_base: ${portBase + 11}`)
    .replace(/port: 6789/, `port: ${portBase}`)
    .replace(/port: 6790/, `port: ${portBase + 1}`)
    .replace(/port: 6791/, `port: ${portBase + 2}`)
    .replace(/^settings:/m, `settings:\n  ms_transport: ${transport}`);
  if (!text.includes(`ms_transport: ${transport}`) || text.includes('6789')) throw new Error('cluster.example.yaml changed shape; update bench/transport/run.ts');
  return text;
}

function daemonPids(dir: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.pid')) pids.set(f.slice(0, -4), Number(readFileSync(join(dir, f), 'utf8').trim()));
  }
  return pids;
}

function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
  } catch {
    return 0;
  }
}

function osdCpuTicks(dir: string): number {
  let sum = 0;
  for (const [name, pid] of daemonPids(dir)) if (name.startsWith('osd.')) sum += cpuTicks(pid);
  return sum;
}

function gcCounts(path: string): { markCompacts: number; scavenges: number } {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return { markCompacts: (text.match(/Mark-Compact/g) ?? []).length, scavenges: (text.match(/Scavenge/g) ?? []).length };
}

function parseBench(out: string): { mbPerS: number; iops: number; latencyMs: number; ops: number } {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  return { mbPerS: num(/^Bandwidth \(MB\/sec\):\s+([\d.]+)/m), iops: num(/^Average IOPS:\s+([\d.]+)/m), latencyMs: 1000 * num(/^Average Latency\(s\):\s+([\d.]+)/m), ops: num(/^Total (?:writes|reads) made:\s+(\d+)/m) };
}

async function waitHealthy(conf: string): Promise<void> {
  for (let i = 0; i < healthyWaitS; i++) {
    const r = nacre(['status', '--format', 'json'], conf);
    if (r.code === 0) {
      const st = JSON.parse(r.out) as { osdmap: { num_up: number; num_osds: number }; pgs: { total: number; by_state: Record<string, number> } };
      if (st.osdmap.num_up === st.osdmap.num_osds && st.pgs.by_state['active+clean'] === st.pgs.total) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`cluster not active+clean within ${healthyWaitS} s`);
}

async function oneRun(transport: TransportName): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `nacre-bench-transport-${transport}-`));
  const conf = join(dir, 'nacre.conf');
  const gcPath = join(dir, 'osd.0.gc');
  writeFileSync(join(dir, 'cluster.yaml'), clusterFile(transport));
  try {
    const up = nacre(['cluster', 'up', '-c', join(dir, 'cluster.yaml'), '--dir', dir]);
    if (up.code !== 0) throw new Error(`cluster up failed:\n${up.out}`);
    nacre(['cluster', 'stop', 'osd.0', '--dir', dir]);
    // osd.0 again, with --trace-gc; the same command line, so `cluster down` stops it too.
    const fd = openSync(gcPath, 'a');
    const osd0 = spawn(process.execPath, ['--trace-gc', join(root, 'packages', 'osd', 'dist', 'main.js'), '--conf', conf, '--id', '0'], { cwd: root, detached: true, stdio: ['ignore', fd, fd], env: withoutNodeOptions() });
    closeSync(fd);
    osd0.unref();
    writeFileSync(join(dir, 'osd.0.pid'), `${osd0.pid}\n`);
    await waitHealthy(conf);
    const result = {} as RunResult;
    const args: Record<Phase, string[]> = {
      write4M: ['write', '-b', '4M', '-t', '16', '--no-cleanup'],
      seq: ['seq', '-t', '16'],
      write4K: ['write', '-b', '4K', '-t', '16'],
    };
    for (const phase of phases) {
      const cpu0 = osdCpuTicks(dir);
      const gc0 = gcCounts(gcPath);
      const r = nacre(['rados', '-p', 'rbd', 'bench', String(seconds), ...args[phase]], conf);
      const cpu1 = osdCpuTicks(dir);
      const gc1 = gcCounts(gcPath);
      if (r.code !== 0) throw new Error(`rados bench ${phase} failed:\n${r.out}`);
      result[phase] = { ...parseBench(r.out), osdCpuS: (cpu1 - cpu0) / ticksPerS, markCompacts: gc1.markCompacts - gc0.markCompacts, scavenges: gc1.scavenges - gc0.scavenges };
    }
    return result;
  } finally {
    nacre(['cluster', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function line(transport: TransportName, r: RunResult): string {
  const w = r.write4M;
  const k = r.write4K;
  const per100 = (n: number): string => (w.ops > 0 ? ((100 * n) / w.ops).toFixed(1) : '?');
  return `${transport.padEnd(3)}  4M write ${w.mbPerS.toFixed(1).padStart(6)} MB/s (${Math.round(w.latencyMs)} ms)  seq ${r.seq.mbPerS.toFixed(0).padStart(4)} MB/s`
    + `  4K write ${k.iops.toFixed(0).padStart(5)} IOPS (${k.latencyMs.toFixed(1)} ms)`
    + `  | 4M: OSD CPU ${((1000 * w.osdCpuS) / w.ops).toFixed(0)} ms/object, osd.0 mark-compact ${per100(w.markCompacts)} / scavenge ${per100(w.scavenges)} per 100 objects`;
}

async function main(): Promise<void> {
  const results: Record<TransportName, RunResult[]> = { ws: [], tcp: [] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? transports : [...transports].reverse();
    for (const transport of order) {
      const r = await oneRun(transport);
      results[transport].push(r);
      console.log(`run ${run + 1}  ${line(transport, r)}`);
    }
  }
  const med = (t: TransportName, phase: Phase, key: keyof PhaseResult): number => median(results[t].map((r) => r[phase][key]));
  const perObject = (t: TransportName, key: 'osdCpuS' | 'markCompacts'): number => median(results[t].map((r) => r.write4M[key] / r.write4M.ops));
  console.log(`medians over ${runs} runs × ${seconds} s per phase:`);
  for (const t of transports) {
    console.log(`  ${t.padEnd(3)}  4M write ${med(t, 'write4M', 'mbPerS').toFixed(1)} MB/s  seq ${med(t, 'seq', 'mbPerS').toFixed(0)} MB/s  4K write ${med(t, 'write4K', 'iops').toFixed(0)} IOPS`
      + `  OSD CPU ${(1000 * perObject(t, 'osdCpuS')).toFixed(0)} ms/4M object  osd.0 mark-compact ${(100 * perObject(t, 'markCompacts')).toFixed(1)} per 100 objects`);
  }
  const ratio = (phase: Phase, key: keyof PhaseResult): number => Math.round((med('tcp', phase, key) / med('ws', phase, key)) * 100) / 100;
  console.log(`  tcp/ws: 4M write ${ratio('write4M', 'mbPerS')}, seq ${ratio('seq', 'mbPerS')}, 4K write ${ratio('write4K', 'iops')}`);
  console.log(JSON.stringify({ bench: 'transport', runs, seconds, blockSize, results }));
}

await main();
