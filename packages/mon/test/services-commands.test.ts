/**
 * Every mon.command prefix: what it answers or changes, and each error it gives (with its code),
 * with nothing changed on error. Commands run through handleCommand / buildProposal and their
 * transactions are committed with applyCommitted, as the daemon does.
 */
import t from 'tap';
import { commandPrefixes, handleCommand, isReadOnlyCommand } from '@nacre/mon';
import { pgToUpActing, poolByName } from '@nacre/osdmap';
import { Cluster, FSID } from './services-helpers.js';

function cluster8(): Cluster {
  const c = new Cluster();
  c.bootMany(8, 2);
  return c;
}

t.test('read-only commands answer from state and never produce a transaction', async (t) => {
  const c = cluster8();
  c.cmd('osd pool create', { name: 'rbd', pg_num: 8 });
  const reads: [string, Record<string, string | number | boolean>][] = [
    ['status', {}], ['health', {}], ['health', { detail: true }], ['mon stat', {}], ['df', {}], ['osd tree', {}], ['osd dump', {}],
    ['osd stat', {}], ['osd ls', {}], ['osd pool ls', {}], ['osd pool ls', { detail: true }], ['osd pool get', { name: 'rbd', key: 'size' }],
    ['osd map', { pool: 'rbd', object: 'x' }], ['auth get', { entity: 'client.admin' }], ['auth ls', {}], ['config dump', {}],
  ];
  for (const [prefix, args] of reads) {
    t.ok(isReadOnlyCommand(prefix), `${prefix} is read-only`);
    const r = handleCommand(c.state, { prefix, args }, c.ctx);
    t.ok(r.ok, `${prefix} succeeds`);
    if (r.ok && !r.retry) t.equal(r.txn, undefined, `${prefix}: no transaction`);
  }
  t.ok(commandPrefixes().length >= 35, 'all prefixes registered');
  for (const p of ['osd pool create', 'osd out', 'auth add', 'config set', 'osd crush add']) t.notOk(isReadOnlyCommand(p), `${p} mutates`);
});

t.test('unknown command', async (t) => {
  const c = new Cluster();
  const e = c.cmdError('osd pool frobnicate', {});
  t.equal(e.code, 'EINVAL');
  t.match(e.message, /unknown command 'osd pool frobnicate' \(did you mean: .*osd pool create/);
  t.same(c.cmd('  osd   stat ').data, c.cmd('osd stat').data, 'prefix whitespace is normalized');
});

t.test('status, health, mon stat with quorum facts', async (t) => {
  const c = cluster8();
  c.ctx = { ...c.ctx, quorum: { quorumRanks: [0, 1], leaderRank: 0, electionEpoch: 6 } };
  const s = c.cmd('status').data as Record<string, unknown>;
  t.same(s['quorum'], ['a', 'b']);
  t.equal(s['leader'], 'a');
  t.equal(s['monmap_epoch'], 1);
  t.equal(s['fsid'], FSID);
  t.same(s['osdmap'], { epoch: c.state.osdmap.epoch, num_osds: 8, num_up: 8, num_in: 8, flags: [] });
  t.same(s['pgs'], { total: 0, by_state: {} });
  const h = s['health'] as { status: string; checks: { code: string; hint: string }[] };
  t.equal(h.status, 'HEALTH_WARN');
  t.same(h.checks.map((x) => x.code), ['MON_DOWN']);
  t.match(h.checks[0]!.hint, 'nacre cluster start mon.c');
  t.match(c.cmd('status').text, /health: HEALTH_WARN\n\s+1\/3 mons down, quorum a,b/);
  t.match(c.cmd('health').text, /^HEALTH_WARN 1\/3 mons down/);
  t.match(c.cmd('health', { detail: true }).text, /\[WRN\] MON_DOWN: .*\n\s+mon.c \(rank 2\) addr 127.0.0.1:6791 is down/);
  const ms = c.cmd('mon stat');
  t.match(ms.text, /^e1: 3 mons at \{a=127.0.0.1:6789,b=127.0.0.1:6790,c=127.0.0.1:6791\}, election epoch 6, leader 0 a, quorum 0,1 a,b$/);
});

t.test('osd stat, ls, tree, dump', async (t) => {
  const c = cluster8();
  c.cmd('osd down', { ids: [3] });
  t.match(c.cmd('osd stat').text, /^8 osds: 7 up, 8 in; epoch: e\d+$/);
  t.same(c.cmd('osd ls').data, [0, 1, 2, 3, 4, 5, 6, 7]);
  const tree = c.cmd('osd tree');
  t.match(tree.text, /ID\s+CLASS\s+WEIGHT\s+TYPE NAME\s+STATUS\s+REWEIGHT\s+PRI-AFF/);
  t.match(tree.text, /-1\s+8\.00000\s+root default/);
  t.match(tree.text, /\n\s*3\s+1\.00000\s+osd\.3\s+down\s+1\.00000\s+1\.00000/);
  const nodes = (tree.data as { nodes: { name: string; type: string; children?: number[] }[] }).nodes;
  t.same(nodes.filter((n) => n.type === 'host').map((n) => n.name), ['h0', 'h1', 'h2', 'h3']);
  const dump = c.cmd('osd dump');
  t.match(dump.text, /osd\.3 down in {2}weight 1\.00000 up_from 5 up_thru 0 down_at \d+ 127\.0\.0\.1:6803 uuid-3/);
  t.equal((dump.data as { osds: unknown[] }).osds.length, 8);
  // an OSD outside CRUSH is listed as stray
  c.cmd('osd create', {});
  t.same((c.cmd('osd tree').data as { stray: { id: number }[] }).stray.map((s) => s.id), [8]);
});

t.test('osd create', async (t) => {
  const c = new Cluster();
  t.same(c.cmd('osd create').data, { osdid: 0 });
  t.same(c.cmd('osd create', { uuid: 'u-1' }).data, { osdid: 1 });
  const epoch = c.state.osdmap.epoch;
  t.same(c.cmd('osd create', { uuid: 'u-1' }).data, { osdid: 1 }, 'same uuid: same id, nothing changes');
  t.equal(c.state.osdmap.epoch, epoch);
  t.same(c.cmd('osd create', { id: 5 }).data, { osdid: 5 });
  t.equal(c.state.osdmap.maxOsd, 6);
  t.notOk(c.state.osdmap.osds[5]!.up);
  t.equal(c.state.osdmap.osds[5]!.weight, 0, 'created out until it boots');
  t.same(c.cmd('osd create').data, { osdid: 2 }, 'lowest free id');
  t.equal(c.cmdError('osd create', { id: 5 }).code, 'EEXIST');
  t.equal(c.cmdError('osd create', { id: 2, uuid: 'u-1' }).code, 'EEXIST', 'uuid of another OSD');
  t.equal(c.cmdError('osd create', { uuid: 'bad uuid!' }).code, 'EINVAL');
  t.equal(c.cmdError('osd create', { id: 'x' }).code, 'EINVAL');
  t.equal(c.cmdError('osd create', { id: 1 << 20 }).code, 'ERANGE');
  t.equal(c.cmdError('osd create', { id: 10_000 }).code, 'ERANGE', 'mon_max_osd');
});

t.test('osd out / in / down', async (t) => {
  const c = cluster8();
  const e0 = c.state.osdmap.epoch;
  t.match(c.cmd('osd out', { ids: ['1', 'osd.2'] }).text, 'marked out osd.1, osd.2.');
  t.equal(c.state.osdmap.epoch, e0 + 1, 'one epoch for the whole command');
  t.equal(c.state.osdmap.osds[1]!.weight, 0);
  t.match(c.cmd('osd out', { ids: ['2'] }).text, 'osd.2 is already out.');
  t.equal(c.state.osdmap.epoch, e0 + 1, 'nothing to change: no epoch');
  t.equal(c.cmdError('osd out', { ids: [1, 99] }).code, 'ENOENT', 'unknown id: nothing marked');
  t.equal(c.cmdError('osd out', { ids: ['osd.x'] }).code, 'EINVAL');
  t.equal(c.cmdError('osd out', {}).code, 'EINVAL');
  t.match(c.cmd('osd in', { ids: [1, 2, 3] }).text, /marked in osd\.1, osd\.2\. osd\.3 is already in\./);
  t.equal(c.state.osdmap.osds[1]!.weight, 0x10000);
  t.match(c.cmd('osd down', { ids: 4 }).text, 'marked down osd.4.');
  t.notOk(c.state.osdmap.osds[4]!.up);
  t.equal(c.state.osdmap.osds[4]!.downAt, c.state.osdmap.epoch);
  t.match(c.cmd('osd down', { id: 4 }).text, 'already down');
});

t.test('osd rm purges the OSD everywhere', async (t) => {
  const c = cluster8();
  c.cmd('osd pool create', { name: 'p', pg_num: 4 });
  c.cmd('auth add', { entity: 'osd.6' });
  t.equal(c.cmdError('osd rm', { ids: [6] }).code, 'EBUSY');
  t.equal(c.cmdError('osd rm', { ids: [42] }).code, 'ENOENT');
  c.cmd('osd down', { ids: [6] });
  // a pg_temp naming osd.6
  const pg = pgToUpActing(c.state.osdmap, { pool: 1, seed: 0 });
  c.propose([{ kind: 'osdPgTemp', request: { epoch: c.state.osdmap.epoch, pgTemp: [['1.0', [6, ...pg.up.filter((o) => o !== 6).slice(0, 1)]]] } }]);
  t.ok(c.state.osdmap.pgTemp.has('1.0'));
  c.cmd('osd rm', { ids: [6] });
  t.notOk(c.state.osdmap.osds[6]!.exists);
  t.notOk(c.state.osdmap.crush.devices.has(6));
  t.notOk(c.state.auth.has('osd.6'));
  t.notOk(c.state.osdMeta.has(6));
  t.notOk(c.state.osdmap.pgTemp.has('1.0'));
  for (let s = 0; s < 4; s++) t.notOk(pgToUpActing(c.state.osdmap, { pool: 1, seed: s }).up.includes(6));
});

t.test('osd reweight / primary-affinity', async (t) => {
  const c = cluster8();
  t.match(c.cmd('osd reweight', { id: 3, weight: 0.5 }).text, 'reweighted osd.3 to 0.50000 (8000)');
  t.equal(c.state.osdmap.osds[3]!.weight, 0x8000);
  t.equal(c.cmdError('osd reweight', { id: 3, weight: 1.5 }).code, 'EINVAL');
  t.equal(c.cmdError('osd reweight', { id: 30, weight: 1 }).code, 'ENOENT');
  t.equal(c.cmdError('osd reweight', { id: 3 }).code, 'EINVAL');
  c.cmd('osd primary-affinity', { id: 'osd.2', weight: '0' });
  t.equal(c.state.osdmap.osds[2]!.primaryAffinity, 0);
  t.equal(c.cmdError('osd primary-affinity', { id: 2, weight: -1 }).code, 'EINVAL');
});

t.test('osd set / unset flags', async (t) => {
  const c = new Cluster();
  for (const f of ['noout', 'norebalance', 'noup', 'nodown', 'noin', 'norecover', 'nobackfill', 'noscrub', 'nodeep-scrub', 'pause']) {
    c.cmd('osd set', { flag: f });
    t.ok(c.state.osdmap.flags.has(f as never), `${f} set`);
  }
  t.match(c.cmd('osd set', { flag: 'noout' }).text, 'already set');
  t.match(c.cmd('health').text, /OSDMAP_FLAGS|flag\(s\) set/);
  c.cmd('osd unset', { flag: 'noout' });
  t.notOk(c.state.osdmap.flags.has('noout'));
  t.match(c.cmd('osd unset', { flag: 'noout' }).text, 'already unset');
  t.equal(c.cmdError('osd set', { flag: 'nonsense' }).code, 'EINVAL');
  t.equal(c.cmdError('osd set', {}).code, 'EINVAL');
});

t.test('osd crush add / move / remove / reweight / add-bucket', async (t) => {
  const c = cluster8();
  c.cmd('osd create', {}); // osd.8, not in CRUSH
  c.cmd('osd crush add', { id: 8, weight: 2, host: 'h9', rack: 'r1' });
  const crush = () => c.state.osdmap.crush;
  const parentName = (item: number): string | undefined => [...crush().buckets.values()].find((b) => !b.shadowOf && b.items.includes(item))?.name;
  t.equal(parentName(8), 'h9');
  t.equal(parentName(-[...crush().buckets.values()].find((b) => b.name === 'h9')!.id * -1), 'r1');
  t.equal(parentName([...crush().buckets.values()].find((b) => b.name === 'r1')!.id), 'default');
  t.match(c.cmd('osd crush add', { id: 8, weight: 1, host: 'h0' }).text, 'updated item');
  t.equal(parentName(8), 'h0', 'crush add of a placed OSD moves it');
  t.equal(c.cmdError('osd crush add', { id: 42, weight: 1, host: 'h0' }).code, 'ENOENT');
  t.equal(c.cmdError('osd crush add', { id: 8, weight: 1, host: 'bad host' }).code, 'EINVAL');
  t.equal(c.cmdError('osd crush add', { id: 8, weight: 1000, host: 'h0' }).code, 'EINVAL');
  // move a host (with its OSDs) under the rack
  c.cmd('osd crush move', { name: 'h1', parent: 'r1' });
  t.equal(parentName([...crush().buckets.values()].find((b) => b.name === 'h1')!.id), 'r1');
  const r1 = [...crush().buckets.values()].find((b) => b.name === 'r1')!;
  t.equal(r1.itemWeights.reduce((a, b) => a + b, 0), 2 * 0x10000, 'rack weighs its hosts');
  t.match(c.cmd('osd crush move', { name: 'h1', parent: 'r1' }).text, 'already under');
  t.equal(c.cmdError('osd crush move', { name: 'h1', parent: 'nowhere' }).code, 'ENOENT');
  t.equal(c.cmdError('osd crush move', { name: 'r1', parent: 'h0' }).code, 'EINVAL', 'a rack under a host');
  t.equal(c.cmdError('osd crush move', { name: 'nothing', parent: 'r1' }).code, 'ENOENT');
  // reweight
  c.cmd('osd crush reweight', { name: 'osd.0', weight: 0.5 });
  t.equal(c.state.osdmap.crush.buckets.get([...crush().buckets.values()].find((b) => b.name === 'h0')!.id)!.itemWeights[0], 0x8000);
  t.equal(c.cmdError('osd crush reweight', { name: 'h0', weight: 1 }).code, 'EINVAL');
  t.equal(c.cmdError('osd crush reweight', { name: 'osd.99', weight: 1 }).code, 'ENOENT');
  // add-bucket
  c.cmd('osd crush add-bucket', { name: 'dc1', type: 'datacenter' });
  t.match(c.cmd('osd crush add-bucket', { name: 'dc1', type: 'datacenter' }).text, 'already exists');
  t.equal(c.cmdError('osd crush add-bucket', { name: 'dc1', type: 'rack' }).code, 'EEXIST');
  t.equal(c.cmdError('osd crush add-bucket', { name: 'x', type: 'galaxy' }).code, 'EINVAL');
  t.equal(c.cmdError('osd crush add-bucket', { name: 'x', type: 'osd' }).code, 'EINVAL');
  t.equal(c.cmdError('osd crush add-bucket', { name: 'x', type: 'rack', parent: 'h0' }).code, 'EINVAL');
  t.equal(c.cmdError('osd crush add-bucket', { name: 'x', type: 'rack', parent: 'nope' }).code, 'ENOENT');
  c.cmd('osd crush add-bucket', { name: 'r2', type: 'rack', parent: 'default' });
  // remove
  t.equal(c.cmdError('osd crush remove', { name: 'h0' }).code, 'ENOTEMPTY');
  t.equal(c.cmdError('osd crush remove', { name: 'default' }).code, 'ENOTEMPTY');
  c.cmd('osd crush remove', { name: 'r2' });
  c.cmd('osd crush remove', { name: 'dc1' });
  t.equal(c.cmdError('osd crush remove', { name: 'dc1' }).code, 'ENOENT');
  c.cmd('osd crush remove', { name: 'osd.8' });
  t.notOk(c.state.osdmap.crush.devices.has(8));
  t.ok(c.state.osdmap.osds[8]!.exists, 'the OSD itself stays');
  // a root used by a rule cannot go, even when empty
  c.cmd('osd crush add-bucket', { name: 'other', type: 'root' });
  c.cmd('osd pool create', { name: 'o', root: 'other', pg_num: 1 });
  t.equal(c.cmdError('osd crush remove', { name: 'other' }).code, 'EBUSY');
});

t.test('osd pool create: replicated and erasure, placement on distinct hosts', async (t) => {
  const c = cluster8();
  const r = c.cmd('osd pool create', { name: 'rbd' });
  t.same((r.data as Record<string, unknown>)['pool_id'], 1);
  const rbd = poolByName(c.state.osdmap, 'rbd')!;
  t.match(rbd, { type: 'replicated', size: 3, minSize: 2, pgNum: 32, pgpNum: 32, hashpspool: true, crushRule: 0, lastChangeEpoch: c.state.osdmap.epoch });
  const hostOf = (osd: number): string => [...c.state.osdmap.crush.buckets.values()].find((b) => !b.shadowOf && b.items.includes(osd))!.name;
  for (let s = 0; s < rbd.pgNum; s++) {
    const m = pgToUpActing(c.state.osdmap, { pool: rbd.id, seed: s });
    t.equal(m.up.length, 3);
    t.equal(new Set(m.up.map(hostOf)).size, 3, `pg 1.${s.toString(16)} on 3 hosts`);
  }
  c.cmd('osd pool create', { name: 'ec', type: 'erasure', k: 2, m: 2, pg_num: 16 });
  const ec = poolByName(c.state.osdmap, 'ec')!;
  t.match(ec, { type: 'erasure', size: 4, minSize: 3, pgNum: 16 });
  t.same(c.state.osdmap.ecProfiles.get(ec.ecProfile!), { k: 2, m: 2, stripeUnitBytes: 4096, crushFailureDomain: 'host' });
  const rule = c.state.osdmap.crush.rules.get(ec.crushRule)!;
  t.same(rule.steps.map((x) => x.op), [9, 8, 1, 7, 4], 'set_chooseleaf_tries, set_choose_tries, take, chooseleaf indep, emit');
  for (let s = 0; s < ec.pgNum; s++) {
    const m = pgToUpActing(c.state.osdmap, { pool: ec.id, seed: s });
    t.equal(m.up.length, 4);
    t.equal(new Set(m.up.map(hostOf)).size, 4);
  }
  // a second replicated pool with the same failure domain shares the rule
  c.cmd('osd pool create', { name: 'two', size: 2, pg_num: 8 });
  t.match(poolByName(c.state.osdmap, 'two'), { size: 2, minSize: 1, crushRule: 0 });
  c.cmd('osd pool create', { name: 'byosd', failure_domain: 'osd', size: 4, min_size: 2, pg_num: 8 });
  t.equal(c.state.osdmap.crush.rules.size, 3);
  // idempotent create, conflicts and bad arguments
  const e = c.state.osdmap.epoch;
  t.match(c.cmd('osd pool create', { name: 'rbd' }).text, 'already exists');
  t.equal(c.state.osdmap.epoch, e);
  const bad: [Record<string, string | number>, string][] = [
    [{ name: 'rbd', type: 'erasure' }, 'EEXIST'], [{ name: 'bad name' }, 'EINVAL'], [{ name: 'x', pg_num: 0 }, 'EINVAL'],
    [{ name: 'x', pg_num: 70000 }, 'EINVAL'], [{ name: 'x', size: 3, min_size: 4 }, 'EINVAL'], [{ name: 'x', type: 'mirror' }, 'EINVAL'],
    [{ name: 'x', failure_domain: 'planet' }, 'EINVAL'], [{ name: 'x', root: 'nope' }, 'ENOENT'], [{ name: 'x', size: 11 }, 'EINVAL'],
    [{ name: 'x', type: 'erasure', k: 1 }, 'EINVAL'], [{ name: 'x', type: 'erasure', stripe_unit: 1000 }, 'EINVAL'],
    [{ name: 'x', type: 'erasure', k: 4, m: 2, min_size: 3 }, 'EINVAL'], [{}, 'EINVAL'],
  ];
  for (const [args, code] of bad) t.equal(c.cmdError('osd pool create', args).code, code, JSON.stringify(args));
  for (let i = 0; i < 3; i++) c.cmd('osd pool create', { name: `big${i}`, pg_num: 65536 });
  t.equal(c.cmdError('osd pool create', { name: 'big3', pg_num: 65536 }).code, 'ERANGE', 'cluster PG bound');
  t.equal(c.cmdError('osd pool set', { name: 'two', key: 'pg_num', value: 65536 }).code, 'ERANGE');
});

t.test('osd pool ls / get / set', async (t) => {
  const c = cluster8();
  c.cmd('osd pool create', { name: 'a', pg_num: 8 });
  c.cmd('osd pool create', { name: 'b', type: 'erasure', pg_num: 4, k: 3, m: 2 });
  t.same(c.cmd('osd pool ls').data, ['a', 'b']);
  t.match(c.cmd('osd pool ls', { detail: true }).text, /pool 1 'a' replicated size 3 min_size 2 crush_rule 0 object_hash rjenkins pg_num 8 pgp_num 8 last_change \d+ flags hashpspool\npool 2 'b' erasure size 5 min_size 4/);
  t.equal(c.cmd('osd pool get', { name: 'a', key: 'size' }).text, 'size: 3');
  t.match(c.cmd('osd pool get', { pool: 'b' }).data, { k: 3, m: 2, size: 5 });
  t.equal(c.cmdError('osd pool get', { name: 'a', key: 'colour' }).code, 'EINVAL');
  t.equal(c.cmdError('osd pool get', { name: 'zz', key: 'size' }).code, 'ENOENT');
  c.cmd('osd pool set', { name: 'a', key: 'size', value: 2 });
  t.match(poolByName(c.state.osdmap, 'a'), { size: 2, minSize: 2, lastChangeEpoch: c.state.osdmap.epoch });
  c.cmd('osd pool set', { name: 'a', key: 'min_size', value: '1' });
  t.equal(poolByName(c.state.osdmap, 'a')!.minSize, 1);
  c.cmd('osd pool set', { name: 'a', key: 'pg_num', value: 16 });
  t.match(poolByName(c.state.osdmap, 'a'), { pgNum: 16, pgpNum: 16 });
  c.cmd('osd pool set', { name: 'a', key: 'pgp_num', value: 12 });
  c.cmd('osd pool set', { name: 'a', key: 'pg_num', value: 32 });
  t.match(poolByName(c.state.osdmap, 'a'), { pgNum: 32, pgpNum: 12 }, 'a pinned pgp_num stays');
  t.match(c.cmd('osd pool set', { name: 'a', key: 'pg_num', value: 32 }).text, 'already 32');
  const bad: [Record<string, string | number>, string][] = [
    [{ name: 'a', key: 'pg_num', value: 8 }, 'EINVAL'], [{ name: 'a', key: 'pgp_num', value: 33 }, 'EINVAL'],
    [{ name: 'a', key: 'min_size', value: 3 }, 'EINVAL'], [{ name: 'a', key: 'size', value: 0 }, 'EINVAL'],
    [{ name: 'b', key: 'size', value: 6 }, 'EINVAL'], [{ name: 'b', key: 'min_size', value: 2 }, 'EINVAL'],
    [{ name: 'a', key: 'crush_rule', value: 1 }, 'EINVAL'], [{ name: 'nope', key: 'size', value: 3 }, 'ENOENT'],
    [{ name: 'a', key: 'size', value: 'three' }, 'EINVAL'],
  ];
  for (const [args, code] of bad) t.equal(c.cmdError('osd pool set', args).code, code, JSON.stringify(args));
});

t.test('osd pool rm is guarded', async (t) => {
  const c = cluster8();
  c.cmd('osd pool create', { name: 'data', type: 'erasure', pg_num: 4 });
  const e = c.cmdError('osd pool rm', { name: 'data' });
  t.equal(e.code, 'EPERM');
  t.match(e.message, "refusing to remove pool 'data'");
  t.match(e.message, 'nacre pool rm data data --yes-i-really-really-mean-it');
  t.equal(c.cmdError('osd pool rm', { name: 'data', confirm: 'dat' }).code, 'EPERM');
  t.equal(c.cmdError('osd pool rm', { name: 'nope', confirm: 'nope' }).code, 'ENOENT');
  const profile = poolByName(c.state.osdmap, 'data')!.ecProfile!;
  c.cmd('osd pool rm', { name: 'data', confirm: 'data' });
  t.equal(poolByName(c.state.osdmap, 'data'), undefined);
  t.notOk(c.state.osdmap.ecProfiles.has(profile), 'unused EC profile removed');
  c.cmd('osd pool create', { name: 'data' });
  t.equal(poolByName(c.state.osdmap, 'data')!.id, 2, 'pool ids are not reused');
});

t.test('osd map and mksnap-selfmanaged', async (t) => {
  const c = cluster8();
  c.cmd('osd pool create', { name: 'p1' });
  const r = c.cmd('osd map', { pool: 'p1', object: 'o48' });
  const d = r.data as { pgid: string; up: number[]; acting: number[]; raw_pgid: string; epoch: number };
  const m = pgToUpActing(c.state.osdmap, { pool: 1, seed: parseInt(d.pgid.split('.')[1]!, 16) });
  t.same(d.up, m.up);
  t.match(r.text, new RegExp(`^osdmap e${d.epoch} pool 'p1' \\(1\\) object 'o48' -> pg ${d.raw_pgid.replace('.', '\\.')} \\(${d.pgid.replace('.', '\\.')}\\) -> up \\(\\[${m.up.join(',')}\\], p${m.upPrimary}\\) acting`));
  t.equal(c.cmdError('osd map', { pool: 'zz', object: 'x' }).code, 'ENOENT');
  t.equal(c.cmdError('osd map', { pool: 'p1' }).code, 'EINVAL');
  t.same(c.cmd('osd pool mksnap-selfmanaged', { pool: 'p1' }).data, { pool: 'p1', snapId: 1 });
  t.same(c.cmd('osd pool mksnap-selfmanaged', { pool: 'p1' }).data, { pool: 'p1', snapId: 2 });
  t.equal(poolByName(c.state.osdmap, 'p1')!.snapSeq, 2);
  t.equal(c.cmdError('osd pool mksnap-selfmanaged', { pool: 'zz' }).code, 'ENOENT');
});

t.test('cmdId: a retried command returns its first result and applies once', async (t) => {
  const c = cluster8();
  c.cmd('osd pool create', { name: 'p' });
  const first = c.cmd('osd pool mksnap-selfmanaged', { pool: 'p' }, 'client.admin', 'client.admin:1:7');
  const epoch = c.state.osdmap.epoch;
  const again = c.cmd('osd pool mksnap-selfmanaged', { pool: 'p' }, 'client.admin', 'client.admin:1:7');
  t.same(again, first);
  t.equal(c.state.osdmap.epoch, epoch, 'not applied twice');
  t.same(c.cmd('osd pool mksnap-selfmanaged', { pool: 'p' }, 'client.other', 'client.admin:1:7').data, { pool: 'p', snapId: 2 }, 'ids are per entity');
  // the same cmdId twice inside one batch
  const outs = c.propose([
    { kind: 'command', command: { prefix: 'osd pool mksnap-selfmanaged', args: { pool: 'p' }, cmdId: 'x' }, entity: 'client.admin' },
    { kind: 'command', command: { prefix: 'osd pool mksnap-selfmanaged', args: { pool: 'p' }, cmdId: 'x' }, entity: 'client.admin' },
  ]);
  t.same(outs.map((o) => (o.status === 'ok' ? o.reply.data : o.status)), [{ pool: 'p', snapId: 3 }, { pool: 'p', snapId: 3 }]);
  t.ok(c.state.commandLog.size >= 3);
});

t.test('auth add / get / rm / ls', async (t) => {
  const c = new Cluster();
  const added = c.cmd('auth add', { entity: 'client.rbd' }).data as { key: string; caps: Record<string, string> };
  t.equal(Buffer.from(added.key, 'base64').length, 32);
  t.same(added.caps, { mon: 'allow *', osd: 'allow *' });
  t.ok(c.state.auth.get('client.rbd')!.key.equals(Buffer.from(added.key, 'base64')));
  t.match(c.cmd('auth add', { entity: 'client.rbd' }).text, 'already exists');
  const key = Buffer.alloc(24, 9).toString('base64');
  t.equal(c.cmdError('auth add', { entity: 'client.rbd', key }).code, 'EEXIST');
  c.cmd('auth add', { entity: 'osd.4', key, caps: ['mon', 'allow profile osd', 'osd', 'allow *'] });
  t.same(c.cmd('auth get', { entity: 'osd.4' }).data, { entity: 'osd.4', key, caps: { mon: 'allow profile osd', osd: 'allow *' } });
  t.match(c.cmd('auth get', { entity: 'osd.4' }).text, `[osd.4]\n\tkey = ${key}\n\tcaps mon = "allow profile osd"`);
  t.equal(c.cmdError('auth add', { entity: 'bogus' }).code, 'EINVAL');
  t.equal(c.cmdError('auth add', { entity: 'client.x', key: 'AAAA' }).code, 'EINVAL', 'short key');
  t.equal(c.cmdError('auth add', { entity: 'client.x', caps: ['mds', 'allow'] }).code, 'EINVAL');
  t.equal(c.cmdError('auth get', { entity: 'client.nobody' }).code, 'ENOENT');
  t.equal(c.cmdError('auth rm', { entity: 'mon.b' }).code, 'EBUSY');
  t.equal(c.cmdError('auth rm', { entity: 'client.nobody' }).code, 'ENOENT');
  c.cmd('auth rm', { entity: 'client.rbd' });
  t.same((c.cmd('auth ls').data as { entity: string }[]).map((e) => e.entity), ['client.admin', 'mon.a', 'mon.b', 'mon.c', 'osd.4']);
});

t.test('config set / get / rm / dump', async (t) => {
  const c = new Cluster();
  c.cmd('config set', { who: 'global', key: 'debug_level', value: '1' });
  c.cmd('config set', { who: 'osd', key: 'debug_level', value: '5' });
  c.cmd('config set', { who: 'osd.3', key: 'osd_memory_target', value: 4096 });
  t.equal(c.cmd('config get', { who: 'osd.3', key: 'debug_level' }).text, '5', 'kind section over global');
  t.equal(c.cmdError('config get', { who: 'osd.2', key: 'osd_memory_target' }).code, 'ENOENT');
  t.same(c.cmd('config get', { who: 'osd.3' }).data, [
    { key: 'debug_level', value: '5', section: 'osd' }, { key: 'osd_memory_target', value: '4096', section: 'osd.3' },
  ]);
  t.equal(c.cmd('config get', { who: 'mon.a', key: 'debug_level' }).text, '1');
  t.same(c.cmd('config dump').data, [
    { section: 'global', name: 'debug_level', value: '1' }, { section: 'osd', name: 'debug_level', value: '5' },
    { section: 'osd.3', name: 'osd_memory_target', value: '4096' },
  ]);
  c.cmd('config set', { who: 'mon', key: 'mon_osd_down_out_interval', value: '30' });
  t.equal(c.cmdError('config set', { who: 'mon', key: 'mon_osd_down_out_interval', value: 'soon' }).code, 'EINVAL');
  t.equal(c.cmdError('config set', { who: 'mon', key: 'mon_osd_min_in_ratio', value: '2' }).code, 'EINVAL');
  t.equal(c.cmdError('config set', { who: 'martians', key: 'x', value: '1' }).code, 'EINVAL');
  t.equal(c.cmdError('config set', { who: 'osd', key: 'Bad-Key', value: '1' }).code, 'EINVAL');
  t.equal(c.cmdError('config set', { who: 'osd', key: 'k' }).code, 'EINVAL');
  t.equal(c.cmdError('config set', { who: 'osd', key: 'k', value: 'x'.repeat(5000) }).code, 'EINVAL');
  c.cmd('config rm', { who: 'osd', key: 'debug_level' });
  t.equal(c.cmd('config get', { who: 'osd.3', key: 'debug_level' }).text, '1');
  t.match(c.cmd('config rm', { who: 'osd', key: 'debug_level' }).text, 'was not set');
});
