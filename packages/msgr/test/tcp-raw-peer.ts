/**
 * A raw client of the tcp transport that sends whatever bytes a test wants and parses what comes
 * back with its own small parser (not the transport's reader: the tests must not trust the code
 * they test). Layout: packages/msgr/src/tcp-framing.ts.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { computeProof, type Transcript } from '@nacre/msgr';
import { MsgrAuth, MsgrHello, WIRE_VERSION, decodeFrame, encodeFrame, type EntityName, type Frame } from '@nacre/proto';

export const banner = Buffer.from([0x4e, 0x41, 0x43, 0x52, 0x54, 0x43, 0x50, 0x01]);

/** A record header: kind, reserved zero bytes, u32be length. */
export function recordHeader(kind: number, bodyBytes: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = kind;
  h.writeUInt32BE(bodyBytes, 4);
  return h;
}

export function messageRecord(body: Buffer): Buffer {
  return Buffer.concat([recordHeader(1, body.length), body]);
}

export function closeRecord(code: number, reason: string): Buffer {
  const body = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason, 'utf8')]);
  return Buffer.concat([recordHeader(2, body.length), body]);
}

export interface PeerClose {
  /** The close record's code, or 1006 when the socket ended without one. */
  code: number;
  reason: string;
}

export class TcpRawPeer {
  readonly frames: Frame[] = [];
  /** Everything received before the server's banner was recognised (e.g. an HTTP answer). */
  preamble = Buffer.alloc(0);
  gotBanner = false;
  readonly closed: Promise<PeerClose>;
  private closeRecordSeen: PeerClose | null = null;
  private pending = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(readonly sock: Socket) {
    this.closed = new Promise((resolve) => {
      sock.on('close', () => {
        this.ended = true;
        resolve(this.closeRecordSeen ?? { code: 1006, reason: '' });
        this.wake();
      });
    });
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Connect and send `first` (our banner by default; anything else for hostile tests). */
  static async connect(port: number, first: Buffer | null = banner): Promise<TcpRawPeer> {
    const sock = netConnect(port, '127.0.0.1');
    const peer = new TcpRawPeer(sock);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    if (first !== null) sock.write(first);
    return peer;
  }

  /** Resolves true once the server's banner arrived, false if it refused or closed instead. */
  async banner(): Promise<boolean> {
    while (!this.gotBanner && !this.ended && this.closeRecordSeen === null) await this.next();
    return this.gotBanner;
  }

  get closeRecord(): PeerClose | null {
    return this.closeRecordSeen;
  }

  sendRaw(bytes: Buffer): void {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  /** One messenger frame (or attachment) as a message record. */
  sendBytes(frame: Buffer): void {
    this.sendRaw(messageRecord(frame));
  }

  async frame(index: number): Promise<Frame | null> {
    while (this.frames.length <= index) {
      if (this.ended) return null;
      await this.next();
    }
    return this.frames[index]!;
  }

  async frameWhere(pred: (f: Frame) => boolean): Promise<Frame | null> {
    for (let i = 0; ; i++) {
      const f = await this.frame(i);
      if (f === null || pred(f)) return f;
    }
  }

  /** The client side of the messenger handshake, by hand. */
  async handshake(entity: EntityName, key: Buffer, nonce = Buffer.alloc(32, 9)): Promise<boolean> {
    if (!(await this.banner())) return false;
    const start = this.frames.length;
    this.sendBytes(encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION, entity, nonce }));
    const challenge = await this.frame(start);
    if (challenge === null || challenge.type !== 'msgr.challenge') return false;
    const c = challenge.payload as { entity: EntityName; nonce: Buffer };
    const transcript: Transcript = { version: WIRE_VERSION, client: entity, server: c.entity, clientNonce: nonce, serverNonce: Buffer.from(c.nonce) };
    this.sendBytes(encodeFrame('oneway', 0, MsgrAuth.type, { proof: computeProof(key, 'client', transcript) }));
    const answer = await this.frame(start + 1);
    return answer?.type === 'msgr.auth_ok';
  }

  /** Half-close: no more bytes from us. */
  end(): void {
    this.sock.end();
  }

  close(): void {
    this.sock.destroy();
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (!this.gotBanner && this.closeRecordSeen === null) {
      if (this.pending.length >= 8 && this.pending.subarray(0, 8).equals(banner)) {
        this.gotBanner = true;
        this.pending = this.pending.subarray(8);
      } else if (this.pending[0] !== 2) {
        this.preamble = this.pending;
        this.wake();
        return;
      }
    }
    while (this.pending.length >= 8) {
      const kind = this.pending[0]!;
      const bodyBytes = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + bodyBytes) break;
      const body = this.pending.subarray(8, 8 + bodyBytes);
      this.pending = this.pending.subarray(8 + bodyBytes);
      if (kind === 2) this.closeRecordSeen = { code: body.readUInt16BE(0), reason: body.toString('utf8', 2) };
      else {
        try {
          this.frames.push(decodeFrame(body));
        } catch {
          // the server never sends garbage; a decode failure would show up as a missing frame
        }
      }
    }
    this.wake();
  }
}
