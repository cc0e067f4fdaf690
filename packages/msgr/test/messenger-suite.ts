/**
 * The messenger compliance suite, run against every transport (messenger-ws.test.ts,
 * messenger-memory.test.ts): request/reply, one-way, ordering, errors, timeouts, capabilities,
 * authentication, reconnect, backpressure bounds, and no leaked timers or connections.
 */
import type { Test } from 'tap';
import { NacreError, hasCode } from '@nacre/util';
import { createMessenger, type Keyring, type Connection, type Messenger, type MessengerLimits, type Transport } from '@nacre/msgr';
import { TestEcho, TestMonOnly, TestNote, TestNotesSeen, TestOsdOnly, testMessages } from '@nacre/msgr/testing';
import { ENTITY_KINDS, defineOneway, defineRequest, expectInt, expectRecord, type EntityName } from '@nacre/proto';
import { testEnv, testKeyring, waitFor, type TestEnv } from './helpers.js';

export interface SuiteNet {
  /** A transport for one more messenger on this network. */
  transport(): Transport;
  /** Where the server listens (port 0 = any). */
  listen: string;
}

const all = ENTITY_KINDS;
/** Blocks until the test opens the gate; carries an optional payload for backpressure tests. */
const Gate = defineRequest<{ n: number; data?: Buffer }, { n: number }>({ type: 'test.gate', senders: all });
const Fail = defineRequest<{ how: 'nacre' | 'plain' | 'async' }, never>({ type: 'test.fail', senders: all });
/** Known to the server (vocabulary) but without a handler → ENOTSUP. */
const Unhandled = defineRequest<Record<string, never>, never>({ type: 'test.unhandled', senders: all });
/** The server's test.mon_only, as a misbehaving client would define it (no local caps check). */
const MonOnlyLoose = defineRequest<Record<string, never>, { ok: boolean }>({ type: 'test.mon_only', senders: all });
const OsdOnlyLoose = defineOneway<{ seq: number }>({ type: 'test.osd_only', senders: all });
const Strict = defineRequest<{ n: number }, { n: number }>({
  type: 'test.strict',
  senders: all,
  decode: (raw) => ({ n: expectInt(expectRecord(raw, 'payload')['n'], 'n', { min: 0, max: 10 }) }),
});
/** Server → client traffic started by a client request. */
const Push = defineRequest<{ notes: number; ask: boolean }, { echoed: string | null }>({ type: 'test.push', senders: all });

interface Pair {
  keyring: Keyring;
  server: Messenger;
  client: Messenger;
  conn: Connection;
  serverEnv: TestEnv;
  clientEnv: TestEnv;
  /** Notes the server received, in arrival order. */
  serverNotes: number[];
  clientNotes: number[];
  gate: { open(): void; waiting: number };
  stop(): Promise<void>;
}

async function makePair(t: Test, net: SuiteNet, opts: { serverLimits?: Partial<MessengerLimits>; clientLimits?: Partial<MessengerLimits>; clientEntity?: EntityName; clientKey?: Buffer } = {}): Promise<Pair> {
  const keyring = testKeyring();
  const serverEnv = testEnv(1);
  const clientEnv = testEnv(2);
  const server = createMessenger(
    { entity: 'mon.a', keyring, listen: net.listen, vocabulary: [...testMessages, Unhandled], limits: opts.serverLimits ?? {} },
    { env: serverEnv.env, transport: net.transport() },
  );
  const serverNotes: number[] = [];
  let gateOpen = false;
  let gateWaiters: Array<() => void> = [];
  const gate = {
    open() {
      gateOpen = true;
      for (const w of gateWaiters.splice(0)) w();
    },
    get waiting() {
      return gateWaiters.length;
    },
  };
  server.handle(TestEcho, (req) => req);
  server.handle(TestNote, (note) => void serverNotes.push(note.seq));
  server.handle(TestNotesSeen, () => ({ count: serverNotes.length, bytes: 0, lastSeq: serverNotes.at(-1) ?? -1 }));
  server.handle(TestMonOnly, () => ({ ok: true }));
  server.handle(TestOsdOnly, () => {});
  server.handle(Gate, async (req) => {
    if (!gateOpen) await new Promise<void>((resolve) => gateWaiters.push(resolve));
    return { n: req.n };
  });
  server.handle(Fail, async (req) => {
    if (req.how === 'nacre') throw new NacreError('no such pool', { code: 'ENOENT' });
    if (req.how === 'async') await Promise.resolve();
    throw new Error('boom');
  });
  server.handle(Strict, (req) => req);
  server.handle(Push, async (req, ctx) => {
    for (let i = 0; i < req.notes; i++) await ctx.conn.send(TestNote, { seq: i });
    const echoed = req.ask ? (await ctx.conn.request(TestEcho, { text: `hello ${ctx.peer}` })).text : null;
    return { echoed };
  });
  await server.start();
  const entity = opts.clientEntity ?? 'client.admin';
  const client = createMessenger(
    { entity, key: opts.clientKey ?? keyring.keyOf(entity)!, retry: { delayMsMin: 10, delayMsMax: 50 }, limits: opts.clientLimits ?? {} },
    { env: clientEnv.env, transport: net.transport() },
  );
  const clientNotes: number[] = [];
  client.handle(TestNote, (note) => void clientNotes.push(note.seq));
  client.handle(TestEcho, (req) => ({ text: `client got: ${req.text}` }));
  await client.start();
  const conn = client.connect(server.address!);
  // Also on failure: never leave sockets behind (a hung test process is worse than a failed one).
  t.teardown(async () => {
    gate.open();
    await client.stop();
    await server.stop();
  });
  return {
    keyring, server, client, conn, serverEnv, clientEnv, serverNotes, clientNotes, gate,
    async stop() {
      gate.open();
      await client.stop();
      await server.stop();
    },
  };
}

/** After stop(): nothing left — no connections, no messenger timers, no counted Env timers. */
function assertNoLeaks(t: Test, p: Pair): void {
  for (const [name, m, e] of [['server', p.server, p.serverEnv], ['client', p.client, p.clientEnv]] as const) {
    const s = m.stats();
    t.equal(s.connections, 0, `${name}: no connections left`);
    t.equal(s.timers, 0, `${name}: no messenger timers left`);
    t.equal(e.timers.active, 0, `${name}: no Env timers left`);
  }
}

export function messengerSuite(t: Test, makeNet: () => SuiteNet): void {
  t.test('request/reply, one-way, peer identity', async (t) => {
    const p = await makePair(t, makeNet());
    await p.conn.ready();
    t.equal(p.conn.peer, 'mon.a', 'client sees the server entity');
    const data = Buffer.from([1, 2, 3, 250]);
    const rep = await p.conn.request(TestEcho, { text: 'hello', data });
    t.same(rep, { text: 'hello', data }, 'echoed with binary data intact');
    t.ok(Buffer.isBuffer(rep.data), 'binary comes back as a Buffer');
    await p.conn.send(TestNote, { seq: 7 });
    const seen = await p.conn.request(TestNotesSeen, {});
    t.same(seen, { count: 1, bytes: 0, lastSeq: 7 }, 'one-way delivered before the later request');
    const inbound = p.server.connections();
    t.equal(inbound.length, 1);
    t.equal(inbound[0]!.peer, 'client.admin', 'server sees the authenticated client');
    t.equal(inbound[0]!.peerKind, 'client');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('attachments: big binary fields travel apart and come back intact, in order', async (t) => {
    const p = await makePair(t, makeNet(), { clientLimits: { inlineBytesMax: 1024 }, serverLimits: { inlineBytesMax: 1024 } });
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    const small = Buffer.from('inline');
    const rep = await p.conn.request(TestEcho, { text: 'big', data: big });
    t.ok(rep.data?.equals(big), 'a 300 KiB field round trip (attachment both ways)');
    const notes: Array<Promise<void>> = [];
    for (let seq = 0; seq < 50; seq++) notes.push(p.conn.send(TestNote, seq % 2 === 0 ? { seq, data: big } : { seq, data: small }));
    await Promise.all(notes);
    t.same(await p.conn.request(TestNotesSeen, {}), { count: 50, bytes: 0, lastSeq: 49 });
    t.same(p.serverNotes, Array.from({ length: 50 }, (_, i) => i), 'frames with and without attachments stay in order');
    const Multi = defineRequest<Record<string, unknown>, Record<string, unknown>>({ type: 'test.multi', senders: all });
    p.server.handle(Multi, (req) => req);
    const a = Buffer.alloc(5000, 1);
    const b = new Uint8Array(6000).fill(2);
    const nested = { inner: Buffer.alloc(7000, 3) };
    const got = await p.conn.request(Multi, { a, b, nested, n: 1 });
    t.ok(Buffer.isBuffer(got['a']) && (got['a'] as Buffer).equals(a), 'first attachment');
    t.ok(Buffer.isBuffer(got['b']) && (got['b'] as Buffer).equals(Buffer.from(b)), 'a Uint8Array field arrives as a Buffer');
    t.ok((got['nested'] as { inner: Buffer }).inner.equals(nested.inner), 'nested binary travels inline');
    t.equal(got['n'], 1);
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('ordering: one-ways and requests arrive in send order, both directions', async (t) => {
    const p = await makePair(t, makeNet());
    const count = 500;
    const replies: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) {
      void p.conn.send(TestNote, { seq: i });
      if (i % 50 === 0) replies.push(p.conn.request(TestEcho, { text: String(i) }));
    }
    await Promise.all(replies);
    const seen = await p.conn.request(TestNotesSeen, {});
    t.equal(seen.count, count, 'every note arrived');
    t.same(p.serverNotes, Array.from({ length: count }, (_, i) => i), 'in order');
    const pushed = await p.conn.request(Push, { notes: 200, ask: true });
    t.same(p.clientNotes, Array.from({ length: 200 }, (_, i) => i), 'server → client one-ways in order, before the reply');
    t.equal(pushed.echoed, 'client got: hello client.admin', 'server → client request answered by the client');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('errors travel with their code', async (t) => {
    const p = await makePair(t, makeNet());
    await t.rejects(p.conn.request(Fail, { how: 'nacre' }), { code: 'ENOENT', message: 'no such pool' }, 'NacreError code and message');
    await t.rejects(p.conn.request(Fail, { how: 'plain' }), { code: 'EIO', message: /internal error handling test\.fail: boom/ }, 'plain Error → EIO');
    await t.rejects(p.conn.request(Fail, { how: 'async' }), { code: 'EIO' }, 'async throw → EIO');
    await t.rejects(p.conn.request(Unhandled, {}), { code: 'ENOTSUP', message: 'mon.a does not handle test.unhandled' });
    await t.rejects(p.conn.request(Strict, { n: 99 }), { code: 'EINVAL', message: /n must be an integer in 0\.\.10/ }, 'payload checked by decode');
    t.same(await p.conn.request(Strict, { n: 3 }), { n: 3 }, 'connection still fine after refusals');
    const big = 2n ** 70n;
    await t.rejects(p.conn.request(TestEcho, { text: 'x', big } as never), { code: 'EINVAL' }, 'unencodable payload refused locally');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('timeout: ETIMEDOUT, nothing left pending, late reply ignored', async (t) => {
    const p = await makePair(t, makeNet());
    await p.conn.ready();
    const err = await p.conn.request(Gate, { n: 1 }, { timeoutMs: 30 }).catch((e: unknown) => e);
    t.ok(hasCode(err, 'ETIMEDOUT'), 'request timed out');
    t.match((err as Error).message, /test\.gate request to mon\.a .* timed out after 30 ms/);
    t.equal(p.conn.stats().pendingRequests, 0, 'no pending entry left');
    t.equal(p.conn.stats().timers, 1, 'only the keepalive timer remains');
    p.gate.open();
    await waitFor(() => p.server.stats().inboundInFlight === 0, 'server handler done');
    t.same(await p.conn.request(TestEcho, { text: 'after' }), { text: 'after' }, 'late reply did not disturb the connection');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('capabilities: a client may not send mon- or osd-internal messages', async (t) => {
    const p = await makePair(t, makeNet());
    await t.rejects(p.conn.request(TestMonOnly, {}), { code: 'EPERM', message: 'client.admin may not send test.mon_only (allowed: mon)' }, 'refused locally');
    await t.rejects(p.conn.request(MonOnlyLoose, {}), { code: 'EPERM', message: 'client.admin may not send test.mon_only (allowed: mon)' }, 'refused by the server');
    await p.conn.send(OsdOnlyLoose, { seq: 1 });
    await waitFor(() => p.clientEnv.logs.some((l) => /peer refused a one-way message/.test(l.msg)), 'client logs the refused one-way');
    const refusals = p.serverEnv.logs.filter((l) => /refused: client\.admin may not send/.test(l.msg));
    t.equal(refusals.length, 2, 'server logged both refusals');
    t.equal(refusals[0]!['peer'], 'client.admin');
    t.same(await p.conn.request(TestEcho, { text: 'still here' }), { text: 'still here' }, 'connection stays usable');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('a monitor may send mon-only messages', async (t) => {
    const p = await makePair(t, makeNet(), { clientEntity: 'mon.b' });
    t.same(await p.conn.request(TestMonOnly, {}), { ok: true });
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('authentication: wrong key and unknown entity are refused with one clear line', async (t) => {
    const p = await makePair(t, makeNet(), { clientKey: Buffer.alloc(32, 7) });
    const err = (await p.conn.ready().catch((e: unknown) => e)) as NacreError;
    t.equal(err.code, 'EPERM');
    t.equal(err.message, 'authentication failed for client.admin: bad key');
    t.notOk(err.message.includes('\n'), 'one line');
    t.equal(p.conn.state, 'failed', 'no retry with a wrong key');
    await t.rejects(p.conn.request(TestEcho, { text: 'x' }), { code: 'EPERM', message: 'authentication failed for client.admin: bad key' }, 'requests fail the same way');
    await waitFor(() => p.server.stats().connections === 0, 'server dropped the connection');
    t.ok(p.serverEnv.logs.some((l) => l.msg === 'authentication failed for client.admin: bad key'), 'server logged it');
    await p.stop();
    assertNoLeaks(t, p);

    const q = await makePair(t, makeNet(), { clientEntity: 'client.nobody', clientKey: Buffer.alloc(32, 1) });
    await t.rejects(q.conn.ready(), { code: 'EPERM', message: 'authentication failed for client.nobody: unknown entity' });
    await q.stop();
    assertNoLeaks(t, q);
  });

  t.test('expectPeer: refuse a server that is not who we wanted', async (t) => {
    const p = await makePair(t, makeNet());
    const other = p.client.connect(p.server.address!, { expectPeer: 'mon.b' });
    await t.rejects(other.ready(), { code: 'EPERM', message: 'authentication failed for client.admin: expected to reach mon.b, but mon.a answered' });
    const right = p.client.connect(p.server.address!, { expectPeer: 'mon.a' });
    await right.ready();
    t.equal(right.peer, 'mon.a');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('reconnect after the server restarts; queued frames survive', async (t) => {
    const net = makeNet();
    const p = await makePair(t, net);
    await p.conn.ready();
    const address = p.server.address!;
    let opens = 0;
    p.conn.onOpen(() => opens++);
    await p.server.stop();
    await waitFor(() => p.conn.state !== 'open', 'client noticed the loss');
    // Sent while disconnected: waits in the queue, goes out after the reconnect.
    const note = p.conn.send(TestNote, { seq: 42 });
    const pending = p.conn.request(TestEcho, { text: 'queued' });
    const env2 = testEnv(3);
    const server2 = createMessenger(
      { entity: 'mon.a', keyring: p.keyring, listen: `${address.host}:${address.port}`, vocabulary: testMessages },
      { env: env2.env, transport: net.transport() },
    );
    const notes2: number[] = [];
    server2.handle(TestEcho, (req) => req);
    server2.handle(TestNote, (n) => void notes2.push(n.seq));
    await server2.start();
    t.teardown(() => server2.stop());
    await note;
    t.same(await pending, { text: 'queued' }, 'request queued during the outage is answered');
    await waitFor(() => notes2.length === 1, 'note delivered after reconnect');
    t.same(notes2, [42]);
    t.equal(opens, 1, 'onOpen fired for the reconnect');
    await p.client.stop();
    await server2.stop();
    t.equal(env2.timers.active, 0, 'restarted server left no timers');
    t.equal(p.clientEnv.timers.active, 0, 'client left no timers');
  });

  t.test('retry policy: give up after attemptsMax with ECONNREFUSED', async (t) => {
    const p = await makePair(t, makeNet());
    const address = p.server.address!;
    await p.server.stop();
    const conn = p.client.connect(address, { retry: { attemptsMax: 3, delayMsMin: 1, delayMsMax: 5 } });
    const err = (await conn.ready().catch((e: unknown) => e)) as NacreError;
    t.equal(err.code, 'ECONNREFUSED');
    t.match(err.message, /^cannot connect to .*: connection refused \(gave up after 3 attempts\)$/);
    t.equal(conn.state, 'failed');
    await p.client.stop();
    t.equal(p.clientEnv.timers.active, 0);
  });

  t.test('backpressure: queues stay within their bounds while the receiver is stuck', async (t) => {
    const frameBytes = 64 * 1024;
    const clientLimits = { sendQueueBytesMax: 256 * 1024, socketBufferedBytesMax: 128 * 1024, sendWaitersMax: 4096, pendingRequestsMax: 4096 };
    const serverLimits = { inboundInFlightMax: 4 };
    const p = await makePair(t, makeNet(), { clientLimits, serverLimits });
    await p.conn.ready();
    const data = Buffer.alloc(frameBytes, 1);
    const count = 600; // ~38 MiB: more than kernel socket buffers and our queues hold together
    let maxQueued = 0;
    let maxServerInFlight = 0;
    const sample = (): void => {
      maxQueued = Math.max(maxQueued, p.conn.stats().queuedBytes);
      maxServerInFlight = Math.max(maxServerInFlight, p.server.stats().inboundInFlight);
    };
    const replies = Array.from({ length: count }, (_, n) => p.conn.request(Gate, { n, data }, { timeoutMs: 60_000 }));
    await waitFor(() => {
      sample();
      return p.conn.stats().sendWaiters > 0 && p.gate.waiting >= serverLimits.inboundInFlightMax;
    }, 'sender blocked');
    for (let i = 0; i < 20; i++) {
      sample();
      await new Promise((r) => setTimeout(r, 2));
    }
    const s = p.conn.stats();
    t.ok(s.sendWaiters > 0, `senders are waiting (${s.sendWaiters})`);
    t.ok(maxQueued <= clientLimits.sendQueueBytesMax, `send queue stayed ≤ sendQueueBytesMax (max seen ${maxQueued})`);
    t.ok(s.socketBufferedBytes <= clientLimits.socketBufferedBytesMax + frameBytes + 1024, `socket buffer bounded (${s.socketBufferedBytes})`);
    // ws may still dispatch the frames of the socket read that hit the limit.
    t.ok(maxServerInFlight <= serverLimits.inboundInFlightMax + 16, `server in-flight bounded (max seen ${maxServerInFlight})`);
    p.gate.open();
    const results = await Promise.all(replies);
    t.same(results.map((r) => r.n), Array.from({ length: count }, (_, n) => n), 'every request answered once released');
    t.equal(p.conn.stats().queuedBytes, 0);
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('limits: pendingRequestsMax and sendWaitersMax refuse with EAGAIN', async (t) => {
    const p = await makePair(t, makeNet(), { clientLimits: { pendingRequestsMax: 2 } });
    await p.conn.ready();
    const a = p.conn.request(Gate, { n: 1 });
    const b = p.conn.request(Gate, { n: 2 });
    await t.rejects(p.conn.request(Gate, { n: 3 }), { code: 'EAGAIN', message: /pendingRequestsMax=2/ });
    p.gate.open();
    t.same(await Promise.all([a, b]), [{ n: 1 }, { n: 2 }]);
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('stop() fails what is pending with ESHUTDOWN and leaves nothing behind', async (t) => {
    const p = await makePair(t, makeNet());
    await p.conn.ready();
    const pending = p.conn.request(Gate, { n: 1 }).catch((e: unknown) => e);
    await waitFor(() => p.gate.waiting === 1, 'request reached the handler');
    await p.client.stop();
    t.ok(hasCode(await pending, 'ESHUTDOWN'), 'pending request failed with ESHUTDOWN');
    await t.rejects(p.conn.request(TestEcho, { text: 'x' }), { code: 'ESHUTDOWN' }, 'closed connection refuses new requests');
    t.throws(() => p.client.connect(p.server.address!), { code: 'ESHUTDOWN' });
    await waitFor(() => p.server.stats().connections === 0, 'server saw the close');
    await p.stop();
    assertNoLeaks(t, p);
  });

  t.test('server side: connection closed by the client, handlers of the lost connection finish quietly', async (t) => {
    const p = await makePair(t, makeNet());
    await p.conn.ready();
    void p.conn.request(Gate, { n: 1 }).catch(() => {});
    await waitFor(() => p.gate.waiting === 1, 'handler running');
    p.conn.close();
    await waitFor(() => p.server.stats().connections === 0, 'server dropped the connection');
    p.gate.open();
    await waitFor(() => p.server.stats().inboundInFlight === 0, 'handler finished');
    await p.stop();
    assertNoLeaks(t, p);
  });
}

