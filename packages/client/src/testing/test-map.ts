/**
 * OSDMaps for tests: `hosts × osdsPerHost` OSDs under one root (straw2, weight 1 each), a
 * replicated rule with host as the failure domain, and the pools asked for. Every OSD exists and
 * is in; none is up (the fake cluster marks them up with their addresses).
 */
import { parseCrushText } from '@nacre/crush';
import { WEIGHT_ONE, createOsdMap, emptyOsdInfo, type OsdMap, type Pool } from '@nacre/osdmap';

export interface TestPoolSpec {
  name: string;
  size?: number;
  minSize?: number;
  pgNum?: number;
}

export interface TestMapSpec {
  fsid?: string;
  hosts: number;
  osdsPerHost: number;
  pools: TestPoolSpec[];
}

export const testFsid = '0a0b0c0d-0000-4000-8000-00000000cafe';

export function testCrushText(hosts: number, osdsPerHost: number): string {
  const lines = [
    'tunable choose_local_tries 0', 'tunable choose_local_fallback_tries 0', 'tunable choose_total_tries 50',
    'tunable chooseleaf_descend_once 1', 'tunable chooseleaf_vary_r 1', 'tunable chooseleaf_stable 1',
    'tunable straw_calc_version 1', 'tunable allowed_bucket_algs 54',
  ];
  const n = hosts * osdsPerHost;
  for (let i = 0; i < n; i++) lines.push(`device ${i} osd.${i}`);
  lines.push('type 0 osd', 'type 1 host', 'type 11 root');
  for (let h = 0; h < hosts; h++) {
    lines.push(`host host${h} {`, `\tid ${-2 - h}`, '\talg straw2', '\thash 0');
    for (let k = 0; k < osdsPerHost; k++) lines.push(`\titem osd.${h * osdsPerHost + k} weight 1.000`);
    lines.push('}');
  }
  lines.push('root default {', '\tid -1', '\talg straw2', '\thash 0');
  for (let h = 0; h < hosts; h++) lines.push(`\titem host${h} weight ${osdsPerHost}.000`);
  lines.push('}');
  lines.push('rule replicated_rule {', '\tid 0', '\ttype replicated', '\tstep take default', '\tstep chooseleaf firstn 0 type host', '\tstep emit', '}');
  return lines.join('\n') + '\n';
}

export function buildTestMap(spec: TestMapSpec): OsdMap {
  const crush = parseCrushText(testCrushText(spec.hosts, spec.osdsPerHost));
  const base = createOsdMap({ fsid: spec.fsid ?? testFsid, crush, createdMs: 0 });
  const maxOsd = spec.hosts * spec.osdsPerHost;
  const osds = Array.from({ length: maxOsd }, () => ({ ...emptyOsdInfo(), exists: true, weight: WEIGHT_ONE }));
  const pools = new Map<number, Pool>();
  spec.pools.forEach((p, i) => {
    const size = p.size ?? Math.min(3, spec.hosts);
    const pgNum = p.pgNum ?? 16;
    pools.set(i + 1, {
      id: i + 1, name: p.name, type: 'replicated', size, minSize: p.minSize ?? Math.max(1, size - 1), pgNum, pgpNum: pgNum,
      crushRule: 0, hashpspool: true, objectHash: 'rjenkins', snapSeq: 0, lastChangeEpoch: 1,
    });
  });
  return { ...base, maxOsd, osds, pools, poolMax: spec.pools.length };
}
