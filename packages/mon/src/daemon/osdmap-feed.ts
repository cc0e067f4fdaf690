/**
 * OSDMap subscriptions: `mon.subscribe` registers a connection with the epoch it has; every
 * committed epoch is then pushed (`mon.osdmap`) as the incrementals the subscriber lacks, in
 * order, or as one full map when it is further behind than the incrementals the state retains
 * (MonState.osdmapIncrementals, at most `incrementalsPerPushMax` per push) or has nothing yet.
 * `mon.get_osdmap` answers with the same bundle.
 *
 * Any monitor serves this, leader or peon, with or without a lease: it only ever hands out
 * committed epochs, which are the same on every monitor, so a subscriber may switch monitors
 * freely (MonClient skips epochs it already has and fetches on a gap).
 *
 * Bounds: `subscribersMax` connections; a subscriber whose connection already holds
 * `pushBacklogFramesMax` unsent frames is skipped for this epoch (it sees a gap on the next push,
 * or renews its subscription, and catches up by fetching).
 */
import type { Connection } from '@nacre/msgr';
import { encodeOsdMap } from '@nacre/osdmap';
import { MonOsdMap, incrementalsPerPushMax, type OsdMapBundle } from '@nacre/proto';
import { NacreError, type Logger } from '@nacre/util';
import { firstRetainedEpoch, type MonState } from '../services/mon-state.js';

export interface OsdMapFeedOptions {
  subscribersMax: number;
  pushBacklogFramesMax: number;
}

export const defaultOsdMapFeedOptions: Readonly<OsdMapFeedOptions> = Object.freeze({
  subscribersMax: 65_536,
  pushBacklogFramesMax: 64,
});

interface Subscriber {
  /** The newest epoch this subscriber has been sent (or said it has). */
  sentEpoch: number;
  unsubscribe: () => void;
}

/**
 * The bundle that brings a holder of epoch `since` to the state's epoch (the same rule as the
 * service layer's `osdmapBundleSince`, with the full map's encoding cached per epoch: after a
 * restart many subscribers ask for it at once).
 */
function bundleSince(state: MonState, since: number, fullBytes: () => Buffer): OsdMapBundle {
  const last = state.osdmap.epoch;
  if (last === 0 || since >= last) return { incrementals: [], lastEpoch: last };
  const first = firstRetainedEpoch(state);
  const needed = last - since;
  if (since === 0 || since + 1 < first || needed > incrementalsPerPushMax) {
    return { full: fullBytes(), incrementals: [], lastEpoch: last };
  }
  const incs = state.osdmapIncrementals;
  return { incrementals: incs.slice(incs.length - needed), lastEpoch: last };
}

export class OsdMapFeed {
  private readonly subscribers = new Map<Connection, Subscriber>();
  private state: MonState | null = null;
  private fullCache: { epoch: number; bytes: Buffer } | null = null;
  /** Pushes skipped because a subscriber's connection was backed up (stats). */
  skippedPushes = 0;

  constructor(private readonly log: Logger, private readonly options: OsdMapFeedOptions = defaultOsdMapFeedOptions) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  get epoch(): number {
    return this.state?.osdmap.epoch ?? 0;
  }

  private fullBytes(): Buffer {
    const s = this.state!;
    if (this.fullCache === null || this.fullCache.epoch !== s.osdmap.epoch) {
      this.fullCache = { epoch: s.osdmap.epoch, bytes: encodeOsdMap(s.osdmap) };
    }
    return this.fullCache.bytes;
  }

  bundleSince(since: number): OsdMapBundle {
    if (this.state === null) return { incrementals: [], lastEpoch: 0 };
    return bundleSince(this.state, since, () => this.fullBytes());
  }

  /** Register (or renew) `conn`; returns the current epoch. Pushes at once what it lacks. */
  subscribe(conn: Connection, since: number): number {
    let sub = this.subscribers.get(conn);
    if (sub === undefined) {
      if (this.subscribers.size >= this.options.subscribersMax) {
        throw new NacreError(`too many OSDMap subscribers (subscribersMax=${this.options.subscribersMax})`, { code: 'EAGAIN' });
      }
      const unsubscribe = conn.onClose(() => this.subscribers.delete(conn));
      sub = { sentEpoch: since, unsubscribe };
      this.subscribers.set(conn, sub);
    }
    // A renewal states what the subscriber really has: trust it over what we sent.
    sub.sentEpoch = since;
    if (since < this.epoch) this.push(conn, sub);
    return this.epoch;
  }

  /** The committed state moved (commit or snapshot): push new epochs to everyone behind. */
  update(state: MonState): void {
    const before = this.epoch;
    this.state = state;
    if (state.osdmap.epoch === before) return;
    for (const [conn, sub] of this.subscribers) if (sub.sentEpoch < state.osdmap.epoch) this.push(conn, sub);
  }

  private push(conn: Connection, sub: Subscriber): void {
    if (conn.state !== 'open') return;
    if (conn.stats().queuedFrames >= this.options.pushBacklogFramesMax) {
      this.skippedPushes++;
      return;
    }
    const bundle = this.bundleSince(sub.sentEpoch);
    if (bundle.full === undefined && bundle.incrementals.length === 0) return;
    sub.sentEpoch = bundle.lastEpoch;
    conn.send(MonOsdMap, bundle).catch((err: unknown) => {
      this.log.debug({ peer: conn.peer, err: (err as Error).message }, 'osdmap push failed');
    });
  }

  stop(): void {
    for (const sub of this.subscribers.values()) sub.unsubscribe();
    this.subscribers.clear();
  }
}
