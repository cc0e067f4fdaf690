/**
 * The monitor's service layer: the state the monitors agree on (MonState), the transactions that
 * change it (StateTransaction, applied in Paxos order), the commands and OSD reports that produce
 * them (batched per proposal), failure detection, PG statistics, health and status. Pure and
 * deterministic; the daemon driver supplies time, quorum facts and I/O. See docs/mon-services.md.
 */
export * from './limits.js';
export * from './mon-state.js';
export * from './state-codec.js';
export * from './transaction.js';
export * from './bootstrap.js';
export * from './draft.js';
export * from './quorum.js';
export * from './commands.js';
export { CommandArgs } from './command-args.js';
export * from './batch.js';
export * from './handle.js';
export * from './osd-reports.js';
export * from './failure-tracker.js';
export * from './mon-options.js';
export * from './pg-stats.js';
export * from './health.js';
export { statusReport } from './status.js';
export { osdTree, osdDump, osdTreeNodes, type TreeNode } from './osd-tree.js';
export { effectiveConfig, configSectionsFor } from './config-commands.js';
export { diffOsdMaps } from './osdmap-diff.js';
export * from './subscriptions.js';
export { defaultCaps } from './auth-caps.js';
export { STANDARD_CRUSH_TYPES, DEFAULT_ROOT } from './crush-edits.js';
