/**
 * `nacre crush what-if` — before touching a cluster, show how much data a CRUSH change would move,
 * from where to where, next to the least any placement could move to reach the same new per-OSD
 * totals.
 *
 *   nacre crush what-if -i MAP [--rule R] [--num-rep N] [--min-x A --max-x B]
 *        [--pool-id P --pg-num N [--pgp-num M]]      (map the PGs of a pool instead of raw inputs)
 *        CHANGE... [--top K] [--format json]
 *   CHANGE, applied in the order given:
 *     --add-osd ID BUCKET WEIGHT [--class C]   a new device under BUCKET (usually a host)
 *     --add-bucket NAME TYPE PARENT            a new empty bucket (e.g. a host) under PARENT
 *     --reweight ITEM WEIGHT                   CRUSH weight of a device or bucket (ceph osd crush reweight)
 *     --remove ITEM                            remove a device or an empty bucket from the map
 *     --out OSD                                mark an OSD out (in-weight 0; ceph osd out)
 *     --in-weight OSD W                        set an OSD's in-weight 0..1 (ceph osd reweight)
 *
 * "Moved" counts replicas that change OSD (for indep/EC rules, shards that change OSD at their
 * position). "Minimum" is Σ over OSDs of max(0, after − before): every replica an OSD gains must
 * arrive from somewhere, so no placement with these totals can move less.
 */
import {
  CRUSH_ITEM_NONE, StepOp, addBucket, addDevice, chooseArgsFor, compileMap, crushHash32_2, doRule, maxDevices,
  removeItem, setItemWeight, weightFromText, formatWeight, CrushError, type CrushMap, type ItemRef,
} from '@nacre/crush';
import { cephStableMod, pgMask } from '@nacre/osdmap';
import { UsageError, flagInt, flagString, parseArgs, parseIntStrict, requireString } from '../args.js';
import { loadCrushMap } from '../crush-io.js';
import type { CommandIo } from '../main.js';
import { crushtoolWeight, testWeights } from './crush.js';

type Change =
  | { kind: 'add-osd'; id: number; parent: string; weight: number; deviceClass?: string }
  | { kind: 'add-bucket'; name: string; type: string; parent: string }
  | { kind: 'reweight'; item: ItemRef; weight: number }
  | { kind: 'remove'; item: ItemRef }
  | { kind: 'in-weight'; osd: number; weight: number };

const CHANGE_ARITY: Record<string, number> = {
  '--add-osd': 3, '--class': 1, '--add-bucket': 3, '--reweight': 2, '--remove': 1, '--out': 1, '--in-weight': 2,
};

export async function whatIf(argv: string[], io: CommandIo): Promise<number> {
  const { changes, rest } = splitChanges(argv);
  const p = parseArgs(rest, {
    '-i': { arity: 1, aliases: ['--input'] }, '--rule': { arity: 1 }, '--num-rep': { arity: 1 },
    '--min-x': { arity: 1 }, '--max-x': { arity: 1 }, '--pool-id': { arity: 1 }, '--pg-num': { arity: 1 },
    '--pgp-num': { arity: 1 }, '--top': { arity: 1 }, '--format': { arity: 1 },
  });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  if (changes.length === 0) throw new UsageError('what-if needs at least one change (--add-osd, --add-bucket, --reweight, --remove, --out, --in-weight)');
  const format = flagString(p, '--format') ?? 'plain';
  if (format !== 'plain' && format !== 'json') throw new UsageError(`unknown format '${format}' (plain or json)`);

  const before = await loadCrushMap(requireString(p, '-i'));
  const ruleId = flagInt(p, '--rule', 0) ?? 0;
  const rule = before.rules.get(ruleId);
  if (rule === undefined) throw new UsageError(`rule ${ruleId} does not exist`);
  const numRep = flagInt(p, '--num-rep', 1, 64) ?? 3;
  const positional = rule.steps.some((s) => s.op === StepOp.ChooseIndep || s.op === StepOp.ChooseleafIndep);

  // apply the changes to a copy; in-weight changes only touch the weight vector
  let after = before;
  const inWeights = new Map<number, number>();
  try {
    for (const ch of changes) {
      if (ch.kind === 'add-osd') after = addDevice(after, { id: ch.id, parent: ch.parent, weight: ch.weight, ...(ch.deviceClass ? { deviceClass: ch.deviceClass } : {}) });
      else if (ch.kind === 'add-bucket') after = addBucket(after, { name: ch.name, type: ch.type, parent: ch.parent });
      else if (ch.kind === 'reweight') after = setItemWeight(after, ch.item, ch.weight);
      else if (ch.kind === 'remove') after = removeItem(after, ch.item);
      else inWeights.set(ch.osd, ch.weight);
    }
  } catch (err) {
    if (err instanceof CrushError) throw new UsageError(err.message);
    throw err;
  }
  for (const osd of inWeights.keys()) {
    if (osd >= maxDevices(after)) throw new UsageError(`osd.${osd} is not in the map`);
  }

  const inputs = buildInputs(p);
  const a = mapAll(before, ruleId, numRep, inputs.values, new Map(), inputs.chooseArgsIndex);
  const b = mapAll(after, ruleId, numRep, inputs.values, inWeights, inputs.chooseArgsIndex);
  const report = compare(a, b, positional);
  const top = flagInt(p, '--top', 0, 10000) ?? 10;

  if (format === 'json') {
    io.stdout(JSON.stringify({
      changes: changes.map(describe), inputs: inputs.values.length, input_kind: inputs.kind, rule: ruleId, num_rep: numRep,
      placements: report.placements, moved: report.moved, minimum: report.minimum,
      ratio: report.minimum === 0 ? null : Number((report.moved / report.minimum).toFixed(4)),
      inputs_changed: report.inputsChanged,
      per_osd: [...report.perOsd].sort(([x], [y]) => x - y).map(([osd, c]) => ({ osd, before: c.before, after: c.after })),
      moves: report.moves.slice(0, top).map(([from, to, count]) => ({ from, to, count })),
    }) + '\n');
    return 0;
  }
  io.stdout(renderPlain(changes, inputs, rule.name, ruleId, numRep, report, top));
  return 0;
}

function splitChanges(argv: string[]): { changes: Change[]; rest: string[] } {
  const changes: Change[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const arity = CHANGE_ARITY[flag];
    if (arity === undefined) {
      rest.push(flag);
      continue;
    }
    const v = argv.slice(i + 1, i + 1 + arity);
    if (v.length < arity) throw new UsageError(`option ${flag} needs ${arity} value${arity > 1 ? 's' : ''}`);
    i += arity;
    changes.push(parseChange(flag, v, changes));
  }
  return { changes: changes.filter((c) => c !== undefined), rest };
}

function parseChange(flag: string, v: string[], earlier: Change[]): Change {
  switch (flag) {
    case '--add-osd':
      return { kind: 'add-osd', id: parseIntStrict(v[0]!, '--add-osd ID', 0, 1 << 20), parent: v[1]!, weight: crushWeight(v[2]!) };
    case '--class': {
      const last = earlier.pop();
      if (last?.kind !== 'add-osd') throw new UsageError('--class must follow an --add-osd');
      return { ...last, deviceClass: v[0]! };
    }
    case '--add-bucket':
      return { kind: 'add-bucket', name: v[0]!, type: v[1]!, parent: v[2]! };
    case '--reweight':
      return { kind: 'reweight', item: itemRef(v[0]!), weight: crushWeight(v[1]!) };
    case '--remove':
      return { kind: 'remove', item: itemRef(v[0]!) };
    case '--out':
      return { kind: 'in-weight', osd: osdId(v[0]!), weight: 0 };
    default:
      return { kind: 'in-weight', osd: osdId(v[0]!), weight: crushtoolWeight(v[1]!) };
  }
}

function crushWeight(text: string): number {
  const w = weightFromText(text);
  if (typeof w !== 'number') throw new UsageError(`bad weight '${text}' (${w === 'negative' ? 'negative' : 'too large'})`);
  return w;
}

function osdId(text: string): number {
  return parseIntStrict(text.replace(/^osd\./, ''), 'OSD id', 0);
}

/** `osd.3` or `3` → device 3; anything else is a bucket name. */
function itemRef(text: string): ItemRef {
  const m = /^(?:osd\.)?(\d+)$/.exec(text);
  return m ? Number(m[1]) : text;
}

interface Inputs { kind: 'x' | 'pg'; values: number[]; chooseArgsIndex: number; label: string }

function buildInputs(p: ReturnType<typeof parseArgs>): Inputs {
  const poolId = flagInt(p, '--pool-id', 0, 0x7fffffff);
  const pgNum = flagInt(p, '--pg-num', 1, 65536);
  if (poolId !== undefined || pgNum !== undefined) {
    if (poolId === undefined || pgNum === undefined) throw new UsageError('--pool-id and --pg-num go together');
    const pgpNum = flagInt(p, '--pgp-num', 1, pgNum) ?? pgNum;
    const values = Array.from({ length: pgNum }, (_, ps) => crushHash32_2(cephStableMod(ps, pgpNum, pgMask(pgpNum)), poolId));
    return { kind: 'pg', values, chooseArgsIndex: poolId, label: `${pgNum} PGs of pool ${poolId}` };
  }
  const minX = flagInt(p, '--min-x', 0, 0x7fffffff) ?? 0;
  const maxX = flagInt(p, '--max-x', 0, 0x7fffffff) ?? 1023;
  if (maxX < minX) throw new UsageError(`--max-x ${maxX} is below --min-x ${minX}`);
  if (maxX - minX >= 10_000_000) throw new UsageError('at most 10000000 inputs');
  return { kind: 'x', values: Array.from({ length: maxX - minX + 1 }, (_, i) => minX + i), chooseArgsIndex: 0, label: `x ${minX}..${maxX}` };
}

function mapAll(map: CrushMap, rule: number, numRep: number, inputs: number[], overrides: Map<number, number>, argsIndex: number): number[][] {
  const compiled = compileMap(map);
  const weights = testWeights(map, overrides);
  const args = chooseArgsFor(compiled, argsIndex);
  return inputs.map((x) => doRule(compiled, rule, x, numRep, weights, args));
}

interface Report {
  placements: number;
  moved: number;
  minimum: number;
  inputsChanged: number;
  perOsd: Map<number, { before: number; after: number }>;
  moves: [number, number, number][];
}

function compare(before: number[][], after: number[][], positional: boolean): Report {
  const perOsd = new Map<number, { before: number; after: number }>();
  const count = (osd: number, key: 'before' | 'after'): void => {
    if (osd === CRUSH_ITEM_NONE) return;
    const c = perOsd.get(osd) ?? { before: 0, after: 0 };
    c[key]++;
    perOsd.set(osd, c);
  };
  const moves = new Map<string, number>();
  let placements = 0;
  let moved = 0;
  let inputsChanged = 0;
  for (let x = 0; x < before.length; x++) {
    const a = before[x]!;
    const b = after[x]!;
    for (const o of a) count(o, 'before');
    for (const o of b) count(o, 'after');
    placements += a.filter((o) => o !== CRUSH_ITEM_NONE).length;
    const pairs = positional ? positionalMoves(a, b) : setMoves(a, b);
    if (pairs.length > 0) inputsChanged++;
    for (const [from, to] of pairs) {
      if (to !== CRUSH_ITEM_NONE) moved++;
      const key = `${from},${to}`;
      moves.set(key, (moves.get(key) ?? 0) + 1);
    }
  }
  let minimum = 0;
  for (const c of perOsd.values()) minimum += Math.max(0, c.after - c.before);
  const list = [...moves].map(([k, n]) => [...k.split(',').map(Number), n] as [number, number, number])
    .sort((p, q) => q[2] - p[2] || p[0] - q[0] || p[1] - q[1]);
  return { placements, moved, minimum, inputsChanged, perOsd, moves: list };
}

/** EC: a shard moves when its position holds a different OSD. */
function positionalMoves(a: number[], b: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const from = a[i] ?? CRUSH_ITEM_NONE;
    const to = b[i] ?? CRUSH_ITEM_NONE;
    if (from !== to) out.push([from, to]);
  }
  return out;
}

/** Replicated: membership counts; leavers are paired with joiners in position order. */
function setMoves(a: number[], b: number[]): [number, number][] {
  const leaving = a.filter((o) => !b.includes(o));
  const joining = b.filter((o) => !a.includes(o));
  const out: [number, number][] = [];
  for (let i = 0; i < Math.max(leaving.length, joining.length); i++) {
    out.push([leaving[i] ?? CRUSH_ITEM_NONE, joining[i] ?? CRUSH_ITEM_NONE]);
  }
  return out;
}

function describe(ch: Change): string {
  switch (ch.kind) {
    case 'add-osd': return `add osd.${ch.id} (weight ${formatWeight(ch.weight)}${ch.deviceClass ? `, class ${ch.deviceClass}` : ''}) to ${ch.parent}`;
    case 'add-bucket': return `add ${ch.type} ${ch.name} under ${ch.parent}`;
    case 'reweight': return `reweight ${typeof ch.item === 'number' ? `osd.${ch.item}` : ch.item} to ${formatWeight(ch.weight)}`;
    case 'remove': return `remove ${typeof ch.item === 'number' ? `osd.${ch.item}` : ch.item}`;
    case 'in-weight': return ch.weight === 0 ? `out osd.${ch.osd}` : `in-weight osd.${ch.osd} ${formatWeight(ch.weight)}`;
  }
}

function name(osd: number): string {
  return osd === CRUSH_ITEM_NONE ? '(none)' : `osd.${osd}`;
}

function pct(n: number, total: number): string {
  return total === 0 ? '0.00%' : `${((100 * n) / total).toFixed(2)}%`;
}

function renderPlain(changes: Change[], inputs: Inputs, ruleName: string, ruleId: number, numRep: number, r: Report, top: number): string {
  const lines: string[] = [];
  lines.push(`change:   ${changes.map(describe).join('; ')}`);
  lines.push(`inputs:   ${inputs.label}, rule ${ruleId} (${ruleName}), ${numRep} replicas: ${r.placements} placements`);
  lines.push(`moved:    ${r.moved} (${pct(r.moved, r.placements)}) in ${r.inputsChanged} inputs`);
  lines.push(`minimum:  ${r.minimum} (${pct(r.minimum, r.placements)}) to reach the new per-OSD totals`);
  lines.push(`ratio:    ${r.minimum === 0 ? (r.moved === 0 ? '1.000 (nothing moves)' : 'n/a') : `${(r.moved / r.minimum).toFixed(3)} x minimum`}`);
  const changed = [...r.perOsd].filter(([, c]) => c.before !== c.after).sort(([x], [y]) => x - y);
  if (changed.length > 0) {
    lines.push('', 'OSD          before    after   change');
    for (const [osd, c] of changed) {
      const d = c.after - c.before;
      lines.push(`${name(osd).padEnd(10)} ${String(c.before).padStart(8)} ${String(c.after).padStart(8)} ${(d > 0 ? `+${d}` : String(d)).padStart(8)}`);
    }
  }
  if (r.moves.length > 0) {
    lines.push('', `moves (from -> to), top ${Math.min(top, r.moves.length)} of ${r.moves.length}:`);
    for (const [from, to, n] of r.moves.slice(0, top)) lines.push(`  ${name(from).padEnd(10)} -> ${name(to).padEnd(10)} ${String(n).padStart(6)}`);
  }
  return lines.join('\n') + '\n';
}
