/**
 * OSD lifecycle through the service layer: boot of new, known, conflicting and restarted OSDs,
 * noup/noin, CRUSH placement on boot, up_thru, pg_temp, and batching several changes into one
 * proposal (one epoch).
 */
import t from 'tap';
import { CRUSH_ITEM_NONE } from '@nacre/crush';
import { pgToUpActing, poolByName } from '@nacre/osdmap';
import { ChangeQueue, type PendingChange } from '@nacre/mon';
import { Cluster, okReply } from './services-helpers.js';

function parentName(c: Cluster, item: number): string | undefined {
  return [...c.state.osdmap.crush.buckets.values()].find((b) => !b.shadowOf && b.items.includes(item))?.name;
}

function bucketId(c: Cluster, name: string): number {
  return [...c.state.osdmap.crush.buckets.values()].find((b) => b.name === name)!.id;
}

t.test('a new OSD boots into CRUSH, up and in', async (t) => {
  const c = new Cluster();
  const r = okReply(c.boot(3, 'node1', { rack: 'r1', weight: 0x20000, deviceClass: 'ssd', addr: '10.0.0.1:6801' }));
  const m = c.state.osdmap;
  t.equal(r.epoch, 2);
  t.same(r.data, { epoch: 2 });
  t.equal(m.epoch, 2);
  t.equal(m.maxOsd, 4);
  t.match(m.osds[3], { exists: true, up: true, weight: 0x10000, addr: '10.0.0.1:6801', upFrom: 2 });
  for (const i of [0, 1, 2]) t.notOk(m.osds[i]!.exists);
  t.equal(parentName(c, 3), 'node1');
  t.equal(parentName(c, bucketId(c, 'node1')), 'r1');
  t.equal(parentName(c, bucketId(c, 'r1')), 'default');
  t.equal(m.crush.devices.get(3)!.deviceClass, 'ssd');
  t.equal(m.crush.buckets.get(bucketId(c, 'node1'))!.itemWeights[0], 0x20000);
  t.equal(m.crush.buckets.get(bucketId(c, 'node1'))!.alg, 'straw2');
  t.same(c.state.osdMeta.get(3), { uuid: 'uuid-3', bootId: '', autoOut: false });
  // a custom root
  okReply(c.boot(4, 'node9', { root: 'fast' }));
  t.equal(parentName(c, bucketId(c, 'node9')), 'fast');
  t.equal(parentName(c, bucketId(c, 'fast')), undefined, 'a new root');
});

t.test('a known OSD boots again; a different store under its id is refused', async (t) => {
  const c = new Cluster();
  c.bootMany(3, 1);
  c.cmd('osd down', { ids: [1] });
  const downAt = c.state.osdmap.osds[1]!.downAt;
  const r = okReply(c.boot(1, 'h1'));
  t.ok(r.epoch > downAt);
  t.match(c.state.osdmap.osds[1], { up: true, upFrom: r.epoch, weight: 0x10000 });
  t.equal(c.state.osdmap.crush.devices.size, 3, 'not added twice');
  c.cmd('osd down', { ids: [1] });
  const before = c.state;
  const wrong = c.boot(1, 'h1', { uuid: 'someone-else' });
  t.equal(wrong.status, 'error');
  if (wrong.status === 'error') {
    t.equal(wrong.error.code, 'EEXIST');
    t.match(wrong.error.message, 'osd.1 is registered with store uuid uuid-1, but this store is someone-else');
  }
  t.equal(c.state, before, 'nothing committed');
  const stolen = c.boot(7, 'h7', { uuid: 'uuid-2' });
  t.equal(stolen.status === 'error' && stolen.error.code, 'EEXIST', "another OSD's store");
  t.notOk(c.state.osdmap.maxOsd > 3 && c.state.osdmap.osds[7]?.exists);
  const badHost = c.boot(5, 'bad host');
  t.equal(badHost.status === 'error' && badHost.error.code, 'EINVAL');
});

t.test('resent boots change nothing; a restart while marked up is a new interval', async (t) => {
  const c = new Cluster();
  c.bootMany(2, 1);
  const epoch = c.state.osdmap.epoch;
  const upFrom = c.state.osdmap.osds[0]!.upFrom;
  // same address, no bootId: a resend
  let [o] = c.propose([{ kind: 'osdBoot', boot: { osd: 0, addr: '127.0.0.1:6800', host: 'h0', weight: 0x10000, uuid: 'uuid-0' } }]);
  t.same(okReply(o).data, { epoch: upFrom });
  t.equal(c.state.osdmap.epoch, epoch, 'no new epoch');
  // bootId: first boot records it, a resend with the same id changes nothing
  c.cmd('osd down', { ids: [1] });
  okReply(c.boot(1, 'h1', { bootId: 'run-1' }));
  const e2 = c.state.osdmap.epoch;
  [o] = c.propose([{ kind: 'osdBoot', boot: { osd: 1, addr: '127.0.0.1:6801', host: 'h1', weight: 0x10000, uuid: 'uuid-1', bootId: 'run-1' } }]);
  t.equal(o!.status, 'ok');
  t.equal(c.state.osdmap.epoch, e2);
  // a new process (new bootId) while the map still shows it up: down now, up in the next proposal
  const boot = { osd: 1, addr: '127.0.0.1:6801', host: 'h1', weight: 0x10000, uuid: 'uuid-1', bootId: 'run-2' };
  [o] = c.propose([{ kind: 'osdBoot', boot }]);
  t.equal(o!.status, 'retry');
  t.match(c.state.osdmap.osds[1], { up: false, downAt: e2 + 1 });
  [o] = c.propose([{ kind: 'osdBoot', boot }]);
  t.same(okReply(o).data, { epoch: e2 + 2 });
  t.match(c.state.osdmap.osds[1], { up: true, upFrom: e2 + 2 });
  t.equal(c.state.osdMeta.get(1)!.bootId, 'run-2');
  // the same bootId from another address is not a resend either
  [o] = c.propose([{ kind: 'osdBoot', boot: { ...boot, addr: '127.0.0.1:9999' } }]);
  t.equal(o!.status, 'retry');
  [o] = c.propose([{ kind: 'osdBoot', boot: { ...boot, addr: '127.0.0.1:9999' } }]);
  t.equal(okReply(o).epoch, c.state.osdmap.epoch);
  t.equal(c.state.osdmap.osds[1]!.addr, '127.0.0.1:9999');
  // without bootId, a different address while up is a restart too
  [o] = c.propose([{ kind: 'osdBoot', boot: { osd: 0, addr: '127.0.0.1:7000', host: 'h0', weight: 0x10000, uuid: 'uuid-0' } }]);
  t.equal(o!.status, 'retry');
});

t.test('noup refuses boots; noin keeps new OSDs out', async (t) => {
  const c = new Cluster();
  c.cmd('osd set', { flag: 'noup' });
  const o = c.boot(0, 'h0');
  t.equal(o.status === 'error' && o.error.code, 'EAGAIN');
  t.match(o.status === 'error' ? o.error.message : '', 'noup');
  c.cmd('osd unset', { flag: 'noup' });
  c.cmd('osd set', { flag: 'noin' });
  okReply(c.boot(0, 'h0'));
  t.match(c.state.osdmap.osds[0], { up: true, weight: 0 });
  c.cmd('osd unset', { flag: 'noin' });
  c.cmd('osd down', { ids: [0] });
  okReply(c.boot(0, 'h0'));
  t.equal(c.state.osdmap.osds[0]!.weight, 0, 'an OSD that booted before is not marked in by a later boot');
});

t.test('created OSDs, admin-out and auto-out OSDs at boot', async (t) => {
  const c = new Cluster();
  c.cmd('osd create', { id: 0 });
  okReply(c.boot(0, 'h0', { uuid: 'fresh' }));
  t.match(c.state.osdmap.osds[0], { up: true, weight: 0x10000 });
  t.equal(c.state.osdMeta.get(0)!.uuid, 'fresh', 'uuid recorded at first boot');
  c.cmd('osd create', { id: 1, uuid: 'pinned' });
  t.equal(c.boot(1, 'h1', { uuid: 'other' }).status, 'error');
  okReply(c.boot(1, 'h1', { uuid: 'pinned' }));
  // admin out: stays out across a restart
  c.cmd('osd out', { ids: [1] });
  c.cmd('osd down', { ids: [1] });
  okReply(c.boot(1, 'h1', { uuid: 'pinned' }));
  t.equal(c.state.osdmap.osds[1]!.weight, 0);
  // auto out (the down→out timer): marked in again when it boots
  c.cmd('osd down', { ids: [0] });
  okReply(c.propose([{ kind: 'failures', down: [], out: [0] }])[0]);
  t.equal(c.state.osdmap.osds[0]!.weight, 0);
  t.ok(c.state.osdMeta.get(0)!.autoOut);
  okReply(c.boot(0, 'h0', { uuid: 'fresh' }));
  t.equal(c.state.osdmap.osds[0]!.weight, 0x10000);
  t.notOk(c.state.osdMeta.get(0)!.autoOut);
});

t.test('a boot from a new CRUSH location moves the OSD, keeping its weight', async (t) => {
  const c = new Cluster();
  c.bootMany(2, 1);
  c.cmd('osd crush reweight', { name: 'osd.1', weight: 3 });
  c.cmd('osd down', { ids: [1] });
  okReply(c.boot(1, 'h5', { rack: 'r2', weight: 0x10000 }));
  t.equal(parentName(c, 1), 'h5');
  t.equal(parentName(c, bucketId(c, 'h5')), 'r2');
  t.equal(c.state.osdmap.crush.buckets.get(bucketId(c, 'h5'))!.itemWeights[0], 3 * 0x10000);
  t.same(c.state.osdmap.crush.buckets.get(bucketId(c, 'h1'))!.items, [], 'old host emptied');
});

t.test('up_thru', async (t) => {
  const c = new Cluster();
  c.bootMany(2, 1);
  const e = c.state.osdmap.epoch;
  let [o] = c.propose([{ kind: 'osdAlive', osd: 0, upThru: e }]);
  t.same(okReply(o).data, { epoch: e + 1 });
  t.equal(c.state.osdmap.osds[0]!.upThru, e);
  [o] = c.propose([{ kind: 'osdAlive', osd: 0, upThru: e - 1 }]);
  t.same(okReply(o).data, { epoch: e + 1 }, 'already recorded: nothing changes');
  t.equal(c.state.osdmap.epoch, e + 1);
  [o] = c.propose([{ kind: 'osdAlive', osd: 0, upThru: e + 5 }]);
  t.equal(o!.status === 'error' && o!.error.code, 'EINVAL');
  c.cmd('osd down', { ids: [1] });
  [o] = c.propose([{ kind: 'osdAlive', osd: 1, upThru: e }]);
  t.equal(o!.status === 'error' && o!.error.code, 'EAGAIN');
  [o] = c.propose([{ kind: 'osdAlive', osd: 9, upThru: e }]);
  t.equal(o!.status === 'error' && o!.error.code, 'ENOENT');
});

t.test('pg_temp: set, clear, validate, clean', async (t) => {
  const c = new Cluster();
  c.bootMany(6, 1);
  c.cmd('osd pool create', { name: 'r', pg_num: 8 });
  c.cmd('osd pool create', { name: 'e', pg_num: 4, type: 'erasure', k: 2, m: 1 });
  const up = pgToUpActing(c.state.osdmap, { pool: 1, seed: 2 }).up;
  const others = [0, 1, 2, 3, 4, 5].filter((o) => !up.includes(o));
  const temp = [others[0]!, up[1]!, up[2]!];
  const pg = (pgTemp: [string, number[]][]) => c.propose([{ kind: 'osdPgTemp', request: { epoch: c.state.osdmap.epoch, pgTemp } }])[0];
  okReply(pg([['1.2', temp]]));
  t.same(c.state.osdmap.pgTemp.get('1.2'), temp);
  const m = pgToUpActing(c.state.osdmap, { pool: 1, seed: 2 });
  t.same(m.acting, temp, 'acting follows pg_temp');
  t.same(m.up, up, 'up does not');
  const e = c.state.osdmap.epoch;
  okReply(pg([['1.2', temp]]));
  t.equal(c.state.osdmap.epoch, e, 'same entry: no epoch');
  okReply(pg([['1.2', []]]));
  t.notOk(c.state.osdmap.pgTemp.has('1.2'));
  okReply(pg([['2.1', [0, CRUSH_ITEM_NONE, 2]]]));
  t.ok(c.state.osdmap.pgTemp.has('2.1'), 'holes in EC pools');
  const bad: [[string, number[]][], string][] = [
    [[['x', [0]]], 'EINVAL'], [[['9.0', [0]]], 'ENOENT'], [[['1.8', [0]]], 'ENOENT'], [[['1.0', [0, 1, 2, 3]]], 'EINVAL'],
    [[['1.0', [0, 0]]], 'EINVAL'], [[['1.0', [0, CRUSH_ITEM_NONE]]], 'EINVAL'], [[['1.0', [0, 42]]], 'ENOENT'],
  ];
  for (const [req, code] of bad) {
    const o = pg(req);
    t.equal(o!.status === 'error' && o!.error.code, code, JSON.stringify(req));
  }
  // an entry equal to the up set is dropped, as is one whose OSDs are all down
  okReply(pg([['1.3', pgToUpActing(c.state.osdmap, { pool: 1, seed: 3 }).up]]));
  t.notOk(c.state.osdmap.pgTemp.has('1.3'), 'equal to up: not kept');
  okReply(pg([['1.4', [others[1]!]]]));
  t.ok(c.state.osdmap.pgTemp.has('1.4'));
  c.cmd('osd down', { ids: [others[1]!] });
  t.notOk(c.state.osdmap.pgTemp.has('1.4'), 'all its OSDs down: cleaned');
  // removing the pool removes its entries
  c.cmd('osd pool rm', { name: 'e', confirm: 'e' });
  t.notOk(c.state.osdmap.pgTemp.has('2.1'));
});

t.test('a batch of changes makes one epoch; a failing change spoils nothing else', async (t) => {
  const c = new Cluster();
  const e = c.state.osdmap.epoch;
  const outcomes = c.propose([
    { kind: 'osdBoot', boot: { osd: 0, addr: 'a:1', host: 'h0', weight: 0x10000, uuid: 'u0' } },
    { kind: 'osdBoot', boot: { osd: 1, addr: 'a:2', host: 'h1', weight: 0x10000, uuid: 'u0' } }, // uuid of osd.0
    { kind: 'osdBoot', boot: { osd: 2, addr: 'a:3', host: 'h2', weight: 0x10000, uuid: 'u2' } },
    { kind: 'command', command: { prefix: 'osd pool create', args: { name: 'p', pg_num: 8 } } },
    { kind: 'command', command: { prefix: 'osd pool create', args: { name: 'p', type: 'erasure' } } },
    { kind: 'command', command: { prefix: 'osd set', args: { flag: 'noout' } } },
  ]);
  t.same(outcomes.map((o) => (o.status === 'error' ? o.error.code : o.status)), ['ok', 'EEXIST', 'ok', 'ok', 'EEXIST', 'ok']);
  t.equal(c.state.osdmap.epoch, e + 1);
  t.same(outcomes.filter((o) => o.status === 'ok').map((o) => (o.status === 'ok' ? o.epoch : 0)), [e + 1, e + 1, e + 1, e + 1]);
  t.match(poolByName(c.state.osdmap, 'p'), { lastChangeEpoch: e + 1 });
  t.ok(c.state.osdmap.osds[0]!.up && c.state.osdmap.osds[2]!.up);
  t.notOk(c.state.osdmap.osds[1]?.exists);
  t.ok(c.state.osdmap.flags.has('noout'));
});

t.test('ChangeQueue: bounded, oldest first, retries go back in front', async (t) => {
  const q = new ChangeQueue<{ change: PendingChange; id: number }>(3);
  const ch = (id: number) => ({ change: { kind: 'osdAlive', osd: id, upThru: 1 } as PendingChange, id });
  q.push(ch(1));
  q.push(ch(2));
  q.push(ch(3));
  t.throws(() => q.push(ch(4)), { code: 'EAGAIN' });
  const batch = q.take(2);
  t.same(batch.map((x) => x.id), [1, 2]);
  q.requeueFront([batch[1]!]);
  t.same(q.take().map((x) => x.id), [2, 3]);
  q.push(ch(5));
  t.same(q.drain().map((x) => x.id), [5]);
  t.equal(q.length, 0);
});
