/**
 * MonClient against fake monitors: hunting and failover, command retries with one cmdId, the
 * OSDMap subscription (in-order incrementals, gaps → fetch, far behind → full map), waitForEpoch,
 * a refused key, and no timers left behind.
 */
import t from 'tap';
import { emptyMap } from '@nacre/crush';
import { createOsdMap, type OsdMap, type Pool } from '@nacre/osdmap';
import { NacreError, hasCode, realTimers } from '@nacre/util';
import { MonOsdBeacon, MonOsdBoot } from '@nacre/proto';
import { Keyring, MemoryNetwork, MonClient, createMessenger, type Messenger } from '@nacre/msgr';
import { FakeMonCluster, type FakeMonitor } from '@nacre/msgr/testing';
import { testEnv, waitFor, type TestEnv } from './helpers.js';

const fsid = '11111111-2222-3333-4444-555555555555';

function pool(id: number, name: string): Pool {
  return {
    id, name, type: 'replicated', size: 1, minSize: 1, pgNum: 8, pgpNum: 8, crushRule: 0, hashpspool: true,
    objectHash: 'rjenkins', snapSeq: 0, lastChangeEpoch: 1,
  };
}

function initialMap(): OsdMap {
  return createOsdMap({ fsid, crush: emptyMap(), createdMs: 0 });
}

interface Rig {
  te: TestEnv;
  keyring: Keyring;
  cluster: FakeMonCluster;
  mons: FakeMonitor[];
  msgr: Messenger;
  net: MemoryNetwork;
  client(opts?: Partial<ConstructorParameters<typeof MonClient>[0]>): MonClient;
  close(): Promise<void>;
}

async function rig(monCount: number, opts: { clientKey?: Buffer } = {}): Promise<Rig> {
  const te = testEnv(7);
  const net = new MemoryNetwork({ timers: realTimers });
  const keyring = new Keyring();
  const adminKey = keyring.add('client.admin');
  const cluster = new FakeMonCluster(initialMap(), te.env);
  const mons: FakeMonitor[] = [];
  for (let i = 0; i < monCount; i++) {
    const id = String.fromCharCode(97 + i);
    keyring.add(`mon.${id}`);
    mons.push(await cluster.addMonitor(id, { listen: `mon-${id}:1`, keyring, transport: net.transport() }));
  }
  const msgr = createMessenger({ entity: 'client.admin', key: opts.clientKey ?? adminKey }, { env: te.env, transport: net.transport() });
  await msgr.start();
  const clients: MonClient[] = [];
  return {
    te, keyring, cluster, mons, msgr, net,
    client: (o = {}) => {
      const mc = new MonClient(
        { mons: mons.map((m) => m.address), fsid, huntConnectTimeoutMs: 300, attemptTimeoutMs: 1000, mapPollIntervalMs: 100, ...o },
        { env: te.env, messenger: msgr },
      );
      clients.push(mc);
      return mc;
    },
    close: async () => {
      for (const c of clients) await c.stop();
      await msgr.stop();
      for (const m of mons) await m.stop();
    },
  };
}

t.test('subscribe: full map first, then every epoch in order', async (t) => {
  const r = await rig(1);
  t.teardown(r.close);
  r.cluster.commit({ newPools: [pool(1, 'rbd')] });
  const mc = r.client();
  await mc.start();
  const seen: number[] = [];
  mc.on('map', (m, prev) => seen.push(m.epoch, prev?.epoch ?? 0));
  const first = await mc.subscribeOsdMap();
  t.equal(first.epoch, 2, 'first map is the current one');
  t.equal(first.pools.get(1)?.name, 'rbd');
  for (let i = 0; i < 5; i++) r.cluster.commit({ newPools: [pool(2 + i, `p${i}`)] });
  await mc.waitForEpoch(7, 2000);
  t.same(seen, [2, 0, 3, 2, 4, 3, 5, 4, 6, 5, 7, 6], 'each epoch published once, in order');
  t.equal(mc.osdmap?.pools.size, 6);
  t.equal(mc.osdmap!.fsid, fsid);
});

t.test('a dropped push is a gap: the client fetches the missing incrementals', async (t) => {
  const r = await rig(1);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  await mc.subscribeOsdMap();
  const seen: number[] = [];
  mc.on('map', (m) => seen.push(m.epoch));
  r.cluster.droppedPushes.add(2);
  r.cluster.droppedPushes.add(3);
  r.cluster.commit({ newPools: [pool(1, 'a')] });
  r.cluster.commit({ newPools: [pool(2, 'b')] });
  r.cluster.commit({ newPools: [pool(3, 'c')] }); // pushed alone: epoch 4 does not follow 1
  await waitFor(() => mc.epoch === 4, 'epoch 4');
  t.same(seen, [2, 3, 4], 'missing epochs fetched and applied in order, none skipped');
  t.same([...mc.osdmap!.pools.keys()].sort(), [1, 2, 3]);
});

t.test('a subscriber further behind than the kept incrementals gets a full map', async (t) => {
  const r = await rig(1);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  await mc.subscribeOsdMap();
  r.cluster.incrementalsKept = 3;
  for (let e = 2; e <= 10; e++) r.cluster.droppedPushes.add(e);
  for (let i = 0; i < 9; i++) r.cluster.commit({ newPools: [pool(i + 1, `p${i}`)] });
  const m = await mc.waitForEpoch(10, 3000);
  t.equal(m.epoch, 10);
  t.equal(m.pools.size, 9, 'full map has everything');
});

t.test('failover: the session moves when its monitor dies; subscription renewed', async (t) => {
  const r = await rig(3);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  await mc.subscribeOsdMap();
  const first = mc.sessionInfo!;
  t.ok(first, 'session open');
  const victim = r.mons.find((m) => m.address === first.addr)!;
  await victim.stop();
  await waitFor(() => mc.sessionInfo !== null && mc.sessionInfo.addr !== first.addr, 'new session');
  t.not(mc.sessionInfo!.addr, first.addr, 'moved to another monitor');
  await waitFor(() => r.mons.some((m) => m !== victim && m.subscriberCount > 0), 'resubscribed');
  r.cluster.commit({ newPools: [pool(1, 'after')] });
  await mc.waitForEpoch(2, 2000);
  t.equal(mc.osdmap?.pools.get(1)?.name, 'after');
  const reply = await mc.command('status', {}, { timeoutMs: 2000 });
  t.match(reply.text, /osdmap e2/);
  await victim.start();
});

t.test('all monitors down then one back: hunting keeps going until the deadline', async (t) => {
  const r = await rig(2);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  for (const m of r.mons) await m.stop();
  const err = await mc.command('status', {}, { timeoutMs: 400 }).catch((e: unknown) => e);
  t.ok(hasCode(err, 'ETIMEDOUT'), 'times out with every monitor down');
  t.match((err as Error).message, /mon command 'status' did not complete within 400 ms/);
  const pending = mc.command('status', {}, { timeoutMs: 5000 });
  await r.mons[1]!.start();
  const reply = await pending;
  t.match(reply.text, /osdmap/, 'answered once a monitor came back');
});

t.test('EAGAIN: retried on another monitor with the same cmdId until it succeeds', async (t) => {
  const r = await rig(3);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  let created = 0;
  r.cluster.commandHandlers.set('osd pool create', () => ({ data: { n: ++created }, text: 'created' }));
  r.cluster.failNextCommands('EAGAIN', 2);
  const reply = await mc.command('osd pool create', { pool: 'x', pg_num: 8 }, { timeoutMs: 5000 });
  t.same(reply.data, { n: 1 });
  const got = r.cluster.commandsReceived.filter((c) => c.prefix === 'osd pool create');
  t.equal(got.length, 3, 'two failures, one success');
  t.equal(new Set(got.map((c) => c.cmdId)).size, 1, 'one cmdId across attempts');
  t.ok(got[0]!.cmdId!.startsWith('client.admin:'), 'cmdId names the entity');
  t.ok(new Set(got.map((c) => c.monitor)).size >= 2, 'moved between monitors');
});

t.test('a resent command with the same cmdId is answered, not applied twice', async (t) => {
  const r = await rig(1);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  let applied = 0;
  r.cluster.commandHandlers.set('osd pool create', () => ({ data: { n: ++applied }, text: '' }));
  // The reply is lost: the monitor applies the command, then the session drops before it answers.
  r.cluster.commandDelayMs = 150;
  const p = mc.command('osd pool create', { pool: 'y' }, { timeoutMs: 5000 });
  setTimeout(() => {
    for (const c of r.mons[0]!.messenger.connections()) c.close('test drops the link');
  }, 50);
  const reply = await p;
  t.same(reply.data, { n: 1 });
  t.equal(applied, 1, 'applied once');
  t.ok(r.cluster.commandsReceived.length >= 2, 'it was resent');
});

t.test('no quorum: one clear ETIMEDOUT line within the timeout', async (t) => {
  const r = await rig(3);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  r.cluster.quorum = false;
  const start = performance.now();
  const err = await mc.command('osd pool create', { pool: 'z' }, { timeoutMs: 700 }).catch((e: unknown) => e);
  const tookMs = performance.now() - start;
  t.ok(hasCode(err, 'ETIMEDOUT'));
  t.match((err as Error).message, /^mon command 'osd pool create' did not complete within 700 ms: .*no quorum/);
  t.notMatch((err as Error).message, /\n/, 'one line');
  t.ok(tookMs < 1500, `gave up near the deadline (${Math.round(tookMs)} ms)`);
});

t.test('errors other than EAGAIN are returned at once', async (t) => {
  const r = await rig(2);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  const err = await mc.command('no such thing', {}).catch((e: unknown) => e);
  t.ok(hasCode(err, 'EINVAL'));
  t.equal(r.cluster.commandsReceived.length, 1, 'not retried');
});

t.test('wrong key: start fails with EPERM and one line', async (t) => {
  const bad = Buffer.alloc(32, 7);
  const r = await rig(2, { clientKey: bad });
  t.teardown(r.close);
  const mc = r.client();
  const err = await mc.start({ timeoutMs: 3000 }).catch((e: unknown) => e);
  t.ok(hasCode(err, 'EPERM'), `EPERM (${(err as Error).message})`);
  t.match((err as Error).message, /authentication refused/);
  t.equal(mc.status, 'stopped');
});

t.test('waitForEpoch: times out clearly; resolves when the epoch arrives', async (t) => {
  const r = await rig(1);
  t.teardown(r.close);
  const mc = r.client();
  await mc.start();
  await mc.subscribeOsdMap();
  const err = await mc.waitForEpoch(5, 200).catch((e: unknown) => e);
  t.ok(hasCode(err, 'ETIMEDOUT'));
  t.match((err as Error).message, /no OSDMap epoch >= 5 within 200 ms \(have 1\)/);
  // Pushes lost entirely: polling still gets it.
  for (let e = 2; e <= 3; e++) r.cluster.droppedPushes.add(e);
  const waiting = mc.waitForEpoch(3, 3000);
  r.cluster.commit({ newPools: [pool(1, 'a')] });
  r.cluster.commit({ newPools: [pool(2, 'b')] });
  t.equal((await waiting).epoch, 3);
});

t.test('maps of another cluster are refused', async (t) => {
  const te = testEnv(3);
  const net = new MemoryNetwork({ timers: realTimers });
  const keyring = new Keyring();
  const key = keyring.add('client.admin');
  keyring.add('mon.a');
  const other = new FakeMonCluster(createOsdMap({ fsid: 'other', crush: emptyMap(), createdMs: 0 }), te.env);
  const mon = await other.addMonitor('a', { listen: 'mon-a:1', keyring, transport: net.transport() });
  const msgr = createMessenger({ entity: 'client.admin', key }, { env: te.env, transport: net.transport() });
  await msgr.start();
  const mc = new MonClient({ mons: [mon.address], fsid }, { env: te.env, messenger: msgr });
  t.teardown(async () => {
    await mc.stop();
    await msgr.stop();
    await mon.stop();
  });
  await mc.start();
  const err = await mc.subscribeOsdMap({ timeoutMs: 300 }).catch((e: unknown) => e);
  t.ok(hasCode(err, 'ETIMEDOUT'), 'no map accepted');
  t.ok(te.logs.some((l) => /another cluster/.test(l.msg)), 'logged');
});

t.test('stop: waiters fail with ESHUTDOWN, no timers left', async (t) => {
  const r = await rig(2);
  const baseline = r.te.timers.active;
  const mc = r.client();
  await mc.start();
  await mc.subscribeOsdMap();
  const waiting = mc.waitForEpoch(100, 10_000);
  await mc.stop();
  const err = await waiting.catch((e: unknown) => e);
  t.ok(hasCode(err, 'ESHUTDOWN'));
  await r.close();
  await waitFor(() => r.te.timers.active <= baseline, 'timers released');
  t.ok(r.te.timers.active <= baseline, `timers back to baseline (${r.te.timers.active} <= ${baseline})`);
  const after = await mc.command('status').catch((e: unknown) => e);
  t.ok(hasCode(after, 'ESHUTDOWN'), 'commands after stop fail');
});

t.test('request() and send() for OSD messages: retried across monitors, one-way delivered', async (t) => {
  const te = testEnv(11);
  const net = new MemoryNetwork({ timers: realTimers });
  const keyring = new Keyring();
  const osdKey = keyring.add('osd.0');
  const cluster = new FakeMonCluster(initialMap(), te.env);
  const mons: FakeMonitor[] = [];
  for (const id of ['a', 'b']) {
    keyring.add(`mon.${id}`);
    mons.push(await cluster.addMonitor(id, { listen: `mon-${id}:1`, keyring, transport: net.transport() }));
  }
  let boots = 0;
  const beacons: number[] = [];
  for (const m of mons) {
    m.messenger.handle(MonOsdBoot, (req) => {
      if (++boots === 1) throw new NacreError('electing', { code: 'EAGAIN' });
      return { epoch: 7 + req.osd };
    });
    m.messenger.handle(MonOsdBeacon, (req) => {
      beacons.push(req.epoch);
    });
  }
  const msgr = createMessenger({ entity: 'osd.0', key: osdKey }, { env: te.env, transport: net.transport() });
  await msgr.start();
  const mc = new MonClient({ mons: mons.map((m) => m.address), huntConnectTimeoutMs: 300 }, { env: te.env, messenger: msgr });
  t.teardown(async () => {
    await mc.stop();
    await msgr.stop();
    for (const m of mons) await m.stop();
  });
  await mc.start();
  const reply = await mc.request(MonOsdBoot, { osd: 0, addr: '127.0.0.1:1', host: 'h', weight: 0x10000, uuid: 'u' }, { timeoutMs: 3000 });
  t.same(reply, { epoch: 7 });
  t.equal(boots, 2, 'EAGAIN retried');
  await mc.send(MonOsdBeacon, { osd: 0, epoch: 5 });
  await waitFor(() => beacons.length === 1, 'beacon');
  t.same(beacons, [5]);
  const e = await mc.command('status').catch((err: unknown) => err);
  t.ok(hasCode(e, 'EPERM'), 'an OSD may not send mon.command');
});
