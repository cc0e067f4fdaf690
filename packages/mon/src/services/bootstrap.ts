/**
 * The cluster's first state (`nacre cluster up`): fsid, monmap, keyring, an empty CRUSH map with
 * Ceph's standard bucket types, a `default` root and a `replicated_rule`, optimal tunables, and
 * optionally pools — created through the same command code as `osd pool create`, so a pool from
 * the cluster file is exactly the pool an operator would get.
 *
 * Two ways in, both deterministic given the options (no clock, no randomness inside):
 * - `bootstrapState(opts)`: every monitor builds the same state locally from the same inputs;
 * - `bootstrapTransaction(opts)`: the leader of a new cluster proposes it as Paxos value 1
 *   (`applyTransaction` accepts `init` only on the empty state, so it applies exactly once).
 */
import { OPTIMAL_TUNABLES, addBucket, cloneMap, emptyMap, type CrushMap } from '@nacre/crush';
import { createOsdMap } from '@nacre/osdmap';
import { isEntityName, type CommandArg, type EntityName } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { defaultCaps } from './auth-caps.js';
import { runWriteCommand } from './commands.js';
import { DEFAULT_ROOT, STANDARD_CRUSH_TYPES, crushEdit, ensurePoolRule } from './crush-edits.js';
import { Draft } from './draft.js';
import { monsMax } from './limits.js';
import { checkMonState, configKey, type AuthEntry, type ConfigEntry, type MonState } from './mon-state.js';
import { checkConfigKey, checkConfigWho } from './names.js';
import { encodeMonState } from './state-codec.js';
import type { StateTransaction } from './transaction.js';

export interface BootstrapOptions {
  fsid: string;
  /** Monitors in rank order. */
  mons: { name: string; addr: string }[];
  /** Wall-clock creation time (display only); pass the same value to every monitor. */
  createdMs: number;
  /** A CRUSH map to start from instead of the default one (must have a `root` type bucket to boot OSDs into). */
  initialCrush?: CrushMap;
  /** Keys known from the start (the keyring `cluster up` wrote): entity → key. */
  keyring?: [EntityName, Buffer][];
  /** Initial centralized config: [who, key, value]. */
  config?: [string, string, string][];
  /** Pools to create, each the arguments of `osd pool create` (name, pg_num, type, size, …). */
  pools?: Record<string, CommandArg>[];
}

const fsidRe = /^[A-Za-z0-9-]{1,64}$/;

/** Ceph's starting CRUSH map for a new cluster: types, root `default`, `replicated_rule` (host). */
export function defaultCrushMap(): CrushMap {
  const m = emptyMap(OPTIMAL_TUNABLES);
  STANDARD_CRUSH_TYPES.forEach((name, id) => m.types.set(id, { id, name }));
  const withRoot = crushEdit('default map', () => addBucket(m, { name: DEFAULT_ROOT, type: 'root', alg: 'straw2' }));
  return ensurePoolRule(withRoot, { type: 'replicated', root: DEFAULT_ROOT, failureDomain: 'host' }).map;
}

export function bootstrapState(opts: BootstrapOptions): MonState {
  if (!fsidRe.test(opts.fsid)) throw new NacreError(`bad fsid '${opts.fsid}' (1..64 of letters, digits, '-')`, { code: 'EINVAL' });
  if (opts.mons.length < 1 || opts.mons.length > monsMax) throw new NacreError(`need 1..${monsMax} monitors, got ${opts.mons.length}`, { code: 'EINVAL' });
  for (const mon of opts.mons) {
    if (!isEntityName(`mon.${mon.name}`)) throw new NacreError(`bad monitor name '${mon.name}'`, { code: 'EINVAL' });
  }
  const auth = new Map<EntityName, AuthEntry>();
  for (const [entity, key] of opts.keyring ?? []) {
    if (!isEntityName(entity)) throw new NacreError(`bad entity name '${entity}' in the keyring`, { code: 'EINVAL' });
    if (key.length < 16 || key.length > 64) throw new NacreError(`key of ${entity} must be 16..64 bytes`, { code: 'EINVAL' });
    auth.set(entity, { key: Buffer.from(key), caps: defaultCaps(entity) });
  }
  const config = new Map<string, ConfigEntry>();
  for (const [who, key, value] of opts.config ?? []) {
    config.set(configKey(checkConfigWho(who), checkConfigKey(key)), { who, key, value });
  }
  const crush = opts.initialCrush !== undefined ? cloneMap(opts.initialCrush) : defaultCrushMap();
  let state: MonState = {
    version: 0,
    fsid: opts.fsid,
    osdmap: createOsdMap({ fsid: opts.fsid, crush, createdMs: opts.createdMs, epoch: 1 }),
    osdmapIncrementals: [],
    osdMeta: new Map(),
    auth,
    config,
    monmap: { epoch: 1, mons: opts.mons.map((m, rank) => ({ name: m.name, rank, addr: m.addr })) },
    commandLog: new Map(),
  };
  if (opts.pools !== undefined && opts.pools.length > 0) {
    // Pools are part of epoch 1: the draft's pending epoch is the map's own.
    const draft = new Draft(state, { wallMs: opts.createdMs }, 1);
    for (const args of opts.pools) runWriteCommand(draft, { prefix: 'osd pool create', args });
    state = draft.state;
  }
  checkMonState(state);
  return state;
}

export function bootstrapTransaction(opts: BootstrapOptions): StateTransaction {
  return { init: encodeMonState(bootstrapState(opts)) };
}
