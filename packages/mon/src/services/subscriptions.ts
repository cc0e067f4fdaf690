/**
 * What a subscriber that has epoch `since` needs to reach the current epoch (mon.subscribe pushes
 * and mon.get_osdmap replies): the retained incrementals after `since` — the very bytes that were
 * committed — or a full map when it has none (since = 0), is behind the retained ones, or would
 * need more than `incrementalsPerPushMax` of them.
 */
import { encodeOsdMap } from '@nacre/osdmap';
import { incrementalsPerPushMax, type OsdMapBundle } from '@nacre/proto';
import { firstRetainedEpoch, type MonState } from './mon-state.js';

export function osdmapBundleSince(state: MonState, since: number): OsdMapBundle {
  const last = state.osdmap.epoch;
  if (since >= last) return { incrementals: [], lastEpoch: last };
  const first = firstRetainedEpoch(state);
  if (since === 0 || since + 1 < first || last - since > incrementalsPerPushMax) {
    return { full: encodeOsdMap(state.osdmap), incrementals: [], lastEpoch: last };
  }
  return { incrementals: state.osdmapIncrementals.slice(since + 1 - first), lastEpoch: last };
}
