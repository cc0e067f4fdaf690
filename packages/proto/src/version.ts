/**
 * Version of the messenger wire format described in docs/wire.md (frame layout, handshake, auth
 * proofs, error replies). Both ends send it in the handshake and refuse a different one with
 * EPROTO, so an incompatible change must bump it; adding a new message type does not (an unknown
 * type is already handled: the receiver closes the connection with a logged reason).
 */
export const WIRE_VERSION = 1;
