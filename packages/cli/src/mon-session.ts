/**
 * The admin commands' monitor session: which config (`--conf FILE`, else $NACRE_CONF, else
 * ./nacre.conf), who we are (`--name`, default client.admin), whose key (`--keyring`, else the
 * config's), and how long we wait (`--timeout SECONDS`). One MonClient per command run; every
 * failure is one line: no config, no key, no monitor, no quorum within the timeout.
 *
 * ```ts
 * const reply = await withMonSession(opts, (s) => s.command('osd pool ls', {}));
 * ```
 */
import { ClusterConf, Keyring, MonClient, createMessenger, loadConf, transportFromConf, type Messenger } from '@nacre/msgr';
import { parseEntityName, type CommandArg, type MonCommandReply } from '@nacre/proto';
import type { OsdMap } from '@nacre/osdmap';
import { NacreError, createLogger, realEnv, type Env } from '@nacre/util';
import { UsageError, flagString, parseIntStrict, type FlagSpec, type ParsedArgs } from './args.js';

/** Flags every admin command takes. */
export const sessionFlags: Record<string, FlagSpec> = {
  '--conf': { arity: 1, aliases: ['-c'] },
  '--name': { arity: 1, aliases: ['-n'] },
  '--keyring': { arity: 1, aliases: ['-k'] },
  '--timeout': { arity: 1 },
  '--format': { arity: 1, aliases: ['-f'] },
};

/**
 * Default deadline of one admin command, retries and monitor failover included. Long enough for
 * an election after a monitor dies (a few seconds), short enough that "no quorum" is reported
 * while the user is still looking.
 */
export const commandTimeoutSecondsDefault = 15;
const commandTimeoutSecondsMax = 3600;

export interface SessionOptions {
  conf?: string;
  name?: string;
  keyring?: string;
  timeoutMs: number;
  /**
   * Longest pause between attempts while hunting or retrying (MonClient's huntDelayMsMax, default
   * 2 s). `cluster up` polls monitors it has just started and keeps it short.
   */
  retryDelayMsMax?: number;
}

export type OutputFormat = 'plain' | 'json' | 'json-pretty';

export function sessionOptions(p: ParsedArgs): SessionOptions {
  const t = flagString(p, '--timeout');
  const timeoutMs = 1000 * (t === undefined ? commandTimeoutSecondsDefault : parseIntStrict(t, '--timeout', 1, commandTimeoutSecondsMax));
  const conf = flagString(p, '--conf');
  const name = flagString(p, '--name');
  const keyring = flagString(p, '--keyring');
  return { timeoutMs, ...(conf !== undefined ? { conf } : {}), ...(name !== undefined ? { name } : {}), ...(keyring !== undefined ? { keyring } : {}) };
}

export function outputFormat(p: ParsedArgs): OutputFormat {
  const f = flagString(p, '--format') ?? 'plain';
  if (f !== 'plain' && f !== 'json' && f !== 'json-pretty') throw new UsageError(`unknown format '${f}' (plain, json or json-pretty)`);
  return f;
}

/** JSON output: one line for `json` (scripts), indented for `json-pretty`. */
export function formatJson(value: unknown, format: OutputFormat): string {
  return (format === 'json-pretty' ? JSON.stringify(value, null, 2) : JSON.stringify(value)) + '\n';
}

export class MonSession {
  /** @internal made by openMonSession */
  constructor(
    readonly conf: ClusterConf,
    readonly monc: MonClient,
    private readonly msgr: Messenger,
    readonly timeoutMs: number,
    /** performance.now() by which the whole command run must be done (opening the session included). */
    readonly deadline: number,
  ) {}

  /**
   * Run a monitor command within what is left of the session's deadline (retried by MonClient on
   * failover): `--timeout 5` bounds the whole command, connecting included.
   */
  command(prefix: string, args: Record<string, CommandArg> = {}): Promise<MonCommandReply> {
    return this.commandWithin(prefix, args, Math.max(1, Math.floor(this.deadline - performance.now())), this.timeoutMs);
  }

  /** The same with its own deadline (polling loops use short ones); `reportMs` is the limit named in errors. */
  commandWithin(prefix: string, args: Record<string, CommandArg>, timeoutMs: number, reportMs = timeoutMs): Promise<MonCommandReply> {
    return this.monc.command(prefix, args, { timeoutMs }).catch((err: unknown) => {
      throw explain(err, prefix, this.monc, reportMs);
    });
  }

  /** The newest OSDMap a monitor has. */
  osdmap(): Promise<OsdMap> {
    return this.osdmapWithin(Math.max(1, Math.floor(this.deadline - performance.now())));
  }

  osdmapWithin(timeoutMs: number): Promise<OsdMap> {
    return this.monc.refreshOsdMap({ timeoutMs });
  }

  async close(): Promise<void> {
    await this.monc.stop();
    await this.msgr.stop();
  }
}

export async function openMonSession(opts: SessionOptions, env: Env = cliEnv()): Promise<MonSession> {
  const deadline = performance.now() + opts.timeoutMs;
  const conf = opts.conf !== undefined ? ClusterConf.readFile(opts.conf) : loadConf();
  const entity = parseEntityName(opts.name ?? 'client.admin');
  if (entity.kind !== 'client') throw new UsageError(`--name ${entity.name}: admin commands run as a client (client.<id>)`);
  const keyringPath = opts.keyring ?? conf.keyringPath(entity.name);
  if (keyringPath === undefined) throw new NacreError(`no keyring: set keyring in ${conf.source} or pass --keyring`, { code: 'EINVAL' });
  const key = Keyring.readFile(keyringPath).keyOf(entity.name);
  if (key === undefined) throw new NacreError(`keyring ${keyringPath} has no key for ${entity.name}`, { code: 'EPERM' });
  const mons = conf.monHosts();
  if (mons.length === 0) throw new NacreError(`no monitors: ${conf.source} has no mon_host`, { code: 'EINVAL' });
  const msgr = createMessenger({ entity: entity.name, key }, { env, transport: transportFromConf(conf, entity.name) });
  await msgr.start();
  const fsid = conf.fsid;
  // One attempt must fit in the deadline several times over: a silent monitor costs at most a third.
  const attemptTimeoutMs = Math.max(1000, Math.min(10_000, Math.floor(opts.timeoutMs / 3)));
  const monc = new MonClient({
    mons, ...(fsid !== undefined ? { fsid } : {}), commandTimeoutMs: opts.timeoutMs, attemptTimeoutMs, huntConnectTimeoutMs: 1000,
    ...(opts.retryDelayMsMax !== undefined ? { huntDelayMsMin: Math.min(50, opts.retryDelayMsMax), huntDelayMsMax: opts.retryDelayMsMax } : {}),
  }, { env, messenger: msgr });
  try {
    await monc.start({ timeoutMs: opts.timeoutMs });
  } catch (err) {
    await msgr.stop();
    const e = err as NacreError;
    if (e.code === 'ETIMEDOUT') throw new NacreError(`cannot reach any monitor (${mons.join(', ')}) within ${opts.timeoutMs / 1000} s: ${e.message}`, { code: 'ETIMEDOUT', cause: err });
    throw err;
  }
  return new MonSession(conf, monc, msgr, opts.timeoutMs, deadline);
}

export async function withMonSession<T>(opts: SessionOptions, fn: (s: MonSession) => Promise<T>): Promise<T> {
  const s = await openMonSession(opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** The CLI's environment: real clock, a logger that only speaks up for errors, on stderr. */
export function cliEnv(): Env {
  const level = process.env['NACRE_LOG_LEVEL'] ?? 'fatal';
  return realEnv(createLogger('nacre', { level, destination: process.stderr }));
}

/** A timed-out command says what that most likely means: no quorum. */
function explain(err: unknown, prefix: string, monc: MonClient, timeoutMs: number): unknown {
  const e = err as NacreError;
  if (e?.code !== 'ETIMEDOUT') return err;
  const peer = monc.sessionInfo?.peer;
  const why = /EAGAIN|quorum/i.test(e.message) ? 'no monitor quorum' : 'no monitor answered';
  return new NacreError(`'${prefix}' failed: ${why} within ${Math.round(timeoutMs / 100) / 10} s${peer !== undefined ? ` (last monitor: ${peer})` : ''}`, { code: 'ETIMEDOUT', cause: err });
}

/**
 * The common shape of a thin admin command: one monitor command, its `text` for people, its
 * `data` for `--format json`. Returns the exit code.
 */
export async function runMonCommand(p: ParsedArgs, io: { stdout: (t: string) => void }, prefix: string, args: Record<string, CommandArg> = {}): Promise<number> {
  const format = outputFormat(p);
  const reply = await withMonSession(sessionOptions(p), (s) => s.command(prefix, args));
  printReply(reply, format, io);
  return 0;
}

export function printReply(reply: MonCommandReply, format: OutputFormat, io: { stdout: (t: string) => void }): void {
  if (format !== 'plain') {
    io.stdout(formatJson(reply.data, format));
    return;
  }
  if (reply.text !== '') io.stdout(reply.text.endsWith('\n') ? reply.text : reply.text + '\n');
}
