/**
 * The seam between the messenger and the network (DESIGN §3). A transport moves whole frames
 * (byte messages) between two endpoints, in order, with flow control; the messenger does
 * everything else (framing, auth, requests, reconnect). Implementations:
 *   - WsTransport: WebSockets over TCP (ws-transport.ts; `ms_transport = ws`);
 *   - TcpTransport: plain TCP with a small record header, less GC work (tcp-transport.ts; `ms_transport = tcp`);
 *   - MemoryNetwork: in-process links for simulations and fast tests (memory-transport.ts).
 * All pass the same compliance suite (packages/msgr/test/messenger-suite.ts).
 */
import { NacreError } from '@nacre/util';

export interface Address {
  host: string;
  port: number;
}

export interface LinkCloseInfo {
  /** WebSocket close code (1000 normal, 1001 going away, 1002 protocol error, 1006 abnormal, 1008 policy, 1009 too big, 1013 try later). */
  code: number;
  reason: string;
}

export interface LinkHandlers {
  /** One whole received frame. `binary` is false for a text frame (a protocol violation for us). */
  onFrame(data: Buffer, binary: boolean): void;
  /** A transport-level error (oversized frame, bad WebSocket framing, socket error); onClose follows. */
  onError(err: Error): void;
  /** The link is closed; called exactly once, after which no other handler is called. */
  onClose(info: LinkCloseInfo): void;
}

/** One established connection. Frames are delivered in the order they were sent. */
export interface Link {
  /** `host:port` of the other end, for logs. */
  readonly remoteAddress: string;
  /** Install the handlers; must be called synchronously when the link is handed over. */
  setHandlers(handlers: LinkHandlers): void;
  /**
   * Queue one frame. `onFlushed` runs once the transport has handed the bytes on (to the kernel,
   * or to the peer for in-memory links), with an error if the link closed first.
   */
  send(frame: Buffer, onFlushed: (err?: Error | null) => void): void;
  /**
   * Optional write batching: frames sent between cork() and uncork() may leave in one system call
   * (the messenger corks around each batch of queued frames).
   */
  cork?(): void;
  uncork?(): void;
  /** Bytes accepted by send() and not yet handed on: what backpressure watches. */
  bufferedBytes(): number;
  /**
   * Optional: the largest frame to accept from the peer from now on (at most the dial/listen
   * frameBytesMax). The messenger lowers it to handshakeFrameBytesMax until the peer is
   * authenticated, so a transport that allocates a frame's buffer when its header arrives
   * (TcpTransport) never does so beyond a few KiB for a peer without a key.
   */
  setFrameBytesMax?(bytesMax: number): void;
  /** Stop / restart delivering received frames (the peer's sends then back up). */
  pause(): void;
  resume(): void;
  /** Graceful close: frames already sent are delivered first; the socket is destroyed if the peer does not answer in time. */
  close(code: number, reason: string): void;
  /** Immediate close, dropping anything unsent. */
  terminate(): void;
}

export interface ListenOptions {
  frameBytesMax: number;
  closeGraceMs: number;
  /** Inbound connections accepted at once (the transport may bound raw sockets a little above it). */
  connectionsMax: number;
  /** A listener-level error after listening started (logged by the messenger). */
  onError(err: Error): void;
  /** Asked before each new connection is accepted (false → refused, e.g. connectionsMax reached). */
  admit(): boolean;
  /** A new inbound link; the callee calls link.setHandlers synchronously. */
  onLink(link: Link): void;
}

export interface Listener {
  /** The bound address (the real port when port 0 was asked for). */
  readonly address: Address;
  /** Stop accepting; existing links are not touched. Resolves when the port is released. */
  close(): Promise<void>;
}

export interface DialOptions {
  frameBytesMax: number;
  closeGraceMs: number;
  connectTimeoutMs: number;
}

export interface Transport {
  /** Start accepting connections on `address` (port 0 = any free port). Rejects EADDRINUSE-like errors as NacreError EBUSY. */
  listen(address: Address, opts: ListenOptions): Promise<Listener>;
  /** Connect to `address`. Rejects with NacreError ECONNREFUSED (or ETIMEDOUT) when no link could be made. */
  dial(address: Address, opts: DialOptions): Promise<Link>;
}

/** Parse `host:port` / `[v6]:port`, or pass an Address through. */
export function toAddress(addr: string | Address): Address {
  if (typeof addr !== 'string') return addr;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new NacreError(`bad address ${JSON.stringify(addr)} (expected host:port)`, { code: 'EINVAL' });
  return { host: m[1] ?? m[2]!, port };
}

export function formatAddress(addr: Address): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
