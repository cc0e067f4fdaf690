/**
 * The messenger on injected time only (DESIGN §3): MemoryNetwork + VirtualTime, no wall clock.
 * Timeouts fire exactly at their virtual deadline, reconnect attempts follow the backoff policy,
 * and two runs with the same seed make exactly the same attempts at the same virtual times.
 */
import t from 'tap';
import { Prng, silentLogger, seedFromEnv, type Env } from '@nacre/util';
import { MemoryNetwork, createMessenger, type Address, type DialOptions, type Link, type ListenOptions, type Listener, type Transport } from '@nacre/msgr';
import { TestEcho, testMessages } from '@nacre/msgr/testing';
import { VirtualTime } from '@nacre/msgr/testing/virtual-time';
import { defineRequest, ENTITY_KINDS } from '@nacre/proto';
import { testKeyring } from './helpers.js';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

const Never = defineRequest<Record<string, never>, never>({ type: 'test.never', senders: ENTITY_KINDS });

/** Records the virtual time of every dial. */
class RecordingTransport implements Transport {
  readonly dials: number[] = [];
  constructor(private readonly inner: Transport, private readonly vt: VirtualTime) {}
  listen(address: Address, opts: ListenOptions): Promise<Listener> {
    return this.inner.listen(address, opts);
  }
  dial(address: Address, opts: DialOptions): Promise<Link> {
    this.dials.push(this.vt.now);
    return this.inner.dial(address, opts);
  }
}

/** Await `p` while advancing virtual time (what it waits for may be a virtual timer). */
async function during<T>(vt: VirtualTime, p: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  const r = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < limitMs && !done; i++) await vt.run(1);
  return r;
}

async function scenario(runSeed: number): Promise<{ dials: number[]; timedOutAt: number; log: string[] }> {
  const vt = new VirtualTime();
  const env = (n: number): Env => ({ clock: vt.clock, timers: vt, random: new Prng(runSeed + n), logger: silentLogger() });
  const net = new MemoryNetwork({ timers: vt });
  const keyring = testKeyring();
  const log: string[] = [];
  const makeServer = () => {
    const s = createMessenger({ entity: 'mon.a', keyring, listen: 'mon-a:6789', vocabulary: testMessages }, { env: env(1), transport: net.transport() });
    s.handle(TestEcho, (req) => req);
    s.handle(Never, () => new Promise<never>(() => {}));
    return s;
  };
  const clientTransport = new RecordingTransport(net.transport(), vt);
  const client = createMessenger(
    { entity: 'client.admin', key: keyring.keyOf('client.admin')!, retry: { delayMsMin: 100, delayMsMax: 1000 } },
    { env: env(2), transport: clientTransport },
  );
  let server = makeServer();
  await server.start();
  await client.start();
  const conn = client.connect('mon-a:6789');
  await vt.run(1);
  log.push(`t=${vt.now} ${conn.state}`);

  const start = vt.now;
  let timedOutAt = -1;
  void conn.request(Never, {}, { timeoutMs: 500 }).catch((err: { code: string }) => {
    timedOutAt = vt.now - start;
    log.push(`timeout ${err.code}`);
  });
  await vt.run(499);
  log.push(`t+499 timed out: ${timedOutAt >= 0}`);
  await vt.run(2);

  await during(vt, server.stop());
  await vt.run(5000);
  log.push(`server down, client ${conn.state}, ${clientTransport.dials.length} dials`);
  server = makeServer();
  await server.start();
  await vt.run(1100);
  log.push(`server back, client ${conn.state}`);
  const rep = await during(vt, conn.request(TestEcho, { text: 'again' }));
  log.push(`echo ${JSON.stringify(rep)}`);
  await during(vt, client.stop());
  await during(vt, server.stop());
  await vt.run(10);
  log.push(`timers left ${vt.pending}`);
  return { dials: clientTransport.dials, timedOutAt, log };
}

t.test('messenger on virtual time: exact timeouts, policy backoff, reproducible', async (t) => {
  const a = await scenario(seed);
  t.equal(a.log[0], 't=1 open', 'connected within the first virtual millisecond');
  t.equal(a.timedOutAt, 500, 'ETIMEDOUT exactly at the 500 ms deadline');
  t.equal(a.log[1], 't+499 timed out: false', 'not a millisecond early');
  t.match(a.log.join('\n'), /server back, client open/);
  t.match(a.log.join('\n'), /echo \{"text":"again"\}/);
  t.equal(a.log.at(-1), 'timers left 0', 'no timer left behind');

  // Reconnect attempts while the server was down follow the policy: delay k within [0.5, 1] × min(100·2^(k-1), 1000).
  const gaps = a.dials.slice(2).map((d, i) => d - a.dials[i + 1]!);
  t.ok(gaps.length >= 5, `several attempts while down (${gaps.length})`);
  gaps.slice(0, 5).forEach((gap, i) => {
    const base = Math.min(100 * 2 ** i, 1000);
    t.ok(gap >= Math.floor(base / 2) && gap <= base, `attempt ${i + 2}: waited ${gap} ms, policy allows ${base / 2}..${base}`);
  });

  const b = await scenario(seed);
  t.same(b.dials, a.dials, 'same seed: the same attempts at the same virtual times');
  t.same(b.log, a.log);
});
