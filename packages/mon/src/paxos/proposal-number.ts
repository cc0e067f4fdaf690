/**
 * Proposal numbers, Ceph's scheme: `(floor(n / 100) + 1) * 100 + rank`, where n is the highest
 * number this monitor has used or seen. The low two digits carry the rank, so two monitors never
 * pick the same number; the high part grows, so one monitor's numbers are strictly increasing.
 * The result is persisted (as last_pn) before it is used, so a restart never reuses one.
 */
import { assert } from '@nacre/util';
import type { ProposalNumber, Rank } from './types.js';

/** Ranks must fit in the low two decimal digits. */
export const PN_RANK_SPAN = 100;

export function nextProposalNumber(highestSeen: ProposalNumber, rank: Rank): ProposalNumber {
  assert(Number.isSafeInteger(highestSeen) && highestSeen >= 0, () => `bad proposal number ${highestSeen}`);
  assert(rank >= 0 && rank < PN_RANK_SPAN, () => `rank ${rank} does not fit a proposal number`);
  const pn = (Math.floor(highestSeen / PN_RANK_SPAN) + 1) * PN_RANK_SPAN + rank;
  assert(pn > highestSeen && Number.isSafeInteger(pn), 'proposal numbers must grow');
  return pn;
}
