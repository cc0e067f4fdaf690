/**
 * The monitor daemon: the Paxos core driven on a `level` store, the messenger and real timers,
 * hosting the service layer (docs/mon.md).
 */
export { MonitorDaemon } from './monitor-daemon.js';
export type { MonitorDaemonInit, MonitorDaemonComponents, MonitorDaemonInfo, MonitorDaemonStatus } from './monitor-daemon.js';
export { mkfsMonitor, loadMonStore } from './mkfs.js';
export type { MkfsOptions, LoadedMonStore } from './mkfs.js';
export { MonStore, storeDbPath, encodeStoreValue, decodeStoreValue } from './mon-store.js';
export type { MonStoreOp, MonStoreStatus } from './mon-store.js';
export { DAEMON_KEYS, DAEMON_STORE_FORMAT_VERSION } from './daemon-keys.js';
export {
  defaultMonitorDaemonOptions, resolveMonitorDaemonOptions, MONITOR_OPTION_KEYS, coreOptionsOf,
} from './daemon-options.js';
export type { MonitorDaemonOptions } from './daemon-options.js';
export { MonPaxos, MonForward, MonForwardReport, monInternalMessages } from './internal-messages.js';
export type { ForwardedRequest, ForwardedReport, PaxosEnvelope } from './internal-messages.js';
export { PersistQueue } from './persist-queue.js';
export { createServiceAdapter } from './service-adapter.js';
export type { ServicePort, RuntimeFacts, BuiltProposal, CommandKind } from './service-port.js';
