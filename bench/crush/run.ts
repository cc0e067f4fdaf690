/**
 * bench/crush: CRUSH mappings per second on a 1000-OSD straw2 map (10 racks × 10 hosts × 10 OSDs,
 * rule `chooseleaf firstn 0 type host`, 3 replicas, 1 M inputs), next to Ceph's crushtool timed on
 * the same map and range in the same run (when crushtool is installed).
 *
 *   npm run bench -- crush [--inputs N] [--rounds R]
 *
 * Prints human lines and one JSON line (`{"bench":"crush",...}`). No assertions: compare the ratio.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OPTIMAL_TUNABLES, StepOp, compileMap, doRule, emptyMap, printCrushText, type Bucket, type CrushMap,
} from '@nacre/crush';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const inputs = arg('--inputs', 1_000_000);
const rounds = arg('--rounds', 3);

function buildMap(): CrushMap {
  const map = emptyMap(OPTIMAL_TUNABLES);
  for (const [id, name] of [[0, 'osd'], [1, 'host'], [2, 'rack'], [3, 'root']] as const) map.types.set(id, { id, name });
  let osd = 0;
  let bid = -2;
  const bucket = (id: number, name: string, type: number): Bucket => ({ id, name, type, alg: 'straw2', hash: 0, items: [], itemWeights: [], classIds: new Map() });
  const root = bucket(-1, 'default', 3);
  for (let r = 0; r < 10; r++) {
    const rack = bucket(bid--, `rack${r}`, 2);
    for (let h = 0; h < 10; h++) {
      const host = bucket(bid--, `host${r * 10 + h}`, 1);
      for (let d = 0; d < 10; d++) {
        map.devices.set(osd, { id: osd, name: `osd.${osd}` });
        host.items.push(osd++);
        host.itemWeights.push(0x10000);
      }
      map.buckets.set(host.id, host);
      rack.items.push(host.id);
      rack.itemWeights.push(10 * 0x10000);
    }
    map.buckets.set(rack.id, rack);
    root.items.push(rack.id);
    root.itemWeights.push(100 * 0x10000);
  }
  map.buckets.set(root.id, root);
  map.rules.set(0, { id: 0, name: 'replicated_host', type: 1, minSize: 1, maxSize: 10, steps: [
    { op: StepOp.Take, arg1: -1, arg2: 0 }, { op: StepOp.ChooseleafFirstn, arg1: 0, arg2: 1 }, { op: StepOp.Emit, arg1: 0, arg2: 0 }] });
  return map;
}

function nacreRound(map: CrushMap): number {
  const compiled = compileMap(map);
  const weights = new Array<number>(1000).fill(0x10000);
  let check = 0;
  const t0 = process.hrtime.bigint();
  for (let x = 0; x < inputs; x++) check += doRule(compiled, 0, x, 3, weights).length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (check !== inputs * 3) throw new Error(`expected ${inputs * 3} placements, got ${check}`);
  return inputs / seconds;
}

function crushtoolRound(bin: string): number | undefined {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('crushtool', ['-i', bin, '--test', '--rule', '0', '--num-rep', '3', '--min-x', '0', '--max-x', String(inputs - 1), '--show-statistics'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) return undefined;
  if (!r.stdout.includes(`result size == 3:\t${inputs}/${inputs}`)) throw new Error(`crushtool did not map every input:\n${r.stdout}`);
  return inputs / seconds;
}

const map = buildMap();
const dir = mkdtempSync(join(tmpdir(), 'nacre-bench-crush-'));
try {
  const txt = join(dir, 'map.txt');
  const bin = join(dir, 'map.bin');
  writeFileSync(txt, printCrushText(map));
  const haveCrushtool = spawnSync('crushtool', ['-c', txt, '-o', bin]).status === 0;
  const nacre: number[] = [];
  const ceph: number[] = [];
  for (let i = 0; i < rounds; i++) {
    nacre.push(nacreRound(map));
    if (haveCrushtool) ceph.push(crushtoolRound(bin)!);
  }
  const best = (xs: number[]): number => Math.max(...xs);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`map: 1000 OSDs (10 racks x 10 hosts x 10), straw2, chooseleaf firstn 0 type host, 3 replicas, ${inputs} inputs, ${rounds} rounds`);
  console.log(`nacre:     ${(median(nacre) / 1000).toFixed(0)}k mappings/s (median; best ${(best(nacre) / 1000).toFixed(0)}k)`);
  if (haveCrushtool) {
    console.log(`crushtool: ${(median(ceph) / 1000).toFixed(0)}k mappings/s (median; best ${(best(ceph) / 1000).toFixed(0)}k; whole process incl. load and statistics)`);
    console.log(`ratio nacre/crushtool: ${(median(nacre) / median(ceph)).toFixed(2)} (target >= 0.5)`);
  } else {
    console.log('crushtool: not installed (apt-get install ceph-base) — no baseline this run');
  }
  console.log(JSON.stringify({
    bench: 'crush', inputs, rounds, nacre_mappings_per_s: Math.round(median(nacre)),
    crushtool_mappings_per_s: haveCrushtool ? Math.round(median(ceph)) : null,
    ratio: haveCrushtool ? Number((median(nacre) / median(ceph)).toFixed(3)) : null,
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
