/** OSDMap and incremental encoding: exact round trips, and no crash on any peer's bytes. */
import fc from 'fast-check';
import t from 'tap';
import {
  applyIncremental, decodeIncremental, decodeOsdMap, encodeIncremental, encodeOsdMap, formatPgId, pgToUpActing,
  type OsdMap, type OsdMapIncremental,
} from '@nacre/osdmap';
import { parseCrushText } from '@nacre/crush';
import { Prng, seedFromEnv } from '@nacre/util';
import { listFiles, readJson } from '../../crush/test/vectors.js';
import { osdMapFromCase, type OsdmapCase } from './case-map.js';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

function placements(m: OsdMap): string {
  const out: string[] = [];
  for (const pool of m.pools.values()) {
    for (let s = 0; s < pool.pgNum; s++) {
      const r = pgToUpActing(m, { pool: pool.id, seed: s });
      out.push(`${formatPgId(r.pgid)} ${r.up} ${r.upPrimary} ${r.acting} ${r.actingPrimary}`);
    }
  }
  return out.join('\n');
}

const cases = listFiles('osdmap', '.json').filter((f) => !f.endsWith('.osdmap.json'))
  .map((f) => readJson<OsdmapCase>(`osdmap/${f}`))
  .map((c) => osdMapFromCase(c, parseCrushText(c.map_text)));

t.test('every vector map survives encode → decode with identical placement and bytes', async (t) => {
  for (const m of cases) {
    const bytes = encodeOsdMap(m);
    const back = decodeOsdMap(bytes);
    t.ok(encodeOsdMap(back).equals(bytes), 're-encoding gives the same bytes');
    t.equal(placements(back), placements(m), 'same placement for every PG');
  }
});

/** A random but valid incremental on top of `m`. */
function randomIncremental(m: OsdMap, rng: Prng): OsdMapIncremental {
  const inc: OsdMapIncremental = { epoch: m.epoch + 1, modifiedMs: m.modifiedMs + 1000 };
  const osd = rng.int(0, m.maxOsd - 1);
  const pool = m.pools.get(1)!;
  const key = formatPgId({ pool: 1, seed: rng.int(0, pool.pgNum - 1) });
  switch (rng.int(0, 8)) {
    case 0: inc.osdStates = [{ id: osd, up: !m.osds[osd]!.up, ...(m.osds[osd]!.up ? { downAt: inc.epoch } : { upFrom: inc.epoch }) }]; break;
    case 1: inc.newWeights = [[osd, rng.pick([0, 0x8000, 0x10000])]]; break;
    case 2: inc.newPrimaryAffinity = [[osd, rng.pick([0, 0x4000, 0x10000])]]; break;
    case 3: inc.newPgTemp = [[key, rng.next() < 0.3 ? [] : [rng.int(0, m.maxOsd - 1), rng.int(0, m.maxOsd - 1)]]]; break;
    case 4: inc.newPrimaryTemp = [[key, rng.next() < 0.3 ? -1 : osd]]; break;
    case 5: inc.newPgUpmapItems = [[key, [[rng.int(0, m.maxOsd - 1), osd]]]]; break;
    case 6: inc.newFlags = rng.next() < 0.5 ? ['noout'] : []; break;
    case 7: inc.newPools = [{ ...pool, id: m.poolMax + 1, name: `p${m.poolMax + 1}`, pgNum: 8, pgpNum: 8 }]; break;
    default: if (m.pools.size > 1) inc.removedPools = [Math.max(...m.pools.keys())]; break;
  }
  return inc;
}

t.test('random incremental sequences: decode(encode(inc)) applies identically; full maps round-trip', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: cases.length - 1 }), fc.integer(), (which, s) => {
    const rng = new Prng(s);
    let direct = cases[which]!;
    let viaWire = direct;
    for (let i = 0; i < 30; i++) {
      const inc = randomIncremental(direct, rng);
      direct = applyIncremental(direct, inc);
      viaWire = applyIncremental(viaWire, decodeIncremental(encodeIncremental(inc)));
    }
    const full = decodeOsdMap(encodeOsdMap(direct));
    return placements(direct) === placements(viaWire) && placements(full) === placements(direct)
      && encodeOsdMap(viaWire).equals(encodeOsdMap(direct)) && full.epoch === direct.epoch;
  }), { seed, numRuns: 100 });
  t.pass('100 sequences of 30 incrementals');
});

t.test('garbage and mutated encodings are refused with EINVAL, never another error', async (t) => {
  const good = encodeOsdMap(cases[0]!);
  const goodInc = encodeIncremental({ epoch: 2, modifiedMs: 1, newWeights: [[1, 0]], newPgTemp: [['1.1', [1, 2]]] });
  let refused = 0;
  let accepted = 0;
  fc.assert(fc.property(fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => { const x = Buffer.from(good); x[i] = b; return x; }),
    fc.tuple(fc.integer({ min: 0, max: goodInc.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => { const x = Buffer.from(goodInc); x[i] = b; return x; }),
    fc.integer({ min: 0, max: good.length - 1 }).map((n) => good.subarray(0, n)),
  ), (bytes) => {
    for (const decode of [decodeOsdMap, decodeIncremental]) {
      try {
        decode(bytes);
        accepted++;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EINVAL') throw err;
        refused++;
      }
    }
  }), { seed: seed + 1, numRuns: 500 });
  t.ok(refused > 0, `${refused} refused, ${accepted} decoded to a valid value`);
});

t.test('an incremental whose epoch does not follow is refused', async (t) => {
  const m = cases[0]!;
  t.throws(() => applyIncremental(m, decodeIncremental(encodeIncremental({ epoch: m.epoch + 2, modifiedMs: 0 }))), { code: 'EINVAL' });
});
