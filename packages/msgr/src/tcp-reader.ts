/**
 * The receiving half of the TCP transport: turns socket reads into the peer's banner, whole
 * messages and its close record (layout: tcp-framing.ts). No sockets here — tcp-transport.ts
 * wires `nextReadBuffer`/`onRead` to net's `onread: { buffer, callback }` option, and the tests
 * feed it arbitrary byte splits.
 *
 * Memory (receive-memory.ts): bytes land in the transport's static read buffer and are copied
 * into the frame's own buffer, which is allocated once, at exactly the announced size, when the
 * header arrives — after the size was checked against `frameBytesMax`, so a peer can never make
 * us allocate more than that per connection. While a frame still misses at least
 * `directReadBytesMin` bytes, the next read is aimed straight at the unfilled rest of its buffer
 * (net's `onread.buffer` may be a function returning the buffer for each read): the kernel copies
 * a 4 MiB body into its final place, with no intermediate copy and no per-read allocation. The
 * read is exactly as long as what is missing, so it never runs into the next record.
 *
 * Everything a read brings is parsed before `onRead` returns (the read buffer is shared); records
 * are handed to the sink one at a time, and the sink may `stop()` the reader from inside a
 * callback (link closed): the rest of the read is then dropped.
 */
import { assert } from '@nacre/util';
import {
  RecordKind,
  bannerBytes,
  checkBanner,
  parseCloseBody,
  parseRecordHeader,
  recordHeaderBytes,
  type RecordKindValue,
} from './tcp-framing.js';
import { readBufferBytes, type ReceiveMemory } from './receive-memory.js';

export interface RecordSink {
  /** The peer's banner arrived (the stream's first bytes). */
  onBanner(): void;
  /** One whole message (a messenger frame or attachment). */
  onMessage(data: Buffer): void;
  /** The peer's close record (a refusal when it comes instead of the banner). The reader stops. */
  onCloseRecord(code: number, reason: string): void;
  /** The peer broke the framing; close the link with `closeCode` (1002 malformed, 1009 too big). The reader stops. */
  onViolation(reason: string, closeCode: number): void;
}

/** Reads go straight into a frame's buffer while at least this much of it is missing. */
export const directReadBytesMin = readBufferBytes;
/** WebSocket close codes, kept so both transports report the same causes. */
const closeProtocolError = 1002;
const closeTooBig = 1009;

type Stage = 'banner' | 'header' | 'body' | 'stopped';

export class RecordReader {
  private stage: Stage = 'banner';
  /** The banner or a record header being assembled (they may span reads). */
  private readonly head = Buffer.allocUnsafe(Math.max(bannerBytes, recordHeaderBytes));
  private headFilledBytes = 0;
  private bodyKind: RecordKindValue = RecordKind.message;
  private body: Buffer | null = null;
  private bodyFilledBytes = 0;
  /** The buffer handed out for the next read when it aims into `body` (identity tells the read apart). */
  private directTarget: Buffer | null = null;
  private frameBytesMaxValue: number;

  constructor(
    private readonly memory: ReceiveMemory,
    private readonly sink: RecordSink,
    frameBytesMax: number,
  ) {
    this.frameBytesMaxValue = frameBytesMax;
  }

  get stopped(): boolean {
    return this.stage === 'stopped';
  }

  /** Largest message accepted from now on (headers that arrive later are checked against it). */
  setFrameBytesMax(bytesMax: number): void {
    assert(Number.isSafeInteger(bytesMax) && bytesMax > 0, 'frameBytesMax is a positive integer');
    this.frameBytesMaxValue = bytesMax;
  }

  /** Drop whatever arrives from now on (the link is closing or closed). */
  stop(): void {
    this.stage = 'stopped';
    this.body = null;
    this.directTarget = null;
  }

  /** Where the next socket read should go (net's `onread.buffer`). */
  nextReadBuffer(): Buffer {
    const body = this.body;
    if (this.stage === 'body' && body !== null && body.length - this.bodyFilledBytes >= directReadBytesMin) {
      this.directTarget = body.subarray(this.bodyFilledBytes);
      return this.directTarget;
    }
    this.directTarget = null;
    return this.memory.readBuffer;
  }

  /** `bytes` bytes were read into `buf` (net's `onread.callback`, or a 'data' chunk). */
  onRead(bytes: number, buf: Buffer): void {
    if (this.stage === 'stopped') return;
    const stats = this.memory.stats;
    if (buf === this.directTarget && this.directTarget !== null) {
      this.directTarget = null;
      stats.directReadBytes += bytes;
      this.bodyFilledBytes += bytes;
      if (this.bodyFilledBytes === this.body!.length) this.completeBody();
      return;
    }
    if (buf === this.memory.readBuffer) stats.staticReadBytes += bytes;
    else stats.chunkReadBytes += bytes;
    let offset = 0;
    while (offset < bytes && !this.stopped) {
      if (this.stage === 'body') offset = this.fillBody(buf, offset, bytes);
      else offset = this.fillHead(buf, offset, bytes);
    }
  }

  private fillBody(buf: Buffer, offset: number, end: number): number {
    const body = this.body!;
    const n = Math.min(end - offset, body.length - this.bodyFilledBytes);
    buf.copy(body, this.bodyFilledBytes, offset, offset + n);
    this.bodyFilledBytes += n;
    if (this.bodyFilledBytes === body.length) this.completeBody();
    return offset + n;
  }

  private fillHead(buf: Buffer, offset: number, end: number): number {
    const want = this.stage === 'banner' ? bannerBytes : recordHeaderBytes;
    const n = Math.min(end - offset, want - this.headFilledBytes);
    buf.copy(this.head, this.headFilledBytes, offset, offset + n);
    this.headFilledBytes += n;
    if (this.headFilledBytes === want) {
      this.headFilledBytes = 0;
      if (this.stage === 'banner') this.onBannerBytes();
      else this.onHeader();
    }
    return offset + n;
  }

  private onBannerBytes(): void {
    // A listener refusing us answers with a close record where its banner would be.
    if (this.head[0] === RecordKind.close) return this.onHeader();
    const banner = checkBanner(this.head.subarray(0, bannerBytes));
    if (!banner.ok) return this.violation(banner.reason, closeProtocolError);
    this.stage = 'header';
    this.sink.onBanner();
  }

  private onHeader(): void {
    const header = parseRecordHeader(this.head.subarray(0, recordHeaderBytes));
    if (!header.ok) return this.violation(header.reason, closeProtocolError);
    const { kind, bodyBytes } = header;
    if (kind === RecordKind.message && bodyBytes > this.frameBytesMaxValue) {
      return this.violation(`frame of ${bodyBytes} bytes exceeds frameBytesMax=${this.frameBytesMaxValue}`, closeTooBig);
    }
    if (bodyBytes === 0) {
      this.stage = 'header';
      this.sink.onMessage(Buffer.alloc(0));
      return;
    }
    let body: Buffer;
    try {
      body = kind === RecordKind.message ? this.memory.frameBuffer(bodyBytes) : Buffer.allocUnsafe(bodyBytes);
    } catch (err) {
      // Out of memory for a frame within the limit: this connection fails, the daemon lives on.
      return this.violation(`cannot allocate ${bodyBytes} bytes for a frame: ${(err as Error).message}`, closeTooBig);
    }
    this.bodyKind = kind;
    this.body = body;
    this.bodyFilledBytes = 0;
    this.stage = 'body';
  }

  private completeBody(): void {
    const body = this.body!;
    this.body = null;
    if (this.bodyKind === RecordKind.message) {
      this.stage = 'header';
      this.sink.onMessage(body);
      return;
    }
    // Nothing may follow a close record.
    this.stage = 'stopped';
    const close = parseCloseBody(body);
    if (!close.ok) return this.sink.onViolation(close.reason, closeProtocolError);
    this.sink.onCloseRecord(close.code, close.reason);
  }

  private violation(reason: string, closeCode: number): void {
    this.stop();
    this.sink.onViolation(reason, closeCode);
  }
}
