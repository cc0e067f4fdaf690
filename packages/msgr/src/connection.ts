/**
 * One messenger connection: the handshake, then ordered request/reply and one-way traffic over a
 * Link, with bounded queues in both directions. An outbound connection outlives its links: when
 * a link drops it reconnects with backoff and keeps the frames that were not yet written.
 *
 * Lifecycle (explicit states; terminal ones are closed and failed):
 *
 *   outbound:  connecting ─► handshaking ─► open ─(link lost)─► backoff ─► connecting …
 *                   └──(refused / attempts exhausted / bad key)──► failed
 *   inbound:   handshaking ─► open ─(link lost, violation)─► closed
 *   any:       close() ─► closed
 *
 * Delivery guarantees: frames of one connection are written and dispatched in send order.
 * A request whose frame was written on a link that then dropped fails with EAGAIN (it may or may
 * not have been executed: the caller decides whether to retry); frames not yet written survive a
 * reconnect. Every request has a deadline (ETIMEDOUT), watched by one timer per connection armed
 * for the earliest deadline (not a timer per request: cheaper at 100k requests/s, and fewer
 * events for a simulation); every timer belongs to the connection's TimerSet and dies with it.
 */
import { AssertionFailure, NacreError, type Env, type ErrorCode, type Logger, type TimerHandle } from '@nacre/util';
import {
  MsgrKeepalive,
  attachToPayload,
  decodeFrame,
  encodeErrorFrame,
  encodeFrame,
  encodeFrameParts,
  type EncodedFrame,
  isErrorCode,
  msgrTypePrefix,
  nonceBytes,
  type EntityKind,
  type EntityName,
  type Frame,
  type MessageDef,
  type OnewayDef,
  type RequestDef,
} from '@nacre/proto';
import { ClientHandshake, ServerHandshake, type HandshakeStep } from './handshake.js';
import type { KeyLookup } from './keyring.js';
import { backoffDelayMs, type MessengerLimits, type RetryPolicy } from './limits.js';
import { SendQueue, type OutFrame } from './send-queue.js';
import { TimerSet } from './timer-set.js';
import { formatAddress, type Address, type Link, type LinkCloseInfo, type Transport } from './transport.js';

export type ConnectionState = 'connecting' | 'handshaking' | 'open' | 'backoff' | 'closed' | 'failed';
export type ConnectionDirection = 'inbound' | 'outbound';

/** What a handler learns about the message it is handling. */
export interface MessageContext {
  /** The connection it arrived on: reply later, or send to the peer, through it. */
  readonly conn: Connection;
  /** The authenticated sender. */
  readonly peer: EntityName;
  readonly peerKind: EntityKind;
  readonly type: string;
}

export type RequestHandler<Req, Rep> = (payload: Req, ctx: MessageContext) => Rep | Promise<Rep>;
export type OnewayHandler<P> = (payload: P, ctx: MessageContext) => void | Promise<void>;

export interface ConnectionStats {
  state: ConnectionState;
  pendingRequests: number;
  queuedFrames: number;
  queuedBytes: number;
  sendWaiters: number;
  inboundInFlight: number;
  socketBufferedBytes: number;
  timers: number;
}

/** A known message type and, if registered, its handler (as stored by the messenger). */
export interface DispatchEntry {
  def: MessageDef;
  handler: ((payload: unknown, ctx: MessageContext) => unknown) | null;
}

/** What a connection needs from its messenger. */
export interface ConnectionHost {
  readonly entity: EntityName;
  readonly entityKind: EntityKind;
  readonly key: Buffer | null;
  readonly keys: KeyLookup | null;
  readonly limits: MessengerLimits;
  readonly env: Env;
  readonly transport: Transport;
  readonly secureRandom: (buf: Buffer) => void;
  lookup(type: string): DispatchEntry | undefined;
  connectionOpened(conn: Connection): void;
  connectionClosed(conn: Connection): void;
}

export interface RequestOptions {
  /** Overrides limits.requestTimeoutMs for this request. */
  timeoutMs?: number;
}

interface Pending {
  type: string;
  def: RequestDef<unknown, unknown>;
  frame: OutFrame;
  /** Monotonic time at which the request fails with ETIMEDOUT. */
  deadlineMs: number;
  timeoutMs: number;
  /** Written to a link: if that link drops, the outcome is unknown (EAGAIN). */
  sent: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** onOpen/onClose listeners per connection: a handful of subsystems watch one connection. */
const listenersMax = 64;
/** Callers awaiting ready() at once (each request does not need one: requests queue by themselves). */
const readyWaitersMax = 1024;
const keepaliveFrame = encodeFrame('oneway', 0, MsgrKeepalive.type, null);
const noop = (): void => {};

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  private stateValue: ConnectionState;
  private link: Link | null = null;
  private linkClosedResolvers: Array<() => void> = [];
  private handshake: ClientHandshake | ServerHandshake | null = null;
  private peerName: EntityName | null = null;
  private peerKindValue: EntityKind | null = null;
  private failure: NacreError | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextTid = 1;
  private readonly queue: SendQueue;
  private readonly timers: TimerSet;
  private handshakeTimer: TimerHandle | null = null;
  private keepaliveTimer: TimerHandle | null = null;
  private inboundInFlight = 0;
  /** A received frame whose attachments are still arriving. */
  private incoming: { frame: Frame; parts: Buffer[] } | null = null;
  private paused = false;
  private lastSentMs = 0;
  private lastReceivedMs = 0;
  /** Consecutive failed connect attempts since the connection was last open. */
  private failedAttempts = 0;
  private readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private readonly openListeners = new Set<(conn: Connection) => void>();
  private readonly closeListeners = new Set<(conn: Connection, err: NacreError) => void>();
  private readonly log: Logger;
  private readonly limits: MessengerLimits;

  /** @internal Built by Messenger.connect (outbound) or on accept (inbound). */
  constructor(
    private readonly host: ConnectionHost,
    readonly direction: ConnectionDirection,
    /** The dialled address (outbound) or the peer's address as the transport reports it (inbound). */
    readonly remoteAddress: string,
    private readonly dialTo: { address: Address; retry: RetryPolicy; expectPeer: EntityName | null } | null,
  ) {
    this.limits = host.limits;
    this.queue = new SendQueue({
      bytesMax: this.limits.sendQueueBytesMax,
      framesMax: this.limits.sendQueueFramesMax,
      waitersMax: this.limits.sendWaitersMax,
    });
    this.timers = new TimerSet(host.env.timers);
    this.log = host.env.logger.child({ conn: this.id, dir: direction, addr: remoteAddress });
    this.stateValue = direction === 'outbound' ? 'connecting' : 'handshaking';
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The authenticated peer (null before the first successful handshake). */
  get peer(): EntityName | null {
    return this.peerName;
  }

  get peerKind(): EntityKind | null {
    return this.peerKindValue;
  }

  /** Why the connection failed or was closed (null while it is usable). */
  get error(): NacreError | null {
    return this.failure;
  }

  private get terminal(): boolean {
    return this.stateValue === 'closed' || this.stateValue === 'failed';
  }

  /** Resolves once authenticated (at once if open); rejects if the connection fails or is closed first. */
  ready(): Promise<void> {
    if (this.stateValue === 'open') return Promise.resolve();
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.readyWaiters.length >= readyWaitersMax) {
      return Promise.reject(new NacreError(`too many ready() waiters (max ${readyWaitersMax})`, { code: 'EAGAIN' }));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Called on every (re)open — e.g. to renew subscriptions after a reconnect. Returns an unsubscribe. */
  onOpen(listener: (conn: Connection) => void): () => void {
    if (this.openListeners.size >= listenersMax) throw new NacreError(`too many onOpen listeners (max ${listenersMax})`, { code: 'EAGAIN' });
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  /** Called once when the connection is closed or failed for good. Returns an unsubscribe. */
  onClose(listener: (conn: Connection, err: NacreError) => void): () => void {
    if (this.closeListeners.size >= listenersMax) throw new NacreError(`too many onClose listeners (max ${listenersMax})`, { code: 'EAGAIN' });
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  stats(): ConnectionStats {
    return {
      state: this.stateValue,
      pendingRequests: this.pending.size,
      queuedFrames: this.queue.length,
      queuedBytes: this.queue.bytes,
      sendWaiters: this.queue.waiting,
      inboundInFlight: this.inboundInFlight,
      socketBufferedBytes: this.link?.bufferedBytes() ?? 0,
      timers: this.timers.size,
    };
  }

  // ---------------------------------------------------------------- sending

  /**
   * Send a request and await its reply. Rejects with the peer's error (code and message as sent),
   * ETIMEDOUT, EAGAIN (connection lost after the request was written, or pendingRequestsMax
   * reached), EPERM (our kind may not send it), or the connection's failure (e.g. bad key).
   */
  request<Req, Rep>(def: RequestDef<Req, Rep>, payload: Req, opts: RequestOptions = {}): Promise<Rep> {
    const timeoutMs = opts.timeoutMs ?? this.limits.requestTimeoutMs;
    let encoded: EncodedFrame;
    let tid: number;
    try {
      this.checkSend(def, 'request');
      if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) throw new NacreError(`timeoutMs must be a positive integer`, { code: 'EINVAL' });
      if (this.pending.size >= this.limits.pendingRequestsMax) {
        throw new NacreError(`too many pending requests to ${this.describePeer()} (pendingRequestsMax=${this.limits.pendingRequestsMax})`, { code: 'EAGAIN' });
      }
      tid = this.nextTid++;
      encoded = this.encodeOutgoing('request', tid, def.type, payload);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Rep>((resolve, reject) => {
      const frame = outFrame(encoded, tid);
      const p: Pending = {
        type: def.type,
        def: def as RequestDef<unknown, unknown>,
        frame,
        sent: false,
        resolve: resolve as (value: unknown) => void,
        reject,
        deadlineMs: this.host.env.clock.monotonicMs() + timeoutMs,
        timeoutMs,
      };
      this.pending.set(tid, p);
      if (p.deadlineMs < this.deadlineAtMs) this.armDeadline(p.deadlineMs);
      this.enqueue(frame, false, (err) => this.settle(tid, err));
    });
  }

  /** Send a one-way message. Resolves once it is admitted to the send queue (backpressure: it waits while the queue is full). */
  send<P>(def: OnewayDef<P>, payload: P): Promise<void> {
    let encoded: EncodedFrame;
    try {
      this.checkSend(def, 'oneway');
      encoded = this.encodeOutgoing('oneway', 0, def.type, payload);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.enqueue(outFrame(encoded, 0), false, (err) => (err ? reject(err) : resolve()));
    });
  }

  private checkSend(def: MessageDef, kind: 'request' | 'oneway'): void {
    if (this.failure !== null) throw this.failure;
    if (def.kind !== kind) throw new NacreError(`${def.type} is a ${def.kind} message; use ${def.kind === 'request' ? 'request()' : 'send()'}`, { code: 'EINVAL' });
    if (!def.senders.includes(this.host.entityKind)) {
      throw new NacreError(`${this.host.entity} may not send ${def.type} (allowed: ${def.senders.join(', ')})`, { code: 'EPERM' });
    }
  }

  private encodeOutgoing(kind: 'request' | 'oneway', tid: number, type: string, payload: unknown): EncodedFrame {
    const encoded = encodeFrameParts(kind, tid, type, payload, this.limits.inlineBytesMax);
    if (encoded.totalBytes > this.limits.frameBytesMax) {
      throw new NacreError(`${type} frame of ${encoded.totalBytes} bytes exceeds frameBytesMax=${this.limits.frameBytesMax}`, { code: 'EFBIG' });
    }
    return encoded;
  }

  /** Offer a frame to the send queue; `done` runs on admission (or with the error that refused it). */
  private enqueue(frame: OutFrame, priority: boolean, done: (err?: Error) => void): void {
    let admitted: Promise<void> | null;
    try {
      admitted = this.queue.offer(frame, priority);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (admitted === null) {
      done();
      this.schedulePump();
      return;
    }
    admitted.then(
      () => {
        done();
        this.schedulePump();
      },
      (err: Error) => done(err),
    );
  }

  private pumpScheduled = false;

  /**
   * Pump once at the end of the current turn instead of per frame: frames queued together (32
   * requests issued in one go, the replies to one socket read) then leave in one corked write,
   * one system call instead of one each. A microtask, not a timer: no delay, nothing to simulate.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(this.runScheduledPump);
  }

  private readonly runScheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  /** Hand queued frames to the link while its buffer is below socketBufferedBytesMax. */
  private pump(): void {
    const link = this.link;
    if (this.stateValue !== 'open' || link === null || this.queue.length === 0) return;
    const bufferedMax = this.limits.socketBufferedBytesMax;
    link.cork?.();
    try {
      while (link.bufferedBytes() < bufferedMax) {
        const frame = this.queue.shift();
        if (frame === undefined) break;
        if (frame.tid !== 0) {
          const p = this.pending.get(frame.tid);
          if (p !== undefined) p.sent = true;
        }
        // Head and attachments go out back to back: nothing else may come between them.
        link.send(frame.head, this.onFlushed);
        if (frame.attachments !== null) for (const a of frame.attachments) link.send(a, this.onFlushed);
      }
    } finally {
      link.uncork?.();
    }
    this.lastSentMs = this.host.env.clock.monotonicMs();
  }

  /** Each written frame calls back once the transport took it: room in the socket buffer, pump again. */
  private readonly onFlushed = (err?: Error | null): void => {
    // Node's write callbacks pass null on success.
    if (err === undefined || err === null) this.pump();
  };

  private deadlineTimer: TimerHandle | null = null;
  private deadlineAtMs = Number.POSITIVE_INFINITY;

  private armDeadline(atMs: number): void {
    this.deadlineTimer?.cancel();
    this.deadlineAtMs = atMs;
    const delayMs = Math.max(1, Math.ceil(atMs - this.host.env.clock.monotonicMs()));
    this.deadlineTimer = this.timers.setTimeout(this.onDeadline, delayMs);
  }

  /** Expire every request past its deadline, then re-arm for the earliest remaining one. */
  private readonly onDeadline = (): void => {
    this.deadlineTimer = null;
    this.deadlineAtMs = Number.POSITIVE_INFINITY;
    const nowMs = this.host.env.clock.monotonicMs();
    let nextMs = Number.POSITIVE_INFINITY;
    for (const [tid, p] of this.pending) {
      if (p.deadlineMs <= nowMs) this.timeOut(tid, p);
      else nextMs = Math.min(nextMs, p.deadlineMs);
    }
    if (nextMs !== Number.POSITIVE_INFINITY) this.armDeadline(nextMs);
  };

  /** Forget a settled request; with nothing pending, the deadline timer goes too. */
  private forget(tid: number): void {
    this.pending.delete(tid);
    if (this.pending.size === 0 && this.deadlineTimer !== null) {
      this.deadlineTimer.cancel();
      this.deadlineTimer = null;
      this.deadlineAtMs = Number.POSITIVE_INFINITY;
    }
  }

  private timeOut(tid: number, p: Pending): void {
    this.forget(tid);
    p.frame.cancelled = true;
    this.queue.withdraw(p.frame);
    p.reject(new NacreError(`${p.type} request to ${this.describePeer()} timed out after ${p.timeoutMs} ms`, { code: 'ETIMEDOUT' }));
  }

  /** A request's frame was refused by the queue (EAGAIN, connection failed): fail the request. */
  private settle(tid: number, err: Error | undefined): void {
    if (err === undefined) return;
    const p = this.pending.get(tid);
    if (p === undefined) return;
    this.forget(tid);
    p.reject(err);
  }

  private describePeer(): string {
    return this.peerName !== null ? `${this.peerName} (${this.remoteAddress})` : this.remoteAddress;
  }

  // ---------------------------------------------------------------- links and lifecycle

  /** @internal Outbound: start dialling (the messenger calls this once after construction). */
  startDialing(): void {
    this.dialOnce();
  }

  /** A dial in progress (stop() waits for it so no socket outlives the messenger). */
  private dialing: Promise<void> | null = null;

  private dialOnce(): void {
    const attempt = this.dialAndHandshake();
    this.dialing = attempt;
    void attempt.finally(() => {
      if (this.dialing === attempt) this.dialing = null;
    });
  }

  private async dialAndHandshake(): Promise<void> {
    const to = this.dialTo!;
    this.stateValue = 'connecting';
    let link: Link;
    try {
      link = await this.host.transport.dial(to.address, {
        frameBytesMax: this.limits.frameBytesMax,
        closeGraceMs: this.limits.closeGraceMs,
        connectTimeoutMs: to.retry.connectTimeoutMs,
      });
    } catch (err) {
      if (!this.terminal) this.attemptFailed(err instanceof NacreError ? err : new NacreError(String(err), { code: 'ECONNREFUSED' }));
      return;
    }
    if (this.terminal) {
      // Closed while dialling: attach just long enough to see the link's close event.
      this.link = link;
      link.setHandlers({ onFrame: noop, onError: noop, onClose: (info) => this.onLinkClosed(link, info) });
      link.terminate();
      return;
    }
    const nonce = this.freshNonce();
    const hs = new ClientHandshake(this.host.entity, this.host.key!, nonce, to.expectPeer);
    this.handshake = hs;
    this.attach(link);
    link.send(hs.hello(), noop);
  }

  /** @internal Inbound: adopt a link the listener accepted. */
  accept(link: Link): void {
    this.handshake = new ServerHandshake(this.host.entity, this.host.keys!, this.freshNonce());
    this.attach(link);
  }

  private freshNonce(): Buffer {
    const nonce = Buffer.alloc(nonceBytes);
    this.host.secureRandom(nonce);
    return nonce;
  }

  private attach(link: Link): void {
    this.link = link;
    this.stateValue = 'handshaking';
    this.paused = false;
    this.incoming = null;
    this.lastReceivedMs = this.host.env.clock.monotonicMs();
    link.setFrameBytesMax?.(this.limits.handshakeFrameBytesMax);
    this.handshakeTimer = this.timers.setTimeout(() => {
      this.handshakeTimer = null;
      this.protocolViolation(`handshake not completed within handshakeTimeoutMs=${this.limits.handshakeTimeoutMs}`);
    }, this.limits.handshakeTimeoutMs);
    link.setHandlers({
      onFrame: (data, binary) => {
        if (this.link === link) this.onFrame(data, binary);
      },
      onError: (err) => {
        if (this.link === link) this.log.warn({ peer: this.peerName, err: err.message }, 'transport error');
      },
      onClose: (info) => this.onLinkClosed(link, info),
    });
  }

  private onLinkClosed(link: Link, info: LinkCloseInfo): void {
    for (const resolve of this.linkClosedResolvers.splice(0)) resolve();
    if (this.link !== link) return;
    this.link = null;
    this.stopLinkTimers();
    if (this.terminal) return;
    const reason = info.reason !== '' ? `: ${info.reason}` : ` (code ${info.code})`;
    const lost = new NacreError(`connection to ${this.describePeer()} lost${reason}`, { code: 'EAGAIN' });
    if (this.stateValue === 'open') this.log.info({ peer: this.peerName, code: info.code, reason: info.reason }, 'connection lost');
    this.failWrittenRequests(lost);
    if (this.direction === 'inbound') {
      this.finish('closed', lost);
      return;
    }
    this.attemptFailed(lost, this.stateValue !== 'open');
  }

  /** Outbound: a dial, handshake or open link failed. Retry with backoff, or give up after attemptsMax. */
  private attemptFailed(err: NacreError, countsAsAttempt = true): void {
    const retry = this.dialTo!.retry;
    if (countsAsAttempt) this.failedAttempts++;
    if (this.failedAttempts >= retry.attemptsMax) {
      const why = err.message.replace(/^cannot connect to \S+: /, '');
      this.finish('failed', new NacreError(`cannot connect to ${formatAddress(this.dialTo!.address)}: ${why} (gave up after ${this.failedAttempts} attempts)`, { code: err.code, cause: err }));
      return;
    }
    this.stateValue = 'backoff';
    const delayMs = backoffDelayMs(retry, Math.max(this.failedAttempts, 1), this.host.env.random.next());
    this.log.debug({ delayMs, err: err.message }, 'reconnecting after backoff');
    this.timers.setTimeout(() => {
      if (this.stateValue === 'backoff') this.dialOnce();
    }, delayMs);
  }

  /** Requests already written to the lost link: their outcome is unknown, so they fail (EAGAIN). */
  private failWrittenRequests(err: NacreError): void {
    for (const [tid, p] of this.pending) {
      if (!p.sent) continue;
      this.forget(tid);
      p.reject(err);
    }
  }

  private stopLinkTimers(): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.keepaliveTimer?.cancel();
    this.keepaliveTimer = null;
  }

  /**
   * Close for good: pending requests and waiting senders fail with ESHUTDOWN, the link closes
   * gracefully (frames already handed to it are still delivered). Idempotent.
   */
  close(reason = 'closed by the application'): void {
    if (this.terminal) return;
    this.finish('closed', new NacreError(`connection to ${this.describePeer()} closed: ${reason}`, { code: 'ESHUTDOWN' }));
  }

  /** @internal Resolves once no link is attached (the messenger's stop() awaits it). */
  async linkGone(): Promise<void> {
    if (this.dialing !== null) await this.dialing;
    if (this.link === null) return;
    await new Promise<void>((resolve) => this.linkClosedResolvers.push(resolve));
  }

  private finish(state: 'closed' | 'failed', err: NacreError, linkCloseCode = state === 'closed' ? 1000 : 1008): void {
    if (this.terminal) return;
    this.stateValue = state;
    this.failure = err;
    this.timers.cancelAll();
    this.handshakeTimer = null;
    this.keepaliveTimer = null;
    this.deadlineTimer = null;
    this.deadlineAtMs = Number.POSITIVE_INFINITY;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
    this.queue.failAll(err);
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
    const link = this.link;
    if (link !== null) link.close(linkCloseCode, err.message);
    this.host.connectionClosed(this);
    for (const listener of [...this.closeListeners]) listener(this, err);
    this.closeListeners.clear();
    this.openListeners.clear();
  }

  private opened(peer: EntityName, peerKind: EntityKind): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = null;
    this.handshake = null;
    if (this.peerName !== null && this.peerName !== peer) {
      this.log.warn({ was: this.peerName, now: peer }, 'peer identity changed across reconnect');
    }
    this.peerName = peer;
    this.peerKindValue = peerKind;
    this.stateValue = 'open';
    this.failedAttempts = 0;
    this.link?.setFrameBytesMax?.(this.limits.frameBytesMax);
    const now = this.host.env.clock.monotonicMs();
    this.lastSentMs = now;
    this.keepaliveTimer = this.timers.setInterval(() => this.keepaliveTick(), this.limits.keepaliveIntervalMs);
    this.log.debug({ peer }, 'authenticated');
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.host.connectionOpened(this);
    for (const listener of [...this.openListeners]) listener(this);
    this.pump();
  }

  private keepaliveTick(): void {
    const link = this.link;
    if (link === null || this.stateValue !== 'open') return;
    const now = this.host.env.clock.monotonicMs();
    // While we deliberately stop reading (inbound backpressure) silence proves nothing.
    if (!this.paused && now - this.lastReceivedMs > this.limits.peerSilenceMsMax) {
      this.log.warn({ peer: this.peerName, silentMs: Math.round(now - this.lastReceivedMs) }, 'peer silent for longer than peerSilenceMsMax, dropping the connection');
      link.terminate();
      return;
    }
    if (now - this.lastSentMs >= this.limits.keepaliveIntervalMs && link.bufferedBytes() < this.limits.socketBufferedBytesMax) {
      this.lastSentMs = now;
      link.send(keepaliveFrame, noop);
    }
  }

  /**
   * The peer broke the protocol: log the reason and close the link (1002). Never throws and never
   * touches other connections — a daemon keeps serving everyone else.
   */
  private protocolViolation(reason: string): void {
    const link = this.link;
    if (link === null) return;
    this.log.warn({ peer: this.peerName ?? (this.handshake instanceof ServerHandshake ? this.handshake.claimedPeer : null) }, `closing connection: ${reason}`);
    if (this.direction === 'inbound') {
      this.finish('closed', new NacreError(`connection from ${this.describePeer()} closed: ${reason}`, { code: 'EPROTO' }), 1002);
      return;
    }
    link.close(1002, `protocol error: ${reason}`);
  }

  // ---------------------------------------------------------------- receiving

  private onFrame(data: Buffer, binary: boolean): void {
    this.lastReceivedMs = this.host.env.clock.monotonicMs();
    if (!binary) return this.protocolViolation('text frame (only binary frames are allowed)');
    if (this.incoming !== null) return this.onAttachment(data);
    const open = this.stateValue === 'open';
    const bytesMax = open ? this.limits.frameBytesMax : this.limits.handshakeFrameBytesMax;
    if (data.length > bytesMax) {
      return this.protocolViolation(`frame of ${data.length} bytes exceeds ${open ? 'frameBytesMax' : 'handshakeFrameBytesMax'}=${bytesMax}`);
    }
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      return this.protocolViolation((err as Error).message);
    }
    if (this.stateValue === 'handshaking') {
      if (frame.attachments !== undefined) return this.protocolViolation('attachments during the handshake');
      return this.onHandshakeFrame(frame);
    }
    if (!open) return;
    if (frame.attachments !== undefined) {
      const totalBytes = frame.attachments.reduce((sum, a) => sum + a.bytes, data.length);
      if (totalBytes > this.limits.frameBytesMax) {
        return this.protocolViolation(`frame with attachments of ${totalBytes} bytes exceeds frameBytesMax=${this.limits.frameBytesMax}`);
      }
      this.incoming = { frame, parts: [] };
      return;
    }
    this.dispatch(frame);
  }

  /** The next raw attachment of `incoming`; the frame is dispatched once all have arrived. */
  private onAttachment(data: Buffer): void {
    const incoming = this.incoming!;
    const announced = incoming.frame.attachments![incoming.parts.length]!;
    if (data.length !== announced.bytes) {
      return this.protocolViolation(`attachment ${announced.key} of ${incoming.frame.type} has ${data.length} bytes, ${announced.bytes} were announced`);
    }
    incoming.parts.push(data);
    if (incoming.parts.length < incoming.frame.attachments!.length) return;
    this.incoming = null;
    attachToPayload(incoming.frame, incoming.parts);
    this.dispatch(incoming.frame);
  }

  private dispatch(frame: Frame): void {
    if (frame.kind === 'reply' || frame.kind === 'error') return this.onReply(frame);
    this.onMessage(frame);
  }

  private onHandshakeFrame(frame: Frame): void {
    const step: HandshakeStep = this.handshake!.onFrame(frame);
    const link = this.link!;
    if (step.bytes !== null) link.send(step.bytes, noop);
    if (step.action === 'continue') return;
    if (step.action === 'done') return this.opened(step.peer, step.peerKind);
    if (step.violation) return this.protocolViolation(step.error.message);
    this.authRefused(step.error);
  }

  /** Wrong key, unknown entity, version mismatch: permanent, one clear line for the operator. */
  private authRefused(err: NacreError): void {
    if (this.direction === 'inbound') {
      this.log.warn({ from: this.remoteAddress }, err.message);
      this.finish('closed', err, 1008);
      return;
    }
    this.log.warn(err.message);
    this.finish('failed', err);
  }

  private onReply(frame: Frame): void {
    const p = this.pending.get(frame.tid);
    if (p === undefined) {
      if (frame.kind === 'error' && frame.tid === 0) {
        this.log.warn({ peer: this.peerName, type: frame.type, code: frame.payload.code }, `peer refused a one-way message: ${frame.payload.message}`);
      } else if (frame.tid >= this.nextTid) {
        this.protocolViolation(`reply to tid ${frame.tid}, which was never sent`);
      }
      // Otherwise a late reply to a request that timed out: nothing waits for it any more.
      return;
    }
    if (frame.type !== p.type) return this.protocolViolation(`reply to tid ${frame.tid} has type ${frame.type}, the request was ${p.type}`);
    this.forget(frame.tid);
    if (frame.kind === 'error') {
      p.reject(new NacreError(frame.payload.message, { code: frame.payload.code }));
      return;
    }
    if (p.def.decodeReply === undefined) {
      p.resolve(frame.payload);
      return;
    }
    try {
      p.resolve(p.def.decodeReply(frame.payload));
    } catch (err) {
      p.reject(new NacreError(`bad reply to ${p.type} from ${this.describePeer()}: ${(err as Error).message}`, { code: 'EPROTO', cause: err }));
    }
  }

  private onMessage(frame: Frame): void {
    if (frame.type.startsWith(msgrTypePrefix)) {
      if (frame.type === MsgrKeepalive.type && frame.kind === 'oneway') return;
      return this.protocolViolation(`unexpected ${frame.type} after authentication`);
    }
    const entry = this.host.lookup(frame.type);
    if (entry === undefined) return this.protocolViolation(`unknown message type ${frame.type}`);
    const def = entry.def;
    if (def.kind !== frame.kind) return this.protocolViolation(`${frame.type} is a ${def.kind} message, got a ${frame.kind} frame`);
    const peerKind = this.peerKindValue!;
    if (!def.senders.includes(peerKind)) {
      const message = `${this.peerName} may not send ${frame.type} (allowed: ${def.senders.join(', ')})`;
      this.log.warn({ peer: this.peerName, type: frame.type }, `refused: ${message}`);
      return this.refuse(frame, 'EPERM', message);
    }
    if (entry.handler === null) return this.refuse(frame, 'ENOTSUP', `${this.host.entity} does not handle ${frame.type}`);
    let payload: unknown = frame.payload;
    if (def.decode !== undefined) {
      try {
        payload = def.decode(frame.payload);
      } catch (err) {
        return this.refuse(frame, 'EINVAL', `${frame.type}: ${(err as Error).message}`);
      }
    }
    this.invoke(entry.handler, frame, payload);
  }

  /** Answer a refused message: an error reply for a request, an error frame with tid 0 for a one-way. */
  private refuse(frame: Frame, code: ErrorCode, message: string): void {
    this.beginInbound();
    this.respond(inlineFrame(encodeErrorFrame(frame.kind === 'request' ? frame.tid : 0, frame.type, code, message)));
  }

  private invoke(handler: (payload: unknown, ctx: MessageContext) => unknown, frame: Frame, payload: unknown): void {
    this.beginInbound();
    const ctx: MessageContext = { conn: this, peer: this.peerName!, peerKind: this.peerKindValue!, type: frame.type };
    let result: unknown;
    try {
      result = handler(payload, ctx);
    } catch (err) {
      this.handlerDone(frame, undefined, err);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.handlerDone(frame, value, undefined),
        (err: unknown) => this.handlerDone(frame, undefined, err ?? new Error('handler rejected without a reason')),
      );
    } else {
      this.handlerDone(frame, result, undefined);
    }
  }

  private handlerDone(frame: Frame, value: unknown, err: unknown): void {
    // A failed assertion is a bug in this daemon, not in the peer: let it crash the process
    // (STYLE: assertions are never caught in daemon code).
    if (err instanceof AssertionFailure) throw err;
    if (frame.kind === 'oneway') {
      if (err !== undefined) this.log.error({ err, type: frame.type, peer: this.peerName }, 'one-way handler failed');
      this.endInbound();
      return;
    }
    if (this.terminal) {
      this.endInbound();
      return;
    }
    this.respond(err === undefined ? this.encodeReply(frame, value) : inlineFrame(this.encodeHandlerError(frame, err)));
  }

  private encodeReply(frame: Frame, value: unknown): EncodedFrame {
    try {
      const encoded = encodeFrameParts('reply', frame.tid, frame.type, value, this.limits.inlineBytesMax);
      if (encoded.totalBytes <= this.limits.frameBytesMax) return encoded;
      return inlineFrame(encodeErrorFrame(frame.tid, frame.type, 'EFBIG', `reply of ${encoded.totalBytes} bytes exceeds frameBytesMax=${this.limits.frameBytesMax}`));
    } catch (err) {
      this.log.error({ err, type: frame.type }, 'cannot encode reply');
      return inlineFrame(encodeErrorFrame(frame.tid, frame.type, 'EIO', `${this.host.entity}: cannot encode the reply to ${frame.type}`));
    }
  }

  private encodeHandlerError(frame: Frame, err: unknown): Buffer {
    const code = (err as { code?: unknown }).code;
    const message = (err as { message?: unknown }).message;
    if (err instanceof NacreError || (isErrorCode(code) && typeof message === 'string')) {
      return encodeErrorFrame(frame.tid, frame.type, code as ErrorCode, message as string);
    }
    this.log.error({ err, type: frame.type, peer: this.peerName }, 'request handler failed');
    const text = typeof message === 'string' ? message : String(err);
    return encodeErrorFrame(frame.tid, frame.type, 'EIO', `${this.host.entity}: internal error handling ${frame.type}: ${text}`);
  }

  /** Queue a reply/error frame; the inbound slot it holds is freed once it is admitted. */
  private respond(encoded: EncodedFrame): void {
    if (this.terminal) {
      this.endInbound();
      return;
    }
    this.enqueue(outFrame(encoded, 0), true, () => this.endInbound());
  }

  private beginInbound(): void {
    this.inboundInFlight++;
    if (!this.paused && this.inboundInFlight >= this.limits.inboundInFlightMax && this.link !== null) {
      this.paused = true;
      this.link.pause();
    }
  }

  private endInbound(): void {
    this.inboundInFlight--;
    if (this.paused && this.inboundInFlight < this.limits.inboundInFlightMax) {
      this.paused = false;
      this.link?.resume();
    }
  }
}

function outFrame(encoded: EncodedFrame, tid: number): OutFrame {
  return { head: encoded.head, attachments: encoded.attachments, sizeBytes: encoded.totalBytes, tid, cancelled: false };
}

function inlineFrame(head: Buffer): EncodedFrame {
  return { head, attachments: null, totalBytes: head.length };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
