/**
 * WebSocket transport (ws 8): `ms_transport = ws`, and what createMessenger uses without a transport
 * (clusters made by `nacre cluster up` use the tcp transport: tcp-transport.ts).
 *
 * - URL `ws://host:port/nacre`; other paths get HTTP 400, plain HTTP requests 426.
 * - Binary frames only, `perMessageDeflate` off (object data is not compressible enough to pay for it).
 * - `maxPayload` = frameBytesMax, so ws refuses an oversized frame while it arrives (close 1009).
 * - Client frames are masked with an all-zero mask by default. RFC 6455 masking protects HTTP
 *   proxies from browser-crafted bytes; between our own daemons it only costs a pass over every
 *   byte (measured ~2.9 GB/s with zero masks vs 1.3 GB/s with bufferutil, ../shared/research).
 *   ws sees the zero mask and skips both masking and unmasking. `maskFrames: true` restores real
 *   masks (bufferutil, a dependency, then does them natively).
 * - Raw sockets are bounded: `maxConnections` = connectionsMax + a small allowance for sockets that
 *   have not finished the upgrade yet; HTTP header/request timeouts cut off slow upgrades.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData, type ServerOptions } from 'ws';
import { NacreError, assert } from '@nacre/util';
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

/** The HTTP path of the messenger's WebSocket endpoint (the wire version travels in the hello). */
export const wirePath = '/nacre';
/** Raw sockets allowed above connectionsMax (upgrades in progress, refused peers being closed). */
const upgradeSocketsAllowance = 64;
/** Time a raw socket may take to send its upgrade request. */
const upgradeTimeoutMs = 10_000;
/** Frames that may arrive between link creation and setHandlers (only the peer's first few). */
const earlyFramesMax = 16;
/** ws limits close reasons to 123 bytes. */
const closeReasonBytesMax = 123;

/** ws 8.23's `closeTimeout` (time the peer has to answer a close frame) is not in @types/ws 8.18 yet. */
interface WithCloseTimeout {
  closeTimeout?: number;
}

export interface WsTransportOptions {
  /** Use real (random) client masks instead of zero masks; see the header comment. Default false. */
  maskFrames?: boolean;
}

export class WsTransport implements Transport {
  private readonly maskFrames: boolean;

  constructor(options: WsTransportOptions = {}) {
    this.maskFrames = options.maskFrames ?? false;
  }

  listen(address: Address, opts: ListenOptions): Promise<Listener> {
    return WsListener.open(address, opts);
  }

  dial(address: Address, opts: DialOptions): Promise<Link> {
    const url = `ws://${formatAddress(address)}${wirePath}`;
    return new Promise<Link>((resolve, reject) => {
      const options: ClientOptions & WithCloseTimeout = {
        perMessageDeflate: false,
        maxPayload: opts.frameBytesMax,
        handshakeTimeout: opts.connectTimeoutMs,
        closeTimeout: opts.closeGraceMs,
        followRedirects: false,
        skipUTF8Validation: true,
        ...(this.maskFrames ? {} : { generateMask: (mask: Buffer) => void mask.fill(0) }),
      };
      const ws = new WebSocket(url, options);
      const fail = (err: Error): void => {
        cleanup();
        ws.terminate();
        const timedOut = /timed? ?out/i.test(err.message);
        const why = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connection refused' : err.message;
        reject(new NacreError(`cannot connect to ${formatAddress(address)}: ${why}`, { code: timedOut ? 'ETIMEDOUT' : 'ECONNREFUSED', cause: err }));
      };
      const onError = (err: Error): void => fail(err);
      const onUnexpected = (_req: unknown, res: IncomingMessage): void => {
        res.resume();
        // A tcp-transport listener answers a WebSocket upgrade with 400: say what that most likely means.
        const hint = res.statusCode === 400 ? 'not a Nacre ws messenger (a tcp one? every process of a cluster must use the same ms_transport)' : 'not a Nacre messenger, or it refused the connection';
        fail(new Error(`unexpected HTTP ${res.statusCode ?? '?'} (${hint})`));
      };
      const onOpen = (): void => {
        cleanup();
        resolve(new WsLink(ws, formatAddress(address)));
      };
      const cleanup = (): void => {
        ws.off('error', onError);
        ws.off('unexpected-response', onUnexpected);
        ws.off('open', onOpen);
      };
      // ws emits 'error' for a failed handshake even after 'unexpected-response'; keep a no-op so
      // a late one never becomes an uncaught exception.
      ws.on('error', () => {});
      ws.on('error', onError);
      ws.on('unexpected-response', onUnexpected);
      ws.on('open', onOpen);
    });
  }
}

class WsListener implements Listener {
  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    /** Sockets that have not been upgraded yet: ours to destroy on close (links own the rest). */
    private readonly rawSockets: Set<Socket>,
    readonly address: Address,
  ) {}

  static open(address: Address, opts: ListenOptions): Promise<Listener> {
    const server = createServer({ requestTimeout: upgradeTimeoutMs, headersTimeout: upgradeTimeoutMs });
    server.maxConnections = opts.connectionsMax + upgradeSocketsAllowance;
    const rawSockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      rawSockets.add(socket);
      socket.once('close', () => rawSockets.delete(socket));
    });
    server.on('upgrade', (_req: IncomingMessage, socket: Socket) => rawSockets.delete(socket));
    const serverOptions: ServerOptions & WithCloseTimeout = {
      server,
      path: wirePath,
      maxPayload: opts.frameBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
      closeTimeout: opts.closeGraceMs,
      skipUTF8Validation: true,
      verifyClient: () => opts.admit(),
    };
    const wss = new WebSocketServer(serverOptions);
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('Nacre messenger: WebSocket upgrade required\n');
    });
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      opts.onLink(new WsLink(ws, remote));
    });
    return new Promise<Listener>((resolve, reject) => {
      const onListenError = (err: NodeJS.ErrnoException): void => {
        wss.close();
        const code = err.code === 'EADDRINUSE' ? 'EBUSY' : 'EIO';
        reject(new NacreError(`cannot listen on ${formatAddress(address)}: ${err.message}`, { code, cause: err }));
      };
      server.once('error', onListenError);
      server.listen(address.port, address.host, () => {
        server.off('error', onListenError);
        server.on('error', (err) => opts.onError(err));
        wss.on('error', (err) => opts.onError(err));
        const bound = server.address();
        assert(bound !== null && typeof bound === 'object', 'a TCP server has an address');
        resolve(new WsListener(server, wss, rawSockets, { host: address.host, port: bound.port }));
      });
    });
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wss.close();
      // server.close() releases the port now and calls back once every socket is gone; upgraded
      // sockets are closed by their links (Messenger.stop closes them).
      this.server.close(() => resolve());
      for (const socket of this.rawSockets) socket.destroy();
    });
  }
}

class WsLink implements Link {
  private handlers: LinkHandlers | null = null;
  private early: Array<{ data: Buffer; binary: boolean }> = [];
  private earlyError: Error | null = null;
  private earlyClose: LinkCloseInfo | null = null;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
  ) {
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error) => {
      if (this.handlers) this.handlers.onError(err);
      else this.earlyError ??= err;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      const info = { code, reason: reason.toString('utf8') };
      if (this.handlers) this.handlers.onClose(info);
      else this.earlyClose = info;
    });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    // binaryType is 'nodebuffer' (the default): ws hands over one Buffer per message.
    assert(Buffer.isBuffer(data), 'ws delivers Buffers with binaryType nodebuffer');
    if (this.handlers) {
      this.handlers.onFrame(data, isBinary);
      return;
    }
    if (this.early.length >= earlyFramesMax) {
      this.ws.terminate();
      return;
    }
    this.early.push({ data, binary: isBinary });
  }

  setHandlers(handlers: LinkHandlers): void {
    assert(this.handlers === null, 'link handlers are set once');
    this.handlers = handlers;
    for (const f of this.early.splice(0)) handlers.onFrame(f.data, f.binary);
    if (this.earlyError) handlers.onError(this.earlyError);
    if (this.earlyClose) handlers.onClose(this.earlyClose);
  }

  send(frame: Buffer, onFlushed: (err?: Error) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      queueMicrotask(() => onFlushed(new Error('link is not open')));
      return;
    }
    this.ws.send(frame, { binary: true }, onFlushed);
  }

  /**
   * ws writes each message with its own cork/uncork, i.e. one writev per frame; corking the
   * underlying socket around a batch makes it one writev per batch (ws's own cork nests). ws keeps
   * its socket in `_socket` (internal, stable through ws 7 and 8); without it we just don't batch.
   */
  cork(): void {
    (this.ws as unknown as { _socket?: Socket })._socket?.cork();
  }

  uncork(): void {
    (this.ws as unknown as { _socket?: Socket })._socket?.uncork();
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSING || this.ws.readyState === WebSocket.CLOSED) return;
    let text = reason;
    while (Buffer.byteLength(text, 'utf8') > closeReasonBytesMax) text = text.slice(0, -1);
    // ws validates close codes; ours are all valid, but never let a bad one escape as a throw.
    try {
      this.ws.close(code, text);
    } catch {
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.ws.terminate();
  }
}
