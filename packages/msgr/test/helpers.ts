/**
 * Shared test fixtures: quiet environments with counting timers, a keyring, log capture, and a
 * raw WebSocket peer that speaks (or mangles) the wire protocol by hand.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { Prng, type Env, type Logger } from '@nacre/util';
import { Keyring, computeProof, wirePath, type Transcript } from '@nacre/msgr';
import { CountingTimers } from '@nacre/msgr/testing';
import {
  MsgrAuth,
  MsgrHello,
  WIRE_VERSION,
  decodeFrame,
  encodeFrame,
  type EntityName,
  type Frame,
} from '@nacre/proto';

export interface TestEnv {
  env: Env;
  timers: CountingTimers;
  /** Log lines at warn and above, parsed. */
  logs: Array<{ level: number; msg: string; [k: string]: unknown }>;
}

/** An Env with real clock/timers (counted) and a logger that records warnings instead of printing. */
export function testEnv(seed = 1): TestEnv {
  const logs: TestEnv['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line));
      cb();
    },
  });
  const logger: Logger = pino({ level: 'warn' }, sink);
  const timers = new CountingTimers();
  return {
    env: { clock: { monotonicMs: () => performance.now(), wallMs: () => Date.now() }, timers, random: new Prng(seed), logger },
    timers,
    logs,
  };
}

export function testKeyring(): Keyring {
  const ring = new Keyring();
  for (const e of ['mon.a', 'mon.b', 'osd.0', 'client.admin'] as const) ring.add(e);
  return ring;
}

/** Poll `cond` every few ms until it holds (or fail after `limitMs`, which is a hang guard, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A raw WebSocket client that sends whatever bytes a test wants and records what comes back. */
export class RawPeer {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const w of this.waiters.splice(0)) w();
      });
    });
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      try {
        this.frames.push(decodeFrame(data));
      } catch {
        // the server never sends garbage; a decode failure here would show up as a missing frame
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static connect(port: number, path = wirePath): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, generateMask: (m: Buffer) => void m.fill(0) });
      ws.once('open', () => resolve(new RawPeer(ws)));
      ws.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendBytes(bytes: Buffer | string, binary = true): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes, { binary });
  }

  /** Next frame (after `index` frames seen), or null if the connection closes first. */
  async frame(index: number): Promise<Frame | null> {
    while (this.frames.length <= index) {
      if (this.ws.readyState === WebSocket.CLOSED) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.frames[index]!;
  }

  /** The first frame satisfying `pred`, or null once the connection is closed without one. */
  async frameWhere(pred: (f: Frame) => boolean): Promise<Frame | null> {
    for (let i = 0; ; i++) {
      const f = await this.frame(i);
      if (f === null || pred(f)) return f;
    }
  }

  /** Run the client side of the handshake by hand; returns the transcript used. */
  async handshake(entity: EntityName, key: Buffer, nonce = Buffer.alloc(32, 9)): Promise<{ ok: boolean; transcript: Transcript | null; authFrame: Buffer | null }> {
    const start = this.frames.length;
    this.sendBytes(encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION, entity, nonce }));
    const challenge = await this.frame(start);
    if (challenge === null || challenge.type !== 'msgr.challenge') return { ok: false, transcript: null, authFrame: null };
    const c = challenge.payload as { entity: EntityName; nonce: Buffer };
    const transcript: Transcript = { version: WIRE_VERSION, client: entity, server: c.entity, clientNonce: nonce, serverNonce: Buffer.from(c.nonce) };
    const authFrame = encodeFrame('oneway', 0, MsgrAuth.type, { proof: computeProof(key, 'client', transcript) });
    this.sendBytes(authFrame);
    const answer = await this.frame(start + 1);
    return { ok: answer?.type === 'msgr.auth_ok', transcript, authFrame };
  }

  close(): void {
    this.ws.terminate();
  }
}
