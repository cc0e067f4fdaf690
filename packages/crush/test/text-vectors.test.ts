/**
 * The text format against Ceph's ground truth, for every map in the vectors (maps/):
 * printing the parsed canonical text reproduces it byte for byte; the hand-written source
 * compiles to the same model; the model (shadow buckets included) equals `crushtool --dump`;
 * max_devices equals crushtool's; the JSON form and a shadow-tree rebuild change nothing.
 */
import t from 'tap';
import {
  CrushParseError, LEGACY_TUNABLES, StepOp, bucketWeight, crushMapFromJson, crushMapToJson, maxDevices, parseCrushText,
  printCrushText, rebuildShadowTrees, type CrushMap, type Tunables,
} from '@nacre/crush';
import { listFiles, readJson, readText } from './vectors.js';

interface MapIndexEntry { text: string; source: string; dump: string; commands: string[]; max_devices: number; rules: Record<string, string> }
interface DumpStep { op?: string; opcode?: number; arg1?: number; arg2?: number; item?: number; item_name?: string; num?: number; type?: string }
interface Dump {
  devices: { id: number; name: string; class?: string }[];
  types: { type_id: number; name: string }[];
  buckets: { id: number; name: string; type_id: number; type_name: string; weight: number; alg: string; hash: string; items: { id: number; weight: number; pos: number }[] }[];
  rules: { rule_id: number; rule_name: string; type: number; min_size: number; max_size: number; steps: DumpStep[] }[];
  tunables: Record<string, number | string>;
  choose_args: Record<string, { bucket_id: number; weight_set?: number[][]; ids?: number[] }[]>;
}

const index = readJson<Record<string, MapIndexEntry>>('maps/index.json');
const names = Object.keys(index).sort();
t.ok(names.length >= 13, `${names.length} maps`);
t.strictSame(listFiles('maps', '.dump.json').length, names.length, 'every map has a dump');

/** crushtool options used when compiling the hand-written sources (see index.json commands). */
const CLI_TUNABLES: Readonly<Record<string, keyof Tunables>> = {
  '--set-choose-local-tries': 'chooseLocalTries',
  '--set-choose-local-fallback-tries': 'chooseLocalFallbackTries',
  '--set-choose-total-tries': 'chooseTotalTries',
  '--set-chooseleaf-descend-once': 'chooseleafDescendOnce',
  '--set-chooseleaf-vary-r': 'chooseleafVaryR',
  '--set-chooseleaf-stable': 'chooseleafStable',
  '--set-straw-calc-version': 'strawCalcVersion',
  '--set-allowed-bucket-algs': 'allowedBucketAlgs',
};

function applyCliTunables(map: CrushMap, command: string): void {
  const words = command.split(/\s+/);
  words.forEach((w, i) => {
    if (!w.startsWith('--set-')) return;
    const field = CLI_TUNABLES[w];
    if (!field) throw new Error(`unknown crushtool option ${w} in ${command}`);
    map.tunables[field] = Number(words[i + 1]);
  });
}

const DUMP_OPS: Readonly<Record<string, StepOp>> = {
  take: StepOp.Take, emit: StepOp.Emit, noop: StepOp.Noop,
  choose_firstn: StepOp.ChooseFirstn, choose_indep: StepOp.ChooseIndep,
  chooseleaf_firstn: StepOp.ChooseleafFirstn, chooseleaf_indep: StepOp.ChooseleafIndep,
  set_choose_tries: StepOp.SetChooseTries, set_chooseleaf_tries: StepOp.SetChooseleafTries,
  set_choose_local_tries: StepOp.SetChooseLocalTries, set_choose_local_fallback_tries: StepOp.SetChooseLocalFallbackTries,
  set_chooseleaf_vary_r: StepOp.SetChooseleafVaryR, set_chooseleaf_stable: StepOp.SetChooseleafStable,
};

/** The dump's steps as [op, arg1, arg2] (types by name resolved through the dump's type list). */
function dumpSteps(d: Dump, steps: DumpStep[]): number[][] {
  const typeIds = new Map(d.types.map((ty) => [ty.name, ty.type_id]));
  return steps.map((s) => {
    if (s.opcode !== undefined) return [s.opcode, s.arg1 ?? 0, s.arg2 ?? 0];
    const op = DUMP_OPS[s.op!];
    if (op === undefined) throw new Error(`unknown dump op ${s.op}`);
    if (op === StepOp.Take) return [op, s.item!, 0];
    if (s.type !== undefined) return [op, s.num!, typeIds.get(s.type)!];
    return [op, s.num ?? 0, 0];
  });
}

for (const name of names) {
  const entry = index[name]!;
  t.test(name, async (t) => {
    const text = readText(`maps/${entry.text}`);
    const dump = readJson<Dump>(`maps/${entry.dump}`);
    const map = parseCrushText(text);

    t.test('print(parse(text)) is the text, byte for byte', async (t) => {
      const printed = printCrushText(map);
      t.equal(printed, text);
    });

    t.test('the hand-written source compiles to the same map', async (t) => {
      const src = parseCrushText(readText(`maps/${entry.source}`));
      applyCliTunables(src, entry.commands[0]!);
      t.strictSame(crushMapToJson(src), crushMapToJson(map));
    });

    t.test('max_devices equals crushtool', async (t) => {
      t.equal(maxDevices(map), entry.max_devices);
    });

    t.test('tunables equal the dump', async (t) => {
      const tun = dump.tunables;
      t.strictSame(map.tunables, {
        chooseLocalTries: tun['choose_local_tries'], chooseLocalFallbackTries: tun['choose_local_fallback_tries'],
        chooseTotalTries: tun['choose_total_tries'], chooseleafDescendOnce: tun['chooseleaf_descend_once'],
        chooseleafVaryR: tun['chooseleaf_vary_r'], chooseleafStable: tun['chooseleaf_stable'],
        strawCalcVersion: tun['straw_calc_version'], allowedBucketAlgs: tun['allowed_bucket_algs'],
      });
    });

    t.test('devices and types equal the dump', async (t) => {
      t.strictSame([...map.devices.values()].map((d) => ({ id: d.id, name: d.name, ...(d.deviceClass ? { class: d.deviceClass } : {}) })), dump.devices);
      t.strictSame([...map.types.values()].map((ty) => ({ type_id: ty.id, name: ty.name })), dump.types);
    });

    t.test('buckets (shadow buckets included) equal the dump', async (t) => {
      const got = [...map.buckets.values()].sort((a, b) => b.id - a.id).map((b) => ({
        id: b.id, name: b.name, type_id: b.type, type_name: map.types.get(b.type)!.name, weight: bucketWeight(b),
        alg: b.alg, hash: b.hash === 0 ? 'rjenkins1' : String(b.hash),
        items: b.items.map((id, pos) => ({ id, weight: b.itemWeights[pos]!, pos })),
      }));
      t.strictSame(got, [...dump.buckets].sort((a, b) => b.id - a.id));
      for (const b of map.buckets.values()) {
        if (!b.shadowOf) continue;
        const orig = map.buckets.get(b.shadowOf.bucketId)!;
        t.equal(b.name, `${orig.name}~${b.shadowOf.deviceClass}`, `${b.name} names its origin`);
        t.equal(orig.classIds.get(b.shadowOf.deviceClass), b.id, `${orig.name} lists ${b.name}`);
      }
    });

    t.test('rules equal the dump', async (t) => {
      const got = [...map.rules.values()].map((r) => ({
        rule_id: r.id, rule_name: r.name, type: r.type, min_size: r.minSize, max_size: r.maxSize,
        steps: r.steps.map((s) => [s.op, s.arg1, s.arg2]),
      }));
      t.strictSame(got, dump.rules.map((r) => ({
        rule_id: r.rule_id, rule_name: r.rule_name, type: r.type, min_size: r.min_size, max_size: r.max_size,
        steps: dumpSteps(dump, r.steps),
      })));
      t.strictSame(Object.fromEntries([...map.rules.values()].map((r) => [String(r.id), r.name])), entry.rules);
    });

    t.test('choose_args equal the dump', async (t) => {
      const got = Object.fromEntries([...map.chooseArgs].map(([k, args]) => [k.toString(), args.map((a) => ({
        bucket_id: a.bucketId,
        ...(a.weightSet ? { weight_set: a.weightSet.map((row) => row.map((w) => w / 0x10000)) } : {}),
        ...(a.ids ? { ids: a.ids } : {}),
      }))]));
      const want = Object.fromEntries(Object.entries(dump.choose_args).map(([k, args]) => [k, args.map((a) => ({
        bucket_id: a.bucket_id,
        ...(a.weight_set ? { weight_set: a.weight_set.map((row) => row.map((w) => Math.round(w * 0x10000) / 0x10000)) } : {}),
        ...(a.ids ? { ids: a.ids } : {}),
      }))]));
      t.strictSame(got, want);
    });

    t.test('JSON round trip; JSON → text → parse gives the same map', async (t) => {
      const json = crushMapToJson(map);
      const back = crushMapFromJson(JSON.parse(JSON.stringify(json)));
      t.strictSame(crushMapToJson(back), json);
      t.equal(printCrushText(back), text);
      t.strictSame(crushMapToJson(parseCrushText(printCrushText(back))), json);
      const shadowless = { ...json, buckets: json.buckets.filter((b) => b.shadowOf === undefined) };
      t.strictSame(crushMapToJson(crushMapFromJson(shadowless)), json, 'a file without shadow buckets gets the same ones');
    });

    t.test('rebuilding the shadow trees changes nothing', async (t) => {
      t.strictSame(crushMapToJson(rebuildShadowTrees(map)), crushMapToJson(map));
    });
  });
}

t.test('a map without tunable lines has the legacy tunables', async (t) => {
  const map = parseCrushText('type 0 osd\n');
  t.strictSame(map.tunables, LEGACY_TUNABLES);
  t.equal(printCrushText(map), '# begin crush map\n\n# devices\n\n# types\ntype 0 osd\n\n# buckets\n\n# rules\n\n# end crush map\n');
});

t.test('parse errors are CrushParseError with EINVAL', async (t) => {
  const err = t.throws(() => parseCrushText('device x osd.0\n')) as CrushParseError;
  t.ok(err instanceof CrushParseError);
  t.equal(err.code, 'EINVAL');
});
