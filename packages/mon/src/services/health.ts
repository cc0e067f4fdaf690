/**
 * Health checks: a pure function of the committed state, the quorum (from the driver) and the PG
 * summary (from this monitor's PgStatsAggregator). Codes are Ceph's where Ceph has one, and every
 * check carries a hint saying what to run — the part operators miss most in Ceph's output.
 *
 *   MON_DOWN            WARN  a monitor of the monmap is not in the quorum
 *   OSDMAP_FLAGS        WARN  noout, noup, pause, … set
 *   OSD_DOWN            WARN  OSDs that exist but are down
 *   OSD_HOST_DOWN       WARN  hosts whose OSDs are all down
 *   TOO_FEW_OSDS        WARN  a pool's size exceeds the number of OSDs
 *   POOL_NO_REDUNDANCY  WARN  pools with size 1
 *   PG_AVAILABILITY     WARN  PGs not active (inactive, down, peering, stale, unknown, incomplete)
 *   PG_DEGRADED         WARN  PGs degraded or undersized
 *   OSD_NEARFULL        WARN  OSDs above the nearfull ratio
 *   OSD_FULL            ERR   OSDs above the full ratio
 */
import { countOsds } from '@nacre/osdmap';
import { ancestorOfType, locationOf } from './crush-edits.js';
import { plural } from './format.js';
import type { MonState } from './mon-state.js';
import { DEFAULT_MON_SERVICE_OPTIONS, type MonServiceOptions } from './mon-options.js';
import { countPgsWith, type PgSummary } from './pg-stats.js';
import { quorumNames, type QuorumInfo } from './quorum.js';

export type HealthStatus = 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR';

export interface HealthCheck {
  code: string;
  severity: 'HEALTH_WARN' | 'HEALTH_ERR';
  summary: string;
  detail: string[];
  /** What to do about it, as commands where possible. */
  hint: string;
}

export interface HealthReport {
  status: HealthStatus;
  checks: HealthCheck[];
}

/** Details listed per check (the summary counts them all). */
const detailLinesMax = 50;

export interface HealthInput {
  state: MonState;
  quorum?: QuorumInfo;
  pgs?: PgSummary;
  options?: Pick<MonServiceOptions, 'nearfullRatio' | 'fullRatio'>;
}

export function healthChecks(input: HealthInput): HealthReport {
  const { state } = input;
  const checks: HealthCheck[] = [];
  const add = (c: HealthCheck | undefined): void => {
    if (c !== undefined) checks.push({ ...c, detail: c.detail.slice(0, detailLinesMax) });
  };
  add(monDown(state, input.quorum));
  add(osdmapFlags(state));
  add(osdDown(state));
  add(osdHostDown(state));
  add(tooFewOsds(state));
  add(poolNoRedundancy(state));
  if (input.pgs !== undefined) {
    add(pgAvailability(input.pgs));
    add(pgDegraded(input.pgs));
    const ratios = input.options ?? DEFAULT_MON_SERVICE_OPTIONS;
    add(osdFullness(state, input.pgs, ratios.fullRatio, 'OSD_FULL', 'HEALTH_ERR', 'full'));
    add(osdFullness(state, input.pgs, ratios.nearfullRatio, 'OSD_NEARFULL', 'HEALTH_WARN', 'nearfull', ratios.fullRatio));
  }
  const status: HealthStatus = checks.some((c) => c.severity === 'HEALTH_ERR') ? 'HEALTH_ERR' : checks.length > 0 ? 'HEALTH_WARN' : 'HEALTH_OK';
  return { status, checks };
}

function monDown(state: MonState, q: QuorumInfo | undefined): HealthCheck | undefined {
  if (q === undefined) return undefined;
  const inQuorum = new Set(q.quorumRanks);
  const down = state.monmap.mons.filter((m) => !inQuorum.has(m.rank));
  if (down.length === 0) return undefined;
  return {
    code: 'MON_DOWN', severity: 'HEALTH_WARN',
    summary: `${down.length}/${state.monmap.mons.length} mons down, quorum ${quorumNames(state, q).join(',')}`,
    detail: down.map((m) => `mon.${m.name} (rank ${m.rank}) addr ${m.addr} is down (out of quorum)`),
    hint: `start it with: ${down.map((m) => `nacre cluster start mon.${m.name}`).join('; ')}`,
  };
}

function osdmapFlags(state: MonState): HealthCheck | undefined {
  const flags = [...state.osdmap.flags].sort();
  if (flags.length === 0) return undefined;
  return {
    code: 'OSDMAP_FLAGS', severity: 'HEALTH_WARN', summary: `${flags.join(',')} flag(s) set`, detail: [],
    hint: `when done, clear with: ${flags.map((f) => `nacre osd unset ${f}`).join('; ')}`,
  };
}

function where(state: MonState, osd: number): string {
  const loc = locationOf(state.osdmap.crush, osd).reverse();
  return loc.length > 0 ? ` (${loc.map(([t, n]) => `${t}=${n}`).join(',')})` : '';
}

function downOsds(state: MonState): number[] {
  const m = state.osdmap;
  const out: number[] = [];
  for (let i = 0; i < m.maxOsd; i++) if (m.osds[i]!.exists && !m.osds[i]!.up) out.push(i);
  return out;
}

function osdDown(state: MonState): HealthCheck | undefined {
  const down = downOsds(state);
  if (down.length === 0) return undefined;
  const starts = down.slice(0, 8).map((i) => `nacre cluster start osd.${i}`).join('; ');
  return {
    code: 'OSD_DOWN', severity: 'HEALTH_WARN', summary: `${plural(down.length, 'osd')} down`,
    detail: down.map((i) => `osd.${i}${where(state, i)} is down${state.osdmap.osds[i]!.weight === 0 ? ' and out' : ''}`),
    hint: `start ${down.length === 1 ? 'it' : 'them'} with: ${starts}${down.length > 8 ? '; …' : ''}`
      + ' (an OSD gone for good: nacre osd out ID, wait for recovery, then nacre osd rm ID)',
  };
}

function osdHostDown(state: MonState): HealthCheck | undefined {
  const m = state.osdmap;
  const byHost = new Map<string, { total: number; down: number }>();
  for (let i = 0; i < m.maxOsd; i++) {
    if (!m.osds[i]!.exists) continue;
    const host = ancestorOfType(m.crush, i, 'host');
    if (host === undefined) continue;
    const h = byHost.get(host) ?? { total: 0, down: 0 };
    h.total++;
    if (!m.osds[i]!.up) h.down++;
    byHost.set(host, h);
  }
  const down = [...byHost].filter(([, h]) => h.down === h.total);
  if (down.length === 0) return undefined;
  const osds = down.reduce((n, [, h]) => n + h.total, 0);
  return {
    code: 'OSD_HOST_DOWN', severity: 'HEALTH_WARN', summary: `${plural(down.length, 'host')} (${plural(osds, 'osd')}) down`,
    detail: down.map(([name, h]) => `host ${name} (${plural(h.total, 'osd')}) is down`),
    hint: 'check that the host is running and reachable, then start its OSDs (see OSD_DOWN)',
  };
}

function tooFewOsds(state: MonState): HealthCheck | undefined {
  const n = countOsds(state.osdmap).num;
  const pools = [...state.osdmap.pools.values()].filter((p) => p.size > n);
  if (pools.length === 0) return undefined;
  const want = Math.max(...pools.map((p) => p.size));
  return {
    code: 'TOO_FEW_OSDS', severity: 'HEALTH_WARN', summary: `OSD count ${n} < pool size ${want}`,
    detail: pools.map((p) => `pool '${p.name}' has size ${p.size} but the cluster has ${plural(n, 'OSD')}`),
    hint: `add OSDs (at least ${want}, on distinct hosts), or lower a replicated pool's size: nacre pool set ${pools[0]!.name} size ${Math.max(1, n)}`,
  };
}

function poolNoRedundancy(state: MonState): HealthCheck | undefined {
  const pools = [...state.osdmap.pools.values()].filter((p) => p.size === 1);
  if (pools.length === 0) return undefined;
  return {
    code: 'POOL_NO_REDUNDANCY', severity: 'HEALTH_WARN', summary: `${plural(pools.length, 'pool')} ha${pools.length === 1 ? 's' : 've'} no replicas configured`,
    detail: pools.map((p) => `pool '${p.name}' has no replicas configured`),
    hint: `losing one OSD loses data in these pools; add replicas with: nacre pool set ${pools[0]!.name} size 3`,
  };
}

const INACTIVE_WORDS = ['down', 'peering', 'stale', 'unknown', 'incomplete', 'activating'];

function pgAvailability(pgs: PgSummary): HealthCheck | undefined {
  const inactive = countPgsWith(pgs, (w) => !w.includes('active'));
  const stale = countPgsWith(pgs, (w) => w.includes('stale'));
  if (inactive === 0 && stale === 0) return undefined;
  const detail = Object.entries(pgs.byState)
    .filter(([name]) => !name.split('+').includes('active') || name.split('+').includes('stale'))
    .map(([name, n]) => `${plural(n, 'pg')} ${name}`);
  const parts = [`${plural(inactive, 'pg')} inactive`];
  for (const w of INACTIVE_WORDS) {
    const n = countPgsWith(pgs, (words) => words.includes(w));
    if (n > 0) parts.push(`${n} ${w}`);
  }
  return {
    code: 'PG_AVAILABILITY', severity: 'HEALTH_WARN', summary: `Reduced data availability: ${parts.join(', ')}`, detail,
    hint: 'I/O to these PGs blocks until they are active: start down OSDs (see OSD_DOWN); PGs stay unknown until an OSD reports them',
  };
}

function pgDegraded(pgs: PgSummary): HealthCheck | undefined {
  const degraded = countPgsWith(pgs, (w) => w.includes('degraded'));
  const undersized = countPgsWith(pgs, (w) => w.includes('undersized'));
  if (degraded === 0 && undersized === 0) return undefined;
  const parts = [...(degraded > 0 ? [`${plural(degraded, 'pg')} degraded`] : []), ...(undersized > 0 ? [`${plural(undersized, 'pg')} undersized`] : [])];
  return {
    code: 'PG_DEGRADED', severity: 'HEALTH_WARN', summary: `Degraded data redundancy: ${parts.join(', ')}`,
    detail: Object.entries(pgs.byState).filter(([n]) => /(^|\+)(degraded|undersized)(\+|$)/.test(n)).map(([n, c]) => `${plural(c, 'pg')} ${n}`),
    hint: 'data has fewer copies than the pool size: start down OSDs, or wait for recovery to finish',
  };
}

function osdFullness(
  state: MonState, pgs: PgSummary, ratio: number, code: string, severity: 'HEALTH_WARN' | 'HEALTH_ERR', word: string, belowRatio = Infinity,
): HealthCheck | undefined {
  const hits = pgs.osds.filter((o) => {
    if (!(o.osd < state.osdmap.maxOsd && state.osdmap.osds[o.osd]!.exists) || o.capacityBytes <= 0) return false;
    const used = o.allocatedBytes / o.capacityBytes;
    return used >= ratio && used < belowRatio;
  });
  if (hits.length === 0) return undefined;
  return {
    code, severity, summary: `${plural(hits.length, `${word} osd`)}`,
    detail: hits.map((o) => `osd.${o.osd} is ${word} (${((100 * o.allocatedBytes) / o.capacityBytes).toFixed(1)}% used)`),
    hint: severity === 'HEALTH_ERR'
      ? 'writes to PGs on these OSDs stop: delete data, add OSDs, or reweight (nacre osd reweight ID 0.8)'
      : 'add capacity or delete data before the OSDs fill up; nacre df shows usage per pool',
  };
}

/** One line: `HEALTH_WARN 1 osds down; noout flag(s) set`. */
export function healthLine(h: HealthReport): string {
  return h.checks.length === 0 ? h.status : `${h.status} ${h.checks.map((c) => c.summary).join('; ')}`;
}

/** `health detail`: every check with its details and hint. */
export function healthDetailText(h: HealthReport): string {
  const lines = [healthLine(h)];
  for (const c of h.checks) {
    lines.push(`[${c.severity === 'HEALTH_ERR' ? 'ERR' : 'WRN'}] ${c.code}: ${c.summary}`);
    for (const d of c.detail) lines.push(`    ${d}`);
    lines.push(`    hint: ${c.hint}`);
  }
  return lines.join('\n');
}
