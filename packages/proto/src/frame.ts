/**
 * Messenger frames, wire format version 1 (WIRE_VERSION; full description in docs/wire.md).
 *
 * A frame is one WebSocket binary message whose bytes are exactly one msgpack value, a 4-array,
 * or a 5-array when large binary fields travel as attachments:
 *
 *   [kind, tid, type, payload]
 *   [kind, tid, type, payload, attachments]
 *
 *   kind     uint   0 one-way · 1 request · 2 reply · 3 error reply
 *   tid      uint   request id chosen by the requester, 1 … 2^53-1, unique per connection;
 *                   0 for a one-way message and for an error answering a one-way message
 *   type     str    message type tag `<area>.<name>`, 1..64 chars; replies repeat the request's tag
 *   payload  any    the message body. Buffers travel as msgpack bin and decode as Buffer views into
 *                   the received frame (no copy). Error replies carry { code: 'EPERM', message }.
 *   attachments [str] 1..8 keys of top-level payload fields whose bytes follow the frame as that many
 *                   further WebSocket binary messages, raw (not msgpack), in this order; in the
 *                   payload each such field holds its byte length. Senders use this for big binary
 *                   fields (above `inlineBytesMax`) so a 4 MiB object body is never copied into the
 *                   msgpack buffer; receivers put the attachment Buffers back into the payload.
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

/** Most attachments one frame may announce. */
export const attachmentsMax = 8;

/** An announced attachment: which payload field it fills and how many bytes it has. */
export interface Attachment {
  key: string;
  bytes: number;
}

/** Only message frames (not errors) may carry attachments. */
export type Frame =
  | { kind: 'oneway'; tid: 0; type: string; payload: unknown; attachments?: readonly Attachment[] }
  | { kind: 'request'; tid: number; type: string; payload: unknown; attachments?: readonly Attachment[] }
  | { kind: 'reply'; tid: number; type: string; payload: unknown; attachments?: readonly Attachment[] }
  | { kind: 'error'; tid: number; type: string; payload: ErrorPayload; attachments?: undefined };

/** A frame ready to send: the msgpack head, then the raw attachments (sent as separate messages). */
export interface EncodedFrame {
  head: Buffer;
  attachments: Buffer[] | null;
  /** head + attachments, for limits and queue accounting. */
  totalBytes: number;
}

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false });
/**
 * msgpackr packs into a shared slab and hands out slices of it, starting a fresh slab of the same
 * size when one is used up. Its default slabs are 8–16 KiB, i.e. a new unpooled ArrayBuffer every
 * few 4 KiB frames, which shows up as GC time on the request path; 1 MiB slabs make that ~250×
 * rarer. Slices are never overwritten, so frames stay valid; a slab is freed once no frame in it is
 * referenced (frames live until written to the socket).
 */
const packSlabBytes = 1024 * 1024;
packr.useBuffer(Buffer.allocUnsafeSlow(packSlabBytes));
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

/**
 * Encode a frame, moving top-level binary fields longer than `inlineBytesMax` into attachments
 * (no copy of their bytes: the caller must not modify those Buffers after sending). Payloads that
 * are not plain objects, and binary deeper in the payload, are always encoded inline.
 */
export function encodeFrameParts(kind: Exclude<FrameKind, 'error'>, tid: number, type: string, payload: unknown, inlineBytesMax: number): EncodedFrame {
  let keys: string[] | null = null;
  let body = payload;
  let attachments: Buffer[] | null = null;
  let totalBytes = 0;
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload) && !(payload instanceof Uint8Array) && isPlainObject(payload)) {
    for (const key of Object.keys(payload)) {
      const value = (payload as Record<string, unknown>)[key];
      if (!(value instanceof Uint8Array) || value.length <= inlineBytesMax) continue;
      if (keys === null) {
        keys = [];
        attachments = [];
        body = { ...(payload as Record<string, unknown>) };
      }
      if (keys.length === attachmentsMax) break;
      keys.push(key);
      const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
      attachments!.push(buf);
      (body as Record<string, unknown>)[key] = buf.length;
      totalBytes += buf.length;
    }
  }
  let head: Buffer;
  try {
    head = packr.pack(keys === null ? [kindNumber[kind], tid, type, body === undefined ? null : body] : [kindNumber[kind], tid, type, body, keys]);
  } catch (cause) {
    throw new NacreError(`cannot encode ${type} payload: ${(cause as Error).message}`, { code: 'EINVAL', cause });
  }
  return { head, attachments, totalBytes: totalBytes + head.length };
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Put received attachment Buffers (in announced order) back into the frame's payload. */
export function attachToPayload(frame: Frame, buffers: readonly Buffer[]): void {
  const list = frame.attachments ?? [];
  if (buffers.length !== list.length) throw new NacreError('attachment count mismatch', { code: 'EPROTO' });
  const payload = frame.payload as Record<string, unknown>;
  list.forEach((a, i) => {
    payload[a.key] = buffers[i];
  });
}

/** Encode an error reply (message cut to errorMessageBytesMax). */
export function encodeErrorFrame(tid: number, type: string, code: ErrorCode, message: string): Buffer {
  return encodeFrame('error', tid, type, { code, message: truncateUtf8(message, errorMessageBytesMax) });
}

/** Type tags already found well-formed (skips the regex on the hot path); bounded. */
const checkedTypes = new Set<string>();
const checkedTypesMax = 4096;

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
  if (!Array.isArray(value) || (value.length !== 4 && value.length !== 5)) malformed('expected [kind, tid, type, payload]');
  const [kindNo, tid, type, payload, keys] = value as [unknown, unknown, unknown, unknown, unknown];
  if (typeof kindNo !== 'number' || !Number.isInteger(kindNo) || kindNo < 0 || kindNo >= FRAME_KINDS.length) {
    malformed('bad kind');
  }
  const kind = FRAME_KINDS[kindNo]!;
  if (typeof tid !== 'number' || !Number.isSafeInteger(tid) || tid < 0) malformed('bad tid');
  if (kind === 'oneway' ? tid !== 0 : kind !== 'error' && tid === 0) malformed(`bad tid ${tid} for a ${kind} frame`);
  if (typeof type !== 'string') malformed('type is not a string');
  if (!checkedTypes.has(type)) {
    const problem = messageTypeProblem(type);
    if (problem !== null) malformed(`bad type ${JSON.stringify(type.slice(0, 80))}: ${problem}`);
    if (checkedTypes.size < checkedTypesMax) checkedTypes.add(type);
  }
  if (kind === 'error') {
    if (value.length === 5) malformed('an error frame cannot carry attachments');
    return { kind, tid, type, payload: checkErrorPayload(payload) };
  }
  if (value.length === 4) return { kind, tid, type, payload } as Frame;
  return { kind, tid, type, payload, attachments: checkAttachments(payload, keys) } as Frame;
}

/**
 * Attachment keys must name distinct own fields of a map payload that hold byte counts. (Own
 * fields only: msgpackr already renames a `__proto__` key, so no key can reach a prototype.)
 */
function checkAttachments(payload: unknown, keys: unknown): Attachment[] {
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > attachmentsMax) malformed(`attachments must list 1..${attachmentsMax} keys`);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || payload instanceof Uint8Array) {
    malformed('attachments need a map payload');
  }
  const out: Attachment[] = [];
  for (const key of keys) {
    if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(payload, key)) malformed('attachment key is not a payload field');
    if (out.some((a) => a.key === key)) malformed('duplicate attachment key');
    const bytes = (payload as Record<string, unknown>)[key];
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0 || bytes > 0xffff_ffff) malformed('attachment size is not a byte count');
    out.push({ key, bytes });
  }
  return out;
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
