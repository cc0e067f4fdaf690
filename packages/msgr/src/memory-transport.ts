/**
 * In-process transport: links between messengers in one process, delivered through the injected
 * timers (DESIGN §3) so a simulation with a virtual clock drives them deterministically.
 *
 * ```ts
 * const net = new MemoryNetwork({ timers: env.timers });
 * const server = createMessenger({ entity: 'mon.a', keyring, listen: { host: 'mon-a', port: 1 } }, { env, transport: net.transport() });
 * const client = createMessenger({ entity: 'client.admin', key }, { env, transport: net.transport() });
 * ```
 *
 * Semantics match the WebSocket transport where the messenger can tell: frames arrive in order,
 * whole, asynchronously; `bufferedBytes()` counts frames sent but not yet delivered (so a paused
 * receiver pushes back on the sender); a frame above frameBytesMax closes the link with 1009;
 * a graceful close is delivered after the frames sent before it. Frames are passed by reference
 * (no copy): the messenger never reuses a frame buffer after sending it. Hosts are free-form names;
 * port 0 picks the next free port of that host.
 */
import { NacreError, assert, type TimerHandle, type Timers } from '@nacre/util';
import {
  formatAddress,
  type Address,
  type DialOptions,
  type Link,
  type LinkCloseInfo,
  type LinkHandlers,
  type Listener,
  type ListenOptions,
  type Transport,
} from './transport.js';

/** Listeners one network holds (a simulation has a handful of daemons). */
const listenersMax = 4096;
/** Frames delivered per scheduled drain before yielding to other work. */
const framesPerDrainMax = 64;

export class MemoryNetwork {
  private readonly listeners = new Map<string, MemoryListener>();
  private nextPort = 40000;
  readonly timers: Timers;

  constructor(opts: { timers: Timers }) {
    this.timers = opts.timers;
  }

  /** A transport endpoint on this network (one per messenger). */
  transport(): Transport {
    return new MemoryTransport(this);
  }

  /** @internal */
  bind(address: Address, opts: ListenOptions): MemoryListener {
    const port = address.port === 0 ? this.nextPort++ : address.port;
    const key = formatAddress({ host: address.host, port });
    if (this.listeners.has(key)) throw new NacreError(`cannot listen on ${key}: address in use`, { code: 'EBUSY' });
    assert(this.listeners.size < listenersMax, `memory network is full (listenersMax=${listenersMax})`);
    const listener = new MemoryListener(this, { host: address.host, port }, opts);
    this.listeners.set(key, listener);
    return listener;
  }

  /** @internal */
  unbind(listener: MemoryListener): void {
    this.listeners.delete(formatAddress(listener.address));
  }

  /** @internal */
  connect(address: Address, opts: DialOptions): Link {
    const key = formatAddress(address);
    const listener = this.listeners.get(key);
    if (!listener || !listener.opts.admit()) {
      throw new NacreError(`cannot connect to ${key}: connection refused`, { code: 'ECONNREFUSED' });
    }
    const frameBytesMax = Math.min(opts.frameBytesMax, listener.opts.frameBytesMax);
    const clientEnd = new MemoryLink(this.timers, key, frameBytesMax);
    const serverEnd = new MemoryLink(this.timers, `memory-client-${this.nextPort++}`, frameBytesMax);
    clientEnd.peer = serverEnd;
    serverEnd.peer = clientEnd;
    listener.opts.onLink(serverEnd);
    return clientEnd;
  }
}

class MemoryTransport implements Transport {
  constructor(private readonly network: MemoryNetwork) {}

  async listen(address: Address, opts: ListenOptions): Promise<Listener> {
    return this.network.bind(address, opts);
  }

  async dial(address: Address, opts: DialOptions): Promise<Link> {
    return this.network.connect(address, opts);
  }
}

class MemoryListener implements Listener {
  constructor(
    private readonly network: MemoryNetwork,
    readonly address: Address,
    readonly opts: ListenOptions,
  ) {}

  async close(): Promise<void> {
    this.network.unbind(this);
  }
}

interface InFlight {
  frame: Buffer;
  onFlushed: (err?: Error) => void;
}

type LinkState = 'open' | 'closing' | 'closed';

class MemoryLink implements Link {
  peer: MemoryLink | null = null;
  private handlers: LinkHandlers | null = null;
  /** Frames the peer sent to us, not yet delivered. */
  private inbox: InFlight[] = [];
  private inboxBytes = 0;
  private paused = false;
  private drainTimer: TimerHandle | null = null;
  private state: LinkState = 'open';
  /** A close from the peer, delivered once the inbox is empty. */
  private pendingClose: LinkCloseInfo | null = null;

  constructor(
    private readonly timers: Timers,
    readonly remoteAddress: string,
    private readonly frameBytesMax: number,
  ) {}

  setHandlers(handlers: LinkHandlers): void {
    assert(this.handlers === null, 'link handlers are set once');
    this.handlers = handlers;
    this.scheduleDrain();
  }

  send(frame: Buffer, onFlushed: (err?: Error) => void): void {
    const peer = this.peer;
    if (this.state !== 'open' || peer === null || peer.state === 'closed') {
      this.timers.setTimeout(() => onFlushed(new Error('link is not open')), 0);
      return;
    }
    if (frame.length > this.frameBytesMax) {
      // What ws does on the receiving side: refuse while it arrives, close with 1009.
      peer.fail(new Error(`frame of ${frame.length} bytes exceeds maxPayload ${this.frameBytesMax}`), 1009);
      this.timers.setTimeout(() => onFlushed(new Error('link closed')), 0);
      return;
    }
    peer.inbox.push({ frame, onFlushed });
    peer.inboxBytes += frame.length;
    peer.scheduleDrain();
  }

  bufferedBytes(): number {
    return this.peer === null ? 0 : this.peer.inboxBytes;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.scheduleDrain();
  }

  close(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    const peer = this.peer;
    if (peer !== null && peer.state !== 'closed') {
      peer.pendingClose = { code, reason };
      peer.scheduleDrain();
    }
    // We will not read what the peer still sends; the close completes for us right away.
    this.finish({ code, reason });
  }

  terminate(): void {
    if (this.state === 'closed') return;
    const peer = this.peer;
    this.finish({ code: 1006, reason: '' });
    if (peer !== null) peer.finish({ code: 1006, reason: '' });
  }

  /** Transport-level failure on our receiving side (oversized frame): error, then close both ends. */
  private fail(err: Error, code: number): void {
    if (this.state === 'closed') return;
    const handlers = this.handlers;
    this.timers.setTimeout(() => handlers?.onError(err), 0);
    const peer = this.peer;
    this.finish({ code, reason: '' });
    if (peer !== null) peer.finish({ code, reason: '' });
  }

  /** Close this end: fail undelivered frames' callbacks, report onClose once (asynchronously). */
  private finish(info: LinkCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.drainTimer?.cancel();
    this.drainTimer = null;
    const dropped = this.inbox.splice(0);
    this.inboxBytes = 0;
    const handlers = this.handlers;
    this.timers.setTimeout(() => {
      for (const f of dropped) f.onFlushed(new Error('link closed'));
      handlers?.onClose(info);
    }, 0);
  }

  private scheduleDrain(): void {
    if (this.drainTimer !== null || this.handlers === null || this.state === 'closed') return;
    // A paused end still learns about a close (ws's close timeout destroys the socket the same way).
    if (this.paused && this.pendingClose === null) return;
    if (this.inbox.length === 0 && this.pendingClose === null) return;
    this.drainTimer = this.timers.setTimeout(() => this.drain(), 0);
  }

  private drain(): void {
    this.drainTimer = null;
    let delivered = 0;
    while (!this.paused && this.state !== 'closed' && this.inbox.length > 0 && delivered < framesPerDrainMax) {
      const f = this.inbox.shift()!;
      this.inboxBytes -= f.frame.length;
      delivered++;
      f.onFlushed();
      this.handlers!.onFrame(f.frame, true);
    }
    if (this.state !== 'closed' && this.pendingClose !== null && (this.inbox.length === 0 || this.paused)) {
      this.finish(this.pendingClose);
      return;
    }
    this.scheduleDrain();
  }
}
