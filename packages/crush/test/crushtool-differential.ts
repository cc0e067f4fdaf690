/**
 * Differential check of the text compiler and decompiler against a real crushtool (not run by
 * `npm test`; the stored vectors are the test suite's ground truth). Run it where crushtool is
 * installed (Debian: ceph-base) after building:
 *
 *   npx tsx packages/crush/test/crushtool-differential.ts [COUNT] [SEED]
 *
 * It generates random crushtool texts — device classes, every bucket algorithm, missing ids,
 * declared and undeclared shadow ids, buckets in random order (crushtool's reordering), items
 * without weights, positions, rules with `take … class`, choose_args (shadow buckets included),
 * maps without rules — and for each checks that crushtool and Nacre agree on: accept or reject,
 * the decompiled text byte for byte, and the compiled map (`crushtool --dump`, shadow buckets
 * included). Prints the first disagreement with its input and exits non-zero.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CrushParseError, addBucket, addDevice, bucketWeight, parseCrushText, printCrushText, removeItem, setItemWeight, weightFromFloat,
  type CrushMap,
} from '@nacre/crush';
import { Prng } from '@nacre/util';

// `… fixtures N SEED OUT.json [EXTRA.txt …]` writes crushtool's results for N generated maps plus
// the given hand-written ones (test/fixtures/crushtool-cases.json) instead of comparing.
const fixtureMode = process.argv[2] === 'fixtures';
const args = fixtureMode || process.argv[2] === 'edits' ? process.argv.slice(3) : process.argv.slice(2);
const count = Number(args[0] ?? 500);
const seed = Number(args[1] ?? Date.now() % 1e9);
console.log(`seed ${seed}, ${count} maps`);
const rng = new Prng(seed);
const pick = <T>(xs: readonly T[]): T => xs[rng.nextU32() % xs.length]!;
const chance = (p: number): boolean => rng.nextU32() / 2 ** 32 < p;
const int = (lo: number, hi: number): number => lo + (rng.nextU32() % (hi - lo + 1));
const dir = mkdtempSync(join(tmpdir(), 'crushdiff-'));

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function weightText(): string {
  if (chance(0.15)) return pick(['0.12345', '1e-3', '100', '100.0001', '99.99999', '0.00001', '.5', '3.', '1E1', '0.0000152587890625', '16777217', '20000', '33000', '65535', '65535.5']);
  return pick(['1', '0.5', '2.731', '0.333', '0', '0.1', '1.7', '3.5', '0.0625', '4', '10.25']);
}

function generate(): string {
  const classes = shuffle(['hdd', 'ssd', 'nvme']).slice(0, int(0, 3));
  const nDev = int(1, 12);
  const lines: string[] = [];
  if (chance(0.5)) lines.push('tunable choose_total_tries 50', 'tunable chooseleaf_descend_once 1', 'tunable straw_calc_version 1');
  if (chance(0.2)) lines.push(`tunable ${pick(['choose_local_tries', 'choose_local_fallback_tries', 'chooseleaf_vary_r', 'chooseleaf_stable', 'allowed_bucket_algs'])} ${int(0, 60)}`);
  const devs = shuffle([...Array(nDev).keys()]);
  for (const d of devs) lines.push(`device ${d} osd.${d}${classes.length > 0 && chance(0.85) ? ` class ${pick(classes)}` : ''}`);
  lines.push('type 0 osd', 'type 1 host', 'type 2 rack', 'type 3 root');
  // hosts own devices; racks own hosts; roots own racks or hosts
  const nHosts = int(1, 4);
  const hosts: string[][] = Array.from({ length: nHosts }, () => []);
  for (const d of devs) hosts[rng.nextU32() % nHosts]!.push(`osd.${d}`);
  if (chance(0.1) && nHosts > 1 && !hosts[1]!.includes(hosts[0]![0] ?? '')) hosts[1]!.push(...hosts[0]!.slice(0, 1));
  const buckets: { type: string; name: string; items: string[] }[] = [];
  hosts.forEach((items, i) => buckets.push({ type: 'host', name: `h${i}`, items }));
  const hostNames = buckets.map((b) => b.name);
  const roots: string[] = [];
  if (chance(0.5)) {
    const racks = [shuffle([...hostNames]).filter(() => chance(0.7)), hostNames.filter(() => chance(0.4))];
    racks.forEach((items, i) => buckets.push({ type: 'rack', name: `k${i}`, items: [...new Set(items)] }));
    buckets.push({ type: 'root', name: 'default', items: ['k0', 'k1'] });
    roots.push('default');
  } else {
    buckets.push({ type: 'root', name: 'default', items: [...hostNames] });
    roots.push('default');
    if (chance(0.3)) {
      buckets.push({ type: 'root', name: 'other', items: hostNames.slice(0, 1) });
      roots.push('other');
    }
  }
  const usedIds = new Set<number>();
  const sizeOf = new Map<number, number>();
  const freshId = (): number => {
    let id: number;
    do id = -int(1, 40); while (usedIds.has(id));
    usedIds.add(id);
    return id;
  };
  const order = chance(0.8) ? buckets : shuffle([...buckets]);
  for (const b of order) {
    const alg = chance(0.7) ? 'straw2' : pick(['uniform', 'list', 'tree', 'straw']);
    lines.push(`${b.type} ${b.name} {`);
    const idLines: string[] = [];
    if (chance(0.85)) {
      const id = freshId();
      sizeOf.set(id, b.items.length);
      idLines.push(`\tid ${id}`);
    }
    for (const c of classes) if (chance(0.4)) idLines.push(`\tid ${freshId()} class ${c}`);
    lines.push(...(chance(0.8) ? idLines : shuffle(idLines)));
    lines.push(`\talg ${alg}`);
    if (chance(0.7)) lines.push('\thash 0\t# rjenkins1');
    const uniformWeight = weightText();
    const withPos = (alg === 'tree' || alg === 'uniform') && chance(0.3);
    const positions = shuffle([...b.items.keys()]);
    b.items.forEach((item, i) => {
      const isDevice = item.startsWith('osd.');
      const w = alg === 'uniform' ? uniformWeight : weightText();
      const weight = isDevice ? (alg === 'uniform' || chance(0.8) ? ` weight ${w}` : '') : (chance(0.5) ? ` weight ${w}` : '');
      lines.push(`\titem ${item}${weight}${withPos ? ` pos ${positions[i]}` : ''}`);
    });
    lines.push('}');
  }
  const nRules = chance(0.15) ? 0 : int(1, 3);
  for (let r = 0; r < nRules; r++) {
    const cls = classes.length > 0 && chance(0.6) ? ` class ${pick(classes)}` : '';
    lines.push(`rule ${chance(0.1) ? '' : `r${r} `}{`, `\t${chance(0.2) ? 'ruleset' : 'id'} ${r}`, `\ttype ${pick(['replicated', 'erasure'])}`, `\tmin_size ${int(0, 3)}`, `\tmax_size ${int(3, 20)}`);
    if (chance(0.3)) lines.push(`\tstep ${pick(['set_chooseleaf_tries', 'set_choose_tries', 'set_chooseleaf_vary_r', 'set_chooseleaf_stable', 'set_choose_local_tries', 'set_choose_local_fallback_tries'])} ${int(0, 100)}`);
    lines.push(`\tstep take ${chance(0.8) ? pick(roots) : pick(hostNames)}${cls}`, `\tstep ${pick(['chooseleaf', 'choose'])} ${pick(['firstn', 'indep'])} ${int(-1, 3)} type ${pick(['host', 'osd', 'rack'])}`, '\tstep emit', '}');
  }
  if (chance(0.3)) {
    lines.push(`choose_args ${pick(['18446744073709551615', '0', '3'])} {`);
    for (const id of shuffle([...usedIds]).slice(0, 3)) {
      lines.push('  {', `    bucket_id ${id}`);
      const size = sizeOf.get(id);
      if (size !== undefined && chance(0.8)) {
        lines.push('    weight_set [');
        for (let r = int(0, 3); r > 0; r--) lines.push(`      [ ${Array.from({ length: size }, () => `${weightText()} `).join('')}]`);
        lines.push('    ]');
      }
      if (size !== undefined && chance(0.4)) lines.push(`    ids [ ${Array.from({ length: size }, () => `${-int(1, 200)} `).join('')}]`);
      lines.push('  }');
    }
    lines.push('}');
  }
  return lines.join('\n') + '\n';
}

interface DumpBucket { id: number; name: string; type_id: number; weight: number; alg: string; items: { id: number; weight: number }[] }

function crushtool(text: string): { ok: true; decompiled: string; buckets: DumpBucket[]; steps: unknown } | { ok: false; error: string } {
  const src = join(dir, 'in.txt');
  const bin = join(dir, 'out.bin');
  writeFileSync(src, text);
  try {
    execFileSync('crushtool', ['-c', src, '-o', bin], { stdio: 'pipe' });
  } catch (e) {
    return { ok: false, error: String((e as { stderr?: Buffer }).stderr ?? e).split('\n').find((l) => l.includes('FAILED') || l.trim() !== '') ?? '' };
  }
  const decompiled = execFileSync('crushtool', ['-d', bin], { encoding: 'utf8' });
  const dump = JSON.parse(execFileSync('crushtool', ['-i', bin, '--dump', '-f', 'json'], { encoding: 'utf8' })) as { buckets: DumpBucket[]; rules: { steps: unknown }[] };
  return { ok: true, decompiled, buckets: dump.buckets, steps: dump.rules.map((r) => r.steps) };
}

function ours(map: CrushMap): DumpBucket[] {
  return [...map.buckets.values()].sort((a, b) => b.id - a.id).map((b) => ({
    id: b.id, name: b.name, type_id: b.type, weight: bucketWeight(b), alg: b.alg,
    items: b.items.map((id, i) => ({ id, weight: b.itemWeights[i]! })),
  }));
}

// `… edits N SEED`: apply random edits to the vector maps with crushtool (--add-item,
// --add-bucket, --reweight-item, --remove-item) and with Nacre's edit helpers; compare the results.
if (process.argv[2] === 'edits') {
  const vectors = process.env['NACRE_VECTORS'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'vectors', 'ceph-placement');
  // Ceph's weight-set updates on edits are not reproduced (see edit.ts): maps without choose_args.
  const mapNames = readdirSync(join(vectors, 'maps')).filter((f) => f.endsWith('.bin') && !f.includes('choose-args'));
  let compared = 0;
  for (let n = 0; n < count; n++) {
    const mapFile = join(vectors, 'maps', pick(mapNames));
    let map = parseCrushText(execFileSync('crushtool', ['-d', mapFile], { encoding: 'utf8' }));
    let bin = mapFile;
    for (let step = 0; step < 3; step++) {
      const hosts = [...map.buckets.values()].filter((b) => !b.shadowOf && map.types.get(b.type)?.name === 'host');
      const roots = [...map.buckets.values()].filter((b) => !b.shadowOf && map.types.get(b.type)?.name === 'root');
      const devices = [...map.devices.values()];
      const next = join(dir, `edit-${step}.bin`);
      const kind = pick(['add', 'reweight', 'remove', 'bucket']);
      let args: string[];
      let edited: CrushMap;
      try {
        if (kind === 'add' && hosts.length > 0) {
          const id = Math.max(-1, ...devices.map((d) => d.id)) + 1 + int(0, 2);
          const w = pick([0.5, 1, 2.5, 0.3]);
          const host = pick(hosts);
          args = ['--add-item', String(id), String(w), `osd.${id}`, '--loc', 'host', host.name];
          if (host.alg === 'uniform') continue;
          edited = addDevice(map, { id, weight: weightFromFloat(w), parent: host.name });
        } else if (kind === 'reweight' && devices.length > 0) {
          const d = pick(devices);
          const w = pick([0, 0.5, 1, 3.25, 0.3]);
          args = ['--reweight-item', d.name, String(w)];
          if ([...map.buckets.values()].some((b) => b.alg === 'uniform' && b.items.includes(d.id))) continue;
          edited = setItemWeight(map, d.name, weightFromFloat(w));
        } else if (kind === 'remove' && devices.length > 1) {
          const d = pick(devices);
          args = ['--remove-item', d.name];
          edited = removeItem(map, d.name);
        } else if (kind === 'bucket' && roots.length > 0) {
          const name = `newhost${step}`;
          const root = pick(roots);
          args = ['--add-bucket', name, 'host', '--loc', 'root', root.name];
          edited = addBucket(map, { name, type: 'host', parent: root.name });
        } else {
          continue;
        }
      } catch (e) {
        console.log(`skip ${kind}: ${(e as Error).message}`);
        continue;
      }
      try {
        execFileSync('crushtool', ['-i', bin, ...args, '-o', next], { stdio: 'pipe' });
      } catch (e) {
        const why = String((e as { stderr?: Buffer }).stderr ?? e).split('\n')[0];
        console.log(`crushtool failed on ${args.join(' ')} (${why}); Nacre gave a result — skipping this map`);
        break;
      }
      const want = execFileSync('crushtool', ['-d', next], { encoding: 'utf8' });
      const got = printCrushText(edited);
      if (got !== want) {
        const a = want.split('\n');
        const b = got.split('\n');
        const i = a.findIndex((l, k) => l !== b[k]);
        console.log(`EDIT DISAGREEMENT on ${mapFile} after crushtool ${args.join(' ')}:\n crushtool: ${JSON.stringify(a.slice(i - 3, i + 4))}\n nacre:     ${JSON.stringify(b.slice(i - 3, i + 4))}`);
        process.exit(1);
      }
      compared++;
      map = edited;
      bin = next;
    }
  }
  console.log(`edits agree: ${compared}`);
  process.exit(0);
}

if (fixtureMode) {
  const out = args[2]!;
  const extra = args.slice(3).map((f) => ({ name: basename(f, '.txt'), input: readFileSync(f, 'utf8') }));
  const generated = Array.from({ length: count }, (_, i) => ({ name: `generated-${seed}-${i}`, input: generate() }));
  const version = `ceph-base ${execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'ceph-base'], { encoding: 'utf8' }).trim()}`;
  const cases = [...extra, ...generated].map(({ name, input }) => {
    const r = crushtool(input);
    if (!r.ok) return { name, input, accepted: false };
    const buckets = r.buckets.map((b) => ({ id: b.id, name: b.name, weight: b.weight >>> 0, items: b.items.map((i) => [i.id, i.weight >>> 0]) }));
    return { name, input, accepted: true, decompiled: r.decompiled, buckets, steps: r.steps };
  });
  writeFileSync(out, JSON.stringify({ format: 'nacre/crushtool-cases/v1', producedBy: `crushtool -c / -d / --dump (${version})`, cases }, null, 1) + '\n');
  console.log(`wrote ${cases.length} cases to ${out}`);
  process.exit(0);
}

let agreeOk = 0;
let agreeErr = 0;
let deliberate = 0;
for (let n = 0; n < count; n++) {
  const text = generate();
  const want = crushtool(text);
  let map: CrushMap | undefined;
  let error: unknown;
  try {
    map = parseCrushText(text);
  } catch (e) {
    error = e;
  }
  if (error !== undefined && !(error instanceof CrushParseError)) throw error;
  const fail = (why: string): never => {
    writeFileSync(join(dir, 'failing.txt'), text);
    console.log(`DISAGREEMENT #${n}: ${why}\n--- input (${join(dir, 'failing.txt')}) ---\n${text}`);
    process.exit(1);
  };
  if (!want.ok) {
    // Nacre may be stricter, never more lenient than crushtool... except where crushtool accepts broken maps.
    if (map !== undefined) fail(`crushtool rejects (${want.error.trim()}), Nacre accepts`);
    agreeErr++;
    continue;
  }
  if (map === undefined) {
    // Deliberate: weights that are negative or overflow 32 bits are undefined behaviour in C (x86
    // crushtool wraps them silently); Nacre rejects them.
    if (/negative weight|is too large/.test((error as Error).message)) {
      deliberate++;
      continue;
    }
    fail(`crushtool accepts, Nacre rejects: ${(error as Error).message}`);
  }
  const printed = printCrushText(map!);
  if (printed !== want.decompiled) {
    const a = want.decompiled.split('\n');
    const b = printed.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    fail(`decompiled text differs at line ${i + 1}:\n crushtool: ${JSON.stringify(a.slice(i, i + 4))}\n nacre:     ${JSON.stringify(b.slice(i, i + 4))}`);
  }
  const mine = JSON.stringify(ours(map!));
  // crushtool's dump prints weights as signed ints
  const theirs = JSON.stringify(want.buckets.map((b) => ({ id: b.id, name: b.name, type_id: b.type_id, weight: b.weight >>> 0, alg: b.alg, items: b.items.map((i) => ({ id: i.id, weight: i.weight >>> 0 })) })).sort((a, b) => b.id - a.id));
  if (mine !== theirs) fail(`compiled buckets differ:\n${theirs}\n${mine}`);
  agreeOk++;
}
console.log(`agree: ${agreeOk} compiled identically, ${agreeErr} rejected by both; ${deliberate} with wrapping weights rejected by Nacre only`);

