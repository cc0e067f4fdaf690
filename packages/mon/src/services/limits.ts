/**
 * Every bound the monitor's service layer enforces, in one place (STYLE: a named maximum for every
 * table, queue and batch). The monitor state travels whole in a Paxos snapshot, which must fit in
 * one messenger frame (64 MiB by default), so the tables are bounded well below that.
 */

/** Encoded OSDMap incrementals retained for subscribers (a subscriber further behind gets a full map). */
export const osdmapIncrementalsRetainedMax = 500;
/** Total bytes of retained incrementals (each may carry a whole CRUSH map). */
export const osdmapIncrementalsRetainedBytesMax = 16 * 1024 * 1024;
/** Results of committed commands remembered for `cmdId` retries (oldest forgotten first). */
export const commandLogEntriesMax = 1024;
/** Largest `text` of a remembered command result; longer texts are cut (the data stays whole). */
export const commandLogTextBytesMax = 4096;
/** Auth entities. */
export const authEntriesMax = 100_000;
/** Centralized config entries (`config set`). */
export const configEntriesMax = 10_000;
export const configValueBytesMax = 4096;
export const configKeyBytesMax = 128;
/** Pools that may exist at once. */
export const poolsMax = 1024;
/**
 * Highest OSD id + 1 (Ceph's mon_max_osd default). The OSDMap keeps one entry per id below
 * max_osd, so an id far above the others would cost memory in every epoch.
 */
export const maxOsdMax = 10_000;
/** PGs over all pools: bounds placement and statistics work per map (Ceph: mon_max_pg_per_osd × OSDs). */
export const clusterPgsMax = 262_144;
/** Monitors in a monmap. */
export const monsMax = 16;
/** Changes folded into one Paxos proposal (PaxosService batching). */
export const changesPerProposalMax = 256;
/** Changes waiting for the next proposal on the leader; beyond this they are refused with EAGAIN. */
export const pendingChangesMax = 4096;
/** OSD ids one command may name (`osd out 1 2 3 ...`). */
export const idsPerCommandMax = 4096;
/** Failure reports the leader keeps in memory (targets × reporters). */
export const failureReportsMax = 65_536;
/** A pool name or CRUSH item name. */
export const nameBytesMax = 128;
/** Largest erasure-code stripe unit accepted at pool creation. */
export const stripeUnitBytesMax = 4 * 1024 * 1024;
