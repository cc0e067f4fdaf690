/**
 * The monitor's consensus core: election + Multi-Paxos as a pure state machine (docs/paxos.md).
 */
export * from './types.js';
export * from './config.js';
export { MonitorCore, ROLE_TRANSITIONS } from './monitor-core.js';
export type { MonitorStatus } from './monitor-core.js';
export { LEADER_PHASE_TRANSITIONS } from './term.js';
export type { LeaderPhase } from './term.js';
export { nextProposalNumber, PN_RANK_SPAN } from './proposal-number.js';
export {
  STORE_FORMAT_VERSION, STORE_KEYS, valueKey, versionOfValueKey, emptyPersistedState, persistedStateFromEntries,
} from './store-layout.js';
export { checkPaxosMessage, isPaxosMessage, SYNC_VALUES_MAX } from './messages.js';
export { bytesEqual } from './paxos-log.js';
export { HELD_EFFECTS_MAX } from './core-io.js';
