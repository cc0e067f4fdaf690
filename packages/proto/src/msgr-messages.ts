/**
 * The messenger's own messages: the authentication handshake and the keepalive. They are ordinary
 * one-way frames (docs/wire.md §Handshake) so there is one frame format for everything; the
 * messenger handles them itself and never passes them to application handlers.
 *
 *   client → server  msgr.hello      { v, entity, nonce }      v = WIRE_VERSION, nonce = 32 fresh bytes
 *   server → client  msgr.challenge  { v, entity, nonce }      the server's name and its own fresh nonce
 *   client → server  msgr.auth       { proof }                 HMAC-SHA256(key, client transcript)
 *   server → client  msgr.auth_ok    { proof }                 HMAC-SHA256(key, server transcript)
 *   server → client  msgr.auth_fail  { code, reason }          then the server closes the connection
 *   either way       msgr.keepalive  null                      only after authentication
 *
 * `key` is the connecting entity's secret from the keyring; both proofs cover both nonces, so a
 * recorded proof is useless on any other connection (see packages/msgr/src/auth.ts).
 */
import type { ErrorCode } from '@nacre/util';
import { ENTITY_KINDS, type EntityName } from './entity.js';
import { defineOneway } from './message.js';
import { expectBytes, expectEntityName, expectInt, expectRecord, expectString, isErrorCode } from './codec.js';

/** Size of handshake nonces and HMAC-SHA256 proofs. */
export const nonceBytes = 32;
export const proofBytes = 32;
/** Longest reason text in msgr.auth_fail. */
export const authFailReasonBytesMax = 256;

export interface HelloPayload {
  /** Wire format version the client speaks. */
  v: number;
  /** Who the client claims to be; the server looks its key up in the keyring. */
  entity: EntityName;
  nonce: Buffer;
}

export interface ChallengePayload {
  v: number;
  /** The server's own name (peers connecting to a monitor learn which one answered). */
  entity: EntityName;
  nonce: Buffer;
}

export interface AuthPayload {
  proof: Buffer;
}

export interface AuthOkPayload {
  proof: Buffer;
}

export interface AuthFailPayload {
  /** EPERM (unknown entity, bad key) or EPROTO (version mismatch, handshake out of order). */
  code: ErrorCode;
  /** Short reason shown at the client: `bad key`, `unknown entity`, ... */
  reason: string;
}

const everyone = ENTITY_KINDS;

function decodeHelloLike(raw: unknown): HelloPayload {
  const o = expectRecord(raw, 'payload');
  return {
    v: expectInt(o['v'], 'v', { min: 0, max: 0xffff }),
    entity: expectEntityName(o['entity'], 'entity'),
    nonce: expectBytes(o['nonce'], 'nonce', { bytesMin: nonceBytes, bytesMax: nonceBytes }),
  };
}

function decodeProof(raw: unknown): AuthPayload {
  const o = expectRecord(raw, 'payload');
  return { proof: expectBytes(o['proof'], 'proof', { bytesMin: proofBytes, bytesMax: proofBytes }) };
}

export const MsgrHello = defineOneway<HelloPayload>({ type: 'msgr.hello', senders: everyone, decode: decodeHelloLike });
export const MsgrChallenge = defineOneway<ChallengePayload>({ type: 'msgr.challenge', senders: everyone, decode: decodeHelloLike });
export const MsgrAuth = defineOneway<AuthPayload>({ type: 'msgr.auth', senders: everyone, decode: decodeProof });
export const MsgrAuthOk = defineOneway<AuthOkPayload>({ type: 'msgr.auth_ok', senders: everyone, decode: decodeProof });
export const MsgrAuthFail = defineOneway<AuthFailPayload>({
  type: 'msgr.auth_fail',
  senders: everyone,
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const code = o['code'];
    return {
      code: isErrorCode(code) ? code : 'EPERM',
      reason: expectString(o['reason'], 'reason', { bytesMax: authFailReasonBytesMax }),
    };
  },
});
export const MsgrKeepalive = defineOneway<null>({ type: 'msgr.keepalive', senders: everyone, decode: () => null });

/** Every `msgr.*` message; application vocabularies must not reuse the prefix. */
export const msgrMessages = [MsgrHello, MsgrChallenge, MsgrAuth, MsgrAuthOk, MsgrAuthFail, MsgrKeepalive] as const;

/** Tag prefix reserved for the messenger. */
export const msgrTypePrefix = 'msgr.';
