/**
 * Hostile and broken peers of the tcp transport (raw sockets against a live messenger): every bad
 * byte closes only the offending connection, with a logged reason, before anything beyond the
 * frame limit is allocated; a good client keeps being served; nothing leaks (sockets, timers).
 */
import t, { type Test } from 'tap';
import { connect as netConnect } from 'node:net';
import { createMessenger, TcpTransport, WsTransport, type Messenger } from '@nacre/msgr';
import { CountingTimers, TestEcho, testMessages } from '@nacre/msgr/testing';
import { MsgrHello, WIRE_VERSION, encodeFrame } from '@nacre/proto';
import { sleep, testEnv, testKeyring, waitFor, type TestEnv } from './helpers.js';
import { TcpRawPeer, banner, closeRecord, messageRecord, recordHeader } from './tcp-raw-peer.js';

interface Fixture {
  server: Messenger;
  serverTransport: TcpTransport;
  transportTimers: CountingTimers;
  env: TestEnv;
  port: number;
  keyring: ReturnType<typeof testKeyring>;
  check(): Promise<void>;
}

const bannerTimeoutMs = 300;

async function fixture(tt: Test, limits: Record<string, number> = {}, transportBannerTimeoutMs = bannerTimeoutMs): Promise<Fixture> {
  const keyring = testKeyring();
  const env = testEnv();
  const transportTimers = new CountingTimers();
  const serverTransport = new TcpTransport({ timers: transportTimers, bannerTimeoutMs: transportBannerTimeoutMs });
  const server = createMessenger(
    { entity: 'mon.a', keyring, listen: '127.0.0.1:0', vocabulary: testMessages, limits: { frameBytesMax: 64 * 1024, handshakeTimeoutMs: 300, ...limits } },
    { env: env.env, transport: serverTransport },
  );
  server.handle(TestEcho, (req) => req);
  await server.start();
  const clientTransport = new TcpTransport({ timers: transportTimers });
  const client = createMessenger({ entity: 'client.admin', key: keyring.keyOf('client.admin')! }, { env: testEnv(5).env, transport: clientTransport });
  await client.start();
  const conn = client.connect(server.address!);
  let stopped = false;
  tt.teardown(async () => {
    if (stopped) return;
    await client.stop();
    await server.stop();
  });
  let n = 0;
  return {
    server,
    serverTransport,
    transportTimers,
    env,
    port: server.address!.port,
    keyring,
    async check() {
      const text = `still serving ${n++}`;
      tt.same(await conn.request(TestEcho, { text }), { text }, 'good client still served');
      await waitFor(() => server.stats().connections === 1, 'only the good connection left');
    },
  };
}

function transportError(f: Fixture, re: RegExp): boolean {
  return f.env.logs.some((l) => l.msg === 'transport error' && re.test(String(l['err'])));
}

function closedWithReason(f: Fixture, re: RegExp): boolean {
  return f.env.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('closing connection: ') && re.test(l.msg));
}

t.test('before the banner: garbage, HTTP, another version, silence', async (t) => {
  const f = await fixture(t);
  const cases: Array<[string, Buffer | null]> = [
    ['garbage bytes', Buffer.from('\x00\xff\x10garbage\r\n\r\n', 'latin1')],
    ['an HTTP request (a ws client)', Buffer.from('GET /nacre HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')],
    ['a later transport version', Buffer.from([0x4e, 0x41, 0x43, 0x52, 0x54, 0x43, 0x50, 0x02])],
    ['a banner cut short, then silence', banner.subarray(0, 5)],
    ['silence (slowloris)', null],
  ];
  for (const [what, first] of cases) {
    const p = await TcpRawPeer.connect(f.port, first);
    const closed = await p.closed;
    t.notOk(p.gotBanner, `${what}: no banner from the server`);
    t.equal(closed.code, 1006, `${what}: closed by the server`);
    if (first !== null && first.length === 8) t.match(p.preamble.toString('latin1'), /^HTTP\/1\.1 400 .*ms_transport = tcp/s, `${what}: told what this endpoint speaks`);
  }
  await f.check();
  await waitFor(() => f.serverTransport.stats().sockets === 1, 'no raw socket left on the server');
});

t.test('a ws client and a tcp listener (and the reverse) fail with a clear line', async (t) => {
  const f = await fixture(t);
  const wsClient = createMessenger({ entity: 'client.admin', key: f.keyring.keyOf('client.admin')!, retry: { attemptsMax: 1 } }, { env: testEnv(6).env, transport: new WsTransport() });
  await wsClient.start();
  t.teardown(() => wsClient.stop());
  await t.rejects(wsClient.connect(f.server.address!).ready(), { code: 'ECONNREFUSED', message: /unexpected HTTP 400 \(not a Nacre ws messenger.*ms_transport/ }, 'ws client → tcp listener');

  const wsServer = createMessenger({ entity: 'mon.b', keyring: f.keyring, listen: '127.0.0.1:0', vocabulary: testMessages }, { env: testEnv(7).env, transport: new WsTransport() });
  await wsServer.start();
  t.teardown(() => wsServer.stop());
  const tcpClient = createMessenger({ entity: 'client.admin', key: f.keyring.keyOf('client.admin')!, retry: { attemptsMax: 1 } }, { env: testEnv(8).env, transport: new TcpTransport() });
  await tcpClient.start();
  t.teardown(() => tcpClient.stop());
  const err = await tcpClient.connect(wsServer.address!).ready().catch((e: unknown) => e as { code: string; message: string });
  t.equal(err?.code, 'EPROTO', 'tcp client → ws listener: EPROTO');
  t.match(err?.message, /not a Nacre tcp messenger peer: it sent "HTTP\/1\.1".*ms_transport = ws/, 'names the likely cause');
  await f.check();
});

t.test('after the banner, before authentication: framing violations', async (t) => {
  const f = await fixture(t);
  const cases: Array<[string, Buffer, number, RegExp]> = [
    ['a frame above handshakeFrameBytesMax', recordHeader(1, 5000), 1009, /frame of 5000 bytes exceeds frameBytesMax=4096/],
    ['a 4 GiB frame', recordHeader(1, 0xffff_ffff), 1009, /frame of 4294967295 bytes exceeds frameBytesMax=4096/],
    ['an unknown record kind', recordHeader(7, 10), 1002, /unknown kind 0x07/],
    ['reserved bytes set', Buffer.from([1, 0, 1, 0, 0, 0, 0, 1]), 1002, /reserved bytes are not zero/],
    ['a close record too short', Buffer.concat([recordHeader(2, 1), Buffer.from([3])]), 1002, /malformed close record of 1 bytes/],
    ['a close record too long', recordHeader(2, 1000), 1002, /malformed close record of 1000 bytes/],
    ['a close record with a bad code', closeRecord(999, 'x'), 1002, /malformed close record: code 999/],
  ];
  for (const [what, bytes, code, reason] of cases) {
    const allocationsBefore = f.serverTransport.stats().frameAllocations;
    const p = await TcpRawPeer.connect(f.port);
    t.ok(await p.banner(), `${what}: banner answered`);
    p.sendRaw(bytes);
    t.equal((await p.closed).code, code, `${what}: closed with ${code}`);
    t.ok(transportError(f, reason), `${what}: reason logged`);
    t.equal(f.serverTransport.stats().frameAllocations, allocationsBefore, `${what}: no frame buffer allocated`);
  }
  // Not msgpack, in a well-formed record: the messenger's own check.
  const p = await TcpRawPeer.connect(f.port);
  await p.banner();
  p.sendBytes(Buffer.from('this is not msgpack at all'));
  t.equal((await p.closed).code, 1002, 'garbage frame: closed with 1002');
  t.ok(closedWithReason(f, /malformed frame/), 'garbage frame: reason logged');
  await f.check();
});

t.test('truncated records and slow peers are cut off', async (t) => {
  const f = await fixture(t);
  const truncated: Array<[string, Buffer]> = [
    ['a header cut short', recordHeader(1, 100).subarray(0, 5)],
    ['a body cut short', Buffer.concat([recordHeader(1, 100), Buffer.alloc(10)])],
  ];
  for (const [what, bytes] of truncated) {
    const p = await TcpRawPeer.connect(f.port);
    await p.banner();
    p.sendRaw(bytes);
    p.end(); // FIN in the middle of a record
    t.equal((await p.closed).code, 1006, `${what}, then FIN: connection closed`);
  }
  // A frame trickling in byte by byte: the handshake deadline still holds.
  const slow = await TcpRawPeer.connect(f.port);
  await slow.banner();
  slow.sendRaw(recordHeader(1, 200));
  const trickle = (async () => {
    for (let i = 0; i < 200 && !slow.sock.destroyed; i++) {
      slow.sendRaw(Buffer.from([0x90]));
      await sleep(20);
    }
  })();
  t.equal((await slow.closed).code, 1002, 'trickling peer closed (protocol error)');
  await trickle;
  t.ok(closedWithReason(f, /handshake not completed within handshakeTimeoutMs=300/), 'reason logged');
  await f.check();
  await waitFor(() => f.serverTransport.stats().sockets === 1, 'no socket left on the server');
});

t.test('after authentication: oversized frames, close records, bytes after a close', async (t) => {
  const f = await fixture(t);
  const key = f.keyring.keyOf('client.admin')!;

  const big = await TcpRawPeer.connect(f.port);
  t.ok(await big.handshake('client.admin', key), 'authenticated');
  big.sendRaw(recordHeader(1, 70 * 1024));
  t.equal((await big.closed).code, 1009, 'a frame above frameBytesMax: 1009');
  t.ok(transportError(f, /frame of 71680 bytes exceeds frameBytesMax=65536/), 'logged');

  // A frame just within the limit goes through (the handshake limit was lifted).
  const ok = await TcpRawPeer.connect(f.port);
  t.ok(await ok.handshake('client.admin', key), 'authenticated');
  const data = Buffer.alloc(60 * 1024, 7);
  ok.sendBytes(encodeFrame('request', 1, TestEcho.type, { text: 'big', data }));
  const reply = await ok.frameWhere((fr) => fr.tid === 1);
  t.ok((reply?.payload as { data: Buffer }).data.equals(data), '60 KiB echoed after authentication');

  // The peer closes: the server answers with the same close record, then both ends go.
  ok.sendRaw(closeRecord(1000, 'done'));
  t.same(await ok.closed, { code: 1000, reason: 'done' }, 'close record echoed');

  // Anything after a close record is ignored.
  const after = await TcpRawPeer.connect(f.port);
  t.ok(await after.handshake('client.admin', key), 'authenticated');
  after.sendRaw(Buffer.concat([closeRecord(1000, 'bye'), messageRecord(encodeFrame('request', 5, TestEcho.type, { text: 'too late' }))]));
  await after.closed;
  t.notOk(after.frames.some((fr) => fr.tid === 5), 'a request after the close record got no answer');
  await f.check();
});

t.test('connectionsMax: refused with a close record instead of the banner', async (t) => {
  const f = await fixture(t, { connectionsMax: 2 });
  await f.check(); // the good client holds one slot
  const second = await TcpRawPeer.connect(f.port);
  t.ok(await second.banner(), 'second connection accepted');
  const third = await TcpRawPeer.connect(f.port);
  t.notOk(await third.banner(), 'third connection: no banner');
  t.same(third.closeRecord, { code: 1013, reason: 'try again later' }, 'refused with 1013');
  const refusedClient = createMessenger({ entity: 'client.admin', key: f.keyring.keyOf('client.admin')!, retry: { attemptsMax: 1 } }, { env: testEnv(9).env, transport: new TcpTransport() });
  await refusedClient.start();
  t.teardown(() => refusedClient.stop());
  await t.rejects(refusedClient.connect(f.server.address!).ready(), { code: 'ECONNREFUSED', message: /refused by the peer: try again later/ }, 'a messenger sees ECONNREFUSED');
  second.close();
  await waitFor(() => f.server.stats().connections === 1, 'slot released');
  const again = await TcpRawPeer.connect(f.port);
  t.ok(await again.banner(), 'a slot frees up when a connection goes');
  again.close();
  await f.check();
});

t.test('unlinkedSocketsMax: raw sockets without a banner are bounded', async (t) => {
  const f = await fixture(t, {}, 60_000);
  const silent: TcpRawPeer[] = [];
  for (let i = 0; i < 64; i++) silent.push(await TcpRawPeer.connect(f.port, null));
  await waitFor(() => f.serverTransport.stats().sockets === 65, 'the server holds 64 silent sockets');
  const extra = await TcpRawPeer.connect(f.port);
  t.notOk(await extra.banner(), 'a 65th raw socket is closed at once, banner or not');
  t.equal(f.serverTransport.stats().sockets, 65, 'still 64 raw sockets + the good link');
  for (const p of silent) p.close();
  await waitFor(() => f.serverTransport.stats().sockets === 1, 'silent sockets gone');
  const later = await TcpRawPeer.connect(f.port);
  t.ok(await later.banner(), 'accepted again once they are gone');
  later.close();
  await f.check();
});

t.test('nothing leaks: sockets and transport timers back to zero after stop', async (t) => {
  const keyring = testKeyring();
  const timers = new CountingTimers();
  const serverTransport = new TcpTransport({ timers, bannerTimeoutMs });
  const clientTransport = new TcpTransport({ timers });
  const serverEnv = testEnv(1);
  const server = createMessenger({ entity: 'mon.a', keyring, listen: '127.0.0.1:0', vocabulary: testMessages, limits: { handshakeTimeoutMs: 300 } }, { env: serverEnv.env, transport: serverTransport });
  server.handle(TestEcho, (req) => req);
  await server.start();
  const client = createMessenger({ entity: 'client.admin', key: keyring.keyOf('client.admin')! }, { env: testEnv(2).env, transport: clientTransport });
  await client.start();
  const socketsBefore = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  // Traffic of every kind, hostile peers half-way through their lives, then stop.
  const conn = client.connect(server.address!);
  const big = Buffer.alloc(3 * 1024 * 1024, 1);
  for (let i = 0; i < 5; i++) t.ok((await conn.request(TestEcho, { text: 'x', data: big })).data?.equals(big), `3 MiB round trip ${i}`);
  const raw = [await TcpRawPeer.connect(server.address!.port, null), await TcpRawPeer.connect(server.address!.port)];
  await raw[1]!.banner();
  raw[1]!.sendRaw(recordHeader(1, 100));
  const half = netConnect(server.address!.port, '127.0.0.1');
  half.on('error', () => {});
  const serverStats = serverTransport.stats();
  t.ok(serverStats.directReadBytes >= 4 * big.length, `the listener read big frames straight into place (${serverStats.directReadBytes} bytes)`);
  t.equal(serverStats.chunkReadBytes, 0, 'no Node-allocated read chunks on accepted sockets');
  t.ok(clientTransport.stats().directReadBytes >= 4 * big.length, 'so did the dialler');
  await client.stop();
  await server.stop();
  for (const p of raw) await p.closed;
  half.destroy();
  await waitFor(() => serverTransport.stats().sockets === 0 && clientTransport.stats().sockets === 0, 'every transport socket closed');
  t.equal(timers.active, 0, 'no transport timer left');
  t.equal(serverEnv.timers.active, 0, 'no Env timer left');
  await waitFor(() => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length <= socketsBefore, 'process sockets released');
  t.pass('process-level sockets released');
});
