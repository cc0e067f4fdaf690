/**
 * What every command that talks to a running cluster shares: the flags that say which cluster
 * and who we are, and opening/closing the client.
 *
 *   --conf, -c FILE    cluster config (else $NACRE_CONF, else ./nacre.conf)
 *   --name, -n NAME    entity to authenticate as (default client.admin)
 *   --keyring, -k FILE keyring (default: `keyring` of the config)
 *   --timeout SECONDS  deadline for reaching a monitor and for each operation (default 30)
 *
 * Logs stay silent (one clear error line is the contract) unless NACRE_LOG_LEVEL is set.
 */
import { connect, type Cluster } from '@nacre/client';
import { loadConf } from '@nacre/msgr';
import { createLogger, realEnv, silentLogger } from '@nacre/util';
import { flagString, parseIntStrict, type FlagSpec, type ParsedArgs } from './args.js';

export const clientFlagSpec: Record<string, FlagSpec> = {
  '--conf': { arity: 1, aliases: ['-c'] },
  '--name': { arity: 1, aliases: ['-n'] },
  '--keyring': { arity: 1, aliases: ['-k'] },
  '--timeout': { arity: 1 },
};

/** Default --timeout (seconds). */
export const clientTimeoutSecondsDefault = 30;
const clientTimeoutSecondsMax = 24 * 3600;
/** Reaching a monitor and getting the first map never waits longer than this (a down cluster fails fast). */
const connectTimeoutMsMax = 10_000;

export interface ClientFlagValues {
  conf?: string;
  name: string;
  keyring?: string;
  timeoutMs: number;
}

export function clientFlagValues(p: ParsedArgs): ClientFlagValues {
  const conf = flagString(p, '--conf');
  const keyring = flagString(p, '--keyring');
  const t = flagString(p, '--timeout');
  const seconds = t === undefined ? clientTimeoutSecondsDefault : parseIntStrict(t, '--timeout', 1, clientTimeoutSecondsMax);
  return { ...(conf !== undefined ? { conf } : {}), name: flagString(p, '--name') ?? 'client.admin', ...(keyring !== undefined ? { keyring } : {}), timeoutMs: seconds * 1000 };
}

/** Connect as the flags say. Throws the client's one-line errors (ENOENT config, EPERM key, ETIMEDOUT monitors). */
export async function openCluster(p: ParsedArgs, client: { opsInFlightMax?: number } = {}): Promise<Cluster> {
  const f = clientFlagValues(p);
  const conf = loadConf({ ...(f.conf !== undefined ? { flag: f.conf } : {}) });
  const level = process.env['NACRE_LOG_LEVEL'];
  const logger = level !== undefined && level !== '' ? createLogger(f.name, { level, destination: process.stderr }) : silentLogger();
  return connect({
    conf,
    name: f.name,
    ...(f.keyring !== undefined ? { keyring: f.keyring } : {}),
    timeoutMs: Math.min(f.timeoutMs, connectTimeoutMsMax),
    env: realEnv(logger),
    client: { opTimeoutMs: f.timeoutMs, ...client },
    monClient: { commandTimeoutMs: f.timeoutMs },
  });
}

/** Run `fn` with a connected cluster and always close it. */
export async function withCluster<T>(p: ParsedArgs, fn: (cluster: Cluster) => Promise<T>, client: { opsInFlightMax?: number } = {}): Promise<T> {
  const cluster = await openCluster(p, client);
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}
