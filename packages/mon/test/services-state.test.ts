/**
 * The monitor state as a value: snapshot encoding round trips, transactions that must be rejected
 * whole, committed values that are skipped alike everywhere, bootstrap, the retained incrementals
 * and what subscribers get from them.
 */
import t, { type Test } from 'tap';
import {
  applyCommitted, applyTransaction, bootstrapState, buildProposal, bootstrapTransaction, decodeMonState, decodeTransaction, emptyMonState,
  encodeMonState, encodeTransaction, installSnapshot, osdmapBundleSince, osdmapIncrementalsRetainedMax, commandLogEntriesMax,
  type MonState, type StateTransaction,
} from '@nacre/mon';
import { applyEncodedIncremental, decodeOsdMap, encodeIncremental, encodeOsdMap, poolByName } from '@nacre/osdmap';
import { Packr } from 'msgpackr';
import { Cluster, defaultBootstrap } from './services-helpers.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

function rich(): Cluster {
  const c = new Cluster();
  c.bootMany(6, 2);
  c.cmd('osd pool create', { name: 'rbd', pg_num: 16 });
  c.cmd('osd pool create', { name: 'ec', type: 'erasure', k: 2, m: 2, pg_num: 8 });
  c.cmd('osd pool mksnap-selfmanaged', { pool: 'rbd' }, 'client.admin', 'c:1:1');
  c.cmd('auth add', { entity: 'client.rbd' });
  c.cmd('config set', { who: 'osd.1', key: 'debug_osd', value: '10' });
  c.cmd('osd set', { flag: 'noscrub' });
  c.cmd('osd reweight', { id: 2, weight: 0.5 });
  c.cmd('osd primary-affinity', { id: 3, weight: 0.25 });
  c.cmd('osd down', { ids: [5] });
  c.propose([{ kind: 'failures', down: [], out: [5] }]);
  c.propose([{ kind: 'osdPgTemp', request: { epoch: c.state.osdmap.epoch, pgTemp: [['1.3', [0, 2, 4]]] } }]);
  return c;
}

t.test('snapshot encode → decode is exact', async (t) => {
  const c = rich();
  const bytes = encodeMonState(c.state);
  const back = decodeMonState(bytes);
  t.ok(encodeMonState(back).equals(bytes), 'byte-identical re-encoding');
  t.equal(back.version, c.state.version);
  t.same([...back.osdMeta], [...c.state.osdMeta]);
  t.same([...back.auth.keys()].sort(), [...c.state.auth.keys()].sort());
  t.ok(back.auth.get('client.rbd')!.key.equals(c.state.auth.get('client.rbd')!.key));
  t.same([...back.config.values()], [...c.state.config.values()]);
  t.same([...back.commandLog.values()], [...c.state.commandLog.values()]);
  t.same(back.monmap, c.state.monmap);
  t.ok(encodeOsdMap(back.osdmap).equals(encodeOsdMap(c.state.osdmap)));
  t.equal(back.osdmapIncrementals.length, c.state.osdmapIncrementals.length);
  t.same(installSnapshot(c.state.version, bytes).version, c.state.version);
  t.throws(() => installSnapshot(c.state.version + 1, bytes), { code: 'EINVAL' });
  const empty = encodeMonState(emptyMonState());
  t.ok(encodeMonState(decodeMonState(empty)).equals(empty), 'the empty state too');
});

t.test('bad snapshots are refused with EINVAL', async (t) => {
  const c = rich();
  const raw = packr.unpack(encodeMonState(c.state)) as Record<string, unknown>;
  const variants: [string, Record<string, unknown> | Buffer][] = [
    ['not msgpack', Buffer.from([0xc1, 0x00])],
    ['a list', packr.pack([1, 2])],
    ['version 2', { ...raw, v: 2 }],
    ['wrong kind', { ...raw, kind: 'osdmap' }],
    ['fsid mismatch', { ...raw, fsid: 'other' }],
    ['bad monmap', { ...raw, monmap: { epoch: 1, mons: [] } }],
    ['incremental chain gap', { ...raw, incrementals: (raw['incrementals'] as Buffer[]).slice(1, 3) }],
    ['meta for a missing OSD', { ...raw, osdMeta: [...(raw['osdMeta'] as unknown[]), [99, 'u', '', false]] }],
    ['bad entity', { ...raw, auth: [['nobody', Buffer.alloc(32), []]] }],
    ['short key', { ...raw, auth: [['client.x', Buffer.alloc(3), []]] }],
    ['bad config section', { ...raw, config: [['planet', 'x', '1']] }],
    ['osdmap garbage', { ...raw, osdmap: Buffer.from('nope') }],
  ];
  for (const [what, v] of variants) {
    const bytes = Buffer.isBuffer(v) ? v : packr.pack(v);
    t.throws(() => decodeMonState(bytes), { code: 'EINVAL' }, what);
  }
  // a pool whose CRUSH rule is gone
  const m = decodeOsdMap(raw['osdmap'] as Buffer);
  const pools = new Map(m.pools);
  pools.set(1, { ...pools.get(1)!, crushRule: 77 });
  t.throws(() => decodeMonState(packr.pack({ ...raw, osdmap: encodeOsdMap({ ...m, pools }) })), /crush rule 77/);
});

function expectRejected(t: Test, state: MonState, txn: StateTransaction | Buffer, pattern: RegExp, what: string): void {
  const before = encodeMonState(state);
  const bytes = Buffer.isBuffer(txn) ? txn : encodeTransaction(txn);
  t.throws(() => applyTransaction(state, decodeTransaction(bytes)), pattern, what);
  const r = applyCommitted(state, state.version + 1, bytes);
  t.ok(r.rejected, `${what}: skipped by applyCommitted`);
  t.equal(r.rejected?.code, 'EINVAL');
  t.equal(r.state.version, state.version + 1, `${what}: the version still advances`);
  t.ok(encodeMonState({ ...r.state, version: state.version }).equals(before), `${what}: nothing else changed`);
  t.ok(encodeMonState(state).equals(before), `${what}: the input state is untouched`);
}

t.test('applyTransaction rejects bad transactions whole', async (t) => {
  const c = rich();
  const s = c.state;
  const e = s.osdmap.epoch;
  const inc = (fields: Record<string, unknown>): Buffer => encodeIncremental({ epoch: e + 1, modifiedMs: 0, ...fields });
  expectRejected(t, s, Buffer.from('garbage'), /not msgpack|bad transaction/, 'garbage');
  expectRejected(t, s, packr.pack({ v: 1, kind: 'mon-txn', surprise: 1 }), /unknown field 'surprise'/, 'unknown field');
  expectRejected(t, s, packr.pack({ v: 9, kind: 'mon-txn' }), /format version 9/, 'future version');
  expectRejected(t, s, { osdmap: encodeIncremental({ epoch: e + 2, modifiedMs: 0 }) }, /does not follow/, 'epoch gap');
  expectRejected(t, s, { osdmap: encodeIncremental({ epoch: e, modifiedMs: 0 }) }, /does not follow/, 'epoch replay');
  expectRejected(t, s, { osdmap: Buffer.from('x') }, /bad/, 'bad incremental bytes');
  expectRejected(t, s, { osdmap: inc({ newPools: [{ ...poolByName(s.osdmap, 'rbd')!, crushRule: 50 }] }) }, /crush rule 50/, 'pool without rule');
  expectRejected(t, s, { osdmap: inc({ newPgTemp: [['7.0', [1]]] }) }, /pg_temp 7\.0/, 'pg_temp of no PG');
  expectRejected(t, s, { osdmap: inc({ osdStates: [{ id: 40, up: true }] }) }, /max_osd/, 'unknown OSD');
  expectRejected(t, s, { osdMeta: [[4, { uuid: 'u', bootId: '', autoOut: true }]] }, /auto-out but is in/, 'auto-out flag on an in OSD');
  expectRejected(t, s, { osdMeta: [[77, { uuid: 'u', bootId: '', autoOut: false }]] }, /does not exist/, 'meta of a missing OSD');
  expectRejected(t, s, packr.pack({ v: 1, kind: 'mon-txn', auth: [['bogus', null]] }), /entity name/, 'bad entity');
  expectRejected(t, s, packr.pack({ v: 1, kind: 'mon-txn', config: [['planet', 'k', 'v']] }), /config section/, 'bad config section');
  expectRejected(t, s, { monmap: { epoch: 5, mons: s.monmap.mons } }, /monmap epoch 5/, 'monmap epoch');
  expectRejected(t, s, bootstrapTransaction(defaultBootstrap()), /already exists/, 'a second initial state');
  expectRejected(t, emptyMonState(), { osdmap: encodeIncremental({ epoch: 1, modifiedMs: 0 }) }, /not been created/, 'a change before creation');
  // a valid one, for contrast
  const ok = applyTransaction(s, { osdmap: inc({ newFlags: [] }) });
  t.equal(ok.osdmap.epoch, e + 1);
  t.equal(ok.osdmap.flags.size, 0);
});

t.test('before the initial state, changes wait', async (t) => {
  const p = buildProposal(emptyMonState(), [{ kind: 'command', command: { prefix: 'osd pool create', args: { name: 'x' } } }], { wallMs: 0 });
  t.equal(p.value, undefined);
  t.equal(p.outcomes[0]!.status === 'error' && p.outcomes[0]!.error.code, 'EAGAIN');
});

t.test('applyCommitted needs consecutive versions', async (t) => {
  const c = new Cluster();
  t.throws(() => applyCommitted(c.state, c.state.version + 2, encodeTransaction({})), /does not follow/);
});

t.test('bootstrap: as a state and as the first Paxos value', async (t) => {
  const opts = defaultBootstrap({ pools: [{ name: 'rbd', pg_num: 8 }, { name: 'ec', type: 'erasure', k: 2, m: 1, pg_num: 4 }], config: [['mon', 'mon_osd_down_out_interval', '30']] });
  const direct = bootstrapState(opts);
  t.equal(direct.version, 0);
  t.equal(direct.osdmap.epoch, 1);
  t.match(poolByName(direct.osdmap, 'rbd'), { size: 3, pgNum: 8, lastChangeEpoch: 1 });
  t.match(poolByName(direct.osdmap, 'ec'), { size: 3, type: 'erasure' });
  t.same([...direct.osdmap.crush.types.values()].map((x) => x.name).slice(0, 4), ['osd', 'host', 'chassis', 'rack']);
  t.equal(direct.osdmap.crush.rules.get(0)!.name, 'replicated_rule');
  t.equal(direct.osdmap.crush.tunables.chooseTotalTries, 50, 'optimal tunables');
  const r = applyCommitted(emptyMonState(), 1, encodeTransaction(bootstrapTransaction(opts)));
  t.equal(r.rejected, undefined);
  t.equal(r.state.version, 1);
  t.ok(encodeMonState({ ...r.state, version: 0 }).equals(encodeMonState(direct)), 'the same state either way');
  t.throws(() => bootstrapState({ ...opts, fsid: 'bad fsid' }), { code: 'EINVAL' });
  t.throws(() => bootstrapState({ ...opts, mons: [] }), { code: 'EINVAL' });
  t.throws(() => bootstrapState({ ...opts, pools: [{ name: 'x', size: 99 }] }), { code: 'EINVAL' });
  t.throws(() => bootstrapState({ ...opts, keyring: [['client.x', Buffer.alloc(2)]] }), { code: 'EINVAL' });
});

t.test('retained incrementals and subscriber bundles', async (t) => {
  const c = new Cluster();
  c.bootMany(3, 1);
  const epochAt = new Map<number, Buffer>([[c.state.osdmap.epoch, encodeOsdMap(c.state.osdmap)]]);
  const startEpoch = c.state.osdmap.epoch;
  // 510 more epochs
  for (let i = 0; i < 255; i++) {
    c.cmd('osd set', { flag: 'noscrub' });
    c.cmd('osd unset', { flag: 'noscrub' });
  }
  epochAt.set(c.state.osdmap.epoch, encodeOsdMap(c.state.osdmap));
  t.equal(c.state.osdmapIncrementals.length, osdmapIncrementalsRetainedMax);
  const last = c.state.osdmap.epoch;
  t.equal(last, startEpoch + 510);
  t.same(osdmapBundleSince(c.state, last), { incrementals: [], lastEpoch: last });
  const full = osdmapBundleSince(c.state, 0);
  t.ok(full.full !== undefined && full.full.equals(encodeOsdMap(c.state.osdmap)));
  t.ok(osdmapBundleSince(c.state, startEpoch).full !== undefined, 'behind the retained ones: a full map');
  const since = last - 40;
  const b = osdmapBundleSince(c.state, since);
  t.equal(b.full, undefined);
  t.equal(b.incrementals.length, 40);
  // a subscriber at `since` that applies them reaches the current map exactly
  const oldest = last - osdmapIncrementalsRetainedMax;
  t.equal(osdmapBundleSince(c.state, oldest).incrementals.length, osdmapIncrementalsRetainedMax);
  t.ok(osdmapBundleSince(c.state, oldest - 1).full !== undefined);
  // replay the last 40 on the map of epoch `since`: rebuild it from the values
  let replay = c.initial;
  for (const v of c.values) {
    replay = applyCommitted(replay, replay.version + 1, v).state;
    if (replay.osdmap.epoch === since) break;
  }
  let sub = replay.osdmap;
  for (const inc of b.incrementals) sub = applyEncodedIncremental(sub, inc);
  t.ok(encodeOsdMap(sub).equals(encodeOsdMap(c.state.osdmap)), 'subscriber reaches the same map');
});

t.test('the command log is bounded', async (t) => {
  const c = new Cluster();
  c.cmd('osd pool create', { name: 'p', pg_num: 1 });
  for (let i = 0; i < commandLogEntriesMax + 10; i++) c.cmd('osd pool mksnap-selfmanaged', { pool: 'p' }, 'client.admin', `id-${i}`);
  t.equal(c.state.commandLog.size, commandLogEntriesMax);
  t.notOk(c.state.commandLog.has('client.admin id-0'), 'oldest forgotten');
  t.ok(c.state.commandLog.has(`client.admin id-${commandLogEntriesMax + 9}`));
});
