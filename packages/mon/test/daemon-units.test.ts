/**
 * The daemon's small parts on their own: group commit in the persist queue (order, grouping,
 * fatal store errors), the core's timers (replace, cancel, fire early), the command line and
 * option validation, and the store's read-back checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  MonStore, PersistQueue, STORE_KEYS, loadMonStore, mkfsMonitor, resolveMonitorDaemonOptions, type MonStoreOp,
} from '@nacre/mon';
import { CoreTimers } from '@nacre/mon/daemon/core-timers';
import { parseMonArgs, parseMonmapFlag } from '@nacre/mon/daemon/daemon-args';
import { AssertionFailure, realTimers } from '@nacre/util';
import { sleep } from './daemon-harness.js';

t.test('persist queue: in order, grouped while a write is in flight, fatal on a store error', async (t) => {
  const writes: string[][] = [];
  const durable: number[] = [];
  let release: (() => void) | null = null;
  const q = new PersistQueue({
    write: (ops) => {
      writes.push(ops.map((o) => o.key));
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    durable: (id) => durable.push(id),
    fatal: () => t.fail('no fatal error expected'),
  });
  const job = (id: number): { persistId: number; ops: MonStoreOp[] } => ({ persistId: id, ops: [{ op: 'put', key: `k${id}`, value: id }] });
  q.enqueue(job(1));
  q.enqueue(job(2));
  q.enqueue(job(3));
  t.same(writes, [['k1']], 'the first write goes alone');
  release!();
  await sleep(1);
  t.same(durable, [1]);
  t.same(writes, [['k1'], ['k2', 'k3']], 'the waiting ones go as one batch');
  release!();
  await sleep(1);
  t.same(durable, [1, 3], 'reported with the id of its last job');
  t.equal(q.batchesWritten, 2);
  t.equal(q.jobsWritten, 3);
  t.throws(() => q.enqueue(job(3)), AssertionFailure, 'ids only go up');

  let fatal: Error | null = null;
  const failing = new PersistQueue({
    write: () => Promise.reject(new Error('disk on fire')),
    durable: () => t.fail('nothing is durable'),
    fatal: (err) => {
      fatal = err;
    },
  });
  failing.enqueue(job(1));
  failing.enqueue(job(2));
  await sleep(1);
  t.match(fatal, { message: 'disk on fire' });
  t.equal(failing.status, 'failed');
  failing.enqueue(job(3)); // ignored: a failed monitor acknowledges nothing more
  await sleep(1);
});

t.test('core timers: one per name, stale firings never delivered, fired early on demand', async (t) => {
  const fired: string[] = [];
  const timers = new CoreTimers(realTimers, (name, token) => fired.push(`${name}:${token}`));
  timers.set('election', 1, 20);
  timers.set('election', 2, 20); // replaces
  timers.set('leaseRenew', 3, 5);
  timers.cancel('leaseRenew');
  t.equal(timers.count, 1);
  t.equal(timers.armed('election'), true);
  await sleep(40);
  t.same(fired, ['election:2']);
  timers.set('peonLeaseTimeout', 4, 60_000);
  t.equal(timers.fireNow('peonLeaseTimeout'), true);
  t.equal(timers.fireNow('peonLeaseTimeout'), false, 'nothing armed any more');
  t.same(fired, ['election:2', 'peonLeaseTimeout:4']);
  timers.set('leaseExpire', 5, 1);
  timers.stop();
  await sleep(10);
  t.equal(fired.length, 2, 'a stopped set fires nothing');
});

t.test('command line and options', async (t) => {
  const a = parseMonArgs(['--id', 'a', '--conf=x.conf', '--mkfs', '--mon-lease-ms', '1500', '--log_file', '-']);
  t.equal(a.id, 'a');
  t.equal(a.conf, 'x.conf');
  t.equal(a.mkfs, true);
  t.same([...a.settings], [['mon_lease_ms', '1500'], ['log_file', '-']]);
  t.throws(() => parseMonArgs([]), /--id is required/);
  t.throws(() => parseMonArgs(['--id', 'a', '--data']), /--data needs a value/);
  t.throws(() => parseMonArgs(['--id', 'a', '--data', 'x', '--data', 'y']), /given twice/);
  t.throws(() => parseMonArgs(['--id', 'a b']), /bad monitor id/);
  t.throws(() => parseMonArgs(['--id', 'a', 'stray']), /unexpected argument 'stray'/);
  t.same(parseMonmapFlag('a=127.0.0.1:1, b=127.0.0.1:2'), [{ name: 'a', addr: '127.0.0.1:1' }, { name: 'b', addr: '127.0.0.1:2' }]);
  t.throws(() => parseMonmapFlag('a=127.0.0.1:1,a=127.0.0.1:2'), /twice/);
  t.throws(() => parseMonmapFlag('a=nowhere'), /expected NAME=HOST:PORT/);

  const o = resolveMonitorDaemonOptions((k) => ({ mon_lease_ms: '1500', paxos_min: '7', mon_peer_lost_grace_ms: '0' } as Record<string, string>)[k]);
  t.match(o, { leaseMs: 1500, retainedVersionsMax: 7, peerLostGraceMs: 0, electionTimeoutMs: 2000 });
  t.throws(() => resolveMonitorDaemonOptions((k) => (k === 'mon_lease_ms' ? 'soon' : undefined)), /mon_lease_ms must be a number/);
  t.throws(() => resolveMonitorDaemonOptions((k) => (k === 'paxos_min' ? '0' : undefined)), /paxos_min must be a positive integer/);
  t.throws(() => resolveMonitorDaemonOptions(undefined, { leaseRenewFactor: 1 }), /must be < 1/);
});

t.test('store: mkfs, identity and read-back checks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-mon-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'mon.a');
  await t.rejects(MonStore.open(data, { create: false }), { code: 'ENOENT', message: /run with --mkfs first/ });
  const mons = [{ name: 'a', addr: 'h:1' }, { name: 'b', addr: 'h:2' }];
  await t.rejects(mkfsMonitor({ dataDir: data, name: 'z', bootstrap: { fsid: 'f', mons, createdMs: 0 } }), { code: 'EINVAL', message: /not in the monmap/ });
  await mkfsMonitor({ dataDir: data, name: 'a', bootstrap: { fsid: 'f', mons, createdMs: 0 } });
  await t.rejects(mkfsMonitor({ dataDir: data, name: 'a', bootstrap: { fsid: 'f', mons, createdMs: 0 } }), { code: 'EEXIST' });

  const store = await MonStore.open(data, { create: false });
  const loaded = await loadMonStore(store, 'a');
  t.match(loaded, { name: 'a', fsid: 'f', persisted: { lastCommitted: 0 } });
  t.same(loaded.monmap.mons.map((m) => m.name), ['a', 'b']);
  await t.rejects(loadMonStore(store, 'b'), { message: /belongs to mon\.a, not mon\.b/ });
  // A committed version without the service state that must ride with it: refuse to start.
  await store.write([
    { op: 'put', key: STORE_KEYS.lastCommitted, value: 1 },
    { op: 'put', key: `${STORE_KEYS.valuePrefix}${'1'.padStart(16, '0')}`, value: Buffer.from('x') },
  ]);
  await t.rejects(loadMonStore(store, 'a'), AssertionFailure);
  await store.close();
  t.equal(store.status, 'closed');
  await t.rejects(store.write([]), { code: 'ESHUTDOWN' });
});
