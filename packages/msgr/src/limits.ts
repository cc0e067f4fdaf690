/**
 * Every bound the messenger enforces, with the reason for its default. A daemon passes
 * `limits: { ... }` to override some; values are validated at construction (EINVAL).
 */
import { NacreError } from '@nacre/util';

export interface MessengerLimits {
  /**
   * Largest frame accepted or sent (bytes). Also the ws `maxPayload` (the tcp transport checks
   * each record header against it), so an oversized frame is refused while it arrives, not after
   * it is buffered. 64 MiB holds a 4 MiB object write with a lot of room, and keeps one peer from
   * making us buffer gigabytes.
   */
  frameBytesMax: number;
  /**
   * Top-level binary payload fields longer than this travel as attachments: separate transport
   * messages sent straight from the caller's Buffer, instead of being copied into the msgpack
   * frame (docs/wire.md). Below it a copy is cheaper than an extra message.
   */
  inlineBytesMax: number;
  /**
   * Largest frame accepted before authentication; a hello is ~100 bytes. The tcp transport
   * enforces it from the record header, so a peer without a key cannot make us allocate more.
   */
  handshakeFrameBytesMax: number;
  /**
   * Bytes of frames a connection holds that are not yet handed to the socket. A sender awaits
   * `send()`/`request()` admission once this is reached (a frame always fits into an empty queue).
   */
  sendQueueBytesMax: number;
  /** Frames in that queue (bounds the per-frame overhead of many tiny frames). */
  sendQueueFramesMax: number;
  /** Senders waiting for queue space; more fail at once with EAGAIN rather than pile up. */
  sendWaitersMax: number;
  /**
   * Bytes the socket may hold unsent (ws `bufferedAmount`, the tcp socket's writableLength) before the messenger stops handing it
   * frames and waits for the kernel to take them: the socket-level half of backpressure.
   */
  socketBufferedBytesMax: number;
  /** Requests awaiting a reply on one connection; more fail at once with EAGAIN. */
  pendingRequestsMax: number;
  /**
   * Received requests and one-way messages whose handler has not finished, per connection. At the
   * limit the messenger stops reading the socket, so TCP pushes back on the peer instead of us
   * queueing without bound. (Frames already read from the socket are still dispatched, so the
   * count can exceed this by what one socket read held.)
   */
  inboundInFlightMax: number;
  /** Default time a request waits for its reply before failing with ETIMEDOUT. */
  requestTimeoutMs: number;
  /** Time allowed from connect to authenticated; a peer that stalls is cut off. */
  handshakeTimeoutMs: number;
  /** A keepalive is sent when nothing else was sent for this long. */
  keepaliveIntervalMs: number;
  /**
   * A connection on which nothing arrived for this long is closed (an outbound one then
   * reconnects): detects a peer host that vanished without a FIN/RST. Must exceed
   * keepaliveIntervalMs by a comfortable factor.
   */
  peerSilenceMsMax: number;
  /** Inbound connections a listening messenger accepts at once; more are refused at upgrade. */
  connectionsMax: number;
  /** After a close frame, time the peer has to answer before the socket is destroyed. */
  closeGraceMs: number;
}

export const defaultLimits: Readonly<MessengerLimits> = Object.freeze({
  frameBytesMax: 64 * 1024 * 1024,
  handshakeFrameBytesMax: 4096,
  inlineBytesMax: 64 * 1024,
  sendQueueBytesMax: 32 * 1024 * 1024,
  sendQueueFramesMax: 4096,
  sendWaitersMax: 1024,
  socketBufferedBytesMax: 8 * 1024 * 1024,
  pendingRequestsMax: 4096,
  inboundInFlightMax: 256,
  requestTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  keepaliveIntervalMs: 5_000,
  peerSilenceMsMax: 30_000,
  connectionsMax: 1024,
  closeGraceMs: 1_000,
});

/** How an outbound connection (re)connects: exponential backoff with jitter between attempts. */
export interface RetryPolicy {
  /** First delay after a lost or failed connection. */
  delayMsMin: number;
  /** Delays double up to this. */
  delayMsMax: number;
  /**
   * Consecutive failed attempts before the connection gives up (state `failed`, ECONNREFUSED).
   * Daemons keep trying (Infinity); a command-line client sets a few so it fails with one line.
   */
  attemptsMax: number;
  /** Time allowed for the transport connect (TCP + WebSocket upgrade or banner exchange) of one attempt. */
  connectTimeoutMs: number;
}

export const defaultRetryPolicy: Readonly<RetryPolicy> = Object.freeze({
  delayMsMin: 100,
  delayMsMax: 5_000,
  attemptsMax: Number.POSITIVE_INFINITY,
  connectTimeoutMs: 5_000,
});

function checkPositive(name: string, value: number, allowInfinity = false): void {
  const ok = allowInfinity && value === Number.POSITIVE_INFINITY ? true : Number.isSafeInteger(value) && value > 0;
  if (!ok) throw new NacreError(`${name} must be a positive integer, got ${value}`, { code: 'EINVAL' });
}

export function resolveLimits(overrides: Partial<MessengerLimits> = {}): MessengerLimits {
  const limits: MessengerLimits = { ...defaultLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) checkPositive(name, value as number);
  if (limits.handshakeFrameBytesMax > limits.frameBytesMax) {
    throw new NacreError('handshakeFrameBytesMax must not exceed frameBytesMax', { code: 'EINVAL' });
  }
  if (limits.peerSilenceMsMax <= limits.keepaliveIntervalMs) {
    throw new NacreError('peerSilenceMsMax must exceed keepaliveIntervalMs', { code: 'EINVAL' });
  }
  return limits;
}

export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...overrides };
  checkPositive('delayMsMin', policy.delayMsMin);
  checkPositive('delayMsMax', policy.delayMsMax);
  checkPositive('attemptsMax', policy.attemptsMax, true);
  checkPositive('connectTimeoutMs', policy.connectTimeoutMs);
  if (policy.delayMsMax < policy.delayMsMin) throw new NacreError('delayMsMax must be >= delayMsMin', { code: 'EINVAL' });
  return policy;
}

/**
 * Delay before reconnect attempt number `attempt` (1 = first retry): delayMsMin · 2^(attempt-1),
 * capped at delayMsMax, then scaled by a random factor in [0.5, 1] so that many clients of a
 * restarted monitor do not reconnect in lock step.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random01: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(policy.delayMsMin * 2 ** exponent, policy.delayMsMax);
  return Math.max(1, Math.round(base * (0.5 + random01 / 2)));
}
