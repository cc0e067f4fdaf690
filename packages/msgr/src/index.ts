/**
 * @nacre/msgr — the messenger every daemon and the client use: WebSocket or TCP transport, msgpack frames,
 * mutual HMAC-SHA256 authentication, capabilities by entity kind, request/reply with timeouts,
 * one-way messages, ordered delivery, reconnect with backoff and bounded queues (backpressure).
 * Wire format: docs/wire.md. Error codes: packages/msgr/README.md.
 *
 * ```ts
 * import { createMessenger, Keyring } from '@nacre/msgr';
 * import { defineRequest } from '@nacre/proto';
 * import { realEnv, createLogger } from '@nacre/util';
 *
 * const Echo = defineRequest<{ text: string }, { text: string }>({ type: 'demo.echo', senders: ['client', 'mon', 'osd'] });
 * const keyring = new Keyring();
 * keyring.add('mon.a');
 * const adminKey = keyring.add('client.admin');
 *
 * const server = createMessenger({ entity: 'mon.a', keyring, listen: '127.0.0.1:0' }, { env: realEnv(createLogger('mon.a')) });
 * server.handle(Echo, (req, ctx) => ({ text: `${ctx.peer} said ${req.text}` }));
 * await server.start();
 *
 * const client = createMessenger({ entity: 'client.admin', key: adminKey }, { env: realEnv(createLogger('client')) });
 * await client.start();
 * const conn = client.connect(server.address!);
 * console.log(await conn.request(Echo, { text: 'hi' }));   // { text: 'client.admin said hi' }
 * await client.stop();
 * await server.stop();
 * ```
 */
export * from './messenger.js';
export {
  Connection,
  type ConnectionDirection,
  type ConnectionState,
  type ConnectionStats,
  type MessageContext,
  type OnewayHandler,
  type RequestHandler,
  type RequestOptions,
} from './connection.js';
export * from './keyring.js';
export * from './limits.js';
export * from './transport.js';
export { WsTransport, wirePath, type WsTransportOptions } from './ws-transport.js';
export { TcpTransport, bannerTimeoutMsDefault, unlinkedSocketsMax, type TcpTransportOptions, type TcpTransportStats } from './tcp-transport.js';
export type { ReceiveStats } from './receive-memory.js';
export * from './transport-select.js';
export { MemoryNetwork } from './memory-transport.js';
export { computeProof, verifyProof, type Transcript, type ProofRole } from './auth.js';
export { ClientHandshake, ServerHandshake, type HandshakeStep } from './handshake.js';
export * from './mon-client.js';
export * from './conf.js';
export { ListenerSet } from './listener-set.js';
