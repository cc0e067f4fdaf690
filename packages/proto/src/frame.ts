/**
 * Messenger frames, wire format version 1 (WIRE_VERSION; full description in docs/wire.md).
 *
 * A frame is one WebSocket binary message whose bytes are exactly one msgpack value, a 4-array:
 *
 *   [kind, tid, type, payload]
 *
 *   kind     uint   0 one-way · 1 request · 2 reply · 3 error reply
 *   tid      uint   request id chosen by the requester, 1 … 2^53-1, unique per connection;
 *                   0 for a one-way message and for an error answering a one-way message
 *   type     str    message type tag `<area>.<name>`, 1..64 chars; replies repeat the request's tag
 *   payload  any    the message body. Buffers travel as msgpack bin and decode as Buffer views into
 *                   the received frame (no copy). Error replies carry { code: 'EPERM', message }.
 *
 * Encoding: msgpackr with records, structured clones and bundled strings off, so every frame is
 * self-contained plain msgpack (no state carried between frames, readable by any msgpack library).
 * Integers beyond 2^53 decode as bigint and are refused where an integer is expected.
 *
 * decodeFrame() never throws anything but a NacreError with code EPROTO: the messenger closes the
 * connection on it and logs the reason; the daemon keeps serving everyone else.
 */
import { Packr, Unpackr, type Options as MsgpackrOptions } from 'msgpackr';
import { NacreError, type ErrorCode } from '@nacre/util';
import { messageTypeProblem } from './message.js';
import { isErrorCode } from './codec.js';

export type FrameKind = 'oneway' | 'request' | 'reply' | 'error';
/** Wire numbers of the frame kinds (index = number). */
export const FRAME_KINDS: readonly FrameKind[] = ['oneway', 'request', 'reply', 'error'];
const kindNumber: Record<FrameKind, number> = { oneway: 0, request: 1, reply: 2, error: 3 };

/** Largest tid: ids stay exact doubles, and msgpack encodes them as plain uints. */
export const tidMax = Number.MAX_SAFE_INTEGER;
/** Error messages are cut to this length on the wire (one clear line, not a dump). */
export const errorMessageBytesMax = 4096;
/** Longest error code string accepted on receipt. */
const errorCodeBytesMax = 32;

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
}

export type Frame =
  | { kind: 'oneway'; tid: 0; type: string; payload: unknown }
  | { kind: 'request'; tid: number; type: string; payload: unknown }
  | { kind: 'reply'; tid: number; type: string; payload: unknown }
  | { kind: 'error'; tid: number; type: string; payload: ErrorPayload };

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false });
// int64AsType 'auto' (integers within 2^53 as numbers, beyond as bigint) exists at run time in
// msgpackr 2.x but is missing from its type declarations, hence the cast.
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  bundleStrings: false,
  mapsAsObjects: true,
  int64AsType: 'auto',
} as unknown as MsgpackrOptions);

/**
 * Encode a frame. Throws NacreError EINVAL if the payload cannot be encoded (e.g. a bigint beyond
 * 64 bits); `undefined` payloads travel as nil.
 */
export function encodeFrame(kind: FrameKind, tid: number, type: string, payload: unknown): Buffer {
  try {
    return packr.pack([kindNumber[kind], tid, type, payload === undefined ? null : payload]);
  } catch (cause) {
    throw new NacreError(`cannot encode ${type} payload: ${(cause as Error).message}`, { code: 'EINVAL', cause });
  }
}

/** Encode an error reply (message cut to errorMessageBytesMax). */
export function encodeErrorFrame(tid: number, type: string, code: ErrorCode, message: string): Buffer {
  return encodeFrame('error', tid, type, { code, message: truncateUtf8(message, errorMessageBytesMax) });
}

function malformed(reason: string, cause?: unknown): never {
  throw new NacreError(`malformed frame: ${reason}`, { code: 'EPROTO', cause });
}

/** Decode and structurally check one frame; throws NacreError EPROTO with the reason. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length === 0) malformed('empty');
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (cause) {
    // msgpackr throws Error/RangeError (including stack overflow on absurd nesting): all are the
    // peer's fault, none may escape as anything but EPROTO.
    malformed(`not msgpack (${cause instanceof Error ? cause.message.slice(0, 120) : 'decode error'})`, cause);
  }
  if (!Array.isArray(value) || value.length !== 4) malformed('expected [kind, tid, type, payload]');
  const [kindNo, tid, type, payload] = value as [unknown, unknown, unknown, unknown];
  if (typeof kindNo !== 'number' || !Number.isInteger(kindNo) || kindNo < 0 || kindNo >= FRAME_KINDS.length) {
    malformed('bad kind');
  }
  const kind = FRAME_KINDS[kindNo]!;
  if (typeof tid !== 'number' || !Number.isSafeInteger(tid) || tid < 0) malformed('bad tid');
  if (kind === 'oneway' ? tid !== 0 : kind !== 'error' && tid === 0) malformed(`bad tid ${tid} for a ${kind} frame`);
  if (typeof type !== 'string') malformed('type is not a string');
  const problem = messageTypeProblem(type);
  if (problem !== null) malformed(`bad type ${JSON.stringify(type.slice(0, 80))}: ${problem}`);
  if (kind === 'error') return { kind, tid, type, payload: checkErrorPayload(payload) };
  return { kind, tid, type, payload } as Frame;
}

function checkErrorPayload(payload: unknown): ErrorPayload {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) malformed('error payload is not a map');
  const { code, message } = payload as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || code.length > errorCodeBytesMax) malformed('error code is not a short string');
  if (typeof message !== 'string' || message.length > errorMessageBytesMax * 4) malformed('error message is not a string');
  // An unknown code from a newer peer still reads as an error, just not a specific one.
  return { code: isErrorCode(code) ? code : 'EIO', message };
}

/** Cut a string to at most `bytesMax` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, bytesMax: number): string {
  if (Buffer.byteLength(text, 'utf8') <= bytesMax) return text;
  const cut = Buffer.from(text, 'utf8').subarray(0, bytesMax).toString('utf8');
  // A split multi-byte character decodes as U+FFFD at the end; drop it.
  return cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
}
