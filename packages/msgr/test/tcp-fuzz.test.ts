/**
 * Property/fuzz test of the tcp transport against a live server (DESIGN §4.6: a daemon never
 * crashes on a peer's bytes). Each run opens a hostile raw connection and sends random bytes
 * (with or without our banner first), or records — valid messenger frames, random and mutated
 * ones, random record headers (unknown kinds, reserved bits, lengths up to 4 GiB) with random
 * bodies, close records — optionally after authenticating. Properties:
 *   - the server never crashes (it runs in this process: a throw would fail the run);
 *   - an unauthenticated hostile connection is always closed by the server (banner timeout,
 *     framing violation, handshake timeout or protocol violation);
 *   - a well-behaved client on another connection is served after every run;
 *   - afterwards nothing leaked: connections, in-flight handlers, messenger, Env and transport
 *     timers, the transport's sockets.
 *
 * Seeded: the seed is printed first; `NACRE_SEED=N` reproduces a run, `NACRE_FUZZ_RUNS=N` changes the count.
 */
import t from 'tap';
import fc from 'fast-check';
import { seedFromEnv } from '@nacre/util';
import { TcpTransport, createMessenger } from '@nacre/msgr';
import { CountingTimers, TestEcho, TestNote, TestNotesSeen, testMessages } from '@nacre/msgr/testing';
import { encodeFrame } from '@nacre/proto';
import { frameArb } from './fuzz-frames.js';
import { sleep, testEnv, testKeyring, waitFor } from './helpers.js';
import { TcpRawPeer, banner, closeRecord, messageRecord } from './tcp-raw-peer.js';

const seed = seedFromEnv();
const numRuns = Number(process.env['NACRE_FUZZ_RUNS'] ?? 150);
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

/** tid of the probe request that tells when the server has handled a run's records. */
const probeTid = 2 ** 40;
/** How long an authenticated run waits for its probe before giving up on it (its records may announce more bytes than follow). */
const probeWaitMs = 200;
const frameBytesMax = 64 * 1024;

const lengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.nat(300) },
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 5000 }) },
  { weight: 1, arbitrary: fc.integer({ min: frameBytesMax - 2, max: frameBytesMax + 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(0xffff_ffff, 0x8000_0000, 2 ** 24) },
);

/** A record header with random fields, and up to 300 random body bytes (not necessarily as many as announced). */
const randomRecordArb = fc
  .tuple(fc.constantFrom(0, 1, 1, 1, 2, 3, 0x4e, 255), fc.oneof(fc.constant([0, 0, 0]), fc.array(fc.nat(255), { minLength: 3, maxLength: 3 })), lengthArb, fc.uint8Array({ maxLength: 300 }))
  .map(([kind, reserved, length, body]) => {
    const h = Buffer.alloc(8);
    h[0] = kind;
    h[1] = reserved[0]!;
    h[2] = reserved[1]!;
    h[3] = reserved[2]!;
    h.writeUInt32BE(length, 4);
    return Buffer.concat([h, Buffer.from(body)]);
  });

const itemArb = fc.oneof(
  { weight: 6, arbitrary: frameArb.map(messageRecord) },
  { weight: 3, arbitrary: randomRecordArb },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.string({ maxLength: 20 })).map(([code, reason]) => closeRecord(code, reason)) },
);

type Scenario =
  | { mode: 'bytes'; withBanner: boolean; bytes: Buffer }
  | { mode: 'records'; authenticate: boolean; items: Buffer[] };

const scenarioArb: fc.Arbitrary<Scenario> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ withBanner: fc.boolean(), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)) }).map((r): Scenario => ({ mode: 'bytes', ...r })) },
  { weight: 7, arbitrary: fc.record({ authenticate: fc.boolean(), items: fc.array(itemArb, { minLength: 1, maxLength: 6 }) }).map((r): Scenario => ({ mode: 'records', ...r })) },
);

t.test(`tcp fuzz: ${numRuns} hostile connections against a live server`, async (t) => {
  const keyring = testKeyring();
  const env = testEnv();
  const transportTimers = new CountingTimers();
  const transport = new TcpTransport({ timers: transportTimers, bannerTimeoutMs: 100 });
  const server = createMessenger(
    { entity: 'mon.a', keyring, listen: '127.0.0.1:0', vocabulary: testMessages, limits: { frameBytesMax, handshakeTimeoutMs: 100 } },
    { env: env.env, transport },
  );
  let notes = 0;
  server.handle(TestEcho, (req) => req);
  server.handle(TestNote, () => void notes++);
  server.handle(TestNotesSeen, () => ({ count: notes, bytes: 0, lastSeq: -1 }));
  await server.start();
  const port = server.address!.port;
  const client = createMessenger({ entity: 'client.admin', key: keyring.keyOf('client.admin')! }, { env: testEnv(7).env, transport: new TcpTransport() });
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
  const key = keyring.keyOf('client.admin')!;
  let goodRequests = 0;
  let unauthClosed = 0;
  let authRuns = 0;

  await fc.assert(
    fc.asyncProperty(scenarioArb, async (s) => {
      if (s.mode === 'bytes') {
        const p = await TcpRawPeer.connect(port, s.withBanner ? Buffer.concat([banner, s.bytes]) : s.bytes);
        await p.closed; // the server must close it: bad banner, bad record, or one of its timeouts
        unauthClosed++;
      } else {
        const p = await TcpRawPeer.connect(port);
        const authed = s.authenticate ? await p.handshake('client.admin', key) : false;
        for (const item of s.items) p.sendRaw(item);
        if (!authed) {
          await p.closed;
          unauthClosed++;
        } else {
          authRuns++;
          p.sendBytes(encodeFrame('request', probeTid, TestEcho.type, { text: 'probe' }));
          await Promise.race([p.frameWhere((f) => f.tid === probeTid), sleep(probeWaitMs)]);
          p.close();
          await p.closed;
        }
      }
      const text = `good ${goodRequests++}`;
      const rep = await good.request(TestEcho, { text });
      if (rep.text !== text) throw new Error('good connection got a wrong reply');
      await waitFor(() => server.stats().connections === 1 && transport.stats().sockets === 1, 'hostile connection gone on the server');
    }),
    { seed, numRuns },
  );

  t.ok(unauthClosed > 0, `server closed ${unauthClosed} unauthenticated hostile connections`);
  t.ok(authRuns > 0, `${authRuns} runs after authenticating`);
  t.equal(goodRequests, numRuns, 'the good connection was served after every run');
  const s = server.stats();
  t.equal(s.connections, 1, 'only the good connection remains');
  t.equal(s.pendingRequests, 0, 'no pending requests');
  t.equal(s.inboundInFlight, 0, 'no handlers in flight');
  t.equal(s.handlers, handlersBefore, 'handler table unchanged');
  t.equal(s.timers, 1, 'messenger timers: only the good connection keepalive');
  t.equal(env.timers.active, timersBefore, 'Env timers back to the baseline');
  t.equal(transportTimers.active, 0, 'no transport timer left (banner timeouts, close grace periods)');
  t.equal(transport.stats().sockets, 1, 'transport sockets: only the good link');
  t.equal(good.state, 'open', 'good connection never dropped');
});
