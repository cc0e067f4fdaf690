/**
 * The ServicePort (service-port.ts) implemented with the monitor service layer
 * (packages/mon/src/services): transactions, snapshots, the command table, batching
 * (`buildProposal`, which also de-duplicates retried commands by cmdId), the leader's
 * FailureTracker and this monitor's PG statistics. The driver's only dependency on the service
 * layer's function names.
 */
import type { EntityName, OsdFailure, PgStatsReport } from '@nacre/proto';
import { buildProposal } from '../services/batch.js';
import { bootstrapTransaction, type BootstrapOptions } from '../services/bootstrap.js';
import { commandPrefixes, isReadOnlyCommand, runReadCommand } from '../services/commands.js';
import type { ServiceContext } from '../services/draft.js';
import { isEmptyMonState, type MonState } from '../services/mon-state.js';
import { FailureTracker } from '../services/failure-tracker.js';
import { MON_CONFIG_OPTIONS, monServiceOptions, parseMonOption, type MonServiceOptions } from '../services/mon-options.js';
import { PgStatsAggregator, type PgStatsOptions } from '../services/pg-stats.js';
import { encodeMonState } from '../services/state-codec.js';
import { applyCommitted, encodeTransaction, installSnapshot } from '../services/transaction.js';
import type { CommandKind, RuntimeFacts, ServicePort } from './service-port.js';

export interface ServiceAdapterOptions {
  pgStats?: Partial<PgStatsOptions>;
  /**
   * nacre.conf lookup for the service options in Ceph's names and units (mon_osd_down_out_interval
   * in seconds, …); the replicated config (`config set mon …`) overrides them.
   */
  optionLookup?: (key: string) => string | undefined;
}

/** Service options given in nacre.conf (validated like `config set`). */
export function serviceOptionsFromConf(lookup: ((key: string) => string | undefined) | undefined): Partial<MonServiceOptions> {
  const out: Record<string, number | string> = {};
  if (lookup === undefined) return {};
  for (const [key, kind] of Object.entries(MON_CONFIG_OPTIONS)) {
    const text = lookup(key);
    if (text !== undefined) out[kind.field] = parseMonOption(key, text);
  }
  return out as Partial<MonServiceOptions>;
}

function normalizePrefix(prefix: string): string {
  return prefix.trim().split(/\s+/).join(' ');
}

export function createServiceAdapter(opts: ServiceAdapterOptions = {}): ServicePort {
  const prefixes = new Set(commandPrefixes());
  const pgStats = new PgStatsAggregator(opts.pgStats ?? {});
  const context = (facts: RuntimeFacts): ServiceContext => ({
    wallMs: facts.wallMs,
    ...(facts.quorum === undefined ? {} : { quorum: facts.quorum }),
  });
  const baseOptions = serviceOptionsFromConf(opts.optionLookup);
  // Soft state of the leader (a new leader starts a fresh tracker: marks can be delayed by a
  // leader change, never hastened).
  let tracker = new FailureTracker(0, baseOptions);
  const trackerFor = (state: MonState): FailureTracker => {
    tracker.options = { ...tracker.options, ...monServiceOptions(state, baseOptions) };
    return tracker;
  };
  return {
    applyCommitted: (state, version, value) => applyCommitted(state, version, value),
    installSnapshot: (version, data) => installSnapshot(version, data),
    encodeSnapshot: (state) => encodeMonState(state),
    bootstrapValue: (b: BootstrapOptions) => encodeTransaction(bootstrapTransaction(b)),
    commandKind: (prefix): CommandKind | undefined => {
      const p = normalizePrefix(prefix);
      if (!prefixes.has(p)) return undefined;
      return isReadOnlyCommand(p) ? 'read' : 'write';
    },
    runRead: (state, _entity, cmd, facts) => runReadCommand(state, cmd, { ...context(facts), pgs: pgStats.summary(state, facts.monotonicMs) }),
    buildProposal: (state, changes, facts) => {
      const p = buildProposal(state, changes, context(facts));
      return { value: p.value, outcomes: p.outcomes };
    },
    failureChange: (state, nowMs) => (isEmptyMonState(state) ? undefined : trackerFor(state).tick(state, nowMs)),
    beacon: (_state: MonState, osd: number, _epoch: number, nowMs: number) => {
      tracker.beacon(osd, nowMs);
    },
    failureReport: (state: MonState, reporter: EntityName, report: OsdFailure, nowMs: number) => {
      const id = Number(reporter.slice('osd.'.length));
      if (reporter.startsWith('osd.') && Number.isSafeInteger(id)) trackerFor(state).reportFailure(state, id, report, nowMs);
    },
    resetFailureDetection: (nowMs) => {
      tracker = new FailureTracker(nowMs, baseOptions);
    },
    pgStats: (report: PgStatsReport, nowMs: number) => {
      pgStats.report(report, nowMs);
    },
  };
}
