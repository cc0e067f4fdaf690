/**
 * `status`, `health`, `mon stat`, `df`: reports built from the committed state plus what the
 * driver knows (quorum) and this monitor's PG summary. Status JSON:
 *
 *   { fsid, health: { status, checks: [...] }, quorum: [names], quorum_names, leader, election_epoch,
 *     monmap_epoch, monmap: { epoch, mons: [{ name, rank, addr }] },
 *     osdmap: { epoch, num_osds, num_up, num_in, flags }, pools: [{ pool_id, pool_name, ... }],
 *     pgs: { total, by_state: { 'active+clean': n } }, usage?: { ... } }
 *
 * and a `ceph -s`-like text.
 */
import { countOsds } from '@nacre/osdmap';
import type { MonCommandReply } from '@nacre/proto';
import type { CommandArgs } from './command-args.js';
import { readCommand, type CommandTable } from './command-spec.js';
import type { ServiceContext } from './draft.js';
import { humanBytes, plural, table } from './format.js';
import { healthChecks, healthDetailText, healthLine, type HealthReport } from './health.js';
import type { MonState } from './mon-state.js';
import { monServiceOptions } from './mon-options.js';
import { poolDetail } from './osd-tree.js';
import type { PgSummary } from './pg-stats.js';
import { leaderName, quorumNames } from './quorum.js';

function health(state: MonState, ctx: ServiceContext): HealthReport {
  return healthChecks({
    state, options: monServiceOptions(state),
    ...(ctx.quorum !== undefined ? { quorum: ctx.quorum } : {}),
    ...(ctx.pgs !== undefined ? { pgs: ctx.pgs } : {}),
  });
}

function pgCounts(state: MonState, pgs: PgSummary | undefined): { total: number; by_state: Record<string, number> } {
  if (pgs !== undefined) return { total: pgs.total, by_state: pgs.byState };
  const total = [...state.osdmap.pools.values()].reduce((n, p) => n + p.pgNum, 0);
  return { total, by_state: total > 0 ? { unknown: total } : {} };
}

export function statusReport(state: MonState, ctx: ServiceContext): MonCommandReply {
  const m = state.osdmap;
  const h = health(state, ctx);
  const c = countOsds(m);
  const quorum = quorumNames(state, ctx.quorum);
  const leader = leaderName(state, ctx.quorum);
  const pools = [...m.pools.values()].sort((a, b) => a.id - b.id);
  const pgs = pgCounts(state, ctx.pgs);
  const data = {
    fsid: state.fsid,
    health: h,
    quorum,
    quorum_names: quorum,
    leader,
    election_epoch: ctx.quorum?.electionEpoch ?? 0,
    monmap_epoch: state.monmap.epoch,
    monmap: { epoch: state.monmap.epoch, mons: state.monmap.mons.map((x) => ({ ...x })) },
    osdmap: { epoch: m.epoch, num_osds: c.num, num_up: c.up, num_in: c.in, flags: [...m.flags].sort() },
    pools: pools.map((p) => poolDetail(m, p)),
    pgs,
    ...(ctx.pgs !== undefined ? {
      usage: {
        objects: ctx.pgs.pools.reduce((n, p) => n + p.objects, 0),
        stored_bytes: ctx.pgs.pools.reduce((n, p) => n + p.storedBytes, 0),
        total_bytes: ctx.pgs.raw.capacityBytes, used_bytes: ctx.pgs.raw.allocatedBytes, avail_bytes: ctx.pgs.raw.availBytes,
      },
    } : {}),
  };
  const pad = (s: string): string => `    ${s}`;
  const healthLines = [pad(`health: ${h.status}`), ...h.checks.map((x) => `            ${x.summary}`)];
  const pgLines = Object.entries(pgs.by_state).sort(([, a], [, b]) => b - a).map(([s, n]) => `${n} ${s}`);
  const lines = [
    '  cluster:', pad(`id:     ${state.fsid}`), ...healthLines, '',
    '  services:',
    pad(`mon: ${plural(state.monmap.mons.length, 'daemon')}, quorum ${quorum.length > 0 ? quorum.join(',') : '(none)'}${leader !== null ? ` (leader ${leader})` : ''}`),
    pad(`osd: ${plural(c.num, 'osd')}: ${c.up} up, ${c.in} in; epoch e${m.epoch}${m.flags.size > 0 ? ` (flags ${[...m.flags].sort().join(',')})` : ''}`), '',
    '  data:',
    pad(`pools:   ${plural(pools.length, 'pool')}, ${plural(pgs.total, 'pg')}`),
    ...(data.usage !== undefined ? [
      pad(`objects: ${plural(data.usage.objects, 'object')}, ${humanBytes(data.usage.stored_bytes)}`),
      pad(`usage:   ${humanBytes(data.usage.used_bytes)} used, ${humanBytes(data.usage.avail_bytes)} / ${humanBytes(data.usage.total_bytes)} avail`),
    ] : []),
    pad(`pgs:     ${pgLines.length > 0 ? pgLines[0] : '0'}`), ...pgLines.slice(1).map((l) => `             ${l}`),
  ];
  return { data, text: lines.join('\n') };
}

function healthCommand(state: MonState, a: CommandArgs, ctx: ServiceContext): MonCommandReply {
  const h = health(state, ctx);
  return { data: h, text: a.bool('detail') ? healthDetailText(h) : healthLine(h) };
}

function monStat(state: MonState, ctx: ServiceContext): MonCommandReply {
  const q = ctx.quorum;
  const quorum = quorumNames(state, q);
  const leader = leaderName(state, q);
  const mons = state.monmap.mons.map((x) => `${x.name}=${x.addr}`).join(',');
  return {
    data: {
      epoch: state.monmap.epoch, fsid: state.fsid, mons: state.monmap.mons.map((x) => ({ ...x })), election_epoch: q?.electionEpoch ?? 0,
      quorum: [...(q?.quorumRanks ?? [])].sort((x, y) => x - y), quorum_names: quorum, leader, leader_rank: q?.leaderRank ?? null,
    },
    text: `e${state.monmap.epoch}: ${plural(state.monmap.mons.length, 'mon')} at {${mons}}, election epoch ${q?.electionEpoch ?? 0}, `
      + `leader ${q?.leaderRank ?? '-'} ${leader ?? '(none)'}, quorum ${[...(q?.quorumRanks ?? [])].join(',')} ${quorum.join(',')}`,
  };
}

function df(state: MonState, ctx: ServiceContext): MonCommandReply {
  const s = ctx.pgs;
  const raw = s?.raw ?? { capacityBytes: 0, allocatedBytes: 0, storedBytes: 0, availBytes: 0, objects: 0 };
  const pools = s?.pools ?? [...state.osdmap.pools.values()].map((p) => ({ id: p.id, name: p.name, pgs: p.pgNum, objects: 0, storedBytes: 0, allocatedBytes: 0, rawPerStored: p.size }));
  const pct = (used: number, total: number): number => (total > 0 ? (100 * used) / total : 0);
  const poolRows = pools.map((p) => {
    const maxAvail = Math.floor(raw.availBytes / p.rawPerStored);
    return {
      name: p.name, id: p.id, pgs: p.pgs, stored_bytes: p.storedBytes, objects: p.objects, allocated_bytes: p.allocatedBytes,
      percent_used: pct(p.allocatedBytes, p.allocatedBytes + raw.availBytes), max_avail_bytes: maxAvail,
    };
  });
  const data = {
    stats: {
      total_bytes: raw.capacityBytes, total_used_bytes: raw.allocatedBytes, total_stored_bytes: raw.storedBytes,
      total_avail_bytes: raw.availBytes, percent_used: pct(raw.allocatedBytes, raw.capacityBytes), objects: raw.objects,
      reporting_osds: s?.osds.length ?? 0,
    },
    pools: poolRows,
  };
  const text = [
    '--- RAW STORAGE ---',
    table(['SIZE', 'AVAIL', 'USED', 'STORED', '%USED'], [[
      humanBytes(raw.capacityBytes), humanBytes(raw.availBytes), humanBytes(raw.allocatedBytes), humanBytes(raw.storedBytes),
      data.stats.percent_used.toFixed(2),
    ]], new Set([0, 1, 2, 3, 4])),
    '',
    '--- POOLS ---',
    table(['POOL', 'ID', 'PGS', 'STORED', 'OBJECTS', 'USED', '%USED', 'MAX AVAIL'], poolRows.map((p) => [
      p.name, String(p.id), String(p.pgs), humanBytes(p.stored_bytes), String(p.objects), humanBytes(p.allocated_bytes),
      p.percent_used.toFixed(2), humanBytes(p.max_avail_bytes),
    ]), new Set([1, 2, 3, 4, 5, 6, 7])),
  ].join('\n');
  return { data, text };
}

export const statusCommands: CommandTable = {
  status: readCommand((s, _a, ctx) => statusReport(s, ctx)),
  health: readCommand(healthCommand),
  'mon stat': readCommand((s, _a, ctx) => monStat(s, ctx)),
  df: readCommand((s, _a, ctx) => df(s, ctx)),
};
