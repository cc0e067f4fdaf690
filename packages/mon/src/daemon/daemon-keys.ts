/**
 * The monitor store's keys (daemon format 1). The consensus core owns `paxos/` and `election/`
 * (paxos/store-layout.ts); the daemon adds its identity and the service state:
 *
 * ```
 *   mon/format          1          daemon store format
 *   mon/name            'a'        whose store this is: mon.b refuses to run on mon.a's data
 *   mon/fsid            string     the cluster id the store was made for
 *   mon/monmap          { epoch, mons: [[name, addr], …] }   ranks = positions (fixed at mkfs)
 *   mon/bootstrap       { fsid, monmap, keyring: [[entity, key]], createdMs }
 *                                  what the first leader proposes as Paxos version 1
 *   mon/created_ms      number     wall clock of mkfs (display only)
 *   svc/state           bytes      encodeMonState(state) of the service state at
 *                                  paxos/last_committed (absent until version 1 commits)
 *   paxos/…, election/… the core's keys (docs/paxos.md §1 "Store layout")
 * ```
 *
 * `svc/state` is written in the same batch as the Paxos keys of every persist that commits or
 * installs a snapshot, so after any crash it stands exactly at `paxos/last_committed`: the
 * daemon asserts this when it loads. The whole state is rewritten per batch (not per commit: a
 * group commit writes it once); MonState is bounded (services/limits.ts) and commits are rare
 * next to the cost of the fsync itself.
 */
export const DAEMON_STORE_FORMAT_VERSION = 1;

export const DAEMON_KEYS = {
  format: 'mon/format',
  name: 'mon/name',
  fsid: 'mon/fsid',
  monmap: 'mon/monmap',
  bootstrap: 'mon/bootstrap',
  createdMs: 'mon/created_ms',
  serviceState: 'svc/state',
} as const;

/** Prefixes the daemon scans at start (the core's keys included). */
export const DAEMON_KEY_PREFIXES = ['mon/', 'svc/', 'paxos/', 'election/'] as const;
