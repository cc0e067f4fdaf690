/**
 * A pool of the cluster file as the arguments of the monitors' `osd pool create` (the same for
 * `cluster up`'s bootstrap file and for pools created later on a running cluster).
 */
import type { CommandArg } from '@nacre/proto';
import type { PoolSpec } from './cluster-file.js';

export function poolCreateArgs(p: PoolSpec): Record<string, CommandArg> {
  const common = { name: p.name, pg_num: p.pgNum, min_size: p.minSize, failure_domain: p.failureDomain };
  if (p.type === 'replicated') return { ...common, type: 'replicated', size: p.size };
  return { ...common, type: 'erasure', k: p.k, m: p.m, stripe_unit: p.stripeUnitBytes };
}
