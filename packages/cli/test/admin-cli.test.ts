/**
 * The admin commands against fake monitors (in-process, ws on 127.0.0.1): what each command sends
 * (prefix + arguments), what it prints, and the one-line failures — bad input (exit 2, nothing
 * sent), refused confirmation, no quorum within --timeout. The real monitors are exercised by the
 * multi-process tests in test/cluster-*.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ClusterConf, Keyring } from '@nacre/msgr';
import { FakeMonCluster } from '@nacre/msgr/testing';
import { buildTestMap } from '@nacre/client/testing';
import { realEnv, silentLogger } from '@nacre/util';
import { normalizeStatus } from '../src/commands/status.js';
import { nacre } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-admin-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const env = realEnv(silentLogger(), 1);
const keyring = new Keyring();
keyring.add('client.admin');
keyring.add('mon.a');
keyring.writeFile(join(dir, 'keyring'));
const map = buildTestMap({ hosts: 3, osdsPerHost: 1, pools: [{ name: 'rbd', pgNum: 8 }] });
const fake = new FakeMonCluster(map, env);
const statusData = {
  fsid: map.fsid,
  health: { status: 'HEALTH_WARN', checks: [{ code: 'OSD_DOWN', severity: 'HEALTH_WARN', summary: '3 osds down', detail: [], hint: 'start them' }] },
  quorum: ['a'],
  leader: 'a',
  monmap_epoch: 1,
  monmap: { epoch: 1, mons: [{ name: 'a', rank: 0, addr: 'x' }] },
  osdmap: { epoch: map.epoch, num_osds: 3, num_up: 0, num_in: 3 },
  pools: [{ pool_id: 1, pool_name: 'rbd', type: 'replicated', size: 3, min_size: 2, pg_num: 8 }],
  pgs: { total: 8, by_state: { unknown: 8 } },
};
fake.commandHandlers.set('status', () => ({ data: statusData, text: '' }));
for (const prefix of ['osd pool create', 'osd pool rm', 'osd pool set', 'osd out', 'osd tree', 'health']) {
  fake.commandHandlers.set(prefix, (args) => ({ data: { prefix, args }, text: `did ${prefix}` }));
}
const conf = join(dir, 'nacre.conf');

t.before(async () => {
  const mon = await fake.addMonitor('a', { listen: '127.0.0.1:0', keyring, logger: silentLogger() });
  const c = new ClusterConf(conf, dir);
  c.set('global', 'fsid', map.fsid);
  c.set('global', 'mon_host', mon.address);
  c.set('global', 'keyring', join(dir, 'keyring'));
  c.writeFile(conf);
});
t.teardown(async () => {
  for (const m of fake.monitors) await m.stop();
});

function lastCommand(): { prefix: string; args: Record<string, unknown> } {
  const c = fake.commandsReceived[fake.commandsReceived.length - 1]!;
  return { prefix: c.prefix, args: c.args };
}

t.test('status: human like ceph -s, json normalised', async (t) => {
  const human = await nacre(['status', '--conf', conf]);
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, /health: HEALTH_WARN/);
  t.match(human.stdout, /3 osds down/);
  t.match(human.stdout, /mon: 1 daemons, quorum a \(leader a\), monmap e1/);
  t.match(human.stdout, /osd: 3 osds: 0 up, 3 in; osdmap e1/);
  t.match(human.stdout, /pgs: +8 unknown/);
  const json = await nacre(['status', '--conf', conf, '--format', 'json']);
  t.equal(json.code, 0, json.stderr);
  const st = JSON.parse(json.stdout);
  t.match(st, { health: { status: 'HEALTH_WARN' }, quorum: ['a'], leader: 'a', monmap_epoch: 1, osdmap: { epoch: 1, num_osds: 3, num_up: 0, num_in: 3 }, pgs: { total: 8, by_state: { unknown: 8 } } });
  t.equal(st.pools[0].pool_name, 'rbd');
  t.match(normalizeStatus(statusData).pools[0], { id: 1, name: 'rbd' });
  t.throws(() => normalizeStatus({ hello: 1 }), { code: 'EPROTO' });
});

t.test('pool create/rm/set send the monitor commands', async (t) => {
  let r = await nacre(['pool', 'create', 'p1', '16', '--size', '2', '--conf', conf]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'did osd pool create\n');
  t.same(lastCommand(), { prefix: 'osd pool create', args: { name: 'p1', type: 'replicated', pg_num: 16, size: 2 } });
  r = await nacre(['pool', 'create', 'e1', '--erasure', '--k', '2', '--m', '1', '--conf', conf, '--format', 'json']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).args, { name: 'e1', type: 'erasure', k: 2, m: 1 });
  r = await nacre(['pool', 'set', 'p1', 'min-size', '1', '--conf', conf]);
  t.same(lastCommand(), { prefix: 'osd pool set', args: { name: 'p1', key: 'min_size', value: '1' } });
  r = await nacre(['pool', 'rm', 'p1', 'p1', '--yes-i-really-really-mean-it', '--conf', conf]);
  t.equal(r.code, 0, r.stderr);
  t.same(lastCommand(), { prefix: 'osd pool rm', args: { name: 'p1', confirm: 'p1' } });
});

t.test('osd out/tree', async (t) => {
  const r = await nacre(['osd', 'out', '1', 'osd.2', '--conf', conf]);
  t.equal(r.code, 0, r.stderr);
  t.same(lastCommand(), { prefix: 'osd out', args: { ids: [1, 2] } });
  const tree = await nacre(['osd', 'tree', '--conf', conf]);
  t.equal(tree.stdout, 'did osd tree\n');
});

t.test('bad input: exit 2, one line, nothing sent', async (t) => {
  const before = fake.commandsReceived.length;
  for (const args of [
    ['pool', 'create'],
    ['pool', 'create', 'x', 'many'],
    ['pool', 'create', 'x', '--k', '2'],
    ['pool', 'create', 'x', '--erasure', '--size', '3'],
    ['osd', 'out', 'three'],
    ['osd', 'out'],
    ['status', '--format', 'yaml'],
    ['pool', 'frobnicate'],
    ['status', '--timeout', '0'],
  ]) {
    const r = await nacre([...args, '--conf', conf]);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, /^nacre: [^\n]+\n$/, `${args.join(' ')}: one line (${r.stderr.trim()})`);
  }
  t.equal(fake.commandsReceived.length, before, 'nothing reached the monitor');
});

t.test('pool rm without confirmation is refused before anything is sent', async (t) => {
  const before = fake.commandsReceived.length;
  for (const args of [['pool', 'rm', 'rbd'], ['pool', 'rm', 'rbd', 'rbd'], ['pool', 'rm', 'rbd', 'rdb', '--yes-i-really-really-mean-it']]) {
    const r = await nacre([...args, '--conf', conf]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^nacre: refusing to remove pool 'rbd': .*nacre pool rm rbd rbd --yes-i-really-really-mean-it\n$/);
  }
  t.equal(fake.commandsReceived.length, before);
});

t.test('no quorum: one clear line within --timeout', async (t) => {
  fake.quorum = false;
  t.teardown(() => {
    fake.quorum = true;
  });
  const t0 = performance.now();
  const r = await nacre(['pool', 'create', 'p2', '--conf', conf, '--timeout', '2']);
  const ms = performance.now() - t0;
  t.equal(r.code, 1);
  t.match(r.stderr, /^nacre: 'osd pool create' failed: no monitor quorum within 2 s[^\n]*\n$/);
  t.ok(ms < 4000, `failed after ${Math.round(ms)} ms`);
});

t.test('missing config and unreachable monitors', async (t) => {
  const r = await nacre(['status', '--conf', join(dir, 'nope.conf')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^nacre: cannot read cluster config .*nope\.conf/);
  const c = new ClusterConf(join(dir, 'dead.conf'), dir);
  c.set('global', 'mon_host', '127.0.0.1:1');
  c.set('global', 'keyring', join(dir, 'keyring'));
  c.writeFile(join(dir, 'dead.conf'));
  const dead = await nacre(['status', '--conf', join(dir, 'dead.conf'), '--timeout', '1']);
  t.equal(dead.code, 1);
  t.match(dead.stderr, /^nacre: cannot reach any monitor \(127\.0\.0\.1:1\) within 1 s/);
});
