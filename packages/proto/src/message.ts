/**
 * Message definitions: the vocabulary of the cluster. Each message type is a string tag
 * `<area>.<name>` (`msgr.hello`, `mon.paxos_begin`, `osd.op`) — string tags rather than numeric
 * ids because they need no central number allocation between packages, read well in logs and
 * packet dumps, and cost a few bytes a frame (msgpack fixstr) next to payloads of kilobytes.
 *
 * A definition says whether the message is a request (the receiver answers with a reply or an
 * error reply) or one-way, which entity kinds may send it (the receiver enforces this:
 * capabilities), and optionally how to check the payload and the reply (`decode`, `decodeReply`,
 * built from the helpers in codec.ts). Later packages extend the vocabulary like this:
 *
 * ```ts
 * export interface PoolCreate { name: string; size: number }
 * export const MonPoolCreate = defineRequest<PoolCreate, { poolId: number }>({
 *   type: 'mon.pool_create',
 *   senders: ['client', 'mon'],           // an OSD may not create pools
 *   decode: (raw) => { const o = expectRecord(raw, 'payload'); return { ... }; },
 * });
 * export const monMessages = [MonPoolCreate, ...] as const;   // handed to the messenger
 * ```
 *
 * The prefix `msgr.` is reserved for the messenger itself (handshake, keepalive).
 */
import { NacreError, assert } from '@nacre/util';
import { ENTITY_KINDS, type EntityKind } from './entity.js';

/** Longest message type tag; checked on every frame. */
export const messageTypeBytesMax = 64;
const messageTypeRe = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;

export type MessageKind = 'request' | 'oneway';

interface MessageDefBase {
  /** The wire tag, `<area>.<name>`. */
  readonly type: string;
  /** Entity kinds allowed to send this message; anyone else gets EPERM (and is logged). */
  readonly senders: readonly EntityKind[];
}

export interface RequestDef<Req, Rep> extends MessageDefBase {
  readonly kind: 'request';
  /** Check and type a received request payload; throw NacreError EINVAL if it is wrong. */
  readonly decode?: (raw: unknown) => Req;
  /** Check and type a received reply payload (a bad reply fails the request with EPROTO). */
  readonly decodeReply?: (raw: unknown) => Rep;
  /** Phantom field carrying the types; never present at run time. */
  readonly __types?: { req: Req; rep: Rep };
}

export interface OnewayDef<P> extends MessageDefBase {
  readonly kind: 'oneway';
  readonly decode?: (raw: unknown) => P;
  readonly __types?: { payload: P };
}

/**
 * Any definition. Every field of a definition is covariant in its payload types (they only appear
 * as return types), so `RequestDef<unknown, unknown>` is a supertype of every request definition.
 */
export type MessageDef = RequestDef<unknown, unknown> | OnewayDef<unknown>;

export type RequestPayload<D> = D extends RequestDef<infer Req, unknown> ? Req : never;
export type ReplyPayload<D> = D extends RequestDef<unknown, infer Rep> ? Rep : never;

export interface MessageSpec<T> {
  type: string;
  senders: readonly EntityKind[];
  decode?: (raw: unknown) => T;
}

/** Why `type` is not a valid message type tag, or null. */
export function messageTypeProblem(type: string): string | null {
  if (type.length === 0 || type.length > messageTypeBytesMax) return `must be 1..${messageTypeBytesMax} characters`;
  if (!messageTypeRe.test(type)) return 'must look like <area>.<name> in lower case ([a-z0-9_])';
  return null;
}

function checkSpec(spec: { type: string; senders: readonly EntityKind[] }): void {
  const problem = messageTypeProblem(spec.type);
  if (problem !== null) throw new NacreError(`bad message type ${JSON.stringify(spec.type)}: ${problem}`, { code: 'EINVAL' });
  if (spec.senders.length === 0) throw new NacreError(`message ${spec.type}: senders must not be empty`, { code: 'EINVAL' });
  for (const kind of spec.senders) {
    if (!ENTITY_KINDS.includes(kind)) throw new NacreError(`message ${spec.type}: unknown sender kind ${String(kind)}`, { code: 'EINVAL' });
  }
}

/** Define a request/reply message. */
export function defineRequest<Req, Rep>(spec: MessageSpec<Req> & { decodeReply?: (raw: unknown) => Rep }): RequestDef<Req, Rep> {
  checkSpec(spec);
  return Object.freeze({ kind: 'request' as const, ...spec, senders: Object.freeze([...spec.senders]) });
}

/** Define a one-way message (no reply; a refused one is answered with an error frame, tid 0). */
export function defineOneway<P>(spec: MessageSpec<P>): OnewayDef<P> {
  checkSpec(spec);
  return Object.freeze({ kind: 'oneway' as const, ...spec, senders: Object.freeze([...spec.senders]) });
}

/** The general form: `defineMessage({ kind: 'request' | 'oneway', ... })`. */
export function defineMessage<Req, Rep>(spec: MessageSpec<Req> & { kind: 'request'; decodeReply?: (raw: unknown) => Rep }): RequestDef<Req, Rep>;
export function defineMessage<P>(spec: MessageSpec<P> & { kind: 'oneway' }): OnewayDef<P>;
export function defineMessage(spec: MessageSpec<unknown> & { kind: MessageKind; decodeReply?: (raw: unknown) => unknown }): MessageDef {
  const { kind, ...rest } = spec;
  return kind === 'request' ? defineRequest(rest) : defineOneway(rest);
}

/** May an entity of `kind` send `def`? */
export function maySend(def: MessageDef, kind: EntityKind): boolean {
  return def.senders.includes(kind);
}

/**
 * A set of message definitions keyed by type tag. The messenger looks up every received type here:
 * a type it does not know closes the connection (a peer speaking another vocabulary is a bug or an
 * attack, not something to guess about).
 */
export class MessageRegistry {
  /** Keeps a registry (and the per-frame lookup) bounded. */
  static readonly typesMax = 4096;
  private readonly byType = new Map<string, MessageDef>();

  constructor(defs: Iterable<MessageDef> = []) {
    for (const def of defs) this.add(def);
  }

  /** Add a definition; the same object twice is fine, a different one under the same tag is EEXIST. */
  add(def: MessageDef): void {
    const existing = this.byType.get(def.type);
    if (existing === def) return;
    if (existing !== undefined) {
      throw new NacreError(`message type ${def.type} is already defined by another definition`, { code: 'EEXIST' });
    }
    assert(this.byType.size < MessageRegistry.typesMax, `message registry is full (typesMax=${MessageRegistry.typesMax})`);
    this.byType.set(def.type, def);
  }

  get(type: string): MessageDef | undefined {
    return this.byType.get(type);
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  get size(): number {
    return this.byType.size;
  }

  types(): string[] {
    return [...this.byType.keys()];
  }
}
