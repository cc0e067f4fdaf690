/** Builds an OsdMap from one of Ceph's osdmap vector cases (osdmap/CASE.json). */
import type { CrushMap } from '@nacre/crush';
import { WEIGHT_ONE, createOsdMap, emptyOsdInfo, type OsdMap, type Pool } from '@nacre/osdmap';

export interface OsdmapCase {
  name: string;
  map: string;
  map_text: string;
  max_osd: number;
  osds: { osd: number; up: number; in: number; weight_16_16: number; primary_affinity: number }[];
  pools: { pool_id: number; name: string; type: string; size: number; min_size: number; pg_num: number; pgp_num: number; pg_num_mask: number; pgp_num_mask: number; crush_rule: number; object_hash: string; hashpspool: boolean }[];
  objects: { name: string | null; name_hex: string; raw_hash: number; pgid: string | null; ps: number | null; acting: number[] | null; up: number[] | null; up_primary: number | null; pgid_derived?: string; up_derived?: number[] }[];
  pgs: { pgid: string; ps: number; pps: number; raw: number[]; raw_primary: number; up: number[]; up_primary: number; acting: number[]; acting_primary: number }[];
}

export function osdMapFromCase(c: OsdmapCase, crush: CrushMap): OsdMap {
  const base = createOsdMap({ fsid: '00000000-0000-0000-0000-000000000000', crush, createdMs: 0 });
  const osds = Array.from({ length: c.max_osd }, () => emptyOsdInfo());
  for (const o of c.osds) {
    osds[o.osd] = {
      ...emptyOsdInfo(),
      exists: true,
      up: o.up === 1,
      weight: o.weight_16_16,
      primaryAffinity: Math.round(o.primary_affinity * WEIGHT_ONE),
    };
  }
  const pools = new Map<number, Pool>();
  for (const p of c.pools) {
    pools.set(p.pool_id, {
      id: p.pool_id, name: p.name, type: p.type === 'erasure' ? 'erasure' : 'replicated', size: p.size, minSize: p.min_size,
      pgNum: p.pg_num, pgpNum: p.pgp_num, crushRule: p.crush_rule, hashpspool: p.hashpspool,
      objectHash: p.object_hash === 'linux' ? 'linux' : 'rjenkins', snapSeq: 0, lastChangeEpoch: 1,
    });
  }
  return { ...base, maxOsd: c.max_osd, osds, pools, poolMax: Math.max(...pools.keys()) };
}
