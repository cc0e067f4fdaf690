/**
 * crushtool's decompiler (`crushtool -d`), byte for byte as Ceph 16 prints a map:
 * - tunable lines only for values that differ from the legacy (argonaut) ones;
 * - devices by ascending id (`device N NAME[ class C]`), types by ascending id (`type 0 osd` is
 *   printed even when type 0 has no name);
 * - buckets depth first, children before parents, starting from ids -1, -2, … and following
 *   items in order; shadow buckets are not printed, but each real bucket lists its shadow ids as
 *   `id N class C` in class order; `# weight` and item weights via formatWeight; `pos N` for
 *   uniform and tree buckets;
 * - rules by ascending id, `step take NAME class C` for a shadow bucket;
 * - choose_args sets by signed index (printed as unsigned 64-bit), entries from bucket -1 down,
 *   an entry only if it has a weight_set or ids.
 * The map is expected to be valid (see validateCrushMap); a dangling reference is a CrushError.
 */
import { CrushError, LEGACY_TUNABLES, StepOp, type Bucket, type CrushMap, type Rule, type Tunables } from '../model.js';
import { formatWeight } from './weight.js';

const TUNABLE_NAMES: readonly [keyof Tunables, string][] = [
  ['chooseLocalTries', 'choose_local_tries'],
  ['chooseLocalFallbackTries', 'choose_local_fallback_tries'],
  ['chooseTotalTries', 'choose_total_tries'],
  ['chooseleafDescendOnce', 'chooseleaf_descend_once'],
  ['chooseleafVaryR', 'chooseleaf_vary_r'],
  ['chooseleafStable', 'chooseleaf_stable'],
  ['strawCalcVersion', 'straw_calc_version'],
  ['allowedBucketAlgs', 'allowed_bucket_algs'],
];

const ALG_NOTES: Readonly<Record<string, (size: number) => string>> = {
  uniform: (n) => `\t# do not change bucket size (${n}) unnecessarily`,
  list: () => '\t# add new items at the end; do not change order unnecessarily',
  tree: () => '\t# do not change pos for existing items unnecessarily',
};

export function printCrushText(map: CrushMap): string {
  const out: string[] = ['# begin crush map\n'];
  for (const [field, name] of TUNABLE_NAMES) {
    if (map.tunables[field] !== LEGACY_TUNABLES[field]) out.push(`tunable ${name} ${map.tunables[field]}\n`);
  }
  out.push('\n# devices\n');
  for (const d of [...map.devices.values()].sort((a, b) => a.id - b.id)) {
    out.push(`device ${d.id} ${d.name}${d.deviceClass === undefined ? '' : ` class ${d.deviceClass}`}\n`);
  }
  out.push('\n# types\n');
  const types = [...map.types.values()].sort((a, b) => a.id - b.id);
  // crushtool names type 0 'osd' when the map does not (and prints nothing when there are no types).
  if (types.length > 0 && types[0]!.id !== 0) out.push('type 0 osd\n');
  for (const t of types) out.push(`type ${t.id} ${t.name}\n`);
  out.push('\n# buckets\n');
  printBuckets(map, out);
  out.push('\n# rules\n');
  for (const r of [...map.rules.values()].sort((a, b) => a.id - b.id)) printRule(map, r, out);
  printChooseArgs(map, out);
  out.push('\n# end crush map\n');
  return out.join('');
}

function typeName(map: CrushMap, type: number): string {
  return map.types.get(type)?.name ?? (type === 0 ? 'device' : `type${type}`);
}

function itemName(map: CrushMap, id: number): string {
  const name = id >= 0 ? map.devices.get(id)?.name : map.buckets.get(id)?.name;
  return name ?? (id >= 0 ? `device${id}` : `bucket${-1 - id}`);
}

function printBuckets(map: CrushMap, out: string[]): void {
  const done = new Set<number>();
  const active = new Set<number>();
  // Post-order walk; an explicit stack keeps deep (hand-made) hierarchies off the call stack.
  const visit = (root: number): void => {
    const stack: { id: number; next: number }[] = [{ id: root, next: 0 }];
    active.add(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const b = map.buckets.get(top.id)!;
      if (top.next < b.items.length) {
        const child = b.items[top.next++]!;
        if (child >= 0 || done.has(child) || !map.buckets.has(child)) continue;
        if (active.has(child)) throw new CrushError(`bucket ${top.id} contains bucket ${child}, which contains it: buckets must form a DAG`);
        active.add(child);
        stack.push({ id: child, next: 0 });
      } else {
        stack.pop();
        active.delete(top.id);
        done.add(top.id);
        if (!b.shadowOf) printBucket(map, b, out);
      }
    }
  };
  for (const id of [...map.buckets.keys()].sort((a, b) => b - a)) if (!done.has(id)) visit(id);
}

function printBucket(map: CrushMap, b: Bucket, out: string[]): void {
  out.push(`${typeName(map, b.type)} ${b.name} {\n`);
  out.push(`\tid ${b.id}\t\t# do not change unnecessarily\n`);
  for (const [cls, id] of b.classIds) out.push(`\tid ${id} class ${cls}\t\t# do not change unnecessarily\n`);
  let weight = 0;
  for (const w of b.itemWeights) weight = (weight + w) >>> 0;
  out.push(`\t# weight ${formatWeight(weight)}\n`);
  out.push(`\talg ${b.alg}${ALG_NOTES[b.alg]?.(b.items.length) ?? ''}\n`);
  out.push(`\thash ${b.hash}\t# ${b.hash === 0 ? 'rjenkins1' : 'unknown'}\n`);
  const withPos = b.alg === 'uniform' || b.alg === 'tree';
  b.items.forEach((item, i) => {
    out.push(`\titem ${itemName(map, item)} weight ${formatWeight(b.itemWeights[i]!)}${withPos ? ` pos ${i}` : ''}\n`);
  });
  out.push('}\n');
}

function printRule(map: CrushMap, r: Rule, out: string[]): void {
  out.push(`rule ${r.name} {\n\tid ${r.id}\n`);
  out.push(r.type === 1 ? '\ttype replicated\n' : r.type === 3 ? '\ttype erasure\n' : `\ttype ${r.type}\n`);
  out.push(`\tmin_size ${r.minSize}\n\tmax_size ${r.maxSize}\n`);
  for (const s of r.steps) {
    switch (s.op) {
      case StepOp.Noop: out.push('\tstep noop\n'); break;
      case StepOp.Take: out.push(`\tstep take ${takeTarget(map, s.arg1)}\n`); break;
      case StepOp.Emit: out.push('\tstep emit\n'); break;
      case StepOp.SetChooseTries: out.push(`\tstep set_choose_tries ${s.arg1}\n`); break;
      case StepOp.SetChooseLocalTries: out.push(`\tstep set_choose_local_tries ${s.arg1}\n`); break;
      case StepOp.SetChooseLocalFallbackTries: out.push(`\tstep set_choose_local_fallback_tries ${s.arg1}\n`); break;
      case StepOp.SetChooseleafTries: out.push(`\tstep set_chooseleaf_tries ${s.arg1}\n`); break;
      case StepOp.SetChooseleafVaryR: out.push(`\tstep set_chooseleaf_vary_r ${s.arg1}\n`); break;
      case StepOp.SetChooseleafStable: out.push(`\tstep set_chooseleaf_stable ${s.arg1}\n`); break;
      case StepOp.ChooseFirstn: out.push(`\tstep choose firstn ${s.arg1} type ${typeName(map, s.arg2)}\n`); break;
      case StepOp.ChooseIndep: out.push(`\tstep choose indep ${s.arg1} type ${typeName(map, s.arg2)}\n`); break;
      case StepOp.ChooseleafFirstn: out.push(`\tstep chooseleaf firstn ${s.arg1} type ${typeName(map, s.arg2)}\n`); break;
      case StepOp.ChooseleafIndep: out.push(`\tstep chooseleaf indep ${s.arg1} type ${typeName(map, s.arg2)}\n`); break;
    }
  }
  out.push('}\n');
}

/** `NAME` or `NAME class C` for a shadow bucket, as crushtool's split_id_class does. */
function takeTarget(map: CrushMap, id: number): string {
  const exists = id >= 0 ? map.devices.has(id) : map.buckets.has(id);
  if (!exists) throw new CrushError(`rule takes unknown item ${id}`);
  const shadow = map.buckets.get(id)?.shadowOf;
  if (!shadow) return itemName(map, id);
  return `${itemName(map, shadow.bucketId)} class ${shadow.deviceClass}`;
}

function printChooseArgs(map: CrushMap, out: string[]): void {
  if (map.chooseArgs.size === 0) return;
  out.push('\n# choose_args\n');
  const sets = [...map.chooseArgs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [index, args] of sets) {
    out.push(`choose_args ${BigInt.asUintN(64, index)} {\n`);
    for (const a of [...args].sort((x, y) => y.bucketId - x.bucketId)) {
      const hasWeights = a.weightSet !== undefined && a.weightSet.length > 0;
      const hasIds = a.ids !== undefined && a.ids.length > 0;
      if (!hasWeights && !hasIds) continue;
      out.push(`  {\n    bucket_id ${a.bucketId}\n`);
      if (hasWeights) {
        out.push('    weight_set [\n');
        for (const row of a.weightSet!) out.push(`      [ ${row.map((w) => `${formatWeight(w)} `).join('')}]\n`);
        out.push('    ]\n');
      }
      if (hasIds) out.push(`    ids [ ${a.ids!.map((id) => `${id} `).join('')}]\n`);
      out.push('  }\n');
    }
    out.push('}\n');
  }
}
