/**
 * `nacre cluster up [-c cluster.example.yaml] [--dir DIR] [--timeout SECONDS]` — bring a local
 * cluster up, or bring an existing one back, and wait until it serves:
 *
 *   1. read and validate the cluster file (one clear line on a mistake, nothing started); take
 *      the directory's lock; check that the ports of every daemon to start are free;
 *   2. DIR: keyring, nacre.conf and bootstrap.json on first run (kept afterwards; OSDs new to the
 *      file get a key and a section);
 *   3. monitors: mkfs on first run (the first committed state holds the file's pools and
 *      replicated-config settings), start each one not running (detached processes), wait for a
 *      quorum of all of them (a majority is enough after a grace, with a warning);
 *   4. replicated-config settings that differ are set, pools missing from the cluster are
 *      created, keys of OSDs new to an existing cluster are registered;
 *   5. OSDs: start each one not running (the OSD makes its store on first start), wait until
 *      every OSD is up and every PG active;
 *   6. print what was done with timings, and the health.
 *
 * Idempotent: on a running cluster it starts nothing, creates nothing and reports health.
 */
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { Keyring } from '@nacre/msgr';
import type { EntityName } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { UsageError, flagString, parseArgs, parseIntStrict } from '../args.js';
import { loadClusterFile, settingDefs, type ClusterSpec, type PoolSpec } from '../cluster/cluster-file.js';
import { checkAddrsFree, checkBuilt, checkPortsFree, deathReason, mkfsMonitor, procSpecOf } from '../cluster/daemons.js';
import { ClusterDir, daemonsOf, defaultRunDir, type DaemonRef } from '../cluster/layout.js';
import { prepareClusterDir } from '../cluster/prepare.js';
import { isOurs, lockDir, runningPid, startProcess } from '../cluster/procs.js';
import type { CommandIo } from '../main.js';
import { openMonSession, type MonSession } from '../mon-session.js';
import { formatSeconds } from '../output.js';
import { fetchStatus, type StatusJson } from './status.js';
import { poolCreateArgs } from '../cluster/pool-args.js';

export const defaultClusterFile = 'cluster.example.yaml';
/** Default for the whole bring-up (monitors, OSDs, PGs active). */
const upTimeoutSecondsDefault = 180;
/** Pause between status polls while waiting. */
const pollMs = 250;
/**
 * PG states in `status` come from the OSDs' reports (every 2 s by default, OsdConfig
 * statsIntervalMs): after OSDs boot, states are believed only once a report after the boot can
 * have arrived.
 */
const pgStatsSettleMs = 2_500;
/** How long `up` waits for every monitor to join before settling for a majority. */
const fullQuorumGraceMs = 30_000;
/** One status poll may take this long (monitors still electing answer late or not at all). */
const pollTimeoutMs = 3_000;

interface Started {
  ref: DaemonRef;
  pid: number;
  markers: string[];
}

export async function clusterUp(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, {
    '--config': { arity: 1, aliases: ['-c'] },
    '--dir': { arity: 1 },
    '--timeout': { arity: 1 },
  });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}' (the cluster file goes after -c)`);
  const t0 = performance.now();
  const timeoutS = flagString(p, '--timeout');
  const deadline = t0 + 1000 * (timeoutS === undefined ? upTimeoutSecondsDefault : parseIntStrict(timeoutS, '--timeout', 1, 24 * 3600));
  const spec = loadClusterFile(flagString(p, '--config') ?? defaultClusterFile);
  checkBuilt('mon');
  if (spec.osds.length > 0) checkBuilt('osd');

  const explicitDir = flagString(p, '--dir');
  const dir = new ClusterDir(explicitDir ?? defaultRunDir);
  mkdirSync(dir.root, { recursive: true });
  const unlock = lockDir(dir.lockPath, `\`nacre cluster up\` on ${dir.root}`);
  try {
    return await bringUp(spec, dir, explicitDir === undefined, t0, deadline, io);
  } finally {
    unlock();
  }
}

async function bringUp(spec: ClusterSpec, dir: ClusterDir, defaultDir: boolean, t0: number, deadline: number, io: CommandIo): Promise<number> {
  const since = (): string => formatSeconds(performance.now() - t0);
  if (!dir.exists()) {
    await checkAddrsFree([
      ...spec.mons.map((m): [string, string] => [`mon.${m.name}`, m.addr]),
      ...spec.osds.flatMap((o): [string, string][] => [[`osd.${o.id}`, o.addr], [`osd.${o.id}`, o.hbAddr]]),
    ]);
  }
  const prep = prepareClusterDir(dir, spec);
  io.stdout(`${prep.created ? 'creating' : 'starting'} cluster '${spec.name}' (fsid ${prep.fsid}) in ${dir.root}\n`);

  const daemons = daemonsOf(prep.conf);
  const mons = daemons.filter((d) => d.kind === 'mon');
  const osds = daemons.filter((d) => d.kind === 'osd');
  await checkPortsFree(prep.conf, daemons.filter((d) => runningPid(procSpecOf(dir, d)) === null));
  await Promise.all(mons.filter((m) => !existsSync(dir.dataDir(m.name))).map((m) => mkfsMonitor(dir, m)));
  const startedMons = startAll(dir, mons, io);

  const session = await openMonSession({ conf: dir.confPath, timeoutMs: Math.max(1000, Math.floor(deadline - performance.now())), retryDelayMsMax: 200 });
  try {
    const q = await waitForQuorum(session, dir, mons, startedMons, deadline);
    io.stdout(`quorum ${q.quorum.join(',')} (leader ${q.leader ?? '?'}) after ${since()}\n`);
    const missing = mons.filter((m) => !q.quorum.includes(m.id)).map((m) => m.name);
    if (missing.length > 0) io.stdout(`warning: ${missing.join(', ')} not in the quorum; see ${missing.map((n) => dir.logPath(n)).join(', ')}\n`);
    await applyConfig(session, spec, io);
    if (!prep.created && prep.addedOsds.length > 0) await registerKeys(session, prep.addedOsds.map((id): EntityName => `osd.${id}`), prep.keyring);

    await createPools(session, spec, io);
    const epochBefore = (await session.osdmap()).epoch;
    const startedOsds = startAll(dir, osds, io);
    if (osds.length > 0) {
      await waitForOsdsAndPgs(session, dir, spec, startedOsds, epochBefore, deadline, (what) => io.stdout(`${what} after ${since()}\n`));
    }
    const st = await fetchStatus(session, pollTimeoutMs * 3);
    io.stdout(`${st.health.status} after ${since()}${st.health.status === 'HEALTH_OK' ? '' : `: ${healthSummary(st)}`}\n`);
  } finally {
    await session.close();
  }
  linkDefaultConf(dir, defaultDir, io);
  io.stdout(`conf: ${dir.confPath}   try: nacre status${defaultDir ? '' : ` --conf ${dir.confPath}`}\n`);
  return 0;
}

/** Start every daemon of the list that does not run; report each. */
function startAll(dir: ClusterDir, list: readonly DaemonRef[], io: CommandIo): Started[] {
  const started: Started[] = [];
  for (const d of list) {
    const spec = procSpecOf(dir, d);
    const pid = runningPid(spec);
    if (pid !== null) {
      io.stdout(`  ${d.name.padEnd(8)} running      pid ${pid}\n`);
      continue;
    }
    const newPid = startProcess(spec);
    started.push({ ref: d, pid: newPid, markers: spec.markers });
    io.stdout(`  ${d.name.padEnd(8)} started      pid ${newPid}  ${dir.logPath(d.name)}\n`);
  }
  return started;
}

/** A daemon we just started died: stop waiting at once and say why (port in use, bad store …). */
function checkAlive(dir: ClusterDir, started: readonly Started[]): void {
  for (const s of started) {
    if (!isOurs(s.pid, s.markers)) {
      throw new NacreError(`${s.ref.name} (pid ${s.pid}) exited during start-up; ${deathReason(dir, s.ref)} (log: ${dir.logPath(s.ref.name)})`, { code: 'EIO' });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `fetch` until `done` holds; between polls make sure the daemons we started still live. */
async function poll<T>(fetch: (timeoutMs: number) => Promise<T>, dir: ClusterDir, started: readonly Started[], deadline: number, what: () => string, done: (v: T) => boolean): Promise<T> {
  let lastErr = '';
  for (;;) {
    checkAlive(dir, started);
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new NacreError(`timed out waiting for ${what()}${lastErr !== '' ? ` (${lastErr})` : ''}`, { code: 'ETIMEDOUT' });
    try {
      const v = await fetch(Math.max(1, Math.min(pollTimeoutMs, Math.floor(remaining))));
      lastErr = '';
      if (done(v)) return v;
    } catch (err) {
      const e = err as NacreError;
      if (e.code !== 'ETIMEDOUT' && e.code !== 'EAGAIN') throw err;
      lastErr = e.message;
    }
    await sleep(pollMs);
  }
}

function pollStatus(session: MonSession, dir: ClusterDir, started: readonly Started[], deadline: number, what: () => string, done: (s: StatusJson) => boolean): Promise<StatusJson> {
  return poll((ms) => fetchStatus(session, ms), dir, started, deadline, what, done);
}

async function waitForQuorum(session: MonSession, dir: ClusterDir, mons: readonly DaemonRef[], started: readonly Started[], deadline: number): Promise<StatusJson> {
  const all = mons.length;
  const majority = Math.floor(all / 2) + 1;
  // Everyone, within a grace; after that a majority is enough (status then names who is missing).
  const fullQuorumDeadline = Math.min(deadline, performance.now() + fullQuorumGraceMs);
  try {
    return await pollStatus(session, dir, started, fullQuorumDeadline, () => `all ${all} monitors to join the quorum`, (s) => s.quorum.length >= all);
  } catch (err) {
    if ((err as NacreError).code !== 'ETIMEDOUT') throw err;
    return pollStatus(session, dir, started, deadline, () => `a monitor quorum (${majority} of ${all})`, (s) => s.quorum.length >= majority);
  }
}

/**
 * Settings kept in the monitors' replicated config: the cluster file is the source of truth, so
 * every `up` sets those that differ (and only those: an unchanged value costs no Paxos round).
 */
async function applyConfig(session: MonSession, spec: ClusterSpec, io: CommandIo): Promise<void> {
  for (const [key, value] of Object.entries(spec.settings)) {
    if (settingDefs[key]?.target !== 'config') continue;
    const want = String(value);
    let have: unknown;
    try {
      have = (await session.command('config get', { who: 'mon', key })).data;
    } catch (err) {
      if ((err as NacreError).code !== 'ENOENT') throw err;
    }
    if ((have as { value?: unknown } | undefined)?.value === want) continue;
    await session.command('config set', { who: 'mon', key, value: want });
    io.stdout(`  config   mon ${key} = ${want}\n`);
  }
}

/** Keys of OSDs new to an existing cluster: the monitors learn them like `ceph auth add`. */
async function registerKeys(session: MonSession, entities: EntityName[], keyring: Keyring): Promise<void> {
  for (const entity of entities) {
    const key = keyring.keyOf(entity);
    if (key === undefined) continue;
    try {
      await session.command('auth add', { entity, key: key.toString('base64') });
    } catch (err) {
      if ((err as NacreError).code !== 'EEXIST') throw err;
    }
  }
}

async function createPools(session: MonSession, spec: ClusterSpec, io: CommandIo): Promise<void> {
  if (spec.pools.length === 0) return;
  const map = await session.osdmap();
  const have = new Set([...map.pools.values()].map((pool) => pool.name));
  for (const pool of spec.pools) {
    if (have.has(pool.name)) continue;
    try {
      await session.command('osd pool create', poolCreateArgs(pool));
      io.stdout(`  pool ${pool.name.padEnd(8)} created      ${describePool(pool)}\n`);
    } catch (err) {
      if ((err as NacreError).code !== 'EEXIST') throw err;
    }
  }
}

function describePool(pool: PoolSpec): string {
  const shape = pool.type === 'replicated' ? `replicated size ${pool.size} min_size ${pool.minSize}` : `erasure ${pool.k}+${pool.m}`;
  return `${shape}, ${pool.pgNum} PGs, failure domain ${pool.failureDomain}`;
}

/**
 * Every OSD up — those we just started with a boot after `epochBefore` (an OSD the map still shows
 * up from an earlier life does not count) — then every PG active. PG states come from the OSDs'
 * periodic reports, so after OSDs (re)join, a report older than their boot could still say
 * active+clean: states are trusted only `pgStatsSettleMs` after the last boot was seen.
 */
async function waitForOsdsAndPgs(session: MonSession, dir: ClusterDir, spec: ClusterSpec, started: readonly Started[], epochBefore: number, deadline: number, report: (what: string) => void): Promise<void> {
  const ids = spec.osds.map((o) => o.id);
  const startedIds = started.map((s) => Number(s.ref.id));
  const map = await poll((ms) => session.osdmapWithin(ms), dir, started, deadline, () => `all ${ids.length} OSDs to be up`, (m) =>
    ids.every((id) => m.osds[id]?.up === true) && startedIds.every((id) => (m.osds[id]?.upFrom ?? 0) > epochBefore));
  const bootsSeenAt = performance.now();
  report(`${ids.length}/${ids.length} OSDs up (osdmap e${map.epoch})`);
  const expectedPgs = spec.pools.reduce((sum, pool) => sum + pool.pgNum, 0);
  const settledAt = started.length > 0 ? bootsSeenAt + pgStatsSettleMs : 0;
  let last: StatusJson | null = null;
  const active = await pollStatus(session, dir, started, deadline, () => `every PG to be active (${last === null ? '?' : pgLine(last)})`, (s) => {
    last = s;
    return performance.now() >= settledAt && allPgsActive(s, expectedPgs);
  });
  report(`${active.pgs.total} PGs ${pgLine(active)}`);
}

export function allPgsActive(s: StatusJson, expectedMin: number): boolean {
  if (s.pgs.total < expectedMin) return false;
  let activeCount = 0;
  for (const [state, count] of Object.entries(s.pgs.by_state)) {
    const words = state.split('+');
    if (words.includes('active') && !words.includes('stale')) activeCount += count;
  }
  return activeCount === s.pgs.total;
}

function pgLine(s: StatusJson): string {
  const parts = Object.entries(s.pgs.by_state).sort((a, b) => b[1] - a[1]).map(([state, count]) => `${count} ${state}`);
  return parts.length === 0 ? 'no PGs' : parts.join(', ');
}

function healthSummary(s: StatusJson): string {
  return s.health.checks.map((c) => `${c.code}: ${c.summary}`).join('; ') || 'no details';
}

/**
 * With the default directory, also leave `./nacre.conf` (a symlink to run/nacre.conf) so
 * `nacre status` in the same directory needs no --conf, as DESIGN §10 promises. Never replaces a
 * regular file; a symlink is only replaced if it points at some other nacre.conf.
 */
function linkDefaultConf(dir: ClusterDir, enabled: boolean, io: CommandIo): void {
  if (!enabled) return;
  const link = resolve('nacre.conf');
  if (link === dir.confPath) return;
  const target = relative(process.cwd(), dir.confPath);
  let st;
  try {
    st = lstatSync(link);
  } catch {
    st = null;
  }
  if (st !== null) {
    if (!st.isSymbolicLink()) return;
    const current = readlinkSync(link);
    if (current === target) return;
    if (!current.endsWith('nacre.conf')) return;
    rmSync(link);
  }
  try {
    symlinkSync(target, link);
    io.stdout(`linked ./nacre.conf -> ${target}\n`);
  } catch {
    // Read-only directory and the like: --conf still works.
  }
}
