/**
 * The monitor process's command line (`node packages/mon/dist/main.js …`) and how each setting
 * is resolved: a flag, else nacre.conf (`[mon.ID]` → `[mon]` → `[global]`), else a default.
 *
 *   --id ID             required: this monitor is mon.ID
 *   --conf FILE         nacre.conf (else $NACRE_CONF, else ./nacre.conf if it exists)
 *   --data DIR          data directory (conf: data)                      required
 *   --keyring FILE      keyring with mon.ID's key (conf: keyring)        required
 *   --mkfs              create the store in DIR and exit (fails if one exists); uses:
 *     --fsid ID           cluster id (conf: [global] fsid)               required
 *     --monmap a=H:P,b=H:P,…   monitors in rank order (conf: every [mon.X] section with addr, in file order)
 *     --created-ms N      cluster creation time, ms since the epoch (default: now; display only)
 *     --bootstrap FILE    JSON { "pools": [ {pool, pg_num, size, …} ], "config": [[who, key, value]] }
 *   --addr H:P          listen here (conf: addr; default: this monitor's monmap address)
 *   --log-file FILE     pino JSON lines (conf: log_file; default DATA.log, i.e. DIR/mon.a.log for DIR/mon.a; '-' = stdout)
 *   --log-level L       (conf: log_level; else $NACRE_LOG_LEVEL; else info)
 *   --pid-file FILE     (conf: pid_file; default DATA.pid)
 *   --ms-transport T    messenger transport, ws or tcp (conf: ms_transport; default ws)
 *   --KEY VALUE         any other nacre.conf key for this monitor, e.g. --mon-lease-ms 2000
 *
 * `--flag=value` works too. Unknown keys are accepted as configuration (a later version's key is
 * not an error), but each must have a value.
 */
import { NacreError } from '@nacre/util';
import { normalizeConfKey } from '@nacre/msgr';

export interface MonArgs {
  id: string;
  conf?: string;
  mkfs: boolean;
  /** Every `--key value`, normalised (`mon-lease-ms` → `mon_lease_ms`), `id`/`conf`/`mkfs` excluded. */
  settings: Map<string, string>;
}

export const MON_USAGE = `usage: node packages/mon/dist/main.js --id ID [--conf FILE] [--data DIR] [--keyring FILE]
         [--mkfs [--fsid ID] [--monmap a=HOST:PORT,...] [--created-ms N] [--bootstrap FILE]]
         [--addr HOST:PORT] [--log-file FILE|-] [--log-level LEVEL] [--pid-file FILE] [--KEY VALUE ...]`;

/** Flags beyond the bounded set are configuration keys; a command line is short. */
const argsMax = 256;

function usage(message: string): never {
  throw new NacreError(`${message}\n${MON_USAGE}`, { code: 'EINVAL' });
}

export function parseMonArgs(argv: readonly string[]): MonArgs {
  if (argv.length > argsMax) usage(`too many arguments (at most ${argsMax})`);
  const settings = new Map<string, string>();
  let mkfs = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg.length < 3) usage(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const key = normalizeConfKey(eq > 0 ? arg.slice(2, eq) : arg.slice(2));
    if (!/^[a-z][a-z0-9_]*$/.test(key)) usage(`bad option '${arg}'`);
    if (key === 'mkfs') {
      if (eq > 0) usage('--mkfs takes no value');
      mkfs = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) usage(`option --${key.replace(/_/g, '-')} needs a value`);
      i++;
    }
    if (settings.has(key)) usage(`option --${key.replace(/_/g, '-')} given twice`);
    settings.set(key, value);
  }
  const id = settings.get('id');
  if (id === undefined || id === '') usage('--id is required');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) usage(`bad monitor id '${id}' (1-64 of [A-Za-z0-9_-])`);
  settings.delete('id');
  const conf = settings.get('conf');
  settings.delete('conf');
  return { id, mkfs, settings, ...(conf === undefined ? {} : { conf }) };
}

/** `a=127.0.0.1:6789,b=127.0.0.1:6790` → monitors in rank order. */
export function parseMonmapFlag(text: string): { name: string; addr: string }[] {
  const out: { name: string; addr: string }[] = [];
  const seen = new Set<string>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([A-Za-z0-9_-]{1,64})=(\S+:\d{1,5})$/.exec(part);
    if (m === null) throw new NacreError(`bad --monmap entry '${part}' (expected NAME=HOST:PORT)`, { code: 'EINVAL' });
    if (seen.has(m[1]!)) throw new NacreError(`--monmap names mon.${m[1]} twice`, { code: 'EINVAL' });
    seen.add(m[1]!);
    out.push({ name: m[1]!, addr: m[2]! });
  }
  if (out.length === 0) throw new NacreError('--monmap is empty', { code: 'EINVAL' });
  return out;
}
