/**
 * Property/fuzz test against a live server (DESIGN §4.6: a daemon never crashes on a peer's bytes).
 *
 * Each run opens a hostile connection — raw TCP, a hand-made WebSocket upgrade followed by random
 * WebSocket-level bytes, or a proper WebSocket (optionally authenticated) — and sends random byte
 * strings, random valid-looking frames and mutations of valid frames. Properties:
 *   - the server process never crashes (the server runs in this process: a throw would fail the run);
 *   - an unauthenticated hostile connection is always closed by the server;
 *   - a well-behaved client on another connection is served after every run;
 *   - afterwards nothing leaked: connections, pending requests, in-flight handlers, messenger and
 *     Env timers, and process-level sockets are back to their baseline.
 *
 * Seeded: the seed is printed first; `NACRE_SEED=N` reproduces a run, `NACRE_FUZZ_RUNS=N` changes the count.
 */
import t from 'tap';
import fc from 'fast-check';
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { seedFromEnv } from '@nacre/util';
import { createMessenger } from '@nacre/msgr';
import { TestEcho, TestNote, TestNotesSeen, testMessages } from '@nacre/msgr/testing';
import { encodeFrame } from '@nacre/proto';
import { frameArb } from './fuzz-frames.js';
import { RawPeer, sleep, testEnv, testKeyring, waitFor } from './helpers.js';

const seed = seedFromEnv();
const numRuns = Number(process.env['NACRE_FUZZ_RUNS'] ?? 150);
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

/** tid of the probe request that tells when the server has handled a run's frames. */
const probeTid = 2 ** 40;

type Scenario =
  | { mode: 'tcp'; bytes: Buffer }
  | { mode: 'ws-bytes'; bytes: Buffer }
  | { mode: 'frames'; authenticate: boolean; frames: Buffer[] };

const scenarioArb: fc.Arbitrary<Scenario> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a): Scenario => ({ mode: 'tcp', bytes: Buffer.from(a) })) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a): Scenario => ({ mode: 'ws-bytes', bytes: Buffer.from(a) })) },
  { weight: 7, arbitrary: fc.record({ authenticate: fc.boolean(), frames: fc.array(frameArb, { minLength: 1, maxLength: 6 }) }).map((r): Scenario => ({ mode: 'frames', ...r })) },
);

function closeOf(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (sock.destroyed) resolve();
    else sock.once('close', () => resolve());
  });
}

/** Raw TCP: random bytes where the server expects an HTTP request. */
async function runTcp(port: number, bytes: Buffer): Promise<void> {
  const sock = netConnect(port, '127.0.0.1');
  sock.on('error', () => {});
  sock.resume();
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write(bytes);
  // Random bytes may be an incomplete HTTP request the server keeps waiting for: end our side.
  await sleep(5);
  sock.end();
  await closeOf(sock);
}

/** A hand-made upgrade, then random bytes at the WebSocket framing level (bad opcodes, RSV bits, lengths…). */
async function runWsBytes(port: number, bytes: Buffer): Promise<boolean> {
  const sock = netConnect(port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  const upgraded = new Promise<boolean>((resolve) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', onData);
        sock.resume();
        resolve(head.startsWith('HTTP/1.1 101'));
      }
    };
    sock.on('data', onData);
    sock.once('close', () => resolve(false));
  });
  sock.write(
    `GET /nacre HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const ok = await upgraded;
  if (ok) sock.write(bytes);
  // Whatever the bytes were, the unauthenticated connection must be closed by the server
  // (protocol error at once, or the handshake timeout if the bytes were an incomplete frame).
  await closeOf(sock);
  return ok;
}

t.test(`fuzz: ${numRuns} hostile connections against a live server`, async (t) => {
  const keyring = testKeyring();
  const env = testEnv();
  const server = createMessenger(
    { entity: 'mon.a', keyring, listen: '127.0.0.1:0', vocabulary: testMessages, limits: { frameBytesMax: 64 * 1024, handshakeTimeoutMs: 150 } },
    { env: env.env },
  );
  let notes = 0;
  server.handle(TestEcho, (req) => req);
  server.handle(TestNote, () => void notes++);
  server.handle(TestNotesSeen, () => ({ count: notes, bytes: 0, lastSeq: -1 }));
  await server.start();
  const port = server.address!.port;
  const clientEnv = testEnv(7);
  const client = createMessenger({ entity: 'client.admin', key: keyring.keyOf('client.admin')! }, { env: clientEnv.env });
  await client.start();
  const good = client.connect(server.address!);
  t.teardown(async () => {
    await client.stop();
    await server.stop();
  });
  await good.ready();
  await good.request(TestEcho, { text: 'warm up' });

  const handlersBefore = server.stats().handlers;
  const timersBefore = env.timers.active;
  const socketsBefore = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  const key = keyring.keyOf('client.admin')!;
  let goodRequests = 0;
  let unauthClosed = 0;

  await fc.assert(
    fc.asyncProperty(scenarioArb, async (s) => {
      if (s.mode === 'tcp') {
        await runTcp(port, s.bytes);
      } else if (s.mode === 'ws-bytes') {
        if (await runWsBytes(port, s.bytes)) unauthClosed++;
      } else {
        const p = await RawPeer.connect(port);
        const authed = s.authenticate ? (await p.handshake('client.admin', key)).ok : false;
        for (const frame of s.frames) p.sendBytes(frame);
        if (!authed) {
          await p.closed; // the server must close every unauthenticated hostile connection
          unauthClosed++;
        } else {
          // A probe request: once its reply (or the close) arrives, the server has handled all frames.
          p.sendBytes(encodeFrame('request', probeTid, TestEcho.type, { text: 'probe' }));
          await p.frameWhere((f) => f.tid === probeTid);
          p.close();
          await p.closed;
        }
      }
      const text = `good ${goodRequests++}`;
      const rep = await good.request(TestEcho, { text });
      if (rep.text !== text) throw new Error('good connection got a wrong reply');
      await waitFor(() => server.stats().connections === 1, 'hostile connection gone on the server');
    }),
    { seed, numRuns },
  );

  t.ok(unauthClosed > 0, `server closed ${unauthClosed} unauthenticated hostile connections`);
  t.equal(goodRequests, numRuns, 'the good connection was served after every run');
  const s = server.stats();
  t.equal(s.connections, 1, 'only the good connection remains');
  t.equal(s.pendingRequests, 0, 'no pending requests');
  t.equal(s.inboundInFlight, 0, 'no handlers in flight');
  t.equal(s.queuedFrames, 0, 'nothing queued');
  t.equal(s.handlers, handlersBefore, 'handler table unchanged');
  t.equal(s.timers, 1, 'messenger timers: only the good connection keepalive');
  t.equal(env.timers.active, timersBefore, 'Env timers back to the baseline');
  await waitFor(
    () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length === socketsBefore,
    'process sockets back to the baseline',
  );
  t.pass('process-level sockets back to the baseline');
  t.equal(good.state, 'open', 'good connection never dropped');
});
