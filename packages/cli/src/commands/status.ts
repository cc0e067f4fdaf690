/**
 * `nacre status [--format json]` — the cluster at a glance, like `ceph -s`:
 *
 *     cluster:
 *       id:     6f1c2d3e-…
 *       health: HEALTH_OK
 *
 *     services:
 *       mon: 3 daemons, quorum a,b,c (leader a), monmap e1
 *       osd: 8 osds: 8 up, 8 in; osdmap e42
 *
 *     data:
 *       pools:   1 pools, 64 pgs
 *       objects: 0 objects, 0 B
 *       usage:   0 B used, 16 GiB / 16 GiB avail
 *       pgs:     64 active+clean
 *
 * The text and the JSON are the monitor's (`status` command, packages/mon/src/services/status.ts):
 * `--format json` has at least `{fsid, health: {status, checks}, quorum: [names], leader,
 * monmap_epoch, osdmap: {epoch, num_osds, num_up, num_in}, pools: [...], pgs: {total, by_state}}`.
 * `StatusJson` is the CLI's own reading of it (cluster up waits on it).
 */
import { NacreError } from '@nacre/util';
import { UsageError, parseArgs } from '../args.js';
import type { Command } from '../main.js';
import { formatJson, outputFormat, sessionFlags, sessionOptions, withMonSession, type MonSession } from '../mon-session.js';
import { formatBytes } from '../output.js';

export type HealthStatus = 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR';

export interface HealthCheck {
  code: string;
  severity: HealthStatus;
  summary: string;
  detail?: string[];
}

export interface StatusJson {
  fsid: string;
  health: { status: HealthStatus; checks: HealthCheck[] };
  quorum: string[];
  leader: string | null;
  monmap_epoch: number;
  mons: { name: string; rank: number; addr: string; in_quorum: boolean }[];
  osdmap: { epoch: number; num_osds: number; num_up: number; num_in: number; flags: string[] };
  pools: { id: number; name: string; type: string; size: number; min_size: number; pg_num: number }[];
  pgs: { total: number; by_state: Record<string, number> };
  usage: { objects: number; stored_bytes: number; allocated_bytes: number; capacity_bytes: number; avail_bytes: number };
}

const status: Command = async (argv, io) => {
  const p = parseArgs(argv, sessionFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const format = outputFormat(p);
  const opts = sessionOptions(p);
  const reply = await withMonSession(opts, (s) => s.command('status'));
  const st = normalizeStatus(reply.data);
  if (format !== 'plain') {
    // The monitor's document as it is (it has every field of StatusJson and more, e.g. election_epoch).
    io.stdout(formatJson(reply.data, format));
    return 0;
  }
  io.stdout(reply.text !== '' ? (reply.text.endsWith('\n') ? reply.text : reply.text + '\n') : formatStatus(st));
  return 0;
};
export default status;

/** Ask a monitor for `status` and normalise the reply. */
export async function fetchStatus(session: MonSession, timeoutMs: number): Promise<StatusJson> {
  const reply = await session.commandWithin('status', {}, timeoutMs);
  return normalizeStatus(reply.data);
}

// ------------------------------------------------------------------ normalising the monitor's reply

type Rec = Record<string, unknown>;

function rec(v: unknown): Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : {};
}

function num(...vs: unknown[]): number {
  for (const v of vs) if (typeof v === 'number' && Number.isFinite(v)) return v;
  return 0;
}

function str(...vs: unknown[]): string | undefined {
  for (const v of vs) if (typeof v === 'string') return v;
  return undefined;
}

function healthStatusOf(v: unknown): HealthStatus {
  return v === 'HEALTH_OK' || v === 'HEALTH_WARN' || v === 'HEALTH_ERR' ? v : 'HEALTH_WARN';
}

/**
 * The monitor's `status` data in the documented shape. Missing parts become zeros/empties rather
 * than errors (a monitor that does not report PG stats yet still answers `status`), but a reply
 * that is not a status at all is EPROTO.
 */
export function normalizeStatus(data: unknown): StatusJson {
  const d = rec(data);
  if (d['health'] === undefined && d['quorum'] === undefined && d['osdmap'] === undefined) {
    throw new NacreError('the monitor\'s status reply has no health, quorum or osdmap', { code: 'EPROTO' });
  }
  const h = rec(d['health']);
  const checks: Rec[] = Array.isArray(h['checks'])
    ? (h['checks'] as unknown[]).map(rec)
    : Object.entries(rec(h['checks'])).map(([code, c]): Rec => ({ code, ...rec(c) }));
  const health = {
    status: healthStatusOf(typeof d['health'] === 'string' ? d['health'] : h['status']),
    checks: checks.map((c) => {
      const detail = Array.isArray(c['detail']) ? (c['detail'] as unknown[]).map((x) => (typeof x === 'string' ? x : str(rec(x)['message']) ?? JSON.stringify(x))) : undefined;
      return {
        code: str(c['code']) ?? '?',
        severity: healthStatusOf(c['severity']),
        summary: str(c['summary'], rec(c['summary'])['message'], c['message']) ?? '',
        ...(detail !== undefined ? { detail } : {}),
      };
    }),
  };
  const o = rec(d['osdmap']);
  const pg = rec(d['pgs'] ?? d['pgmap']);
  const byState = rec(pg['by_state']);
  const u = rec(d['usage']);
  const monmap = rec(d['monmap']);
  const quorum = (Array.isArray(d['quorum']) ? d['quorum'] : Array.isArray(d['quorum_names']) ? d['quorum_names'] : []) as unknown[];
  const quorumNames = quorum.map(String);
  const monsRaw = (Array.isArray(d['mons']) ? d['mons'] : Array.isArray(monmap['mons']) ? monmap['mons'] : []) as unknown[];
  return {
    fsid: str(d['fsid']) ?? '',
    health,
    quorum: quorumNames,
    leader: str(d['leader'], d['quorum_leader_name']) ?? null,
    monmap_epoch: num(d['monmap_epoch'], monmap['epoch']),
    mons: monsRaw.map(rec).map((m, i) => {
      const name = str(m['name']) ?? `rank${i}`;
      return { name, rank: num(m['rank'], i), addr: str(m['addr']) ?? '', in_quorum: quorumNames.includes(name) };
    }),
    osdmap: {
      epoch: num(o['epoch']), num_osds: num(o['num_osds']), num_up: num(o['num_up'], o['num_up_osds']), num_in: num(o['num_in'], o['num_in_osds']),
      flags: Array.isArray(o['flags']) ? (o['flags'] as unknown[]).map(String) : [],
    },
    pools: (Array.isArray(d['pools']) ? (d['pools'] as unknown[]) : []).map(rec).map((p) => ({
      id: num(p['id'], p['pool_id']), name: str(p['name'], p['pool_name']) ?? '?', type: str(p['type']) ?? 'replicated',
      size: num(p['size']), min_size: num(p['min_size']), pg_num: num(p['pg_num']),
    })),
    pgs: {
      total: num(pg['total'], pg['num_pgs']),
      by_state: Object.fromEntries(Object.entries(byState).filter(([, v]) => typeof v === 'number')) as Record<string, number>,
    },
    usage: {
      objects: num(u['objects']), stored_bytes: num(u['stored_bytes']),
      allocated_bytes: num(u['used_bytes'], u['allocated_bytes']), capacity_bytes: num(u['total_bytes'], u['capacity_bytes']),
      avail_bytes: num(u['avail_bytes']),
    },
  };
}

// ------------------------------------------------------------------ human output

export function formatStatus(st: StatusJson): string {
  const lines: string[] = [];
  lines.push('  cluster:', `    id:     ${st.fsid}`, `    health: ${st.health.status}`);
  for (const c of st.health.checks) lines.push(`            ${c.summary !== '' ? c.summary : c.code}`);
  lines.push('', '  services:');
  const monCount = Math.max(st.mons.length, st.quorum.length);
  const outOfQuorum = st.mons.filter((m) => !m.in_quorum).map((m) => m.name);
  lines.push(`    mon: ${monCount} daemons, quorum ${st.quorum.join(',') || '(none)'}${st.leader !== null ? ` (leader ${st.leader})` : ''}`
    + `${outOfQuorum.length > 0 ? `, out of quorum: ${outOfQuorum.join(',')}` : ''}, monmap e${st.monmap_epoch}`);
  const o = st.osdmap;
  lines.push(`    osd: ${o.num_osds} osds: ${o.num_up} up, ${o.num_in} in; osdmap e${o.epoch}${o.flags.length > 0 ? ` flags ${o.flags.join(',')}` : ''}`);
  lines.push('', '  data:');
  lines.push(`    pools:   ${st.pools.length} pools, ${st.pgs.total} pgs`);
  lines.push(`    objects: ${st.usage.objects} objects, ${formatBytes(st.usage.stored_bytes)}`);
  lines.push(`    usage:   ${formatBytes(st.usage.allocated_bytes)} used, ${formatBytes(st.usage.avail_bytes)} / ${formatBytes(st.usage.capacity_bytes)} avail`);
  const states = Object.entries(st.pgs.by_state).sort((a, b) => b[1] - a[1]);
  if (states.length === 0) lines.push('    pgs:     (none)');
  states.forEach(([state, count], i) => lines.push(`${i === 0 ? '    pgs:     ' : '             '}${count} ${state}`));
  return lines.join('\n') + '\n';
}
