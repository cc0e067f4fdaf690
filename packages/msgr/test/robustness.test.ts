/**
 * Hostile and broken peers over real WebSockets: every bad frame closes only the offending
 * connection, with a logged reason, while a well-behaved client keeps being served.
 */
import t, { type Test } from 'tap';
import { connect as netConnect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { Packr } from 'msgpackr';
import { createMessenger, type Messenger } from '@nacre/msgr';
import { TestEcho, testMessages } from '@nacre/msgr/testing';
import { MsgrAuth, MsgrHello, WIRE_VERSION, encodeFrame } from '@nacre/proto';
import { RawPeer, testEnv, testKeyring, waitFor, type TestEnv } from './helpers.js';

/** Hand-made frames (e.g. with attachment lists our encoder would never produce). */
const packr = new Packr({ useRecords: false });

interface Fixture {
  server: Messenger;
  env: TestEnv;
  port: number;
  keyring: ReturnType<typeof testKeyring>;
  /** A well-behaved client; `check()` proves the server still serves it. */
  check(): Promise<void>;
}

async function fixture(tt: Test, limits: Record<string, number> = {}): Promise<Fixture> {
  const keyring = testKeyring();
  const env = testEnv();
  const server = createMessenger(
    { entity: 'mon.a', keyring, listen: '127.0.0.1:0', vocabulary: testMessages, limits: { frameBytesMax: 64 * 1024, handshakeTimeoutMs: 300, ...limits } },
    { env: env.env },
  );
  server.handle(TestEcho, (req) => req);
  await server.start();
  const client = createMessenger({ entity: 'client.admin', key: keyring.keyOf('client.admin')! }, { env: testEnv(5).env });
  await client.start();
  const conn = client.connect(server.address!);
  tt.teardown(async () => {
    await client.stop();
    await server.stop();
  });
  let n = 0;
  return {
    server,
    env,
    port: server.address!.port,
    keyring,
    async check() {
      const text = `still serving ${n++}`;
      tt.same(await conn.request(TestEcho, { text }), { text }, 'good client still served');
    },
  };
}

function closedWithReason(f: Fixture, re: RegExp): boolean {
  return f.env.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('closing connection: ') && re.test(l.msg));
}

t.test('frames before authentication close the connection', async (t) => {
  const f = await fixture(t);
  const cases: Array<[string, (p: RawPeer) => void, RegExp]> = [
    ['garbage bytes', (p) => p.sendBytes(Buffer.from([0xc1, 0xff, 0x00, 0x13])), /malformed frame/],
    ['a text frame', (p) => p.sendBytes('hello', false), /text frame/],
    ['an application request', (p) => p.sendBytes(encodeFrame('request', 1, 'test.echo', { text: 'x' })), /expected msgr\.hello during the handshake, got request test\.echo/],
    ['auth before hello', (p) => p.sendBytes(encodeFrame('oneway', 0, MsgrAuth.type, { proof: Buffer.alloc(32) })), /expected msgr\.hello.*got oneway msgr\.auth/],
    ['a hello with a bad entity', (p) => p.sendBytes(encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION, entity: 'root', nonce: Buffer.alloc(32) })), /bad msgr\.hello: bad payload: entity/],
    ['a hello with a short nonce', (p) => p.sendBytes(encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION, entity: 'client.admin', nonce: Buffer.alloc(3) })), /nonce must be binary data of 32\.\.32 bytes/],
    ['an oversized handshake frame', (p) => p.sendBytes(Buffer.alloc(5000, 0x90)), /exceeds handshakeFrameBytesMax=4096/],
    ['a hello with attachments', (p) => p.sendBytes(packr.pack([0, 0, 'msgr.hello', { v: WIRE_VERSION, entity: 'client.admin', nonce: 32 }, ['nonce']])), /attachments during the handshake/],
    ['a frame with an unknown kind', (p) => p.sendBytes(encodeFrame('oneway', 0, 'msgr.hello', null).fill(0x09, 1, 2)), /malformed frame/],
  ];
  for (const [what, send, reason] of cases) {
    const p = await RawPeer.connect(f.port);
    send(p);
    const closed = await p.closed;
    t.equal(closed.code, 1002, `${what}: closed with 1002 (protocol error)`);
    t.ok(closedWithReason(f, reason), `${what}: reason logged`);
  }
  await f.check();
  await waitFor(() => f.server.stats().connections === 1, 'only the good connection left');
});

t.test('handshake timeout and version mismatch', async (t) => {
  const f = await fixture(t);
  const silent = await RawPeer.connect(f.port);
  const closed = await silent.closed;
  t.equal(closed.code, 1002, 'a silent peer is cut off');
  t.ok(closedWithReason(f, /handshake not completed within handshakeTimeoutMs=300/), 'reason logged');

  const future = await RawPeer.connect(f.port);
  future.sendBytes(encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION + 1, entity: 'client.admin', nonce: Buffer.alloc(32) }));
  const fail = await future.frame(0);
  t.equal(fail?.type, 'msgr.auth_fail');
  t.same(fail?.payload, { code: 'EPROTO', reason: `wire version ${WIRE_VERSION + 1} not supported (this server speaks ${WIRE_VERSION})` });
  t.equal((await future.closed).code, 1008);
  await f.check();
});

t.test('a replayed proof is refused (fresh server nonce per connection)', async (t) => {
  const f = await fixture(t);
  const key = f.keyring.keyOf('client.admin')!;
  const first = await RawPeer.connect(f.port);
  const nonce = Buffer.alloc(32, 3);
  const ok = await first.handshake('client.admin', key, nonce);
  t.ok(ok.ok, 'the honest handshake succeeds');
  first.close();
  // An eavesdropper replays the same hello and the recorded proof on a new connection.
  const replay = await RawPeer.connect(f.port);
  replay.sendBytes(encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION, entity: 'client.admin', nonce }));
  const challenge = await replay.frame(0);
  t.equal(challenge?.type, 'msgr.challenge');
  t.notSame((challenge?.payload as { nonce: Buffer }).nonce, ok.transcript!.serverNonce, 'the server picked a new nonce');
  replay.sendBytes(ok.authFrame!);
  const answer = await replay.frame(1);
  t.equal(answer?.type, 'msgr.auth_fail');
  t.same(answer?.payload, { code: 'EPERM', reason: 'bad key' });
  t.equal((await replay.closed).code, 1008);
  await f.check();
});

t.test('after authentication: unknown type, oversized, malformed, protocol abuse', async (t) => {
  const f = await fixture(t);
  const key = f.keyring.keyOf('client.admin')!;
  const cases: Array<[string, (p: RawPeer) => void, number, RegExp]> = [
    ['unknown message type', (p) => p.sendBytes(encodeFrame('request', 1, 'osd.no_such_thing', {})), 1002, /unknown message type osd\.no_such_thing/],
    ['a one-way frame for a request type', (p) => p.sendBytes(encodeFrame('oneway', 0, 'test.echo', { text: 'x' })), 1002, /test\.echo is a request message, got a oneway frame/],
    ['a second hello', (p) => p.sendBytes(encodeFrame('oneway', 0, 'msgr.hello', {})), 1002, /unexpected msgr\.hello after authentication/],
    ['a reply to nothing', (p) => p.sendBytes(encodeFrame('reply', 99, 'test.echo', {})), 1002, /reply to tid 99, which was never sent/],
    ['not msgpack', (p) => p.sendBytes(Buffer.from('this is not msgpack at all')), 1002, /malformed frame/],
    ['a 3-element frame', (p) => p.sendBytes(Buffer.from([0x93, 0x01, 0x01, 0xa1, 0x78])), 1002, /malformed frame: expected \[kind, tid, type, payload\]/],
    ['an oversized frame', (p) => p.sendBytes(Buffer.alloc(70 * 1024)), 1009, /./],
    ['an attachment of the wrong size', (p) => {
      p.sendBytes(packr.pack([1, 1, 'test.echo', { text: 'x', data: 10 }, ['data']]));
      p.sendBytes(Buffer.alloc(3));
    }, 1002, /attachment data of test\.echo has 3 bytes, 10 were announced/],
    ['attachments adding up beyond frameBytesMax', (p) => p.sendBytes(packr.pack([1, 1, 'test.echo', { text: 'x', data: 60 * 1024, more: 60 * 1024 }, ['data', 'more']])), 1002, /frame with attachments of \d+ bytes exceeds frameBytesMax=65536/],
    ['an attachment key that is not a field', (p) => p.sendBytes(packr.pack([1, 1, 'test.echo', { text: 'x' }, ['data']])), 1002, /attachment key is not a payload field/],
  ];
  for (const [what, send, code, reason] of cases) {
    const p = await RawPeer.connect(f.port);
    t.ok((await p.handshake('client.admin', key)).ok, `${what}: authenticated first`);
    send(p);
    t.equal((await p.closed).code, code, `${what}: closed with ${code}`);
    if (code === 1002) t.ok(closedWithReason(f, reason), `${what}: reason logged`);
    else t.ok(f.env.logs.some((l) => l.msg === 'transport error' && /Max payload size exceeded/.test(String(l['err']))), `${what}: logged`);
  }
  // A refused request (caps) does not close the connection: it is an answer, not a violation.
  const p = await RawPeer.connect(f.port);
  await p.handshake('client.admin', key);
  p.sendBytes(encodeFrame('request', 1, 'test.mon_only', {}));
  const answer = await p.frame(2);
  t.equal(answer?.kind, 'error');
  t.same(answer?.payload, { code: 'EPERM', message: 'client.admin may not send test.mon_only (allowed: mon)' });
  p.sendBytes(encodeFrame('request', 2, 'test.echo', { text: 'after refusal' }));
  const echoed = await p.frame(3);
  t.same(echoed, { kind: 'reply', tid: 2, type: 'test.echo', payload: { text: 'after refusal' } });
  p.close();
  await f.check();
  await waitFor(() => f.server.stats().connections === 1, 'only the good connection left');
});

t.test('not even WebSocket: raw TCP garbage, plain HTTP, wrong path', async (t) => {
  const f = await fixture(t);
  await new Promise<void>((resolve) => {
    const sock = netConnect(f.port, '127.0.0.1', () => sock.write(Buffer.from('\x00\xff\x10garbage\r\n\r\n')));
    sock.on('error', () => {});
    sock.on('close', () => resolve());
    sock.resume();
  });
  t.pass('raw garbage: socket closed by the server');
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: f.port, path: '/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 426, 'plain HTTP: 426 Upgrade Required');
  await t.rejects(RawPeer.connect(f.port, '/other'), /Unexpected server response: 400/, 'wrong path refused');
  await f.check();
});

t.test('connectionsMax: extra connections are refused at the upgrade', async (t) => {
  const f = await fixture(t, { connectionsMax: 2 });
  await f.check(); // the good client holds one slot
  const second = await RawPeer.connect(f.port);
  await t.rejects(RawPeer.connect(f.port), /Unexpected server response: 401/, 'third connection refused');
  second.close();
  await waitFor(() => f.server.stats().connections === 1, 'slot released');
  const again = await RawPeer.connect(f.port);
  t.ok(again.isOpen, 'a slot frees up when a connection goes');
  again.close();
  await f.check();
});
