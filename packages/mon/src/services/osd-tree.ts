/**
 * `osd tree` and `osd dump`: the CRUSH hierarchy with each OSD's state, and the whole OSDMap, as
 * JSON (Ceph's field names where Ceph has them) and as text like `ceph osd tree` / `ceph osd dump`.
 */
import type { OsdMap, Pool } from '@nacre/osdmap';
import type { MonCommandReply } from '@nacre/proto';
import { typeName } from './crush-edits.js';
import { fixedWeight, table } from './format.js';
import type { MonState } from './mon-state.js';

export interface TreeNode {
  id: number;
  name: string;
  type: string;
  type_id: number;
  children?: number[];
  crush_weight?: number;
  depth: number;
  device_class?: string;
  exists?: number;
  status?: 'up' | 'down';
  reweight?: number;
  primary_affinity?: number;
}

function osdFields(map: OsdMap, id: number): Partial<TreeNode> {
  const o = id < map.maxOsd ? map.osds[id]! : undefined;
  if (o === undefined || !o.exists) return { exists: 0, status: 'down', reweight: 0, primary_affinity: 1 };
  return { exists: 1, status: o.up ? 'up' : 'down', reweight: o.weight / 0x10000, primary_affinity: o.primaryAffinity / 0x10000 };
}

/** Depth-first from each root (real buckets nobody lists), children in bucket order. */
export function osdTreeNodes(map: OsdMap): { nodes: TreeNode[]; stray: TreeNode[] } {
  const crush = map.crush;
  const listed = new Set<number>();
  for (const b of crush.buckets.values()) if (!b.shadowOf) for (const it of b.items) listed.add(it);
  const roots = [...crush.buckets.values()].filter((b) => !b.shadowOf && !listed.has(b.id)).sort((a, b) => b.id - a.id);
  const nodes: TreeNode[] = [];
  const seen = new Set<number>();
  const visit = (id: number, weight: number, depth: number): void => {
    if (seen.has(id)) return;
    seen.add(id);
    if (id >= 0) {
      const d = crush.devices.get(id);
      nodes.push({
        id, name: d?.name ?? `osd.${id}`, type: typeName(crush, 0), type_id: 0, crush_weight: weight / 0x10000, depth,
        ...(d?.deviceClass !== undefined ? { device_class: d.deviceClass } : {}), ...osdFields(map, id),
      });
      return;
    }
    const b = crush.buckets.get(id)!;
    nodes.push({ id, name: b.name, type: typeName(crush, b.type), type_id: b.type, children: [...b.items], crush_weight: weight / 0x10000, depth });
    b.items.forEach((it, i) => visit(it, b.itemWeights[i]!, depth + 1));
  };
  for (const r of roots) visit(r.id, r.itemWeights.reduce((s, w) => s + w, 0), 0);
  const stray: TreeNode[] = [];
  for (let id = 0; id < map.maxOsd; id++) {
    if (map.osds[id]!.exists && !seen.has(id)) stray.push({ id, name: `osd.${id}`, type: 'osd', type_id: 0, depth: 0, ...osdFields(map, id) });
  }
  return { nodes, stray };
}

export function osdTree(state: MonState): MonCommandReply {
  const { nodes, stray } = osdTreeNodes(state.osdmap);
  const rows = [...nodes, ...stray].map((n) => {
    const isOsd = n.type_id === 0;
    const weight = n.crush_weight === undefined ? '' : fixedWeight(Math.round(n.crush_weight * 0x10000));
    return [
      String(n.id), n.device_class ?? '', weight, `${'    '.repeat(n.depth)}${isOsd ? '' : `${n.type} `}${n.name}`,
      isOsd ? (n.exists === 1 ? n.status! : 'DNE') : '',
      isOsd ? (n.reweight ?? 0).toFixed(5) : '', isOsd ? (n.primary_affinity ?? 1).toFixed(5) : '',
    ];
  });
  const text = table(['ID', 'CLASS', 'WEIGHT', 'TYPE NAME', 'STATUS', 'REWEIGHT', 'PRI-AFF'], rows, new Set([0, 2, 5, 6]));
  return { data: { nodes, stray }, text };
}

export function poolDetail(map: OsdMap, p: Pool): Record<string, unknown> {
  const prof = p.ecProfile !== undefined ? map.ecProfiles.get(p.ecProfile) : undefined;
  return {
    pool_id: p.id, pool_name: p.name, type: p.type, size: p.size, min_size: p.minSize, pg_num: p.pgNum, pgp_num: p.pgpNum,
    crush_rule: p.crushRule, crush_rule_name: map.crush.rules.get(p.crushRule)?.name ?? null, object_hash: p.objectHash,
    hashpspool: p.hashpspool, snap_seq: p.snapSeq, last_change: p.lastChangeEpoch,
    ...(prof !== undefined ? {
      erasure_code_profile: p.ecProfile, k: prof.k, m: prof.m, stripe_unit: prof.stripeUnitBytes, failure_domain: prof.crushFailureDomain,
    } : {}),
  };
}

export function poolLine(map: OsdMap, p: Pool): string {
  const prof = p.ecProfile !== undefined ? map.ecProfiles.get(p.ecProfile) : undefined;
  return `pool ${p.id} '${p.name}' ${p.type} size ${p.size} min_size ${p.minSize} crush_rule ${p.crushRule} object_hash ${p.objectHash}`
    + ` pg_num ${p.pgNum} pgp_num ${p.pgpNum} last_change ${p.lastChangeEpoch}${p.hashpspool ? ' flags hashpspool' : ''}`
    + (prof !== undefined ? ` erasure_code_profile ${p.ecProfile} (k=${prof.k} m=${prof.m} stripe_unit=${prof.stripeUnitBytes})` : '')
    + (p.snapSeq > 0 ? ` snap_seq ${p.snapSeq}` : '');
}

export function osdDump(state: MonState): MonCommandReply {
  const m = state.osdmap;
  const pools = [...m.pools.values()].sort((a, b) => a.id - b.id);
  const osds: Record<string, unknown>[] = [];
  for (let id = 0; id < m.maxOsd; id++) {
    const o = m.osds[id]!;
    if (!o.exists) continue;
    const meta = state.osdMeta.get(id);
    osds.push({
      osd: id, uuid: meta?.uuid ?? '', up: o.up ? 1 : 0, in: o.weight > 0 ? 1 : 0, weight: o.weight / 0x10000,
      primary_affinity: o.primaryAffinity / 0x10000, up_from: o.upFrom, up_thru: o.upThru, down_at: o.downAt,
      addr: o.addr, auto_out: meta?.autoOut ?? false,
    });
  }
  const data = {
    epoch: m.epoch, fsid: m.fsid, created: new Date(m.createdMs).toISOString(), modified: new Date(m.modifiedMs).toISOString(),
    flags: [...m.flags].sort(), max_osd: m.maxOsd, pool_max: m.poolMax,
    pools: pools.map((p) => poolDetail(m, p)), osds,
    erasure_code_profiles: Object.fromEntries([...m.ecProfiles].map(([n, p]) => [n, { ...p }])),
    pg_temp: [...m.pgTemp].map(([pgid, o]) => ({ pgid, osds: [...o] })),
    primary_temp: [...m.primaryTemp].map(([pgid, osd]) => ({ pgid, osd })),
    pg_upmap: [...m.pgUpmap].map(([pgid, o]) => ({ pgid, osds: [...o] })),
    pg_upmap_items: [...m.pgUpmapItems].map(([pgid, items]) => ({ pgid, mappings: items.map(([from, to]) => ({ from, to })) })),
  };
  const lines = [
    `epoch ${m.epoch}`, `fsid ${m.fsid}`, `created ${data.created}`, `modified ${data.modified}`,
    `flags ${data.flags.join(',')}`, `max_osd ${m.maxOsd}`, '',
    ...pools.map((p) => poolLine(m, p)), ...(pools.length > 0 ? [''] : []),
    ...osds.map((o) => `osd.${String(o['osd'])} ${o['up'] ? 'up  ' : 'down'} ${o['in'] ? 'in ' : 'out'} weight ${(o['weight'] as number).toFixed(5)}`
      + ` up_from ${String(o['up_from'])} up_thru ${String(o['up_thru'])} down_at ${String(o['down_at'])} ${String(o['addr'])} ${String(o['uuid'])}`),
    ...data.pg_temp.map((t) => `pg_temp ${t.pgid} [${t.osds.join(',')}]`),
    ...data.primary_temp.map((t) => `primary_temp ${t.pgid} ${t.osd}`),
  ];
  return { data, text: lines.join('\n') };
}

