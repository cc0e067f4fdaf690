/**
 * The OSD daemon's settings (main.ts): flags, then nacre.conf, then defaults.
 *
 * The OSD daemon entry point:
 *
 *   node packages/osd/dist/main.js --conf nacre.conf --id 3
 *   node packages/osd/dist/main.js --id 3 --mon 127.0.0.1:6789 --keyring K --data DIR --host host-b \
 *       [--addr 127.0.0.1:6803] [--hb-addr 127.0.0.1:6804] [--rack R] [--weight 1.0] [--class ssd] \
 *       [--block-size 2GiB] [--block-preallocate true] [--log-file F] [--log-level info] [--ms-transport tcp] [--set heartbeatGraceMs=6000 ...]
 *
 * Settings come from the flags, else from the OSD's section of nacre.conf (`[osd.N]`: addr,
 * hb_addr, data, log_file, log_level, host, rack, device_class, crush_weight, block_size, block_preallocate; `[global]`
 * fsid, mon_host, keyring, ms_transport; `osd_<option>` for any OsdConfig option, e.g. osd_heartbeatGraceMs),
 * else from defaults. `--conf` defaults to $NACRE_CONF or ./nacre.conf when --mon is not given.
 * The store (a BlockStore in the data directory) is created on first start. The daemon prints one
 * line `osd.N ready addr=… hb=… pid=…` on stdout once serving, logs JSON (pino) to the log file
 * (or stderr), and stops gracefully on SIGTERM/SIGINT.
 */
import { NacreError } from '@nacre/util';
import { loadConf, parseTransportName, transportConfKey, transportNameDefault, type ClusterConf, type TransportName } from '@nacre/msgr';
import { defaultOsdConfig, type OsdConfig } from './config.js';

export const usage = 'usage: main.js --id N [--conf FILE] [--mon HOST:PORT ...] [--keyring FILE] [--data DIR] [--host NAME] '
  + '[--addr HOST:PORT] [--hb-addr HOST:PORT] [--rack R] [--weight W] [--class C] [--block-size SIZE] [--block-preallocate true|false] '
  + '[--log-file F] [--log-level L] [--ms-transport ws|tcp] [--set OPTION=VALUE ...]';

const repeatable = new Set(['mon', 'set']);
const known = new Set(['id', 'conf', 'mon', 'keyring', 'data', 'host', 'addr', 'hb-addr', 'rack', 'weight', 'class', 'block-size', 'block-preallocate', 'log-file', 'log-level', 'ms-transport', 'set', 'fsid']);

function parseFlags(argv: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new NacreError(usage, { code: 'EINVAL' });
    if (!arg.startsWith('--')) throw new NacreError(`unexpected argument ${arg}\n${usage}`, { code: 'EINVAL' });
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new NacreError(`unknown option --${name}\n${usage}`, { code: 'EINVAL' });
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new NacreError(`option --${name} needs a value`, { code: 'EINVAL' });
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !repeatable.has(name)) throw new NacreError(`option --${name} given more than once`, { code: 'EINVAL' });
    list.push(value);
    flags.set(name, list);
  }
  return flags;
}

const sizeUnits: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

export function parseSizeBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : sizeUnits[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) throw new NacreError(`bad size '${text}' (e.g. 2GiB, 512MiB, 1073741824)`, { code: 'EINVAL' });
  return Math.floor(Number(m[1]) * unit);
}

export interface DaemonSettings {
  id: number;
  mons: string[];
  fsid?: string;
  keyringPath: string;
  dataDir: string;
  host: string;
  rack?: string;
  deviceClass?: string;
  weight: number;
  addr: string;
  hbAddr: string;
  blockSizeBytes: number;
  /** Write zeros over the block file at its creation instead of leaving it sparse. */
  blockPreallocate: boolean;
  logFile?: string;
  logLevel: string;
  /** Messenger transport of both messengers (public and heartbeat); a cluster uses one. */
  transport: TransportName;
  config: Partial<OsdConfig>;
}

function configOverrides(pairs: Array<[string, string]>): Partial<OsdConfig> {
  const out: Record<string, number> = {};
  for (const [k, v] of pairs) {
    if (!(k in defaultOsdConfig)) throw new NacreError(`unknown OSD option '${k}' (known: ${Object.keys(defaultOsdConfig).join(', ')})`, { code: 'EINVAL' });
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new NacreError(`OSD option ${k} must be an integer, got '${v}'`, { code: 'EINVAL' });
    out[k] = n;
  }
  return out as Partial<OsdConfig>;
}

/** Flags first, then nacre.conf, then defaults. */
export function resolveSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): DaemonSettings {
  const f = parseFlags(argv);
  const one = (k: string): string | undefined => f.get(k)?.[0];
  const idText = one('id');
  if (idText === undefined || !/^(0|[1-9]\d{0,6})$/.test(idText)) throw new NacreError(`--id must be an OSD number\n${usage}`, { code: 'EINVAL' });
  const id = Number(idText);
  const entity = `osd.${id}`;
  let conf: ClusterConf | null = null;
  if (one('conf') !== undefined || f.get('mon') === undefined) conf = loadConf({ ...(one('conf') !== undefined ? { flag: one('conf')! } : {}), env });
  const c = (k: string): string | undefined => conf?.lookup(entity, k);
  const need = (v: string | undefined, what: string): string => {
    if (v === undefined || v === '') throw new NacreError(`${what} not set (flag or nacre.conf [${entity}])`, { code: 'EINVAL' });
    return v;
  };
  const mons = f.get('mon') ?? conf?.monHosts() ?? [];
  if (mons.length === 0) throw new NacreError('no monitors: give --mon or mon_host in nacre.conf', { code: 'EINVAL' });
  const confOptions: Array<[string, string]> = [];
  for (const section of [conf?.section('osd'), conf?.section(entity)]) {
    for (const [k, v] of section ?? []) if (k.startsWith('osd_')) confOptions.push([k.slice(4), v]);
  }
  const setOptions = (f.get('set') ?? []).map((s): [string, string] => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new NacreError(`--set takes OPTION=VALUE, got '${s}'`, { code: 'EINVAL' });
    return [s.slice(0, eq), s.slice(eq + 1)];
  });
  const weightText = one('weight') ?? c('crush_weight') ?? '1';
  const weight = Number(weightText);
  if (!Number.isFinite(weight) || weight < 0 || weight > 100) throw new NacreError(`bad weight '${weightText}' (0..100)`, { code: 'EINVAL' });
  const rack = one('rack') ?? c('rack');
  const deviceClass = one('class') ?? c('device_class');
  const fsid = one('fsid') ?? conf?.fsid;
  const logFile = one('log-file') ?? conf?.path(entity, 'log_file');
  return {
    id, mons,
    ...(fsid !== undefined ? { fsid } : {}),
    keyringPath: need(one('keyring') ?? conf?.keyringPath(entity) ?? env['NACRE_KEYRING'], 'keyring'),
    dataDir: need(one('data') ?? conf?.path(entity, 'data'), 'data directory'),
    host: need(one('host') ?? c('host'), 'CRUSH host'),
    ...(rack !== undefined ? { rack } : {}),
    ...(deviceClass !== undefined ? { deviceClass } : {}),
    weight: Math.round(weight * 0x10000),
    addr: one('addr') ?? c('addr') ?? '127.0.0.1:0',
    hbAddr: one('hb-addr') ?? c('hb_addr') ?? '127.0.0.1:0',
    blockSizeBytes: parseSizeBytes(one('block-size') ?? c('block_size') ?? '2GiB'),
    blockPreallocate: parseBool(one('block-preallocate') ?? c('block_preallocate') ?? 'false', 'block_preallocate'),
    ...(logFile !== undefined ? { logFile } : {}),
    logLevel: one('log-level') ?? c('log_level') ?? env['NACRE_LOG_LEVEL'] ?? 'info',
    transport: parseTransportName(one('ms-transport') ?? c(transportConfKey) ?? transportNameDefault),
    config: configOverrides([...confOptions, ...setOptions]),
  };
}

function parseBool(text: string, what: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new NacreError(`${what} must be true or false, got '${text}'`, { code: 'EINVAL' });
}
