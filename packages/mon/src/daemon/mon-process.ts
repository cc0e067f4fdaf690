/**
 * The monitor as an OS process (packages/mon/src/main.ts calls `runMonProcess`): resolve the
 * settings (daemon-args.ts), then either make the store (`--mkfs`, exits) or run the monitor:
 * one pino logger (JSON lines, the monitor's id as `name`, written synchronously so a kill -9
 * loses at most the line being written), a pid file, one `{"ready":true,…}` line on stdout once
 * it listens, a clean stop on SIGTERM/SIGINT (store closed, pid file removed, exit 0).
 *
 * Exit codes: 0 clean stop or mkfs done; 1 bad usage or configuration, or start failed (one line
 * on stderr, also logged); 2 the store failed while running; 70 an internal assertion failed or
 * an exception escaped (logged as fatal first — never swallowed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { pino } from 'pino';
import { ClusterConf, Keyring, createTransport, parseTransportName, resolveConfPath, transportConfKey, transportNameDefault, type KeyLookup, type TransportName } from '@nacre/msgr';
import { isEntityName, type CommandArg, type EntityName } from '@nacre/proto';
import { AssertionFailure, NacreError, createLogger, realEnv, type Logger } from '@nacre/util';
import type { BootstrapOptions } from '../services/bootstrap.js';
import { parseMonArgs, parseMonmapFlag, type MonArgs } from './daemon-args.js';
import { mkfsMonitor } from './mkfs.js';
import { MonitorDaemon } from './monitor-daemon.js';
import { removePidFile, writePidFile } from './pid-file.js';

export interface MonProcessSettings {
  id: string;
  entity: EntityName;
  mkfs: boolean;
  dataDir: string;
  keyringPath: string;
  /** Flags over nacre.conf, for every option the daemon and the service layer read. */
  lookup: (key: string) => string | undefined;
  conf: ClusterConf;
  addr: string | undefined;
  logFile: string;
  logLevel: string;
  pidFile: string;
  /** Messenger transport (`--ms-transport` / conf `ms_transport`; every daemon of a cluster uses the same). */
  transport: TransportName;
}

function missing(what: string, flag: string, confKey: string): never {
  throw new NacreError(`${what} is not set: give ${flag} or set '${confKey}' in nacre.conf`, { code: 'EINVAL' });
}

function loadConfFor(args: MonArgs, env: NodeJS.ProcessEnv, cwd: string): ClusterConf {
  const { path, from } = resolveConfPath({ ...(args.conf === undefined ? {} : { flag: args.conf }), env, cwd });
  if (from !== 'flag' && !existsSync(path)) return new ClusterConf('(no nacre.conf)', cwd);
  return ClusterConf.readFile(path);
}

export function resolveMonSettings(args: MonArgs, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): MonProcessSettings {
  const conf = loadConfFor(args, env, cwd);
  const entity = `mon.${args.id}` as EntityName;
  const lookup = (key: string): string | undefined => args.settings.get(key) ?? conf.lookup(entity, key);
  const pathOf = (key: string): string | undefined => {
    const flag = args.settings.get(key);
    return flag !== undefined ? resolvePath(cwd, flag) : conf.path(entity, key);
  };
  const dataDir = (pathOf('data') ?? missing('the data directory', '--data DIR', 'data')).replace(/\/+$/, '');
  const keyringPath = pathOf('keyring') ?? missing('the keyring', '--keyring FILE', 'keyring');
  const logFlag = args.settings.get('log_file');
  return {
    id: args.id,
    entity,
    mkfs: args.mkfs,
    dataDir,
    keyringPath,
    lookup,
    conf,
    addr: args.settings.get('addr') ?? conf.get(entity, 'addr'),
    logFile: logFlag === '-' ? '-' : pathOf('log_file') ?? `${dataDir}.log`,
    logLevel: lookup('log_level') ?? env['NACRE_LOG_LEVEL'] ?? 'info',
    pidFile: pathOf('pid_file') ?? `${dataDir}.pid`,
    transport: parseTransportName(lookup(transportConfKey) ?? transportNameDefault),
  };
}

/** The bootstrap options `--mkfs` stores: fsid, monmap, every key of the keyring, extras. */
export function mkfsBootstrap(s: MonProcessSettings, keyring: Keyring, nowMs: number): BootstrapOptions {
  const fsid = s.lookup('fsid') ?? missing('the cluster fsid', '--fsid ID', 'fsid');
  const monmapFlag = s.lookup('monmap');
  let mons: { name: string; addr: string }[];
  if (monmapFlag !== undefined) mons = parseMonmapFlag(monmapFlag);
  else {
    mons = s.conf.monNames().map((name) => ({ name, addr: s.conf.get(`mon.${name}`, 'addr') ?? missing(`the address of mon.${name}`, '--monmap', `[mon.${name}] addr`) }));
    if (mons.length === 0) missing('the monmap', '--monmap a=HOST:PORT,...', '[mon.X] sections with addr');
  }
  const createdText = s.lookup('created_ms');
  const createdMs = createdText === undefined ? nowMs : Number(createdText);
  if (!Number.isSafeInteger(createdMs) || createdMs < 0) throw new NacreError(`--created-ms must be a non-negative integer, got '${createdText}'`, { code: 'EINVAL' });
  const out: BootstrapOptions = {
    fsid, mons, createdMs,
    keyring: keyring.entities().map((e) => [e, keyring.keyOf(e)!] as [EntityName, Buffer]),
  };
  const extrasPath = s.lookup('bootstrap');
  if (extrasPath !== undefined) Object.assign(out, readBootstrapExtras(extrasPath));
  return out;
}

/** `--bootstrap FILE`: `{ "pools": [ {…osd pool create args} ], "config": [[who, key, value]] }`. */
function readBootstrapExtras(path: string): Pick<BootstrapOptions, 'pools' | 'config'> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new NacreError(`cannot read --bootstrap ${path}: ${(err as Error).message}`, { code: 'EINVAL' });
  }
  const bad = (why: string): never => {
    throw new NacreError(`--bootstrap ${path}: ${why}`, { code: 'EINVAL' });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('expected a JSON object');
  const o = raw as Record<string, unknown>;
  const out: Pick<BootstrapOptions, 'pools' | 'config'> = {};
  if (o['pools'] !== undefined) {
    if (!Array.isArray(o['pools']) || o['pools'].some((p) => typeof p !== 'object' || p === null || Array.isArray(p))) bad('pools must be a list of objects');
    out.pools = o['pools'] as Record<string, CommandArg>[];
  }
  if (o['config'] !== undefined) {
    const c = o['config'];
    if (!Array.isArray(c) || c.some((e) => !Array.isArray(e) || e.length !== 3 || e.some((x) => typeof x !== 'string'))) bad('config must be a list of [who, key, value] strings');
    out.config = c as [string, string, string][];
  }
  return out;
}

function readKeyring(s: MonProcessSettings): Keyring {
  const ring = Keyring.readFile(s.keyringPath);
  if (ring.keyOf(s.entity) === undefined) throw new NacreError(`keyring ${s.keyringPath} has no key for ${s.entity}`, { code: 'EINVAL' });
  for (const e of ring.entities()) if (!isEntityName(e)) throw new NacreError(`keyring ${s.keyringPath}: bad entity ${e}`, { code: 'EINVAL' });
  return ring;
}

/** Re-read the keyring file at most this often when an unknown entity connects. */
const keyringReloadIntervalMs = 1_000;

/**
 * The keyring file as a KeyLookup that notices entities added to the file after start (the
 * spawner adds OSDs to an existing cluster's keyring): an unknown name triggers a re-read, at most
 * once per `keyringReloadIntervalMs`. A file that became unreadable keeps the keys we had.
 */
function reloadingKeyring(path: string, initial: Keyring, logger: Logger): KeyLookup {
  let ring = initial;
  let lastReadMs = Date.now();
  return {
    keyOf(entity: EntityName): Buffer | undefined {
      const key = ring.keyOf(entity);
      if (key !== undefined || Date.now() - lastReadMs < keyringReloadIntervalMs) return key;
      lastReadMs = Date.now();
      try {
        ring = Keyring.readFile(path);
      } catch (err) {
        logger.warn({ err: (err as Error).message, path }, 'cannot re-read the keyring');
      }
      return ring.keyOf(entity);
    },
  };
}

function makeLogger(s: MonProcessSettings): Logger {
  const destination = s.logFile === '-' ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: s.logFile, sync: true, mkdir: true });
  return createLogger(s.entity, { level: s.logLevel, destination });
}

/** Run the process; resolves with the exit code (for a running monitor: once it has stopped). */
export async function runMonProcess(argv: readonly string[], out: { stdout: (t: string) => void; stderr: (t: string) => void } = {
  stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t),
}): Promise<number> {
  let s: MonProcessSettings;
  let keyring: Keyring;
  try {
    s = resolveMonSettings(parseMonArgs(argv));
    keyring = readKeyring(s);
    if (s.mkfs) {
      const b = mkfsBootstrap(s, keyring, Date.now());
      await mkfsMonitor({ dataDir: s.dataDir, name: s.id, bootstrap: b });
      out.stdout(`${s.entity}: created a monitor store in ${s.dataDir} (fsid ${b.fsid}, monitors ${b.mons.map((m) => m.name).join(',')})\n`);
      return 0;
    }
  } catch (err) {
    out.stderr(`nacre-mon: ${(err as Error).message}\n`);
    return 1;
  }
  return runMonitor(s, keyring, out);
}

async function runMonitor(s: MonProcessSettings, keyring: Keyring, out: { stdout: (t: string) => void; stderr: (t: string) => void }): Promise<number> {
  const logger = makeLogger(s);
  const fatal = (code: number, err: unknown, what: string): void => {
    logger.fatal({ err }, what);
    out.stderr(`nacre-mon ${s.entity}: ${what}: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(code);
  };
  // Never swallow: an assertion failure or a bug logs its stack and ends the process.
  process.on('uncaughtException', (err) => fatal(70, err, 'uncaught exception'));
  process.on('unhandledRejection', (err) => fatal(70, err, 'unhandled rejection'));
  let exitCode = 0;
  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    done = resolve;
  });
  const daemon = new MonitorDaemon(
    { name: s.id, dataDir: s.dataDir, keyring: reloadingKeyring(s.keyringPath, keyring, logger), ...(s.addr === undefined ? {} : { listen: s.addr }), optionLookup: s.lookup },
    {
      env: realEnv(logger),
      transport: createTransport(s.transport),
      onFatal: (err) => {
        exitCode = 2;
        out.stderr(`nacre-mon ${s.entity}: store failed: ${err.message}\n`);
        removePidFile(s.pidFile, process.pid);
        done(exitCode);
      },
    },
  );
  try {
    await daemon.start();
  } catch (err) {
    // A store that fails its read-back checks is a broken invariant, not bad input: exit 70.
    if (err instanceof AssertionFailure) {
      fatal(70, err, 'assertion failed while starting');
      return 70;
    }
    logger.error({ err }, 'monitor failed to start');
    out.stderr(`nacre-mon ${s.entity}: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  writePidFile(s.pidFile, process.pid);
  out.stdout(`${JSON.stringify({ ready: true, name: s.entity, pid: process.pid, addr: daemon.address, data: s.dataDir, log: s.logFile })}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping on signal');
    void daemon.stop().then(() => {
      removePidFile(s.pidFile, process.pid);
      done(exitCode);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return finished;
}
