/**
 * Every bound and timing of the client library, with the reason for its default. `connect()`
 * takes `client: { ... }` to override some; values are validated (EINVAL).
 */
import { NacreError } from '@nacre/util';

export interface ClientOptions {
  /** Deadline of one object operation, from submission (window wait included) to reply. */
  opTimeoutMs: number;
  /**
   * Operations in flight at once; callers beyond it wait for a slot (in order). Bounds the
   * memory of pending replies and the load one client puts on the OSDs.
   */
  opsInFlightMax: number;
  /** Payload bytes of the operations in flight; an op larger than this runs alone. */
  opBytesInFlightMax: number;
  /** Callers waiting for a window slot; more fail at once with EAGAIN rather than pile up. */
  opWaitersMax: number;
  /**
   * Largest data of one sub-op (a write's data, a read's length). Below the messenger's 64 MiB
   * frame with room for headers; larger reads are split (see `readChunkBytes`), larger writes are
   * refused with EFBIG (write in parts).
   */
  opBytesMax: number;
  /** Reads of a whole object, or of more than opBytesMax, go in pieces of this size. */
  readChunkBytes: number;
  /**
   * Largest object (bytes): offsets and sizes beyond it are refused client-side before anything is
   * sent (the OSD enforces its own, configurable limit; 128 MiB by default).
   */
  objectBytesMax: number;
  /** Pause before resending after a retry reply that names no newer map, or a lost OSD link … */
  retryDelayMsMin: number;
  /** … doubling up to this. */
  retryDelayMsMax: number;
  /** Connect attempts to one OSD before its session gives up (the op waits for a new map then). */
  osdConnectAttemptsMax: number;
  /** Time one connect attempt to an OSD may take. */
  osdConnectTimeoutMs: number;
  /** Objects asked for per osd.pg_ls page. */
  listPageEntries: number;
  /** Watches are re-sent this often (idempotent), catching a primary that lost them silently. */
  watchRenewMs: number;
  /** Default notify timeout (how long the OSD waits for watchers' acks). */
  notifyTimeoutMs: number;
  /** Watches one client may hold. */
  watchesMax: number;
  /** A whole-object read restarts when the object changes between its pieces; at most this often. */
  readRestartsMax: number;
}

export const defaultClientOptions: Readonly<ClientOptions> = Object.freeze({
  opTimeoutMs: 30_000,
  opsInFlightMax: 1024,
  opBytesInFlightMax: 256 * 1024 * 1024,
  opWaitersMax: 65_536,
  opBytesMax: 32 * 1024 * 1024,
  readChunkBytes: 16 * 1024 * 1024,
  objectBytesMax: 128 * 1024 * 1024,
  retryDelayMsMin: 20,
  retryDelayMsMax: 1_000,
  osdConnectAttemptsMax: 3,
  osdConnectTimeoutMs: 3_000,
  listPageEntries: 1_000,
  watchRenewMs: 30_000,
  notifyTimeoutMs: 5_000,
  watchesMax: 4_096,
  readRestartsMax: 16,
});

export function resolveClientOptions(overrides: Partial<ClientOptions> = {}): ClientOptions {
  const o: ClientOptions = { ...defaultClientOptions };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as unknown as Record<string, number>)[k] = v;
  for (const [k, v] of Object.entries(o)) {
    if (!(Number.isSafeInteger(v) && v > 0)) throw new NacreError(`client option ${k} must be a positive integer, got ${v}`, { code: 'EINVAL' });
  }
  if (o.readChunkBytes > o.opBytesMax) throw new NacreError('readChunkBytes must not exceed opBytesMax', { code: 'EINVAL' });
  if (o.retryDelayMsMax < o.retryDelayMsMin) throw new NacreError('retryDelayMsMax must be >= retryDelayMsMin', { code: 'EINVAL' });
  return o;
}
