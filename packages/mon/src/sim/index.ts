/**
 * The deterministic monitor-cluster simulator (test machinery; no production code depends on it).
 */
export { PaxosSim, SimInvariantError, SIM_CORE_DEFAULTS, SIM_EVENTS_PER_RUN_MAX, MESSAGES_PER_MONITOR_SECOND_MAX } from './paxos-sim.js';
export type { NetworkFaults, PaxosSimOptions, ProposalRecord, SimStats } from './paxos-sim.js';
export { runChaos, LIVENESS_BOUND_MS, CONVERGENCE_BOUND_MS } from './chaos.js';
export type { ChaosScenario, ChaosReport } from './chaos.js';
export { EventQueue, SIM_EVENTS_QUEUED_MAX } from './event-queue.js';
