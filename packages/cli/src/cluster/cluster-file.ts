/**
 * The cluster file (`cluster.example.yaml`): what `nacre cluster up` builds. YAML, validated
 * into a `ClusterSpec` with every default filled in; a bad file is ONE EINVAL error line
 * `FILE:LINE: yaml.path: reason` so the user knows exactly which entry to fix.
 *
 *   cluster: nacre                      # a name for messages (default nacre)
 *   bind: 127.0.0.1                     # address every daemon listens on (default 127.0.0.1)
 *   mons:                               # 1..9 monitors (odd counts survive the most failures)
 *     - { name: a, port: 6789 }
 *   osd_port_base: 6800                 # osd.N listens on base+2N (public) and base+2N+1 (heartbeat)
 *   osd_block_size: 2GiB                # default block file per OSD (sparse)
 *   osds:                               # 0..osdsMax OSDs
 *     - { id: 0, host: host-a, rack: r1, class: ssd, weight: 1.0, block_size: 4GiB, port: 7000 }
 *   pools:
 *     - { name: rbd, type: replicated, size: 3, min_size: 2, pg_num: 64, failure_domain: host }
 *     - { name: ec, type: erasure, k: 4, m: 2, pg_num: 32, failure_domain: osd }
 *   settings:                           # daemon tunables written into nacre.conf
 *     mon_osd_down_out_interval: 600
 *
 * The format is documented for users in README.md ("The cluster file").
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { NacreError } from '@nacre/util';
import { transportNames, type TransportName } from '@nacre/msgr';

export const monsMax = 9;
export const osdsMax = 1024;
export const poolsMax = 64;
/** Largest cluster file read: a cluster file is a few kilobytes; a huge one is a mistake. */
export const clusterFileBytesMax = 1024 * 1024;
const pgNumMax = 65536;
/** Bounds as the monitor enforces them (packages/mon/src/services/pool-commands.ts). */
const poolSizeMax = 10;
const blockSizeBytesMin = 64 * 1024 * 1024;
const blockSizeBytesMax = 2 ** 50;
const portMin = 1;
const portMax = 65535;

export type FailureDomain = 'osd' | 'host' | 'rack';

export interface MonSpec {
  name: string;
  /** `host:port` of its public endpoint. */
  addr: string;
  port: number;
}

export interface OsdSpec {
  id: number;
  host: string;
  rack?: string;
  deviceClass?: string;
  /** CRUSH weight (1.0 = one unit, like Ceph's TiB-based weights but unit-free). */
  weight: number;
  blockSizeBytes: number;
  /** Public address `host:port` (clients, peers). */
  addr: string;
  /** Heartbeat address `host:port`. */
  hbAddr: string;
}

export interface ReplicatedPoolSpec {
  name: string;
  type: 'replicated';
  pgNum: number;
  size: number;
  minSize: number;
  failureDomain: FailureDomain;
}

export interface ErasurePoolSpec {
  name: string;
  type: 'erasure';
  pgNum: number;
  k: number;
  m: number;
  /** Fewest shards with which a PG accepts writes (default k + min(1, m - 1), as Ceph). */
  minSize: number;
  stripeUnitBytes: number;
  failureDomain: FailureDomain;
}

export type PoolSpec = ReplicatedPoolSpec | ErasurePoolSpec;

/** Daemon tunables: each becomes a key in nacre.conf (see `settingDefs`). */
export type ClusterSettings = Record<string, string | number>;

export interface ClusterSpec {
  name: string;
  bind: string;
  mons: MonSpec[];
  osds: OsdSpec[];
  pools: PoolSpec[];
  settings: ClusterSettings;
}

export interface SettingDef {
  /**
   * Where the value goes: `conf` — nacre.conf, read by the daemons at start (`section` says which
   * daemons); `config` — the monitors' replicated config (`config set mon KEY VALUE`, applied
   * when the cluster is created; change it later with `nacre config set`), also recorded in
   * nacre.conf's [mon] section for reference.
   */
  target: 'conf' | 'config';
  section: 'global' | 'mon';
  kind: 'int' | 'string';
  min?: number;
  max?: number;
  values?: readonly string[];
  /** One line for README and error messages. */
  doc: string;
}

/**
 * The messenger transport `cluster up` writes into a new cluster's nacre.conf when the cluster file
 * does not choose one (`settings.ms_transport`). tcp, not the design card's ws: measured on the
 * example cluster (3 mons, 8 OSDs, 2 cores), 4 MiB writes went from ~126 to ~167 MB/s and 4 KiB
 * writes did not regress, because OSDs spend far less time in garbage collection (docs/wire.md §1).
 */
export const clusterTransportDefault: TransportName = 'tcp';

/**
 * The tunables a cluster file may set. Deliberately few (users drown in Ceph's thousand options):
 * a typo is an error that lists these, not a silently ignored key. Names are the daemons' own.
 */
export const settingDefs: Readonly<Record<string, SettingDef>> = Object.freeze({
  log_level: { target: 'conf', section: 'global', kind: 'string', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], doc: 'daemon log level (default info)' },
  ms_transport: { target: 'conf', section: 'global', kind: 'string', values: transportNames, doc: 'messenger transport of every daemon and client of the cluster: tcp (plain TCP records, less GC work) or ws (WebSockets); fixed when the cluster is created (default tcp)' },
  mon_lease_ms: { target: 'conf', section: 'mon', kind: 'int', min: 100, max: 60_000, doc: 'monitor read lease in ms; a dead leader is replaced after about 2-3 leases (default 2000)' },
  mon_election_timeout_ms: { target: 'conf', section: 'mon', kind: 'int', min: 100, max: 60_000, doc: 'monitor election round in ms (default 2000)' },
  mon_osd_down_out_interval: { target: 'config', section: 'mon', kind: 'int', min: 0, max: 31_536_000, doc: 'seconds a down OSD stays in before its data is re-replicated elsewhere; 0 never (default 600)' },
  mon_osd_min_down_reporters: { target: 'config', section: 'mon', kind: 'int', min: 1, max: 1000, doc: 'distinct hosts that must report an OSD before it is marked down (default 2)' },
  mon_osd_report_timeout: { target: 'config', section: 'mon', kind: 'int', min: 1, max: 31_536_000, doc: 'seconds without a beacon before an OSD is marked down (default 900)' },
  osd_heartbeat_grace: { target: 'config', section: 'mon', kind: 'int', min: 1, max: 86_400, doc: 'seconds an OSD must be unreachable before peer reports count (default 20)' },
});

/** Read and validate a cluster file. */
export function loadClusterFile(path: string): ClusterSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : 'EIO';
    throw new NacreError(`cannot read cluster file ${path}: ${(cause as Error).message}`, { code, cause });
  }
  if (text.length > clusterFileBytesMax) throw new NacreError(`cluster file ${path} is larger than ${clusterFileBytesMax} bytes`, { code: 'EFBIG' });
  return parseClusterFile(text, path);
}

type YamlPath = (string | number)[];

/** Validation context: the document (for line numbers) and the file name. */
class Checker {
  constructor(readonly doc: Document, readonly lines: LineCounter, readonly source: string) {}

  fail(path: YamlPath, why: string): never {
    const node = path.length === 0 ? this.doc.contents : (this.doc.getIn(path, true) as Node | undefined) ?? this.nearest(path);
    const offset = node?.range?.[0];
    const where = offset === undefined ? this.source : `${this.source}:${this.lines.linePos(offset).line}`;
    const label = path.length === 0 ? '(top level)' : formatPath(path);
    throw new NacreError(`${where}: ${label}: ${why}`, { code: 'EINVAL' });
  }

  /** The closest existing ancestor (a missing key is reported at its parent's line). */
  private nearest(path: YamlPath): Node | undefined {
    for (let n = path.length - 1; n > 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node !== undefined) return node;
    }
    return this.doc.contents ?? undefined;
  }
}

function formatPath(path: YamlPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** Parse and validate the text of a cluster file. */
export function parseClusterFile(text: string, source = 'cluster file'): ClusterSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line;
    throw new NacreError(`${source}${line !== undefined ? `:${line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`, { code: 'EINVAL' });
  }
  const c = new Checker(doc, lines, source);
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (root === null || root === undefined) c.fail([], 'the file is empty (expected mons:, osds:, pools:)');
  const top = asRecord(c, root, []);
  checkKeys(c, top, [], ['cluster', 'bind', 'mons', 'osds', 'osd_port_base', 'osd_block_size', 'pools', 'settings']);

  const name = optString(c, top, ['cluster'], 'nacre', /^[A-Za-z0-9_.-]{1,64}$/, '1-64 of [A-Za-z0-9_.-]');
  const bind = optString(c, top, ['bind'], '127.0.0.1', /^[A-Za-z0-9_.:-]{1,255}$/, 'an IPv4 address or host name');
  const mons = parseMons(c, top, bind);
  const osds = parseOsds(c, top, bind);
  const pools = parsePools(c, top, osds);
  const settings = parseSettings(c, top);
  checkPorts(c, mons, osds);
  return { name, bind, mons, osds, pools, settings };
}

function parseMons(c: Checker, top: Record<string, unknown>, bind: string): MonSpec[] {
  const list = top['mons'];
  if (list === undefined) c.fail(['mons'], `missing; list 1..${monsMax} monitors, e.g. - { name: a, port: 6789 }`);
  const items = asArray(c, list, ['mons']);
  if (items.length === 0 || items.length > monsMax) c.fail(['mons'], `expected 1..${monsMax} monitors, got ${items.length}`);
  const seen = new Set<string>();
  return items.map((raw, i) => {
    const path = ['mons', i];
    const m = asRecord(c, raw, path);
    checkKeys(c, m, path, ['name', 'port']);
    const monName = reqString(c, m, [...path, 'name'], /^[A-Za-z0-9_-]{1,64}$/, '1-64 of [A-Za-z0-9_-]');
    if (seen.has(monName)) c.fail([...path, 'name'], `duplicate monitor name '${monName}'`);
    seen.add(monName);
    const port = optInt(c, m, [...path, 'port'], 6789 + i, portMin, portMax);
    return { name: monName, port, addr: `${bind}:${port}` };
  });
}

function parseOsds(c: Checker, top: Record<string, unknown>, bind: string): OsdSpec[] {
  const base = optInt(c, top, ['osd_port_base'], 6800, portMin, portMax - 2 * osdsMax);
  const defaultBlock = top['osd_block_size'] === undefined ? 2 * 1024 ** 3 : parseSize(c, top['osd_block_size'], ['osd_block_size']);
  const items = top['osds'] === undefined || top['osds'] === null ? [] : asArray(c, top['osds'], ['osds']);
  if (items.length > osdsMax) c.fail(['osds'], `at most ${osdsMax} OSDs, got ${items.length}`);
  const seen = new Set<number>();
  return items.map((raw, i) => {
    const path = ['osds', i];
    const o = asRecord(c, raw, path);
    checkKeys(c, o, path, ['id', 'host', 'rack', 'class', 'weight', 'block_size', 'port']);
    const id = optInt(c, o, [...path, 'id'], i, 0, osdsMax * 16);
    if (seen.has(id)) c.fail([...path, 'id'], `duplicate OSD id ${id}`);
    seen.add(id);
    const host = reqString(c, o, [...path, 'host'], /^[A-Za-z0-9_.-]{1,64}$/, '1-64 of [A-Za-z0-9_.-] (the CRUSH host bucket)');
    const rack = o['rack'] === undefined ? undefined : reqString(c, o, [...path, 'rack'], /^[A-Za-z0-9_.-]{1,64}$/, '1-64 of [A-Za-z0-9_.-]');
    const deviceClass = o['class'] === undefined ? undefined : reqString(c, o, [...path, 'class'], /^[a-z0-9_-]{1,32}$/, '1-32 of [a-z0-9_-] (hdd, ssd, nvme …)');
    const weight = o['weight'] === undefined ? 1 : reqNumber(c, o['weight'], [...path, 'weight'], 0, 100);
    const blockSizeBytes = o['block_size'] === undefined ? defaultBlock : parseSize(c, o['block_size'], [...path, 'block_size']);
    const port = optInt(c, o, [...path, 'port'], base + 2 * id, portMin, portMax - 1);
    return {
      id, host, weight, blockSizeBytes, addr: `${bind}:${port}`, hbAddr: `${bind}:${port + 1}`,
      ...(rack !== undefined ? { rack } : {}),
      ...(deviceClass !== undefined ? { deviceClass } : {}),
    };
  });
}

function parsePools(c: Checker, top: Record<string, unknown>, osds: readonly OsdSpec[]): PoolSpec[] {
  const items = top['pools'] === undefined || top['pools'] === null ? [] : asArray(c, top['pools'], ['pools']);
  if (items.length > poolsMax) c.fail(['pools'], `at most ${poolsMax} pools, got ${items.length}`);
  const seen = new Set<string>();
  return items.map((raw, i) => {
    const path = ['pools', i];
    const p = asRecord(c, raw, path);
    const poolName = reqString(c, p, [...path, 'name'], /^[A-Za-z0-9_.-]{1,128}$/, '1-128 of [A-Za-z0-9_.-]');
    if (seen.has(poolName)) c.fail([...path, 'name'], `duplicate pool name '${poolName}'`);
    seen.add(poolName);
    const type = optString(c, p, [...path, 'type'], 'replicated', /^(replicated|erasure)$/, 'replicated or erasure');
    const pgNum = optInt(c, p, [...path, 'pg_num'], 32, 1, pgNumMax);
    const failureDomain = optString(c, p, [...path, 'failure_domain'], 'host', /^(osd|host|rack)$/, 'osd, host or rack') as FailureDomain;
    let pool: PoolSpec;
    if (type === 'replicated') {
      checkKeys(c, p, path, ['name', 'type', 'pg_num', 'size', 'min_size', 'failure_domain']);
      const size = optInt(c, p, [...path, 'size'], 3, 1, poolSizeMax);
      const minSize = optInt(c, p, [...path, 'min_size'], Math.max(1, size - Math.floor(size / 2)), 1, size);
      pool = { name: poolName, type, pgNum, size, minSize, failureDomain };
    } else {
      checkKeys(c, p, path, ['name', 'type', 'pg_num', 'k', 'm', 'min_size', 'stripe_unit', 'failure_domain']);
      const k = optInt(c, p, [...path, 'k'], 4, 2, 32);
      const m = optInt(c, p, [...path, 'm'], 2, 1, 8);
      const minSize = optInt(c, p, [...path, 'min_size'], k + Math.min(1, m - 1), k, k + m);
      const stripeUnitBytes = p['stripe_unit'] === undefined ? 4096 : parseSize(c, p['stripe_unit'], [...path, 'stripe_unit'], 4096, 16 * 1024 * 1024);
      if (stripeUnitBytes % 4096 !== 0) c.fail([...path, 'stripe_unit'], 'must be a multiple of 4 KiB');
      pool = { name: poolName, type: 'erasure', pgNum, k, m, minSize, stripeUnitBytes, failureDomain };
    }
    checkPlaceable(c, path, pool, osds);
    return pool;
  });
}

/**
 * A pool whose PGs can never go active (size 3 across hosts with only 2 hosts) would make
 * `cluster up` wait forever: refuse it here with the numbers. A cluster with no OSDs yet is fine.
 */
function checkPlaceable(c: Checker, path: YamlPath, pool: PoolSpec, osds: readonly OsdSpec[]): void {
  if (osds.length === 0) return;
  const width = pool.type === 'replicated' ? pool.size : pool.k + pool.m;
  const domains = new Set(osds.map((o) => (pool.failureDomain === 'osd' ? String(o.id) : pool.failureDomain === 'host' ? o.host : o.rack ?? `(no rack: ${o.host})`)));
  if (pool.failureDomain === 'rack' && osds.some((o) => o.rack === undefined)) {
    c.fail([...path, 'failure_domain'], 'rack needs a rack on every OSD');
  }
  if (domains.size < width) {
    c.fail([...path, pool.type === 'replicated' ? 'size' : 'k'], `${pool.type === 'replicated' ? `size ${width}` : `k+m = ${width}`} with failure_domain ${pool.failureDomain} needs ${width} distinct ${pool.failureDomain}s, the file has ${domains.size}`);
  }
}

function parseSettings(c: Checker, top: Record<string, unknown>): ClusterSettings {
  if (top['settings'] === undefined || top['settings'] === null) return {};
  const s = asRecord(c, top['settings'], ['settings']);
  const out: ClusterSettings = {};
  for (const [key, value] of Object.entries(s)) {
    const path = ['settings', key];
    const def = settingDefs[key];
    if (def === undefined) c.fail(path, `unknown setting (known: ${Object.keys(settingDefs).join(', ')})`);
    if (def.kind === 'int') out[key] = reqNumberInt(c, value, path, def.min ?? 0, def.max ?? Number.MAX_SAFE_INTEGER);
    else {
      if (typeof value !== 'string' || (def.values !== undefined && !def.values.includes(value))) {
        c.fail(path, `expected ${def.values !== undefined ? `one of ${def.values.join(', ')}` : 'a string'}, got ${show(value)}`);
      }
      out[key] = value;
    }
  }
  return out;
}

/** Every daemon listens on its own ports; two on one port would fail at start with a vaguer error. */
function checkPorts(c: Checker, mons: readonly MonSpec[], osds: readonly OsdSpec[]): void {
  const owner = new Map<number, string>();
  const claim = (port: number, who: string, path: YamlPath): void => {
    const prev = owner.get(port);
    if (prev !== undefined) c.fail(path, `port ${port} is used by both ${prev} and ${who}`);
    owner.set(port, who);
  };
  mons.forEach((m, i) => claim(m.port, `mon.${m.name}`, ['mons', i, 'port']));
  osds.forEach((o, i) => {
    const port = Number(o.addr.slice(o.addr.lastIndexOf(':') + 1));
    claim(port, `osd.${o.id}`, ['osds', i]);
    claim(port + 1, `osd.${o.id} (heartbeat)`, ['osds', i]);
  });
}

// ------------------------------------------------------------------ small typed readers

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 40) + '…' : s;
}

function asRecord(c: Checker, v: unknown, path: YamlPath): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) c.fail(path, `expected a mapping (key: value), got ${show(v)}`);
  return v as Record<string, unknown>;
}

function asArray(c: Checker, v: unknown, path: YamlPath): unknown[] {
  if (!Array.isArray(v)) c.fail(path, `expected a list (- item), got ${show(v)}`);
  return v;
}

function checkKeys(c: Checker, o: Record<string, unknown>, path: YamlPath, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) c.fail([...path, k], `unknown key (expected one of ${known.join(', ')})`);
  }
}

function reqString(c: Checker, o: Record<string, unknown>, path: YamlPath, re: RegExp, what: string): string {
  const v = o[path[path.length - 1]!];
  if (v === undefined || v === null) c.fail(path, `missing (${what})`);
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !re.test(s)) c.fail(path, `expected ${what}, got ${show(v)}`);
  return s;
}

function optString(c: Checker, o: Record<string, unknown>, path: YamlPath, dflt: string, re: RegExp, what: string): string {
  return o[path[path.length - 1]!] === undefined ? dflt : reqString(c, o, path, re, what);
}

function reqNumber(c: Checker, v: unknown, path: YamlPath, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) c.fail(path, `expected a number ${min}..${max}, got ${show(v)}`);
  return v;
}

function reqNumberInt(c: Checker, v: unknown, path: YamlPath, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) c.fail(path, `expected an integer ${min}..${max}, got ${show(v)}`);
  return v;
}

function optInt(c: Checker, o: Record<string, unknown>, path: YamlPath, dflt: number, min: number, max: number): number {
  const v = o[path[path.length - 1]!];
  return v === undefined ? dflt : reqNumberInt(c, v, path, min, max);
}

const sizeUnits: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4,
};

/** `2GiB`, `512MiB`, `1.5G`, `4096` (bytes). */
export function parseSizeText(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (m === null) return null;
  const unit = sizeUnits[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

function parseSize(c: Checker, v: unknown, path: YamlPath, min = blockSizeBytesMin, max = blockSizeBytesMax): number {
  const bytes = typeof v === 'number' ? v : typeof v === 'string' ? parseSizeText(v) : null;
  if (bytes === null || !Number.isSafeInteger(bytes)) c.fail(path, `expected a size like 2GiB, 512MiB or a byte count, got ${show(v)}`);
  if (bytes < min || bytes > max) c.fail(path, `must be between ${formatBytes(min)} and ${formatBytes(max)}, got ${formatBytes(bytes)}`);
  return bytes;
}

/** Bytes for people: 0 B, 512 KiB, 2 GiB, 1.5 TiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 || Number.isInteger(v) ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${text} ${units[i]}`;
}
