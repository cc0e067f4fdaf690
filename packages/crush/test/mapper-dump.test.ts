/**
 * The mapper against every crushtool --test vector, with the map taken from Ceph's own compiled
 * dump (so a mismatch here is the mapper's fault, not the text compiler's).
 */
import t from 'tap';
import { chooseArgsFor, compileMap, crushHash32_2, doRule } from '@nacre/crush';
import { mapFromDump } from './dump-model.js';
import { listFiles, readJson } from './vectors.js';

interface CrushVector {
  map: string; rule: number; num_rep: number; pool_id: number | null;
  device_weights_16_16: number[]; mappings: { x: number; osds: number[] }[];
}

const files = listFiles('crush', '.json');
t.ok(files.length >= 135, `${files.length} crush vector files`);

for (const file of files) {
  t.test(file, async (t) => {
    const v = readJson<CrushVector>(`crush/${file}`);
    const map = compileMap(mapFromDump(readJson(`maps/${v.map}.dump.json`)));
    const args = chooseArgsFor(map, 0);
    const got = v.mappings.map(({ x }) => {
      const input = v.pool_id === null ? x : crushHash32_2(x >>> 0, v.pool_id >>> 0);
      return doRule(map, v.rule, input, v.num_rep, v.device_weights_16_16, args);
    });
    const mismatches = v.mappings.filter((m, i) => JSON.stringify(m.osds) !== JSON.stringify(got[i]));
    t.equal(mismatches.length, 0, `${v.mappings.length} mappings, first mismatch: ${JSON.stringify(mismatches[0] ?? null)} got ${JSON.stringify(got[v.mappings.indexOf(mismatches[0]!)] ?? null)}`);
  });
}
