/**
 * The handshake as two small state machines, one per side: fed decoded frames, they return what
 * to send and whether the connection is authenticated, refused, or violated the protocol. No
 * sockets or timers here, so every path is unit-testable (test/handshake.test.ts).
 *
 *   client                                 server
 *   hello {v, entity, nonceC}   ───────►   look up key of entity (unknown → auth_fail EPERM)
 *                               ◄───────   challenge {v, entity: server, nonceS}
 *   auth {proofC}               ───────►   check proofC (bad → auth_fail EPERM "bad key")
 *                               ◄───────   auth_ok {proofS}       — server side authenticated
 *   check proofS                           (a bad proofS means the server does not hold our key)
 *   — client side authenticated
 *
 * Any other frame before authentication, a frame of another kind, or a malformed handshake payload
 * is a protocol violation (EPROTO): the connection is closed with a logged reason.
 */
import { NacreError, type ErrorCode } from '@nacre/util';
import {
  MsgrAuth,
  MsgrAuthFail,
  MsgrAuthOk,
  MsgrChallenge,
  MsgrHello,
  WIRE_VERSION,
  encodeFrame,
  entityKindOf,
  type AuthFailPayload,
  type EntityKind,
  type EntityName,
  type Frame,
  type OnewayDef,
} from '@nacre/proto';
import { computeProof, verifyProof, type Transcript } from './auth.js';
import type { KeyLookup } from './keyring.js';

export type HandshakeStep =
  /** Send `bytes` (if any) and keep waiting. */
  | { action: 'continue'; bytes: Buffer }
  /** Authenticated: send `bytes` (if any), then the connection is open. */
  | { action: 'done'; peer: EntityName; peerKind: EntityKind; bytes: Buffer | null }
  /**
   * Refused or violated: send `bytes` (if any: an auth_fail), then close. `violation` tells a
   * protocol error (peer sent garbage) from a refusal (wrong key, unknown entity).
   */
  | { action: 'fail'; error: NacreError; violation: boolean; bytes: Buffer | null };

function oneway<P>(def: OnewayDef<P>, payload: P): Buffer {
  return encodeFrame('oneway', 0, def.type, payload);
}

function violation(reason: string): HandshakeStep {
  return { action: 'fail', error: new NacreError(reason, { code: 'EPROTO' }), violation: true, bytes: null };
}

/** Check that `frame` is the one-way `def` and decode its payload, or explain why not. */
function expectFrame<P>(frame: Frame, def: OnewayDef<P>): { ok: true; payload: P } | { ok: false; reason: string } {
  if (frame.kind !== 'oneway' || frame.type !== def.type) {
    return { ok: false, reason: `expected ${def.type} during the handshake, got ${frame.kind} ${frame.type}` };
  }
  try {
    return { ok: true, payload: def.decode!(frame.payload) };
  } catch (err) {
    return { ok: false, reason: `bad ${def.type}: ${(err as Error).message}` };
  }
}

export class ClientHandshake {
  private state: 'hello_sent' | 'auth_sent' | 'done' = 'hello_sent';
  private transcript: Transcript | null = null;

  constructor(
    private readonly entity: EntityName,
    private readonly key: Buffer,
    private readonly nonce: Buffer,
    /** If set, the server must introduce itself as this entity. */
    private readonly expectPeer: EntityName | null = null,
  ) {}

  /** The first frame, sent as soon as the link is up. */
  hello(): Buffer {
    return oneway(MsgrHello, { v: WIRE_VERSION, entity: this.entity, nonce: this.nonce });
  }

  onFrame(frame: Frame): HandshakeStep {
    if (frame.kind === 'oneway' && frame.type === MsgrAuthFail.type && this.state !== 'done') return this.refused(frame);
    if (this.state === 'hello_sent') return this.onChallenge(frame);
    if (this.state === 'auth_sent') return this.onAuthOk(frame);
    return violation(`unexpected ${frame.type} after the handshake completed`);
  }

  private fail(code: ErrorCode, why: string, isViolation = false): HandshakeStep {
    const error = new NacreError(`authentication failed for ${this.entity}: ${why}`, { code });
    return { action: 'fail', error, violation: isViolation, bytes: null };
  }

  private refused(frame: Frame): HandshakeStep {
    const got = expectFrame(frame, MsgrAuthFail);
    if (!got.ok) return violation(got.reason);
    const p: AuthFailPayload = got.payload;
    return this.fail(p.code, p.reason);
  }

  private onChallenge(frame: Frame): HandshakeStep {
    const got = expectFrame(frame, MsgrChallenge);
    if (!got.ok) return violation(got.reason);
    const c = got.payload;
    if (c.v !== WIRE_VERSION) return this.fail('EPROTO', `server speaks wire version ${c.v}, we speak ${WIRE_VERSION}`);
    if (this.expectPeer !== null && c.entity !== this.expectPeer) {
      return this.fail('EPERM', `expected to reach ${this.expectPeer}, but ${c.entity} answered`);
    }
    this.transcript = { version: WIRE_VERSION, client: this.entity, server: c.entity, clientNonce: this.nonce, serverNonce: c.nonce };
    this.state = 'auth_sent';
    return { action: 'continue', bytes: oneway(MsgrAuth, { proof: computeProof(this.key, 'client', this.transcript) }) };
  }

  private onAuthOk(frame: Frame): HandshakeStep {
    const got = expectFrame(frame, MsgrAuthOk);
    if (!got.ok) return violation(got.reason);
    const t = this.transcript!;
    if (!verifyProof(this.key, 'server', t, got.payload.proof)) {
      return this.fail('EPERM', `${t.server} could not prove it knows our key (wrong cluster?)`);
    }
    this.state = 'done';
    return { action: 'done', peer: t.server, peerKind: entityKindOf(t.server), bytes: null };
  }
}

export class ServerHandshake {
  private state: 'await_hello' | 'await_auth' | 'done' = 'await_hello';
  private transcript: Transcript | null = null;
  private key: Buffer | null = null;

  constructor(
    private readonly entity: EntityName,
    private readonly keys: KeyLookup,
    private readonly nonce: Buffer,
  ) {}

  /** Who the peer claimed to be in its hello (for logs), once known. */
  get claimedPeer(): EntityName | null {
    return this.transcript?.client ?? null;
  }

  onFrame(frame: Frame): HandshakeStep {
    if (this.state === 'await_hello') return this.onHello(frame);
    if (this.state === 'await_auth') return this.onAuth(frame);
    return violation(`unexpected ${frame.type} after the handshake completed`);
  }

  private refuse(code: ErrorCode, client: EntityName, reason: string): HandshakeStep {
    const error = new NacreError(`authentication failed for ${client}: ${reason}`, { code });
    return { action: 'fail', error, violation: false, bytes: oneway(MsgrAuthFail, { code, reason }) };
  }

  private onHello(frame: Frame): HandshakeStep {
    const got = expectFrame(frame, MsgrHello);
    if (!got.ok) return violation(got.reason);
    const h = got.payload;
    if (h.v !== WIRE_VERSION) {
      return this.refuse('EPROTO', h.entity, `wire version ${h.v} not supported (this server speaks ${WIRE_VERSION})`);
    }
    const key = this.keys.keyOf(h.entity);
    if (key === undefined) return this.refuse('EPERM', h.entity, 'unknown entity');
    this.key = key;
    this.transcript = { version: WIRE_VERSION, client: h.entity, server: this.entity, clientNonce: h.nonce, serverNonce: this.nonce };
    this.state = 'await_auth';
    return { action: 'continue', bytes: oneway(MsgrChallenge, { v: WIRE_VERSION, entity: this.entity, nonce: this.nonce }) };
  }

  private onAuth(frame: Frame): HandshakeStep {
    const got = expectFrame(frame, MsgrAuth);
    if (!got.ok) return violation(got.reason);
    const t = this.transcript!;
    if (!verifyProof(this.key!, 'client', t, got.payload.proof)) return this.refuse('EPERM', t.client, 'bad key');
    this.state = 'done';
    const bytes = oneway(MsgrAuthOk, { proof: computeProof(this.key!, 'server', t) });
    return { action: 'done', peer: t.client, peerKind: entityKindOf(t.client), bytes };
  }
}
