/**
 * TCP transport: messenger frames on plain TCP sockets with an 8-byte record header
 * (tcp-framing.ts), built to cut the garbage-collection work of the data path. Select it with
 * `ms_transport = tcp` in nacre.conf (transport-select.ts); both ends of a connection must use
 * the same transport, so a cluster uses one (docs/wire.md §1).
 *
 * Why not WebSockets here: on the OSD data path ws allocates every received byte twice — Node
 * reads each socket chunk into a fresh 64 KiB Buffer, then ws concatenates a 4 MiB message into
 * another fresh Buffer — and V8 runs a mark-compact GC per ~64 MB of such external allocation
 * (measured: a third of an OSD's busy time under 4 MiB writes). This transport:
 *   - reads with net's `onread` option into one static buffer per transport, or straight into the
 *     frame's final buffer while a big frame is arriving (tcp-reader.ts, receive-memory.ts);
 *   - allocates each frame once, at its announced size, after checking it against the frame
 *     limit (unauthenticated peers get handshakeFrameBytesMax: Link.setFrameBytesMax);
 *   - sends without copying: header and the caller's buffer leave in one writev (cork/uncork),
 *     and `bufferedBytes()` is the socket's unsent byte count, as ws's bufferedAmount.
 *
 * Lifecycle of a link, matching what the messenger saw with ws:
 *   - dial: TCP connect, both ends send their banner; the dialler's link opens on the listener's
 *     banner, within connectTimeoutMs. A listener that refuses (`admit()` false, e.g.
 *     connectionsMax) answers with a close record (1013) instead: the dial fails ECONNREFUSED.
 *   - close(code, reason): a close record follows the frames already sent, then FIN; the peer
 *     answers with its own close record; a peer that does not finish within closeGraceMs has its
 *     socket destroyed. onClose reports the close record received (the peer's, or its echo of
 *     ours), else code 1006 — as ws does. Messages arriving after close() are dropped.
 *   - malformed or oversized headers: onError (logged by the messenger), then close with 1002
 *     (malformed) or 1009 (above the frame limit). Socket errors are not reported through
 *     onError (ws does not either); they end the link with 1006 and the error as reason.
 *   - a listener's raw sockets: at most `unlinkedSocketsMax` that have not sent their banner (or
 *     are being refused), each cut off after `bannerTimeoutMs` (slowloris); a peer whose first
 *     bytes are not our banner gets a short HTTP 400 text (a ws client then reports "unexpected
 *     HTTP 400") and is closed.
 *
 * net.Server has no `onread` option for accepted sockets, so accepted handles are moved into a
 * Socket constructed with one (`adoptAccepted`; Node's own cluster module adopts handles the same
 * way). Should a Node version not expose the handle, the socket is read through 'data' events
 * instead: correct, only without the allocation savings.
 */
import { Server, Socket, connect as netConnect, createServer, type OnReadOpts } from 'node:net';
import { NacreError, assert, realTimers, type TimerHandle, type Timers } from '@nacre/util';
import { ReceiveMemory, type ReceiveStats } from './receive-memory.js';
import { RecordKind, encodeBanner, encodeCloseRecord, encodeRecordHeader, recordBodyBytesMax } from './tcp-framing.js';
import { RecordReader, type RecordSink } from './tcp-reader.js';
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

/** Raw sockets a listener holds that are not (yet) links: before their banner, or being refused. */
export const unlinkedSocketsMax = 64;
/** Default time a raw socket has to send its banner (the ws transport's upgrade timeout). */
export const bannerTimeoutMsDefault = 10_000;
/** Messages that may arrive between the dialler's link opening and setHandlers (the peer's first few). */
const earlyFramesMax = 16;
/**
 * Largest message accepted before setHandlers (or setFrameBytesMax) says more: what arrives that
 * early is at most a handshake frame, so a listener that is not who we dialled cannot make us
 * allocate a big frame before the messenger has even attached.
 */
const earlyFrameBytesMax = 4096;
/** Close codes (WebSocket's, so both transports report causes alike). */
const closeAbnormal = 1006;
const closeTryLater = 1013;
/** What a peer that is not a tcp messenger (e.g. a ws client) reads back before we hang up. */
const notTcpPeerAnswer = Buffer.from(
  'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n'
  + 'Nacre messenger: this endpoint speaks the tcp transport (ms_transport = tcp)\n',
  'latin1',
);

export interface TcpTransportOptions {
  /** Timers of the connect timeout, the banner timeout and the close grace period (default: real timers). */
  timers?: Timers;
  /** Time an accepted socket has to send its banner before it is cut off (default bannerTimeoutMsDefault). */
  bannerTimeoutMs?: number;
}

export interface TcpTransportStats extends ReceiveStats {
  /** Sockets of this transport not yet closed (links, and a listener's sockets before their banner). */
  sockets: number;
}

/** What every link of one transport shares. */
interface LinkContext {
  timers: Timers;
  memory: ReceiveMemory;
  /** Live sockets of the transport (stats, leak checks). */
  sockets: { count: number };
  closeGraceMs: number;
  /** The transport-level frame limit (listen/dial option); setFrameBytesMax may only lower it. */
  frameBytesMax: number;
}

export class TcpTransport implements Transport {
  private readonly timers: Timers;
  private readonly bannerTimeoutMs: number;
  /** The static read buffer and the small-frame arena, shared by every link of this transport. */
  private readonly memory = new ReceiveMemory();
  private readonly sockets = { count: 0 };

  constructor(options: TcpTransportOptions = {}) {
    this.timers = options.timers ?? realTimers;
    this.bannerTimeoutMs = options.bannerTimeoutMs ?? bannerTimeoutMsDefault;
    assert(Number.isSafeInteger(this.bannerTimeoutMs) && this.bannerTimeoutMs > 0, 'bannerTimeoutMs is a positive integer');
  }

  /** Where received bytes went (static buffer, straight into frames, Node chunks), allocations, live sockets. */
  stats(): TcpTransportStats {
    return { ...this.memory.stats, sockets: this.sockets.count };
  }

  listen(address: Address, opts: ListenOptions): Promise<Listener> {
    const ctx: LinkContext = { timers: this.timers, memory: this.memory, sockets: this.sockets, closeGraceMs: opts.closeGraceMs, frameBytesMax: opts.frameBytesMax };
    return TcpListener.open(address, opts, ctx, this.bannerTimeoutMs);
  }

  dial(address: Address, opts: DialOptions): Promise<Link> {
    const ctx: LinkContext = { timers: this.timers, memory: this.memory, sockets: this.sockets, closeGraceMs: opts.closeGraceMs, frameBytesMax: opts.frameBytesMax };
    const where = formatAddress(address);
    return new Promise<Link>((resolve, reject) => {
      const link = new TcpLink(where, 'dialler', ctx);
      let socket: Socket;
      try {
        socket = netConnect({ host: address.host, port: address.port, onread: link.onreadOptions() });
      } catch (err) {
        reject(dialError(where, err as Error));
        return;
      }
      link.attach(socket);
      const timer = ctx.timers.setTimeout(() => link.fail(new TcpLinkFailure(`timed out after ${opts.connectTimeoutMs} ms`, 'ETIMEDOUT')), opts.connectTimeoutMs);
      link.watchBanner({
        onBanner: () => {
          timer.cancel();
          resolve(link);
        },
        onClosed: (err) => {
          timer.cancel();
          reject(dialError(where, err));
        },
      });
    });
  }
}

function dialError(where: string, err: Error): NacreError {
  if (err instanceof TcpLinkFailure) return new NacreError(`cannot connect to ${where}: ${err.message}`, { code: err.code, cause: err });
  const why = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connection refused' : err.message;
  return new NacreError(`cannot connect to ${where}: ${why}`, { code: 'ECONNREFUSED', cause: err });
}

/** Why a link failed before it opened, with the code a dial rejects with. */
class TcpLinkFailure extends Error {
  constructor(message: string, readonly code: 'ECONNREFUSED' | 'EPROTO' | 'ETIMEDOUT') {
    super(message);
  }
}

class TcpListener implements Listener {
  /** Accepted sockets not handed to the messenger: awaiting their banner, or being refused. */
  private readonly unlinked = new Set<TcpLink>();
  private closing = false;

  private constructor(
    private readonly server: Server,
    private readonly opts: ListenOptions,
    private readonly ctx: LinkContext,
    private readonly bannerTimeoutMs: number,
    readonly address: Address,
  ) {}

  static open(address: Address, opts: ListenOptions, ctx: LinkContext, bannerTimeoutMs: number): Promise<Listener> {
    // Paused, so no byte is read before the handle has moved to its reading socket (adoptAccepted).
    const server = createServer({ pauseOnConnect: true });
    return new Promise<Listener>((resolve, reject) => {
      const onListenError = (err: NodeJS.ErrnoException): void => {
        const code = err.code === 'EADDRINUSE' ? 'EBUSY' : 'EIO';
        reject(new NacreError(`cannot listen on ${formatAddress(address)}: ${err.message}`, { code, cause: err }));
      };
      server.once('error', onListenError);
      server.listen(address.port, address.host, () => {
        server.off('error', onListenError);
        server.on('error', (err) => opts.onError(err));
        const bound = server.address();
        assert(bound !== null && typeof bound === 'object', 'a TCP server has an address');
        const listener = new TcpListener(server, opts, ctx, bannerTimeoutMs, { host: address.host, port: bound.port });
        server.on('connection', (socket: Socket) => listener.onConnection(socket));
        resolve(listener);
      });
    });
  }

  private onConnection(raw: Socket): void {
    if (this.closing || this.unlinked.size >= unlinkedSocketsMax) {
      raw.destroy();
      return;
    }
    const link = new TcpLink(`${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`, 'listener', this.ctx);
    link.attach(adoptAccepted(raw, link));
    this.unlinked.add(link);
    const timer = this.ctx.timers.setTimeout(() => link.fail(new TcpLinkFailure(`no banner within ${this.bannerTimeoutMs} ms`, 'ETIMEDOUT')), this.bannerTimeoutMs);
    link.watchBanner({
      onBanner: () => {
        timer.cancel();
        if (this.closing || !this.opts.admit()) {
          link.refuse(closeTryLater, 'try again later');
          return;
        }
        this.unlinked.delete(link);
        link.accept();
        this.opts.onLink(link);
      },
      onClosed: () => {
        timer.cancel();
        this.unlinked.delete(link);
      },
    });
  }

  close(): Promise<void> {
    this.closing = true;
    return new Promise<void>((resolve) => {
      // server.close() releases the port now and calls back once its sockets are gone; links are
      // closed by their owners (Messenger.stop closes them).
      this.server.close(() => resolve());
      for (const link of [...this.unlinked]) link.terminate();
    });
  }
}

/**
 * Move an accepted socket's handle into a new Socket that reads through `onread` (see the header
 * comment). The emptied original is destroyed, which also takes it out of the server's
 * connection count: the listener bounds its sockets itself (unlinkedSocketsMax, admit()).
 */
function adoptAccepted(raw: Socket, link: TcpLink): Socket {
  const holder = raw as unknown as { _handle?: unknown };
  const handle = holder._handle;
  if (handle === null || typeof handle !== 'object') {
    raw.on('data', (chunk: Buffer) => link.reader.onRead(chunk.length, chunk));
    raw.resume();
    return raw;
  }
  holder._handle = null;
  raw.destroy();
  const options = { handle, readable: true, writable: true, onread: link.onreadOptions() };
  return new Socket(options as ConstructorParameters<typeof Socket>[0]);
}

interface BannerWatcher {
  /** The peer's banner arrived (dialler: the link is open; listener: accept() or refuse() now). */
  onBanner(): void;
  /** The link closed without ever opening; why. */
  onClosed(err: Error): void;
}

/**
 * banner → open → closing → closed; a refused or failed link goes banner → (closing →) closed
 * without opening and tells its BannerWatcher instead of LinkHandlers.
 */
type TcpLinkState = 'banner' | 'open' | 'closing' | 'closed';

class TcpLink implements Link, RecordSink {
  readonly reader: RecordReader;
  private socket: Socket | null = null;
  private state: TcpLinkState = 'banner';
  /** Became open (the messenger owns it): close is reported to handlers, not to the watcher. */
  private opened = false;
  private watcher: BannerWatcher | null = null;
  private handlers: LinkHandlers | null = null;
  private early: Buffer[] = [];
  private earlyError: Error | null = null;
  private earlyClose: LinkCloseInfo | null = null;
  /** The peer's close record (its own close, or its answer to ours). */
  private peerClose: LinkCloseInfo | null = null;
  private socketError: Error | null = null;
  /** Why a link that never opened is closing. */
  private failure: Error | null = null;
  private graceTimer: TimerHandle | null = null;
  /** The owner chose the frame limit (setFrameBytesMax): setHandlers leaves it alone. */
  private frameLimitChosen = false;

  constructor(
    readonly remoteAddress: string,
    private readonly side: 'dialler' | 'listener',
    private readonly ctx: LinkContext,
  ) {
    this.reader = new RecordReader(ctx.memory, this, Math.min(ctx.frameBytesMax, earlyFrameBytesMax));
  }

  onreadOptions(): OnReadOpts {
    const reader = this.reader;
    return {
      buffer: () => reader.nextReadBuffer(),
      // Our buffer function only hands out Buffers, so that is what comes back.
      callback: (bytes: number, buf: Uint8Array) => {
        reader.onRead(bytes, buf as Buffer);
        return true;
      },
    };
  }

  attach(socket: Socket): void {
    this.socket = socket;
    this.ctx.sockets.count++;
    socket.setNoDelay(true);
    socket.on('error', (err: Error) => {
      this.socketError ??= err;
    });
    socket.on('close', () => this.finish());
    if (this.side === 'dialler') socket.write(encodeBanner());
  }

  watchBanner(watcher: BannerWatcher): void {
    this.watcher = watcher;
  }

  /** Listener side, after the banner: open, and answer with ours. */
  accept(): void {
    assert(this.state === 'banner' && this.side === 'listener', 'accept() follows the banner on a listener link');
    this.state = 'open';
    this.opened = true;
    this.socket!.write(encodeBanner());
  }

  /** Listener side, after the banner: turn the peer away with a close record instead of our banner. */
  refuse(code: number, reason: string): void {
    this.failure = new TcpLinkFailure(`refused: ${reason}`, 'ECONNREFUSED');
    this.beginClose(code, reason);
  }

  /** End a link that has not opened (timeouts): the watcher learns `err`. */
  fail(err: Error): void {
    if (this.state === 'closed') return;
    this.failure ??= err;
    this.socket?.destroy();
  }

  // ---------------------------------------------------------------- RecordSink (the reader)

  onBanner(): void {
    if (this.side === 'dialler') {
      this.state = 'open';
      this.opened = true;
    }
    this.watcher?.onBanner();
  }

  onMessage(data: Buffer): void {
    if (this.state !== 'open') return;
    if (this.handlers !== null) {
      this.handlers.onFrame(data, true);
      return;
    }
    if (this.early.length >= earlyFramesMax) {
      this.terminate();
      return;
    }
    this.early.push(data);
  }

  onCloseRecord(code: number, reason: string): void {
    this.peerClose = { code, reason };
    if (this.state === 'banner') {
      this.failure = new TcpLinkFailure(`refused by the peer: ${reason !== '' ? reason : `close code ${code}`}`, 'ECONNREFUSED');
      this.socket!.destroy();
      return;
    }
    // Open: answer with the same code and reason, as a WebSocket endpoint echoes a close frame.
    // Closing: this is the peer's answer to ours; its FIN follows (or the grace timer fires).
    if (this.state === 'open') this.beginClose(code, reason);
  }

  onViolation(reason: string, closeCode: number): void {
    if (this.state === 'banner') {
      this.failure = new TcpLinkFailure(reason, 'EPROTO');
      if (this.side === 'dialler') {
        this.socket!.destroy();
        return;
      }
      this.state = 'closing';
      this.socket!.end(notTcpPeerAnswer);
      this.armGrace();
      return;
    }
    if (this.state !== 'open') {
      this.socket?.destroy();
      return;
    }
    const err = new Error(reason);
    if (this.handlers !== null) this.handlers.onError(err);
    else this.earlyError ??= err;
    this.beginClose(closeCode, reason);
  }

  // ---------------------------------------------------------------- Link

  setHandlers(handlers: LinkHandlers): void {
    assert(this.handlers === null, 'link handlers are set once');
    this.handlers = handlers;
    if (!this.frameLimitChosen) this.reader.setFrameBytesMax(this.ctx.frameBytesMax);
    for (const data of this.early.splice(0)) handlers.onFrame(data, true);
    if (this.earlyError !== null) handlers.onError(this.earlyError);
    if (this.earlyClose !== null) handlers.onClose(this.earlyClose);
  }

  send(frame: Buffer, onFlushed: (err?: Error | null) => void): void {
    if (this.state !== 'open') {
      queueMicrotask(() => onFlushed(new Error('link is not open')));
      return;
    }
    if (frame.length > recordBodyBytesMax) {
      queueMicrotask(() => onFlushed(new Error(`frame of ${frame.length} bytes cannot be framed (max ${recordBodyBytesMax})`)));
      return;
    }
    const socket = this.socket!;
    // Header and frame go out in one writev without copying the frame (nested corks just count).
    socket.cork();
    socket.write(encodeRecordHeader(RecordKind.message, frame.length));
    socket.write(frame, onFlushed);
    socket.uncork();
  }

  cork(): void {
    this.socket?.cork();
  }

  uncork(): void {
    this.socket?.uncork();
  }

  bufferedBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  setFrameBytesMax(bytesMax: number): void {
    this.frameLimitChosen = true;
    this.reader.setFrameBytesMax(Math.min(bytesMax, this.ctx.frameBytesMax));
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  close(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.beginClose(code, reason);
  }

  terminate(): void {
    if (this.state === 'closed') return;
    this.socket?.destroy();
  }

  // ---------------------------------------------------------------- internals

  /** Our close record after everything already written, then FIN; the peer has closeGraceMs to finish. */
  private beginClose(code: number, reason: string): void {
    this.state = 'closing';
    const socket = this.socket!;
    // Destroyed but not yet closed (terminate() earlier in this turn): 'close' is on its way.
    if (socket.destroyed) return;
    socket.end(encodeCloseRecord(code, reason));
    this.armGrace();
  }

  private armGrace(): void {
    this.graceTimer ??= this.ctx.timers.setTimeout(() => {
      this.graceTimer = null;
      this.socket?.destroy();
    }, this.ctx.closeGraceMs);
  }

  /** The socket is gone: report once, to the handlers (opened) or to the banner watcher (never opened). */
  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.ctx.sockets.count--;
    this.graceTimer?.cancel();
    this.graceTimer = null;
    this.reader.stop();
    if (!this.opened) {
      const why = this.failure ?? this.socketError ?? new TcpLinkFailure('connection closed before the peer sent its banner', 'ECONNREFUSED');
      this.watcher?.onClosed(why);
      return;
    }
    const info = this.peerClose ?? { code: closeAbnormal, reason: this.socketError?.message ?? '' };
    if (this.handlers !== null) this.handlers.onClose(info);
    else this.earlyClose = info;
  }
}
