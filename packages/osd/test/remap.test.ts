/**
 * Placement changes that bring a new OSD into PGs (an OSD marked in, a new OSD): the new member
 * is brought up to date from the PG log when the log still reaches back far enough.
 */
import t from 'tap';
import { TestCluster } from '@nacre/osd/testing/cluster';

t.test('an OSD marked in joins PGs and is brought up to date from the log', async (t) => {
  const c = await TestCluster.create({ osds: 4, seed: 11, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  c.mon.commit({ newWeights: [[3, 0]] });
  await c.waitClean();
  const cl = await c.getClient();
  const data = new Map<string, Buffer>();
  for (let i = 0; i < 30; i++) {
    const b = Buffer.from(`obj-${i}-`.repeat(i + 1));
    await cl.put(`o${i}`, b);
    data.set(`o${i}`, b);
  }
  c.mon.commit({ newWeights: [[3, 0x10000]] });
  await c.waitClean();
  for (const [n, b] of data) t.same(await cl.get(n), b, n);
  let onNew = 0;
  for (const n of data.keys()) {
    const p = c.placement(n);
    if (!p.acting.includes(3)) continue;
    onNew++;
    const info = await cl.admin(3, 'object_info', { pool: c.poolId(), name: n }) as { exists: boolean; sizeBytes: number };
    t.ok(info.exists && info.sizeBytes === data.get(n)!.length, `${n} copied to osd.3`);
  }
  t.ok(onNew > 0, `${onNew} objects now also on osd.3`);
});

t.test('a full cluster refuses writes with ENOSPC, keeps serving reads and deletes, and accepts writes again', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 12, storeBytes: 64 * 1024 * 1024, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  const written: string[] = [];
  let code = '';
  for (let i = 0; i < 40 && code === ''; i++) {
    try {
      await cl.put(`big-${i}`, Buffer.alloc(4 * 1024 * 1024, i));
      written.push(`big-${i}`);
    } catch (err) {
      code = (err as { code?: string }).code ?? String(err);
    }
  }
  t.equal(code, 'ENOSPC', `refused after ${written.length} objects of 4 MiB`);
  t.ok(written.length >= 10, 'most of the space was usable');
  for (const osd of c.osds.values()) t.equal(osd.status, 'running', `osd.${osd.whoami} still running`);
  t.same(await cl.get(written[0]!), Buffer.alloc(4 * 1024 * 1024, 0), 'reads still work');
  for (const n of written.slice(0, 5)) await cl.op(n, [{ op: 'remove' }]);
  await cl.put('after', Buffer.alloc(4 * 1024 * 1024, 7));
  t.same(await cl.get('after'), Buffer.alloc(4 * 1024 * 1024, 7), 'writes work again after deletes');
  await c.waitClean();
});

t.test('a new member that needs a backfill: the complete OSDs keep serving (pg_temp), active+remapped', async (t) => {
  const c = await TestCluster.create({ osds: 4, seed: 13, logLevel: process.env['OSD_LOG'], config: { pgLogEntriesMin: 4 } });
  t.teardown(() => c.shutdown());
  c.mon.commit({ newWeights: [[3, 0]] });
  await c.waitClean();
  const cl = await c.getClient();
  const data = new Map<string, Buffer>();
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 40; i++) {
      const b = Buffer.from(`v${round}-${i}`);
      await cl.put(`o${i}`, b);
      data.set(`o${i}`, b);
    }
  }
  c.mon.commit({ newWeights: [[3, 0x10000]] });
  await c.waitFor('all PGs active', () => c.allActive() && c.map.pgTemp.size > 0, 20_000);
  await c.waitClean();
  t.ok(c.map.pgTemp.size > 0, `${c.map.pgTemp.size} PGs served from a pg_temp acting set`);
  let remapped = 0;
  for (const osd of c.osds.values()) for (const pg of osd.pgs.values()) if (pg.isPrimary && pg.stateWords().includes('remapped')) remapped++;
  t.ok(remapped > 0, `${remapped} PGs report remapped`);
  for (const [n, b] of data) t.same(await cl.get(n), b, n);
  await cl.put('o1', Buffer.from('after'));
  t.equal((await cl.get('o1')).toString(), 'after', 'writes work while remapped');
  c.mon.commit({ newWeights: [[3, 0]] });
  await c.waitFor('pg_temp cleared', () => c.map.pgTemp.size === 0 && c.allClean(), 20_000);
  t.pass('out again: the pg_temp entries are removed');
});
