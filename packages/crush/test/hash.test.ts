import t from 'tap';
import {
  cephStrHashLinux, cephStrHashRjenkins, crushHash32, crushHash32_2, crushHash32_3, crushHash32_4, crushHash32_5,
} from '@nacre/crush';
import { readJson } from './vectors.js';

interface StrEntry { input_hex: string; rjenkins: number; linux: number }
interface IntEntry { fn: string; args: number[]; hash: number }

t.test('ceph_str_hash_rjenkins and ceph_str_hash_linux match Ceph for every vector', async (t) => {
  const { entries } = readJson<{ entries: StrEntry[] }>('hash/ceph_str_hash.json');
  t.ok(entries.length >= 299, `${entries.length} string vectors`);
  const bad: string[] = [];
  for (const e of entries) {
    const bytes = Buffer.from(e.input_hex, 'hex');
    if (cephStrHashRjenkins(bytes) !== e.rjenkins) bad.push(`rjenkins ${e.input_hex}`);
    if (cephStrHashLinux(bytes) !== e.linux) bad.push(`linux ${e.input_hex}`);
  }
  t.same(bad, [], 'no mismatches');
});

t.test('crush_hash32 .. crush_hash32_5 match Ceph for every vector', async (t) => {
  const { entries } = readJson<{ entries: IntEntry[] }>('hash/crush_hash32.json');
  const fns: Record<string, (...a: number[]) => number> = {
    crush_hash32: (a) => crushHash32(a!),
    crush_hash32_2: (a, b) => crushHash32_2(a!, b!),
    crush_hash32_3: (a, b, c) => crushHash32_3(a!, b!, c!),
    crush_hash32_4: (a, b, c, d) => crushHash32_4(a!, b!, c!, d!),
    crush_hash32_5: (a, b, c, d, e) => crushHash32_5(a!, b!, c!, d!, e!),
  };
  const counts = new Map<string, number>();
  const bad: string[] = [];
  for (const e of entries) {
    const fn = fns[e.fn];
    if (fn === undefined) throw new Error(`unknown function ${e.fn}`);
    counts.set(e.fn, (counts.get(e.fn) ?? 0) + 1);
    if (fn(...e.args) !== e.hash) bad.push(`${e.fn}(${e.args.join(',')})`);
    // signed and unsigned spellings of the same 32 bits hash alike
    if (fn(...e.args.map((a) => a | 0)) !== e.hash) bad.push(`${e.fn} signed (${e.args.join(',')})`);
  }
  t.equal(counts.size, 5, 'all five functions covered');
  t.same(bad, [], 'no mismatches');
});
