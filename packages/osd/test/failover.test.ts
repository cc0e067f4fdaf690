import t from 'tap';
import { createHash } from 'node:crypto';
import { TestCluster, type TestClient } from '@nacre/osd/testing/cluster';
import { OsdRepOp } from '@nacre/osd';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function copiesIdentical(c: TestCluster, cl: TestClient, names: string[], expected: Map<string, Buffer>): Promise<string[]> {
  const problems: string[] = [];
  for (const name of names) {
    const p = c.placement(name);
    const want = expected.get(name)!;
    for (const osd of p.acting) {
      const info = await cl.admin(osd, 'object_info', { pool: c.poolId(), name }) as { exists: boolean; sha256: string; sizeBytes: number };
      if (!info.exists || info.sha256 !== sha(want)) problems.push(`${name} on osd.${osd}: exists=${info.exists} size=${info.sizeBytes}`);
    }
  }
  return problems;
}

t.test('a replica dies: writes continue; it restarts and catches up from the log', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 2, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  const data = new Map<string, Buffer>();
  for (let i = 0; i < 20; i++) {
    const b = Buffer.from(`v1-${i}`.repeat(100));
    await cl.put(`obj-${i}`, b);
    data.set(`obj-${i}`, b);
  }
  const victim = c.placement('obj-0').acting[1]!;
  await c.stopOsd(victim);
  for (let i = 0; i < 20; i++) {
    const b = Buffer.from(`v2-${i}`.repeat(50 + i));
    await cl.put(`obj-${i}`, b);
    data.set(`obj-${i}`, b);
  }
  for (let i = 20; i < 30; i++) {
    const b = Buffer.from(`new-${i}`);
    await cl.put(`obj-${i}`, b);
    data.set(`obj-${i}`, b);
  }
  await cl.op('obj-5', [{ op: 'remove' }]);
  data.delete('obj-5');
  await c.startOsd(victim);
  await c.waitClean();
  for (const [name, b] of data) t.same(await cl.get(name), b, `${name} reads back`);
  t.same(await copiesIdentical(c, cl, [...data.keys()], data), [], 'every copy identical');
  const gone = await cl.admin(victim, 'object_info', { pool: c.poolId(), name: 'obj-5' }) as { exists: boolean };
  t.equal(gone.exists, false, 'the delete reached the returning replica');
  t.same(await cl.ls(), [...data.keys()].sort(), 'ls lists exactly the objects');
});

t.test('the primary dies under a writer: no acknowledged write is lost', async (t) => {
  const c = await TestCluster.create({ osds: 4, seed: 3, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  const acked = new Map<string, Buffer>();
  let stop = false;
  let n = 0;
  const writer = (async () => {
    while (!stop) {
      const name = `w-${n % 25}`;
      const b = Buffer.from(`${n}:`.repeat(1 + (n % 40)));
      n++;
      await cl.put(name, b);
      acked.set(name, b);
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  const primary = c.placement('w-3').primary;
  await c.stopOsd(primary);
  await new Promise((r) => setTimeout(r, 600));
  stop = true;
  await writer;
  t.ok(n > 25, `writer made progress (${n} writes)`);
  for (const [name, b] of acked) t.same(await cl.get(name), b, `${name} holds its last acknowledged value`);
  await c.startOsd(primary);
  await c.waitClean();
  t.same(await copiesIdentical(c, cl, [...acked.keys()], acked), [], 'every copy identical after the old primary returns');
});

t.test('a write only the old primary applied is rolled back when it returns', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 4, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  await cl.put('x', Buffer.from('original'));
  await cl.put('y', Buffer.from('y-original'));
  const p = c.placement('x');
  const old = c.osds.get(p.primary)!;
  // The old primary applies writes locally but its replicas never hear of them.
  const orig = old.request.bind(old);
  old.request = ((osd, def, payload, timeoutMs) => (def === OsdRepOp ? new Promise(() => {}) : orig(osd, def, payload, timeoutMs))) as typeof old.request;
  const lost = cl.op('x', [{ op: 'write_full', data: Buffer.from('never acknowledged') }], { noResend: true }).catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 300));
  const local = await cl.admin(p.primary, 'object_info', { pool: c.poolId(), name: 'x' }) as { sizeBytes: number };
  t.equal(local.sizeBytes, 'never acknowledged'.length, 'the old primary applied it locally');
  await c.stopOsd(p.primary);
  t.ok(await lost instanceof Error, 'the write was never acknowledged (and the client does not resend it)');
  t.equal((await cl.get('x')).toString(), 'original', 'the new primary serves the acknowledged value');
  await cl.put('y', Buffer.from('y-new'));
  await c.startOsd(p.primary);
  await c.waitClean();
  t.equal((await cl.get('x')).toString(), 'original', 'still the acknowledged value');
  const back = await cl.admin(p.primary, 'object_info', { pool: c.poolId(), name: 'x' }) as { sizeBytes: number; version: number };
  t.equal(back.sizeBytes, 'original'.length, 'the divergent write was rolled back on the returning OSD');
  t.equal((await cl.get('y')).toString(), 'y-new');
});

t.test('below min_size writes wait; they go through when an OSD returns', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 5, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  await cl.put('m', Buffer.from('one'));
  const p = c.placement('m');
  await c.stopOsd(p.acting[1]!);
  await c.stopOsd(p.acting[2]!);
  const pending = cl.op('m', [{ op: 'write_full', data: Buffer.from('two') }], { timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 500));
  const pg = c.osds.get(p.primary)!.pgs.get(p.pgid)!;
  t.equal(pg.state, 'peered', 'one OSD of three: peered, not active');
  t.same(pg.stateWords(), ['undersized', 'peered']);
  await c.startOsd(p.acting[1]!);
  await pending;
  t.equal((await cl.get('m')).toString(), 'two', 'the waiting write went through once two OSDs were up');
  await c.startOsd(p.acting[2]!);
  await c.waitClean();
});

t.test('the whole cluster restarts: PGs reload from their stores and every object is there', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 6, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  const data = new Map<string, Buffer>();
  for (let i = 0; i < 25; i++) {
    const b = Buffer.from(`restart-${i}`.repeat(i + 1));
    await cl.put(`r${i}`, b);
    await cl.op(`r${i}`, [{ op: 'setxattr', name: 'x', value: Buffer.from(String(i)) }, { op: 'omap_set', entries: [['k', Buffer.from(String(i))]] }]);
    data.set(`r${i}`, b);
  }
  for (const id of [0, 1, 2]) await c.stopOsd(id);
  for (const id of [2, 0, 1]) await c.startOsd(id);
  await c.waitClean();
  for (const [n, b] of data) {
    const r = await cl.op(n, [{ op: 'read', offset: 0, length: 0 }, { op: 'getxattr', name: 'x' }, { op: 'omap_get_vals_by_keys', keys: ['k'] }]);
    t.same((r.results[0] as { data: Buffer }).data, b, `${n} data`);
    t.equal((r.results[1] as { value: Buffer }).value.toString(), n.slice(1), `${n} xattr`);
  }
  const v = (await cl.op('r3', [{ op: 'stat' }])).results[0] as { version: number };
  const w = await cl.put('r3', Buffer.from('after'));
  t.ok(w > v.version, 'versions keep growing after the restart');
  t.same(await cl.ls(), [...data.keys()].sort());
});

t.test('an OSD restarted before anyone marked it down is a new incarnation (new interval)', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 8, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  c.mon.markDownOnRestart = false;
  c.mon.markDownOnReport = false;
  await c.waitClean();
  const cl = await c.getClient();
  for (let i = 0; i < 10; i++) await cl.put(`q${i}`, Buffer.from(`before-${i}`));
  const victim = c.placement('q0').acting[1]!;
  await c.stopOsd(victim, { markDown: false });
  await c.startOsd(victim);
  t.ok(c.map.osds[victim]!.up, 'never marked down');
  for (let i = 0; i < 10; i++) await cl.put(`q${i}`, Buffer.from(`after-${i}`));
  await c.waitClean();
  for (let i = 0; i < 10; i++) t.equal((await cl.get(`q${i}`)).toString(), `after-${i}`);
  const info = await cl.admin(victim, 'object_info', { pool: c.poolId(), name: 'q0' }) as { sizeBytes: number };
  t.equal(info.sizeBytes, 'after-0'.length, 'the restarted OSD got the writes');
});
