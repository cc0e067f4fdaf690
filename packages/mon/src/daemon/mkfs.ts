/**
 * Making and loading a monitor's store.
 *
 * `mkfsMonitor` creates the store of one monitor: its identity (name, fsid, monmap — ranks are
 * the positions in `mons`, fixed from now on) and the bootstrap options. It commits nothing: all
 * monitors start empty, and the first leader of the new cluster proposes the bootstrap state as
 * Paxos version 1 (`bootstrapTransaction`; `applyTransaction` accepts it only on the empty state,
 * so exactly one bootstrap ever commits, whichever monitor leads). Every monitor should be made
 * with the same options; only the first leader's are used.
 *
 * `loadMonStore` reads everything back at start and checks it (STYLE: assert after reading):
 * the identity must be this monitor's, and the service state must stand exactly at the Paxos
 * log's last_committed — the batches that move one always move the other.
 */
import { assert, NacreError } from '@nacre/util';
import type { EntityName } from '@nacre/proto';
import { STORE_FORMAT_VERSION, STORE_KEYS, persistedStateFromEntries } from '../paxos/store-layout.js';
import type { PersistedState, StoreValue } from '../paxos/types.js';
import { bootstrapState, type BootstrapOptions } from '../services/bootstrap.js';
import { emptyMonState, type MonMap, type MonState } from '../services/mon-state.js';
import { decodeMonMap, decodeMonState, encodeMonMap } from '../services/state-codec.js';
import { DAEMON_KEYS, DAEMON_KEY_PREFIXES, DAEMON_STORE_FORMAT_VERSION } from './daemon-keys.js';
import { MonStore, type MonStoreOp } from './mon-store.js';

export interface MkfsOptions {
  dataDir: string;
  /** This monitor's name (`a` for mon.a); must be one of `bootstrap.mons`. */
  name: string;
  bootstrap: BootstrapOptions;
}

/** Create a monitor store. EEXIST if `dataDir` already holds one; EINVAL for bad options. */
export async function mkfsMonitor(opts: MkfsOptions): Promise<void> {
  const b = opts.bootstrap;
  if (!b.mons.some((m) => m.name === opts.name)) {
    throw new NacreError(`mon.${opts.name} is not in the monmap (${b.mons.map((m) => m.name).join(', ')})`, { code: 'EINVAL' });
  }
  // Check the options now, so a bad cluster file fails at mkfs and not at the first election.
  const first = bootstrapState(b);
  const store = await MonStore.open(opts.dataDir, { create: true });
  try {
    const ops: MonStoreOp[] = [
      { op: 'put', key: DAEMON_KEYS.format, value: DAEMON_STORE_FORMAT_VERSION },
      { op: 'put', key: DAEMON_KEYS.name, value: opts.name },
      { op: 'put', key: DAEMON_KEYS.fsid, value: b.fsid },
      { op: 'put', key: DAEMON_KEYS.monmap, value: encodeMonMap(first.monmap) },
      { op: 'put', key: DAEMON_KEYS.bootstrap, value: encodeBootstrap(b) },
      { op: 'put', key: DAEMON_KEYS.createdMs, value: b.createdMs },
      { op: 'put', key: STORE_KEYS.format, value: STORE_FORMAT_VERSION },
    ];
    await store.write(ops);
  } finally {
    await store.close();
  }
}

function encodeBootstrap(b: BootstrapOptions): Record<string, unknown> {
  return {
    fsid: b.fsid,
    mons: b.mons.map((m) => [m.name, m.addr]),
    createdMs: b.createdMs,
    keyring: (b.keyring ?? []).map(([e, k]) => [e, k]),
    config: b.config ?? [],
    pools: b.pools ?? [],
  };
}

function decodeBootstrap(raw: unknown): BootstrapOptions {
  const o = raw as Record<string, unknown>;
  assert(typeof o === 'object' && o !== null, 'store: mon/bootstrap is not a record');
  assert(typeof o['fsid'] === 'string' && Array.isArray(o['mons']) && typeof o['createdMs'] === 'number',
    'store: mon/bootstrap is malformed');
  return {
    fsid: o['fsid'],
    mons: (o['mons'] as [string, string][]).map(([name, addr]) => ({ name, addr })),
    createdMs: o['createdMs'],
    keyring: ((o['keyring'] ?? []) as [EntityName, Uint8Array][]).map(([e, k]) => [e, Buffer.from(k)]),
    config: (o['config'] ?? []) as [string, string, string][],
    pools: (o['pools'] ?? []) as BootstrapOptions['pools'],
  };
}

/** Everything a monitor needs from its store to start. */
export interface LoadedMonStore {
  name: string;
  fsid: string;
  monmap: MonMap;
  bootstrap: BootstrapOptions;
  persisted: PersistedState;
  /** The service state at persisted.lastCommitted. */
  service: MonState;
}

export async function loadMonStore(store: MonStore, expectName: string): Promise<LoadedMonStore> {
  const entries = new Map<string, unknown>();
  for (const prefix of DAEMON_KEY_PREFIXES) for (const [k, v] of await store.scan(prefix)) entries.set(k, v);
  const format = entries.get(DAEMON_KEYS.format);
  assert(format === DAEMON_STORE_FORMAT_VERSION, () => `store: unsupported daemon store format ${String(format)}`);
  const name = entries.get(DAEMON_KEYS.name);
  if (name !== expectName) {
    throw new NacreError(`store ${store.path} belongs to mon.${String(name)}, not mon.${expectName}`, { code: 'EINVAL' });
  }
  const fsid = entries.get(DAEMON_KEYS.fsid);
  assert(typeof fsid === 'string', 'store: mon/fsid missing');
  const monmap = decodeMonMap(entries.get(DAEMON_KEYS.monmap), 'store mon/monmap');
  const bootstrap = decodeBootstrap(entries.get(DAEMON_KEYS.bootstrap));
  const paxosEntries: Array<[string, StoreValue]> = [];
  for (const [k, v] of entries) {
    if (k.startsWith('paxos/') || k.startsWith('election/')) paxosEntries.push([k, v as StoreValue]);
  }
  const persisted = persistedStateFromEntries(paxosEntries);
  const stateBytes = entries.get(DAEMON_KEYS.serviceState);
  let service: MonState;
  if (stateBytes === undefined) {
    assert(persisted.lastCommitted === 0, () => `store: last_committed ${persisted.lastCommitted} but no service state`);
    service = emptyMonState();
  } else {
    assert(stateBytes instanceof Uint8Array, 'store: svc/state is not bytes');
    service = decodeMonState(stateBytes);
    assert(service.version === persisted.lastCommitted,
      () => `store: service state at version ${service.version}, Paxos last_committed ${persisted.lastCommitted}`);
    assert(service.fsid === '' || service.fsid === fsid, () => `store: service state of cluster ${service.fsid}, store of ${fsid}`);
  }
  return { name, fsid, monmap, bootstrap, persisted, service };
}
