import t from 'tap';
import { TestCluster } from '@nacre/osd/testing/cluster';

t.test('three OSDs: put and get', async (t) => {
  const c = await TestCluster.create({ osds: 3, seed: 1, logLevel: process.env['OSD_LOG'] });
  t.teardown(() => c.shutdown());
  await c.waitClean();
  const cl = await c.getClient();
  const v = await cl.put('hello', Buffer.from('world'));
  t.ok(v > 0);
  t.equal((await cl.get('hello')).toString(), 'world');
});
