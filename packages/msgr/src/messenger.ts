/**
 * The messenger: one per daemon (or client process). It owns the handler table, the listening
 * endpoint (optional) and every connection, inbound and outbound; handlers see messages from both
 * directions alike, as in Ceph's messenger.
 *
 * ```ts
 * const msgr = createMessenger(
 *   { entity: 'mon.a', keyring, listen: '127.0.0.1:6789', vocabulary: monMessages },
 *   { env: realEnv(createLogger('mon.a')) },
 * );
 * msgr.handle(MonPing, (req, ctx) => ({ from: msgr.entity, to: ctx.peer }));
 * await msgr.start();
 * const peer = msgr.connect('127.0.0.1:6790', { expectPeer: 'mon.b' });
 * await peer.request(MonPing, {});
 * await msgr.stop();
 * ```
 */
import { randomFillSync } from 'node:crypto';
import { NacreError, assert, type Env } from '@nacre/util';
import {
  MessageRegistry,
  entityKindOf,
  msgrTypePrefix,
  parseEntityName,
  type EntityKind,
  type EntityName,
  type MessageDef,
  type OnewayDef,
  type RequestDef,
} from '@nacre/proto';
import {
  Connection,
  type ConnectionHost,
  type DispatchEntry,
  type MessageContext,
  type OnewayHandler,
  type RequestHandler,
} from './connection.js';
import type { KeyLookup } from './keyring.js';
import { resolveLimits, resolveRetryPolicy, type MessengerLimits, type RetryPolicy } from './limits.js';
import { formatAddress, toAddress, type Address, type Link, type Listener, type Transport } from './transport.js';
import { WsTransport } from './ws-transport.js';

export type MessengerStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface MessengerInit {
  /** Who this process is: `mon.a`, `osd.3`, `client.admin`. */
  entity: string;
  /** Our own secret (needed to connect out). Defaults to `keyring.keyOf(entity)`. */
  key?: Buffer;
  /** Keys of the entities allowed to connect in (needed to listen). */
  keyring?: KeyLookup;
  /** Accept connections here (`host:port`; port 0 picks a free one, see `address`). */
  listen?: string | Address;
  /** Message types this messenger understands besides those it has handlers for. */
  vocabulary?: Iterable<MessageDef>;
  limits?: Partial<MessengerLimits>;
  /** Default reconnect policy of outbound connections. */
  retry?: Partial<RetryPolicy>;
}

/** The injected parts (DESIGN §3): a simulation swaps the transport, clock, timers and randomness. */
export interface MessengerComponents {
  env: Env;
  /** Defaults to a WsTransport. */
  transport?: Transport;
  /**
   * Fills handshake nonces. Defaults to node:crypto — Env.random is a seeded PRNG, fine for backoff
   * jitter but predictable, and nonces must not be. Simulations may inject a seeded source.
   */
  secureRandom?: (buf: Buffer) => void;
}

export interface ConnectOptions {
  /** Refuse the server unless it introduces itself as this entity (e.g. `mon.b`). */
  expectPeer?: string;
  /** Overrides the messenger's retry policy for this connection. */
  retry?: Partial<RetryPolicy>;
}

export interface MessengerStats {
  status: MessengerStatus;
  connections: number;
  inboundConnections: number;
  outboundConnections: number;
  pendingRequests: number;
  queuedFrames: number;
  queuedBytes: number;
  inboundInFlight: number;
  /** Timers owned by the messenger's connections (leak checks: back to the baseline when idle). */
  timers: number;
  handlers: number;
}

interface HandlerEntry {
  def: MessageDef;
  handler: (payload: unknown, ctx: MessageContext) => unknown;
}

export class Messenger {
  readonly entity: EntityName;
  readonly entityKind: EntityKind;
  readonly limits: MessengerLimits;
  private statusValue: MessengerStatus = 'idle';
  private readonly key: Buffer | null;
  private readonly keys: KeyLookup | null;
  private readonly listenAddress: Address | null;
  private readonly retry: RetryPolicy;
  private readonly registry: MessageRegistry;
  private readonly handlers = new Map<string, HandlerEntry>();
  private readonly conns = new Set<Connection>();
  private inboundCount = 0;
  private listener: Listener | null = null;
  private readonly openListeners = new Set<(conn: Connection) => void>();
  private readonly transport: Transport;
  private readonly host: ConnectionHost;

  constructor(init: MessengerInit, private readonly components: MessengerComponents) {
    const parsed = parseEntityName(init.entity);
    this.entity = parsed.name;
    this.entityKind = parsed.kind;
    this.limits = resolveLimits(init.limits);
    this.retry = resolveRetryPolicy(init.retry);
    this.keys = init.keyring ?? null;
    this.key = init.key ?? init.keyring?.keyOf(this.entity) ?? null;
    this.listenAddress = init.listen === undefined ? null : toAddress(init.listen);
    if (this.listenAddress !== null && this.keys === null) {
      throw new NacreError(`${this.entity}: a keyring is needed to accept connections`, { code: 'EINVAL' });
    }
    this.registry = new MessageRegistry();
    for (const def of init.vocabulary ?? []) this.addDef(def);
    this.transport = components.transport ?? new WsTransport();
    this.host = this.makeHost();
  }

  get status(): MessengerStatus {
    return this.statusValue;
  }

  /** The listening address once started (with the real port), else null. */
  get address(): Address | null {
    return this.listener?.address ?? null;
  }

  /**
   * Register the handler of a request (it returns the reply, or throws a NacreError that becomes
   * the error reply) or of a one-way message. One handler per type; the type joins the vocabulary.
   */
  handle<Req, Rep>(def: RequestDef<Req, Rep>, handler: RequestHandler<Req, Rep>): void;
  handle<P>(def: OnewayDef<P>, handler: OnewayHandler<P>): void;
  handle(def: MessageDef, handler: (payload: never, ctx: MessageContext) => unknown): void {
    if (this.handlers.has(def.type)) throw new NacreError(`a handler for ${def.type} is already registered`, { code: 'EEXIST' });
    this.addDef(def);
    this.handlers.set(def.type, { def, handler: handler as (payload: unknown, ctx: MessageContext) => unknown });
  }

  /** Remove a handler (the type stays known: peers sending it get ENOTSUP). */
  unhandle(def: MessageDef): void {
    this.handlers.delete(def.type);
  }

  private addDef(def: MessageDef): void {
    if (def.type.startsWith(msgrTypePrefix)) throw new NacreError(`${def.type}: the msgr. prefix is reserved for the messenger`, { code: 'EINVAL' });
    this.registry.add(def);
  }

  async start(): Promise<void> {
    if (this.statusValue !== 'idle') throw new NacreError(`${this.entity}: messenger cannot start while ${this.statusValue}`, { code: 'EINVAL' });
    this.statusValue = 'starting';
    try {
      if (this.listenAddress !== null) {
        this.listener = await this.transport.listen(this.listenAddress, {
          frameBytesMax: this.limits.frameBytesMax,
          closeGraceMs: this.limits.closeGraceMs,
          connectionsMax: this.limits.connectionsMax,
          admit: () => this.statusValue === 'running' && this.inboundCount < this.limits.connectionsMax,
          onLink: (link) => this.accept(link),
          onError: (err) => this.components.env.logger.error({ err }, 'listener error'),
        });
        this.components.env.logger.info({ entity: this.entity, addr: formatAddress(this.listener.address) }, 'messenger listening');
      }
    } catch (err) {
      this.statusValue = 'stopped';
      throw err;
    }
    this.statusValue = 'running';
  }

  /** Close the listener and every connection (pending requests fail with ESHUTDOWN); resolves when all sockets are gone. */
  async stop(): Promise<void> {
    if (this.statusValue === 'stopped' || this.statusValue === 'stopping') return;
    this.statusValue = 'stopping';
    const listenerClosed = this.listener?.close() ?? Promise.resolve();
    const conns = [...this.conns];
    for (const conn of conns) conn.close('messenger stopping');
    await Promise.all(conns.map((conn) => conn.linkGone()));
    await listenerClosed;
    this.listener = null;
    this.statusValue = 'stopped';
  }

  /**
   * Open an outbound connection (authenticating as this messenger's entity). It connects in the
   * background and reconnects after failures per the retry policy; requests made meanwhile wait in
   * its queue. `await conn.ready()` to wait for authentication.
   */
  connect(address: string | Address, opts: ConnectOptions = {}): Connection {
    if (this.statusValue !== 'running') throw new NacreError(`${this.entity}: messenger is ${this.statusValue}, not running`, { code: 'ESHUTDOWN' });
    if (this.key === null) throw new NacreError(`${this.entity}: no key for ${this.entity}, cannot connect out`, { code: 'EINVAL' });
    const to = toAddress(address);
    const expectPeer = opts.expectPeer === undefined ? null : parseEntityName(opts.expectPeer).name;
    const retry = opts.retry === undefined ? this.retry : resolveRetryPolicy({ ...this.retry, ...opts.retry });
    const conn = new Connection(this.host, 'outbound', formatAddress(to), { address: to, retry, expectPeer });
    this.conns.add(conn);
    conn.startDialing();
    return conn;
  }

  /** Called whenever a connection (inbound or outbound) becomes authenticated. Returns an unsubscribe. */
  onConnection(listener: (conn: Connection) => void): () => void {
    assert(this.openListeners.size < 64, 'onConnection listeners are few (one per subsystem)');
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  /** Live connections (not closed or failed). */
  connections(): Connection[] {
    return [...this.conns];
  }

  stats(): MessengerStats {
    const s: MessengerStats = {
      status: this.statusValue,
      connections: this.conns.size,
      inboundConnections: this.inboundCount,
      outboundConnections: this.conns.size - this.inboundCount,
      pendingRequests: 0,
      queuedFrames: 0,
      queuedBytes: 0,
      inboundInFlight: 0,
      timers: 0,
      handlers: this.handlers.size,
    };
    for (const conn of this.conns) {
      const c = conn.stats();
      s.pendingRequests += c.pendingRequests;
      s.queuedFrames += c.queuedFrames;
      s.queuedBytes += c.queuedBytes;
      s.inboundInFlight += c.inboundInFlight;
      s.timers += c.timers;
    }
    return s;
  }

  private accept(link: Link): void {
    if (this.statusValue !== 'running' || this.inboundCount >= this.limits.connectionsMax) {
      this.components.env.logger.warn({ from: link.remoteAddress, connectionsMax: this.limits.connectionsMax }, 'refusing connection');
      link.setHandlers({ onFrame: () => {}, onError: () => {}, onClose: () => {} });
      link.close(1013, 'try again later');
      return;
    }
    const conn = new Connection(this.host, 'inbound', link.remoteAddress, null);
    this.conns.add(conn);
    this.inboundCount++;
    conn.accept(link);
  }

  private makeHost(): ConnectionHost {
    const registry = this.registry;
    const handlers = this.handlers;
    return {
      entity: this.entity,
      entityKind: entityKindOf(this.entity),
      key: this.key,
      keys: this.keys,
      limits: this.limits,
      env: this.components.env,
      transport: this.transport,
      secureRandom: this.components.secureRandom ?? ((buf: Buffer) => void randomFillSync(buf)),
      lookup(type: string): DispatchEntry | undefined {
        const entry = handlers.get(type);
        if (entry !== undefined) return entry;
        const def = registry.get(type);
        return def === undefined ? undefined : { def, handler: null };
      },
      connectionOpened: (conn) => {
        for (const listener of [...this.openListeners]) listener(conn);
      },
      connectionClosed: (conn) => {
        if (this.conns.delete(conn) && conn.direction === 'inbound') this.inboundCount--;
      },
    };
  }
}

/** Build a messenger (configuration apart from injected components, as everywhere in Nacre). */
export function createMessenger(init: MessengerInit, components: MessengerComponents): Messenger {
  return new Messenger(init, components);
}
