/**
 * The mutual challenge–response proofs of the handshake (docs/wire.md §Authentication).
 *
 * Both sides know K, the connecting entity's secret (the client from its own keyring, the server
 * from the cluster keyring). Each side contributes a fresh 32-byte nonce, and each proves
 * knowledge of K with an HMAC-SHA256 over a transcript that binds everything negotiated:
 *
 *   transcript = label ‖ 0x00 ‖ u16 version ‖ u8 len ‖ client entity ‖ u8 len ‖ server entity
 *                ‖ client nonce (32) ‖ server nonce (32)
 *   client proof = HMAC(K, transcript with label "nacre-msgr client proof")
 *   server proof = HMAC(K, transcript with label "nacre-msgr server proof")
 *
 * Why it resists replay: the server's nonce is fresh for every connection, so a client proof
 * recorded on one connection fails on any other; the client's nonce does the same for server
 * proofs. The distinct labels stop a reflection attack (using a server's answer as a client proof).
 * The server only sends its proof after checking the client's, so an unauthenticated peer never
 * obtains a keyed value. What it does not do: encrypt or integrity-protect the frames that follow
 * (like Ceph's cephx without secure mode) — run the cluster network on trusted links.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assert } from '@nacre/util';
import { nonceBytes, proofBytes, type EntityName } from '@nacre/proto';

export interface Transcript {
  version: number;
  client: EntityName;
  server: EntityName;
  clientNonce: Buffer;
  serverNonce: Buffer;
}

export type ProofRole = 'client' | 'server';

function transcriptBytes(role: ProofRole, t: Transcript): Buffer {
  assert(t.clientNonce.length === nonceBytes && t.serverNonce.length === nonceBytes, 'nonce length');
  const label = Buffer.from(`nacre-msgr ${role} proof`, 'ascii');
  const client = Buffer.from(t.client, 'utf8');
  const server = Buffer.from(t.server, 'utf8');
  assert(client.length < 256 && server.length < 256, 'entity names are bounded by the grammar');
  const head = Buffer.alloc(label.length + 1 + 2);
  label.copy(head, 0);
  head.writeUInt16BE(t.version, label.length + 1);
  return Buffer.concat([
    head,
    Buffer.from([client.length]), client,
    Buffer.from([server.length]), server,
    t.clientNonce, t.serverNonce,
  ]);
}

export function computeProof(key: Buffer, role: ProofRole, t: Transcript): Buffer {
  const proof = createHmac('sha256', key).update(transcriptBytes(role, t)).digest();
  assert(proof.length === proofBytes, 'HMAC-SHA256 is 32 bytes');
  return proof;
}

/** Constant-time check of a received proof (no early exit that leaks how many bytes matched). */
export function verifyProof(key: Buffer, role: ProofRole, t: Transcript, received: Buffer): boolean {
  if (received.length !== proofBytes) return false;
  return timingSafeEqual(computeProof(key, role, t), received);
}
