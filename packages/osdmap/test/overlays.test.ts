/**
 * Placement overlays that osdmaptool cannot set (so the vectors don't cover them): down OSDs,
 * pg_temp, primary_temp, pg_upmap, pg_upmap_items and primary affinity — checked against the
 * semantics of Ceph's OSDMap::_pg_to_up_acting_osds on a vector map.
 */
import t from 'tap';
import { CRUSH_ITEM_NONE } from '@nacre/crush';
import { applyIncremental, formatPgId, pgToUpActing, type OsdMap } from '@nacre/osdmap';
import { mapFromDump } from '../../crush/test/dump-model.js';
import { readJson } from '../../crush/test/vectors.js';
import { osdMapFromCase, type OsdmapCase } from './case-map.js';

const c = readJson<OsdmapCase>('osdmap/pg64-size3.json');
const base: OsdMap = { ...osdMapFromCase(c, mapFromDump(readJson(`maps/${c.map}.dump.json`))), epoch: 1 };
const pg = { pool: 1, seed: 0 };
const key = formatPgId(pg);
const orig = pgToUpActing(base, pg);
let epoch = 1;
const inc = (m: OsdMap, rest: Record<string, unknown>): OsdMap => applyIncremental(m, { epoch: m.epoch + 1, modifiedMs: ++epoch, ...rest });

t.test('a down OSD leaves the up set; replicated pools shift, EC pools keep a hole', async (t) => {
  const [a, b, cc] = orig.up as [number, number, number];
  const down = inc(base, { osdStates: [{ id: a, up: false }] });
  const m = pgToUpActing(down, pg);
  t.same(m.raw, orig.raw, 'CRUSH still places it (down is not out)');
  t.same(m.up, [b, cc], 'survivors shift left');
  t.equal(m.upPrimary, b);
  const ecPool = { ...base.pools.get(1)!, type: 'erasure' as const, ecProfile: 'p' };
  const ec = inc(down, { newPools: [ecPool] });
  const e = pgToUpActing(ec, pg);
  t.same(e.up, [CRUSH_ITEM_NONE, b, cc], 'EC keeps the position as a hole');
  t.equal(e.upPrimary, b, 'first non-hole is primary');
});

t.test('pg_temp replaces acting, primary_temp overrides the primary, both can be removed', async (t) => {
  const temp = [orig.up[2]!, orig.up[1]!, orig.up[0]!];
  const m1 = inc(base, { newPgTemp: [[key, temp]] });
  const r1 = pgToUpActing(m1, pg);
  t.same(r1.up, orig.up, 'up unchanged');
  t.same(r1.acting, temp, 'acting = pg_temp');
  t.equal(r1.actingPrimary, temp[0]);
  const m2 = inc(m1, { newPrimaryTemp: [[key, temp[1]]] });
  t.equal(pgToUpActing(m2, pg).actingPrimary, temp[1], 'primary_temp wins');
  const m3 = inc(m2, { osdStates: [{ id: temp[0]!, up: false }] });
  t.same(pgToUpActing(m3, pg).acting, temp.slice(1), 'down members of pg_temp are dropped (replicated)');
  const m4 = inc(m3, { newPgTemp: [[key, []]], newPrimaryTemp: [[key, -1]] });
  t.equal(m4.pgTemp.size, 0);
  t.equal(m4.primaryTemp.size, 0);
  const r4 = pgToUpActing(m4, pg);
  t.same(r4.acting, r4.up, 'back to acting = up');
});

t.test('pg_upmap replaces the set unless a target is out; pg_upmap_items swap single OSDs', async (t) => {
  const others = [...Array(base.maxOsd).keys()].filter((o) => !orig.raw.includes(o));
  const target = [others[0]!, others[1]!, others[2]!];
  const m1 = inc(base, { newPgUpmap: [[key, target]] });
  t.same(pgToUpActing(m1, pg).up, target, 'pg_upmap applied');
  const m2 = inc(m1, { newWeights: [[target[1]!, 0]] });
  t.same(pgToUpActing(m2, pg).up, orig.up, 'ignored while a target is out');
  const m3 = inc(base, { newPgUpmapItems: [[key, [[orig.raw[1]!, others[0]!]]]] });
  t.same(pgToUpActing(m3, pg).up, [orig.raw[0], others[0], orig.raw[2]], 'item replaced in place');
  const m4 = inc(base, { newPgUpmapItems: [[key, [[orig.raw[1]!, orig.raw[2]!]]]] });
  t.same(pgToUpActing(m4, pg).up, orig.up, 'ignored when the target is already in the set');
  const m5 = inc(m3, { removedPgUpmapItems: [key] });
  t.same(pgToUpActing(m5, pg).up, orig.up, 'removal restores CRUSH placement');
});

t.test('primary affinity: 0 never primary when another can be; chosen primary moves to the front', async (t) => {
  const first = orig.up[0]!;
  const m = inc(base, { newPrimaryAffinity: [[first, 0]] });
  let primaryCount = 0;
  for (let seed = 0; seed < 64; seed++) {
    const r = pgToUpActing(m, { pool: 1, seed });
    if (r.upPrimary === first) primaryCount++;
    if (r.up[0] !== r.upPrimary) t.fail(`pg ${seed}: primary not at the front`);
    const plain = pgToUpActing(base, { pool: 1, seed });
    t.same([...r.up].sort(), [...plain.up].sort(), `pg ${seed}: same members`);
  }
  t.equal(primaryCount, 0, `osd.${first} with affinity 0 is never primary`);
  // a fraction: affinity 0.5 keeps roughly half of its primaries
  const half = inc(base, { newPrimaryAffinity: [[first, 0x8000]] });
  let was = 0;
  let still = 0;
  for (let seed = 0; seed < 64; seed++) {
    if (pgToUpActing(base, { pool: 1, seed }).upPrimary !== first) continue;
    was++;
    if (pgToUpActing(half, { pool: 1, seed }).upPrimary === first) still++;
  }
  t.ok(was > 0 && still > 0 && still < was, `affinity 0.5 kept ${still} of ${was} primaries`);
});

t.test('bad incrementals are refused whole and leave the map untouched', async (t) => {
  const before = JSON.stringify([...base.osds]);
  t.throws(() => applyIncremental(base, { epoch: 5, modifiedMs: 0 }), { code: 'EINVAL' }, 'epoch gap');
  t.throws(() => inc(base, { newWeights: [[0, 0x20000]] }), { code: 'EINVAL' }, 'weight above 1.0');
  t.throws(() => inc(base, { osdStates: [{ id: 999, up: true }] }), { code: 'EINVAL' }, 'osd beyond max_osd');
  t.throws(() => inc(base, { removedPools: [42] }), { code: 'EINVAL' }, 'unknown pool');
  t.throws(() => inc(base, { newPgTemp: [['1.zz', [1]]] }), { code: 'EINVAL' }, 'bad pg id');
  t.throws(() => inc(base, { newPools: [{ ...base.pools.get(1)!, id: 2 }] }), { code: 'EINVAL' }, 'duplicate pool name');
  t.throws(() => inc(base, { newPools: [{ ...base.pools.get(1)!, id: 3, name: 'x', minSize: 5 }] }), { code: 'EINVAL' }, 'min_size > size');
  t.equal(JSON.stringify([...base.osds]), before);
  t.equal(base.epoch, 1);
});
