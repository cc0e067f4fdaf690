/** Object → PG → OSDs against every osdmaptool vector case (crush map from Ceph's own dump). */
import t from 'tap';
import {
  formatPgId, objectRawHash, objectToPg, pgMask, pgNumMask, pgToUpActing, pgpNumMask, pgPps,
} from '@nacre/osdmap';
import { mapFromDump } from '../../crush/test/dump-model.js';
import { listFiles, readJson } from '../../crush/test/vectors.js';
import { osdMapFromCase, type OsdmapCase } from './case-map.js';

const cases = listFiles('osdmap', '.json').filter((f) => !f.endsWith('.osdmap.json'));
t.equal(cases.length, 7, 'seven osdmap cases');

for (const file of cases) {
  t.test(file, async (t) => {
    const c = readJson<OsdmapCase>(`osdmap/${file}`);
    const map = osdMapFromCase(c, mapFromDump(readJson(`maps/${c.map}.dump.json`)));
    const pool = map.pools.get(1)!;
    t.equal(pgNumMask(pool), c.pools[0]!.pg_num_mask, 'pg_num_mask');
    t.equal(pgpNumMask(pool), c.pools[0]!.pgp_num_mask, 'pgp_num_mask');

    const pgBad: string[] = [];
    for (const pg of c.pgs) {
      const m = pgToUpActing(map, { pool: 1, seed: pg.ps });
      if (formatPgId(m.pgid) !== pg.pgid) pgBad.push(`${pg.pgid}: pgid ${formatPgId(m.pgid)}`);
      if (pgPps(pool, pg.ps) !== pg.pps || m.pps !== pg.pps) pgBad.push(`${pg.pgid}: pps`);
      if (JSON.stringify(m.raw) !== JSON.stringify(pg.raw)) pgBad.push(`${pg.pgid}: raw ${JSON.stringify(m.raw)} != ${JSON.stringify(pg.raw)}`);
      if (JSON.stringify(m.up) !== JSON.stringify(pg.up) || m.upPrimary !== pg.up_primary) pgBad.push(`${pg.pgid}: up`);
      if (JSON.stringify(m.acting) !== JSON.stringify(pg.acting) || m.actingPrimary !== pg.acting_primary) pgBad.push(`${pg.pgid}: acting`);
    }
    t.same(pgBad, [], `${c.pgs.length} PGs match`);

    const objBad: string[] = [];
    for (const o of c.objects) {
      const bytes = Buffer.from(o.name_hex, 'hex');
      if (objectRawHash(pool, bytes) !== o.raw_hash) objBad.push(`${o.name_hex}: raw hash`);
      const pgid = objectToPg(map, 1, bytes);
      const expectPg = o.pgid ?? o.pgid_derived!;
      if (formatPgId(pgid) !== expectPg) objBad.push(`${o.name_hex}: pg ${formatPgId(pgid)} != ${expectPg}`);
      const m = pgToUpActing(map, pgid);
      if (o.acting !== null && JSON.stringify(m.acting) !== JSON.stringify(o.acting)) objBad.push(`${o.name_hex}: acting`);
      const up = o.up ?? o.up_derived!;
      if (JSON.stringify(m.up) !== JSON.stringify(up)) objBad.push(`${o.name_hex}: up`);
      if (o.up_primary !== null && m.upPrimary !== o.up_primary) objBad.push(`${o.name_hex}: up_primary`);
    }
    t.same(objBad, [], `${c.objects.length} objects match`);
  });
}

t.test('pg masks', async (t) => {
  t.same([1, 2, 3, 12, 64, 100, 123, 160].map(pgMask), [0, 1, 3, 15, 63, 127, 127, 255]);
});
