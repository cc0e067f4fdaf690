/**
 * @nacre/proto — the cluster's message vocabulary, shared by client, monitor and OSD: entity names
 * and kinds, message definitions with the entity kinds allowed to send them, the messenger's frame
 * codec and handshake messages, and small payload-checking helpers. Wire format: docs/wire.md,
 * version WIRE_VERSION.
 *
 * ```ts
 * import { defineRequest, expectRecord, expectString } from '@nacre/proto';
 *
 * export const Ping = defineRequest<{ text: string }, { text: string }>({
 *   type: 'test.ping',
 *   senders: ['client', 'mon', 'osd'],
 *   decode: (raw) => ({ text: expectString(expectRecord(raw, 'payload')['text'], 'text', { bytesMax: 1024 }) }),
 * });
 * // server: messenger.handle(Ping, (p) => ({ text: p.text }));  client: await conn.request(Ping, { text: 'hi' })
 * ```
 */
export * from './version.js';
export * from './entity.js';
export * from './message.js';
export * from './codec.js';
export * from './frame.js';
export * from './msgr-messages.js';
export * from './mon-messages.js';
export * from './osd-messages.js';
