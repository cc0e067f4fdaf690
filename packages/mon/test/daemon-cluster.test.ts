/**
 * Three MonitorDaemons in one process (memory network, real timers, real level stores): the
 * cluster bootstraps, commands commit and are visible on every monitor, a crashed leader is
 * replaced and commands keep working, the old leader catches up when it comes back (also through
 * a full-state sync when history was trimmed), and a minority commits nothing.
 */
import t from 'tap';
import { createMessenger } from '@nacre/msgr';
import { MonForward, MonForwardReport, MonPaxos } from '@nacre/mon';
import { MonCommandMsg } from '@nacre/proto';
import { hasCode } from '@nacre/util';
import { Harness, envFor, sleep, waitFor } from './daemon-harness.js';

const fast = { leaseMs: 500, electionTimeoutMs: 500, tickIntervalMs: 200 };

t.test('bootstrap, commands on every monitor, subscriptions', async (t) => {
  const h = await Harness.create({ options: fast });
  t.teardown(() => h.close());
  await h.startAll();
  const leader = await h.waitForQuorum(['a', 'b', 'c']);
  t.equal(leader.name, 'a', 'the lowest rank leads');
  await waitFor(() => h.running().every((m) => m.info().osdmapEpoch === 1), 'bootstrap committed everywhere');

  const mc = await h.client();
  const created = await mc.command('osd pool create', { pool: 'rbd', pg_num: 8, size: 1 });
  t.match(created.data, { pool: 'rbd' });
  const map = await mc.subscribeOsdMap();
  t.ok(map.epoch >= 2, 'subscription delivers the map with the pool');
  await waitFor(() => h.running().every((m) => m.info().osdmapEpoch === 2), 'epoch 2 on every monitor');
  for (const m of h.running()) {
    t.same([...m.state.osdmap.pools.values()].map((p) => p.name), ['rbd'], `mon.${m.name} has the pool`);
  }
  const ls = await mc.command('osd pool ls', {});
  t.same(ls.data, ['rbd']);
  const status = await mc.command('status', {});
  t.match(status.data, { quorum: ['a', 'b', 'c'], leader: 'a' });

  // Many commands at once are batched into few proposals.
  const before = leader.info().proposals;
  await Promise.all(Array.from({ length: 20 }, (_, i) => mc.command('osd pool create', { pool: `p${i}`, pg_num: 4, size: 1 })));
  const used = leader.info().proposals - before;
  t.ok(used < 20, `20 pool creates took ${used} proposals`);
  await mc.waitForEpoch(leader.state.osdmap.epoch, 5_000);
  t.equal(mc.osdmap!.pools.size, 21, 'the subscriber saw every pool');

  await t.rejects(mc.command('osd pool create', { pool: 'bad name!', pg_num: 8 }), { code: 'EINVAL' });
  await t.rejects(mc.command('no such command', {}), { code: 'EINVAL' });
});

t.test('leader crash: new leader, commands work; old leader rejoins and catches up', async (t) => {
  const h = await Harness.create({ options: fast });
  t.teardown(() => h.close());
  await h.startAll();
  await h.waitForQuorum(['a', 'b', 'c']);
  const mc = await h.client();
  await mc.command('osd pool create', { pool: 'one', pg_num: 4, size: 1 });

  const killedAt = performance.now();
  await h.crash('a');
  await mc.command('osd pool create', { pool: 'two', pg_num: 4, size: 1 });
  const failoverMs = performance.now() - killedAt;
  t.comment(`pool create succeeded ${Math.round(failoverMs)} ms after the leader crashed`);
  const newLeader = await h.waitForQuorum(['b', 'c']);
  t.equal(newLeader.name, 'b');

  await mc.command('osd pool create', { pool: 'three', pg_num: 4, size: 1 });
  const epoch = newLeader.state.osdmap.epoch;
  await h.start('a');
  await h.waitForQuorum(['a', 'b', 'c']);
  await waitFor(() => h.mons.get('a')!.info().osdmapEpoch === epoch, 'mon.a caught up');
  t.same([...h.mons.get('a')!.state.osdmap.pools.values()].map((p) => p.name).sort(), ['one', 'three', 'two']);
  t.equal(h.mons.get('a')!.state.version, h.mons.get('b')!.state.version, 'same Paxos version');
});

t.test('a restarted monitor behind trimmed history gets a full-state sync', async (t) => {
  const h = await Harness.create({ options: { ...fast, retainedVersionsMax: 3 } });
  t.teardown(() => h.close());
  await h.startAll();
  await h.waitForQuorum(['a', 'b', 'c']);
  const mc = await h.client();
  await h.crash('c');
  for (let i = 0; i < 10; i++) await mc.command('osd pool create', { pool: `trim${i}`, pg_num: 2, size: 1 });
  const leader = h.leader()!;
  t.ok(leader.info().firstCommitted > 2, `history trimmed (first_committed ${leader.info().firstCommitted})`);
  await h.start('c');
  await h.waitForQuorum(['a', 'b', 'c']);
  await waitFor(() => h.mons.get('c')!.info().lastCommitted === leader.info().lastCommitted, 'mon.c caught up');
  t.equal(h.mons.get('c')!.state.osdmap.pools.size, 10);
  t.equal(h.mons.get('c')!.info().snapshotsInstalled, 1, 'through a snapshot');
  t.equal(h.mons.get('c')!.state.osdmap.epoch, leader.state.osdmap.epoch);
  // It serves the state too: kill the others' majority partner and read through c.
  await h.crash('a');
  await h.waitForQuorum(['b', 'c']);
  await mc.command('osd pool create', { pool: 'after-sync', pg_num: 2, size: 1 });
  await waitFor(() => h.mons.get('c')!.state.osdmap.pools.size === 11, 'c applies new commits after the snapshot');
});

t.test('2 of 3 down: mutating commands fail with EAGAIN/ETIMEDOUT, nothing half-applied; quorum returns with the committed state', async (t) => {
  const h = await Harness.create({ options: fast });
  t.teardown(() => h.close());
  await h.startAll();
  await h.waitForQuorum(['a', 'b', 'c']);
  const mc = await h.client({ commandTimeoutMs: 3_000, attemptTimeoutMs: 1_000 });
  await mc.command('osd pool create', { pool: 'kept', pg_num: 4, size: 1 });
  await waitFor(() => h.mons.get('c')!.state.osdmap.pools.size === 1, 'c has the pool');
  const versionBefore = h.mons.get('c')!.state.version;
  await h.crash('a');
  await h.crash('b');
  const started = performance.now();
  const err = await mc.command('osd pool create', { pool: 'lost', pg_num: 4, size: 1 }).then(() => null, (e: unknown) => e);
  t.ok(err !== null && (hasCode(err, 'ETIMEDOUT') || hasCode(err, 'EAGAIN')), `failed: ${(err as Error)?.message}`);
  t.ok(performance.now() - started < 5_000, 'within the client timeout');
  t.match((err as Error).message, /no quorum|did not complete/);
  const c = h.mons.get('c')!;
  t.equal(c.info().role === 'leader' || c.info().role === 'peon', false, 'the lone monitor has no quorum');
  await sleep(200);
  t.equal(c.state.version, versionBefore, 'nothing new applied on c');

  await h.start('a');
  await h.start('b');
  await h.waitForQuorum(['a', 'b', 'c']);
  const mc2 = await h.client();
  const ls = await mc2.command('osd pool ls', {});
  t.same(ls.data, ['kept'], 'exactly the committed state: the refused pool does not exist');
  for (const m of h.running()) t.same([...m.state.osdmap.pools.values()].map((p) => p.name), ['kept'], `mon.${m.name}`);
});

t.test('bad bytes from peers are refused or dropped; the monitors keep serving', async (t) => {
  const h = await Harness.create({ options: fast });
  t.teardown(() => h.close());
  await h.startAll();
  await h.waitForQuorum(['a', 'b', 'c']);
  await h.crash('c');
  await h.waitForQuorum(['a', 'b']);

  // A client may not speak the monitors' internal language.
  const client = createMessenger({ entity: 'client.admin', key: h.keyring.keyOf('client.admin')! }, { env: envFor('client', 'silent', 7), transport: h.net.transport() });
  await client.start();
  t.teardown(() => client.stop());
  const cconn = client.connect(h.addr('a'));
  await t.rejects(cconn.request(MonForward, { origin: 'client.admin', op: 'command', payload: { prefix: 'osd pool create', args: { pool: 'x' } } }), { code: 'EPERM' });

  // A monitor (mon.c's key, c itself is down) sending malformed things.
  const impostor = createMessenger({ entity: 'mon.c', key: h.keyring.keyOf('mon.c')! }, { env: envFor('mon.c', 'silent', 8), transport: h.net.transport() });
  await impostor.start();
  t.teardown(() => impostor.stop());
  const conn = impostor.connect(h.addr('a'), { expectPeer: 'mon.a' });
  await conn.ready();
  for (const message of [
    { op: 'nonsense', epoch: 1 },
    { op: 'begin', epoch: 'two', pn: 1, version: 1, value: 'x', lastCommitted: 0 },
    { op: 'victory', epoch: 1_000_000, quorum: [0, 7, 1], collect: { pn: 1, firstCommitted: 1, lastCommitted: 0 } },
    { op: 'commit', epoch: 4, pn: -1, version: 1e300, value: new Uint8Array(1) },
  ]) await conn.send(MonPaxos, { message: message as Record<string, unknown> });
  await t.rejects(conn.request(MonForward, { origin: 'client.admin', op: 'command', payload: { prefix: '', args: {} } } as never), { code: 'EINVAL' });
  await t.rejects(conn.request(MonForward, { origin: 'osd.1', op: 'osd_boot', payload: { osd: 2, addr: 'h:1', host: 'h', weight: 1, uuid: 'u' } }), { code: 'EPERM' }, 'identity still checked on forwarded requests');
  await conn.send(MonForwardReport, { origin: 'osd.1', op: 'pg_stats', payload: { osd: 1 } } as never);
  await t.rejects(conn.request(MonCommandMsg, { prefix: 'osd pool create', args: { pool: 'via-impostor', pg_num: 'lots' } }), { code: 'EINVAL' });

  const mc = await h.client();
  await mc.command('osd pool create', { pool: 'still-fine', pg_num: 4, size: 1 });
  t.same(h.running().map((m) => m.status), ['running', 'running'], 'nobody crashed');
  t.same([...h.leader()!.state.osdmap.pools.values()].map((p) => p.name), ['still-fine']);
});

t.test('a single monitor leads itself and keeps its state across a restart', async (t) => {
  const h = await Harness.create({ names: ['a'], options: fast });
  t.teardown(() => h.close());
  await h.start('a');
  await h.waitForQuorum(['a']);
  const mc = await h.client();
  await mc.command('osd pool create', { pool: 'solo', pg_num: 4, size: 1 });
  const version = h.mons.get('a')!.state.version;
  await h.crash('a');
  await h.start('a');
  await h.waitForQuorum(['a']);
  t.equal(h.mons.get('a')!.state.version, version, 'same version after the restart');
  t.same([...h.mons.get('a')!.state.osdmap.pools.values()].map((p) => p.name), ['solo']);
  await mc.command('osd pool create', { pool: 'solo2', pg_num: 4, size: 1 });
  t.equal(h.mons.get('a')!.state.osdmap.pools.size, 2);
});
