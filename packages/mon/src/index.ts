/**
 * @nacre/mon — the monitor. So far: the consensus core (election + Multi-Paxos as a pure state
 * machine, `MonitorCore`) and a seeded cluster simulator that tests it (`PaxosSim`, `runChaos`).
 * The daemon (`MonitorDaemon`, process entry `dist/main.js`) drives `MonitorCore` on a `level`
 * store and the messenger and hosts the services; see docs/paxos.md and docs/mon.md.
 *
 * ```ts
 * import { MonitorCore, emptyPersistedState } from '@nacre/mon';
 * const core = new MonitorCore({ rank: 0, monitorCount: 1 });
 * const effects = core.handle({ kind: 'boot', persisted: emptyPersistedState() });
 * // → persist (election epoch), then — once persisted — role: leader, readable, …
 * ```
 */
export * from './paxos/index.js';
export * from './sim/index.js';
export * from './services/index.js';
export * from './daemon/index.js';
