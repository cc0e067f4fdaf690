/**
 * The byte layout of the TCP transport (tcp-transport.ts; docs/wire.md §1): how whole messenger
 * frames are delimited on a plain TCP stream. Pure functions and constants, no sockets.
 *
 *   banner   (first 8 bytes each way)   4e 41 43 52 54 43 50 VV      "NACRTCP" + transport version
 *   record   (then, any number)         KK 00 00 00 LL LL LL LL  <LL bytes of body>
 *
 *   KK 0x01 message: the body is one messenger frame or attachment (what Link.send was given)
 *   KK 0x02 close:   the body is u16be close code + UTF-8 reason (≤ 123 bytes), as a WebSocket
 *                    close frame; the last record a conforming peer sends
 *   LL      body length, u32 big-endian; a message above the receiver's frame limit is refused
 *           from the header alone, before anything is allocated
 *
 * The banner's first byte (0x4e) differs from every record kind, so a listener that refuses a
 * connection (connectionsMax) can answer with a close record instead of its banner and the dialler
 * tells the two apart. Bytes 1–3 of a header are zero: a non-zero value is a malformed stream
 * (they are where a later transport version would put flags, together with a new banner version).
 */

/** The transport version in the banner. Bump it for any incompatible change to this layout. */
export const tcpTransportVersion = 1;
export const bannerBytes = 8;
const bannerMagic = Buffer.from('NACRTCP', 'latin1');
export const recordHeaderBytes = 8;

export const RecordKind = { message: 0x01, close: 0x02 } as const;
export type RecordKindValue = (typeof RecordKind)[keyof typeof RecordKind];

/** WebSocket's limit on close reasons (RFC 6455 §5.5: control frame bodies ≤ 125 bytes); kept for parity with ws. */
export const closeReasonBytesMax = 123;
const closeCodeBytes = 2;
export const closeBodyBytesMax = closeCodeBytes + closeReasonBytesMax;
/** The largest body a u32 length can announce. */
export const recordBodyBytesMax = 0xffff_ffff;

/** Our banner: sent once, first, by both ends. */
export function encodeBanner(): Buffer {
  const b = Buffer.allocUnsafe(bannerBytes);
  bannerMagic.copy(b, 0);
  b[bannerBytes - 1] = tcpTransportVersion;
  return b;
}

export function encodeRecordHeader(kind: RecordKindValue, bodyBytes: number, into: Buffer = Buffer.allocUnsafe(recordHeaderBytes)): Buffer {
  into[0] = kind;
  into[1] = 0;
  into.writeUInt16BE(0, 2);
  into.writeUInt32BE(bodyBytes, 4);
  return into;
}

/** A whole close record (header and body); the reason is cut to closeReasonBytesMax bytes of UTF-8. */
export function encodeCloseRecord(code: number, reason: string): Buffer {
  const text = truncateUtf8(reason, closeReasonBytesMax);
  const body = closeCodeBytes + text.length;
  const out = Buffer.allocUnsafe(recordHeaderBytes + body);
  encodeRecordHeader(RecordKind.close, body, out);
  out.writeUInt16BE(code, recordHeaderBytes);
  text.copy(out, recordHeaderBytes + closeCodeBytes);
  return out;
}

export type BannerCheck =
  | { ok: true }
  | { ok: false; reason: string };

/** Is `head` (bannerBytes long) our banner? Otherwise a one-line reason naming what the peer sent. */
export function checkBanner(head: Buffer): BannerCheck {
  if (head.subarray(0, bannerMagic.length).equals(bannerMagic)) {
    const version = head[bannerBytes - 1]!;
    if (version === tcpTransportVersion) return { ok: true };
    return { ok: false, reason: `peer speaks tcp transport version ${version}, this end speaks ${tcpTransportVersion}` };
  }
  const shown = printable(head);
  const hint = shown.startsWith('HTTP/') || shown.startsWith('GET ') ? ' (an HTTP/WebSocket peer: is it using ms_transport = ws?)' : '';
  return { ok: false, reason: `not a Nacre tcp messenger peer: it sent ${JSON.stringify(shown)}${hint}` };
}

export type HeaderCheck =
  | { ok: true; kind: RecordKindValue; bodyBytes: number }
  | { ok: false; reason: string };

/** Parse a record header (recordHeaderBytes long); the caller checks the length against its limits. */
export function parseRecordHeader(head: Buffer): HeaderCheck {
  const kind = head[0]!;
  if (kind !== RecordKind.message && kind !== RecordKind.close) {
    return { ok: false, reason: `malformed record header: unknown kind 0x${kind.toString(16).padStart(2, '0')}` };
  }
  if (head[1] !== 0 || head[2] !== 0 || head[3] !== 0) return { ok: false, reason: 'malformed record header: reserved bytes are not zero' };
  const bodyBytes = head.readUInt32BE(4);
  if (kind === RecordKind.close && (bodyBytes < closeCodeBytes || bodyBytes > closeBodyBytesMax)) {
    return { ok: false, reason: `malformed close record of ${bodyBytes} bytes (expected ${closeCodeBytes}..${closeBodyBytesMax})` };
  }
  return { ok: true, kind, bodyBytes };
}

export type CloseBody =
  | { ok: true; code: number; reason: string }
  | { ok: false; reason: string };

/** Close codes a peer may send: RFC 6455's registered range and the application range. */
export function parseCloseBody(body: Buffer): CloseBody {
  const code = body.readUInt16BE(0);
  if (code < 1000 || code > 4999) return { ok: false, reason: `malformed close record: code ${code}` };
  return { ok: true, code, reason: body.toString('utf8', closeCodeBytes) };
}

function truncateUtf8(text: string, bytesMax: number): Buffer {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= bytesMax) return bytes;
  // Cut at a character boundary so the peer never sees half a character.
  let end = bytesMax;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  bytes = bytes.subarray(0, end);
  return bytes;
}

/** The peer's first bytes, safe to print in a log line. */
function printable(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}
