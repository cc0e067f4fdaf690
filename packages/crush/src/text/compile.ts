/**
 * Semantics of crushtool text: the syntax tree → a CrushMap, in the order and with the rules of
 * Ceph 16's CrushCompiler, so that the same text gives the same map (ids, weights, shadow trees).
 *
 * Ceph behaviour reproduced:
 * - Tunables start at the legacy (argonaut) values; `tunable` lines override them.
 * - Buckets are reordered first, exactly as crushtool's adjust_bucket_item_place does (for each
 *   pair i < j of buckets in file order where i lists j as an item, the parse-tree nodes at i's
 *   and j's *original* positions are swapped); an item must then be defined before the bucket
 *   that lists it.
 * - A bucket without `id` gets the highest id ≤ -1 not used by a defined bucket or by any `id`
 *   line (shadow ids included) of any bucket in the file.
 * - Item weight: explicit → `(unsigned)(strtof(w) * 0x10000)`; otherwise a device weighs 1.0 and
 *   a bucket its summed weight. Explicit device weights above 100.0 and bucket weights above
 *   65535.0 are errors; so is a bucket weight sum that overflows 32 bits.
 * - `pos` places items (tree/uniform); positions must be distinct and below the item count.
 * - Uniform buckets need identical item weights.
 * - Device classes get ids in order of first appearance (device lines, then `id N class C`
 *   lines); when the first rule is reached the shadow trees are built (map/shadow-trees.ts) with
 *   the declared shadow ids. A map without rules has no shadow trees (crushtool never builds
 *   them then), and its `id N class C` lines are dropped.
 * - choose_args entries may name any existing bucket, shadow buckets included; entries for buckets
 *   that are not straw2 are checked but dropped (Ceph's compiled map does not keep them).
 *
 * Stricter than crushtool (it would silently build a broken map): duplicate device ids, type
 * ids/names, items within one bucket, `id` lines or choose_args entries; unknown hash values;
 * numbers outside their C type; a declared shadow id that another bucket already has; negative
 * weights; bucket cycles are reported as such.
 * Different from crushtool: `choose_args N` reads N as an unsigned 64-bit number stored as its
 * signed two's complement (crushtool truncates to int, which agrees for N < 2^31 and for
 * 18446744073709551615 = -1, the only values its decompiler prints from int-sized indexes).
 */
import {
  BUCKET_ALG_ID, CRUSH_MAX_BUCKET_WEIGHT, CRUSH_MAX_DEVICE_WEIGHT, LEGACY_TUNABLES, RULE_TYPE_ERASURE,
  RULE_TYPE_REPLICATED, StepOp, emptyMap, type BucketAlg, type ChooseArg, type CrushMap, type RuleStep,
  type Tunables,
} from '../model.js';
import {
  ShadowIdCollision, describePopulateFailure, populateShadowTrees, type ClassIdTable, type PopulateFailure,
} from '../map/shadow-trees.js';
import { sortMapInPlace } from '../map/canonical-order.js';
import { LIMITS } from '../map/limits.js';
import type { Token } from './lexer.js';
import { CrushParseError } from './parse-error.js';
import type {
  BucketItemNode, BucketNode, ChooseArgsNode, DeviceNode, RuleNode, StepNode, TopNode, TunableNode, TypeNode,
} from './syntax.js';
import { weightFromText } from './weight.js';

const TUNABLE_FIELDS: Readonly<Record<string, { field: keyof Tunables; max: number }>> = {
  choose_local_tries: { field: 'chooseLocalTries', max: LIMITS.int32Max },
  choose_local_fallback_tries: { field: 'chooseLocalFallbackTries', max: LIMITS.int32Max },
  choose_total_tries: { field: 'chooseTotalTries', max: LIMITS.int32Max },
  chooseleaf_descend_once: { field: 'chooseleafDescendOnce', max: LIMITS.u8Max },
  chooseleaf_vary_r: { field: 'chooseleafVaryR', max: LIMITS.u8Max },
  chooseleaf_stable: { field: 'chooseleafStable', max: LIMITS.u8Max },
  straw_calc_version: { field: 'strawCalcVersion', max: LIMITS.u8Max },
  allowed_bucket_algs: { field: 'allowedBucketAlgs', max: LIMITS.u32Max },
};

const SET_STEP_OPS: Readonly<Record<string, StepOp>> = {
  set_choose_tries: StepOp.SetChooseTries,
  set_choose_local_tries: StepOp.SetChooseLocalTries,
  set_choose_local_fallback_tries: StepOp.SetChooseLocalFallbackTries,
  set_chooseleaf_tries: StepOp.SetChooseleafTries,
  set_chooseleaf_vary_r: StepOp.SetChooseleafVaryR,
  set_chooseleaf_stable: StepOp.SetChooseleafStable,
};

function fail(t: Token, detail: string): never {
  throw new CrushParseError(t.line, t.column, detail);
}

/** Parses an integer token (already matched by the grammar) and checks its range. */
function intIn(t: Token, min: number, max: number, what: string): number {
  const v = Number(t.text);
  if (!Number.isSafeInteger(v) || v < min || v > max) fail(t, `${what} ${t.text} is out of range [${min}, ${max}]`);
  return v;
}

export function compileSyntax(nodes: readonly TopNode[]): CrushMap {
  return new Compiler().run(nodes);
}

class Compiler {
  private readonly map = emptyMap(LEGACY_TUNABLES);
  /** Device and bucket names → id (one namespace, as in Ceph). */
  private readonly itemIds = new Map<string, number>();
  /** Ids not available to automatic bucket ids (Ceph's id_item). */
  private readonly usedIds = new Set<number>();
  private readonly typeIds = new Map<string, number>();
  /** Class names in class-id order. */
  private readonly classOrder: string[] = [];
  private readonly declaredClassIds: ClassIdTable = new Map();
  private readonly declaredClassTokens = new Map<string, Token>();
  private readonly ruleNames = new Set<string>();
  /** Bucket names that exist somewhere in the file (for a clearer "not defined yet" error). */
  private readonly bucketNamesInFile = new Set<string>();
  private populated = false;
  private populateFailure: PopulateFailure | undefined;

  run(nodes: readonly TopNode[]): CrushMap {
    const ordered = reorderBuckets(nodes);
    for (const n of ordered) if (n.kind === 'bucket') this.bucketNamesInFile.add(n.name.text);
    for (const n of ordered) if (n.kind === 'bucket') for (const line of n.ids) this.usedIds.add(Number(line.id.text));
    for (const n of ordered) {
      switch (n.kind) {
        case 'tunable': this.tunable(n); break;
        case 'device': this.device(n); break;
        case 'type': this.type(n); break;
        case 'bucket':
          if (this.populated) fail(n.type, `bucket '${n.name.text}' comes after a rule; buckets must be defined before rules`);
          this.bucket(n);
          break;
        case 'rule': this.rule(n); break;
        case 'choose_args': this.chooseArgs(n); break;
      }
    }
    sortMapInPlace(this.map);
    return this.map;
  }

  private ensureClass(name: string): void {
    if (!this.classOrder.includes(name)) this.classOrder.push(name);
  }

  private tunable(n: TunableNode): void {
    const spec = TUNABLE_FIELDS[n.name.text];
    if (!spec) fail(n.name, `unknown tunable '${n.name.text}'`);
    this.map.tunables[spec.field] = intIn(n.value, 0, spec.max, `tunable ${n.name.text}`);
  }

  private device(n: DeviceNode): void {
    const id = intIn(n.id, 0, LIMITS.deviceIdMax, 'device id');
    const name = n.name.text;
    if (this.itemIds.has(name)) fail(n.name, `duplicate name '${name}'`);
    if (this.map.devices.has(id)) fail(n.id, `duplicate device id ${id} (already '${this.map.devices.get(id)!.name}')`);
    this.itemIds.set(name, id);
    this.usedIds.add(id);
    if (n.deviceClass) {
      this.ensureClass(n.deviceClass.text);
      this.map.devices.set(id, { id, name, deviceClass: n.deviceClass.text });
    } else {
      this.map.devices.set(id, { id, name });
    }
  }

  private type(n: TypeNode): void {
    const id = intIn(n.id, 0, LIMITS.typeIdMax, 'type id');
    if (this.typeIds.has(n.name.text)) fail(n.name, `duplicate type name '${n.name.text}'`);
    if (this.map.types.has(id)) fail(n.id, `duplicate type id ${id} (already '${this.map.types.get(id)!.name}')`);
    this.typeIds.set(n.name.text, id);
    this.map.types.set(id, { id, name: n.name.text });
  }

  private bucket(n: BucketNode): void {
    const type = this.typeIds.get(n.type.text);
    if (type === undefined) fail(n.type, `unknown type '${n.type.text}'`);
    const name = n.name.text;
    if (this.itemIds.has(name)) fail(n.name, `duplicate name '${name}'`);

    let id = 0;
    let idToken = n.name;
    const classIds = new Map<string, number>();
    let sawPlainId = false;
    for (const line of n.ids) {
      const value = intIn(line.id, LIMITS.bucketIdMin, 0, 'bucket id');
      if (line.deviceClass) {
        const cls = line.deviceClass.text;
        this.ensureClass(cls);
        if (classIds.has(cls)) fail(line.deviceClass, `duplicate device class '${cls}' for bucket '${name}'`);
        classIds.set(cls, value);
        this.declaredClassTokens.set(`${name}\u0000${cls}`, line.id);
      } else {
        if (sawPlainId) fail(line.keyword, `bucket '${name}' has more than one id`);
        sawPlainId = true;
        id = value;
        idToken = line.id;
      }
    }
    const alg = n.alg.text;
    if (!Object.hasOwn(BUCKET_ALG_ID, alg)) fail(n.alg, `unknown bucket algorithm '${alg}' (uniform, list, tree, straw or straw2)`);
    for (const h of n.hashes) if (h.text !== 'rjenkins1' && Number(h.text) !== 0) fail(h, `unknown hash '${h.text}' (only 0 = rjenkins1 exists)`);

    const { items, itemWeights } = this.bucketItems(n, alg as BucketAlg);
    if (id === 0) for (id = -1; this.usedIds.has(id); id--);
    if (this.map.buckets.has(id)) fail(idToken, `duplicate bucket id ${id} (already '${this.map.buckets.get(id)!.name}')`);
    this.itemIds.set(name, id);
    this.usedIds.add(id);
    if (classIds.size > 0) this.declaredClassIds.set(id, classIds);
    this.map.buckets.set(id, { id, name, type, alg: alg as BucketAlg, hash: 0, items, itemWeights, classIds: new Map() });
  }

  private bucketItems(n: BucketNode, alg: BucketAlg): { items: number[]; itemWeights: number[] } {
    const usedPos = new Set<number>();
    let maxPos = -1;
    for (const it of n.items) {
      if (!it.pos) continue;
      const pos = intIn(it.pos, 0, LIMITS.int32Max, 'position');
      if (usedPos.has(pos)) fail(it.pos, `item '${it.name.text}' in bucket '${n.name.text}' has pos ${pos}, which is occupied`);
      usedPos.add(pos);
      maxPos = Math.max(maxPos, pos);
    }
    // crushtool sizes the bucket as max(item count, largest pos) and rejects pos >= size, so
    // positions end up dense.
    const size = Math.max(n.items.length, maxPos);
    const items = new Array<number>(size).fill(0);
    const itemWeights = new Array<number>(size).fill(0);
    const seen = new Set<number>();
    let nextPos = 0;
    let sum = 0;
    let uniformWeight: number | undefined;
    for (const it of n.items) {
      const itemId = this.itemIds.get(it.name.text);
      if (itemId === undefined) this.failUnknownItem(it, n);
      if (seen.has(itemId)) fail(it.name, `item '${it.name.text}' appears twice in bucket '${n.name.text}'`);
      seen.add(itemId);
      const weight = it.weight ? this.explicitWeight(it.weight, itemId) : this.implicitWeight(itemId);
      if (alg === 'uniform') {
        uniformWeight ??= weight;
        if (weight !== uniformWeight) fail(it.weight ?? it.name, `item '${it.name.text}' in uniform bucket '${n.name.text}' has a different weight than the items before it; uniform bucket items must all weigh the same`);
      }
      let pos = it.pos ? Number(it.pos.text) : -1;
      if (pos >= size) fail(it.pos!, `item '${it.name.text}' in bucket '${n.name.text}' has pos ${pos} >= size ${size}`);
      if (pos < 0) {
        while (usedPos.has(nextPos)) nextPos++;
        pos = nextPos++;
      }
      items[pos] = itemId;
      itemWeights[pos] = weight;
      if (sum + weight > LIMITS.u32Max) fail(it.weight ?? it.name, `weight of bucket '${n.name.text}' overflows 32 bits; lower the item weights`);
      sum += weight;
    }
    // Ceph's builder cannot make a uniform bucket whose (single) item weight is 0; crushtool aborts.
    if (alg === 'uniform' && n.items.length > 0 && uniformWeight === 0) {
      fail(n.items[0]!.weight ?? n.items[0]!.name, `uniform bucket '${n.name.text}' has items of weight 0, which Ceph cannot build (crushtool aborts)`);
    }
    return { items, itemWeights };
  }

  private failUnknownItem(it: BucketItemNode, n: BucketNode): never {
    const later = this.bucketNamesInFile.has(it.name.text);
    fail(it.name, later
      ? `item '${it.name.text}' in bucket '${n.name.text}' is not defined yet (crushtool could not reorder the buckets; define '${it.name.text}' first)`
      : `unknown item '${it.name.text}' in bucket '${n.name.text}'`);
  }

  private explicitWeight(t: Token, itemId: number): number {
    const w = weightFromText(t.text);
    if (w === 'negative') fail(t, `negative weight ${t.text}`);
    if (w === 'too-large') fail(t, `weight ${t.text} is too large`);
    if (itemId >= 0 && w > CRUSH_MAX_DEVICE_WEIGHT) fail(t, `device weight ${t.text} is above the limit of ${CRUSH_MAX_DEVICE_WEIGHT / 0x10000}`);
    if (itemId < 0 && w > CRUSH_MAX_BUCKET_WEIGHT) fail(t, `bucket weight ${t.text} is above the limit of ${CRUSH_MAX_BUCKET_WEIGHT / 0x10000}`);
    return w;
  }

  private implicitWeight(itemId: number): number {
    if (itemId >= 0) return 0x10000;
    let sum = 0;
    for (const w of this.map.buckets.get(itemId)!.itemWeights) sum += w;
    return sum;
  }

  private populate(): void {
    this.populated = true;
    const used = new Set<number>();
    for (const m of this.declaredClassIds.values()) for (const id of m.values()) used.add(id);
    try {
      this.populateFailure = populateShadowTrees(this.map, this.classOrder, this.declaredClassIds, used);
    } catch (e) {
      if (!(e instanceof ShadowIdCollision)) throw e;
      const bucketName = this.map.buckets.get(e.bucketId)!.name;
      const t = this.declaredClassTokens.get(`${bucketName}\u0000${e.deviceClass}`)!;
      fail(t, `shadow id ${e.shadowId} declared for bucket '${bucketName}' class '${e.deviceClass}' is already a bucket id`);
    }
  }

  private rule(n: RuleNode): void {
    if (!this.populated) this.populate();
    const name = n.name?.text ?? '';
    if (name !== '' && this.ruleNames.has(name)) fail(n.name!, `duplicate rule name '${name}'`);
    const id = intIn(n.id, 0, LIMITS.ruleIdMax, 'rule id');
    if (this.map.rules.has(id)) fail(n.id, `duplicate rule id ${id}`);
    const type = n.type.text === 'replicated' ? RULE_TYPE_REPLICATED
      : n.type.text === 'erasure' ? RULE_TYPE_ERASURE : intIn(n.type, 0, LIMITS.u8Max, 'rule type');
    const minSize = n.minSize ? intIn(n.minSize, 0, LIMITS.u8Max, 'min_size') : 1;
    const maxSize = n.maxSize ? intIn(n.maxSize, 0, LIMITS.u8Max, 'max_size') : 10;
    const steps = n.steps.map((s) => this.step(s));
    if (name !== '') this.ruleNames.add(name);
    this.map.rules.set(id, { id, name, type, minSize, maxSize, steps });
  }

  private step(s: StepNode): RuleStep {
    switch (s.kind) {
      case 'take': return { op: StepOp.Take, arg1: this.takeTarget(s.item, s.deviceClass), arg2: 0 };
      case 'emit': return { op: StepOp.Emit, arg1: 0, arg2: 0 };
      case 'noop': return { op: StepOp.Noop, arg1: 0, arg2: 0 };
      case 'set': return { op: SET_STEP_OPS[s.name]!, arg1: intIn(s.value, 0, LIMITS.int32Max, s.name), arg2: 0 };
      case 'choose': {
        const type = this.typeIds.get(s.type.text);
        if (type === undefined) fail(s.type, `unknown type '${s.type.text}'`);
        const num = intIn(s.num, LIMITS.int32Min, LIMITS.int32Max, 'replica count');
        const indep = s.mode.text === 'indep';
        const op = s.leaf ? (indep ? StepOp.ChooseleafIndep : StepOp.ChooseleafFirstn) : (indep ? StepOp.ChooseIndep : StepOp.ChooseFirstn);
        return { op, arg1: num, arg2: type };
      }
    }
  }

  private takeTarget(item: Token, cls: Token | undefined): number {
    const id = this.itemIds.get(item.text);
    if (id === undefined) fail(item, `unknown bucket '${item.text}'`);
    if (!cls) return id;
    if (!this.classOrder.includes(cls.text)) fail(cls, `unknown device class '${cls.text}'`);
    const shadow = this.map.buckets.get(id)?.classIds.get(cls.text);
    if (shadow !== undefined) return shadow;
    const f = this.populateFailure;
    const why = f ? ` (${describePopulateFailure(this.map, f)}, so Ceph stops building shadow trees)` : '';
    fail(cls, `'${item.text}' has no shadow bucket for class '${cls.text}'${why}`);
  }

  private chooseArgs(n: ChooseArgsNode): void {
    const unsigned = BigInt(n.index.text);
    if (unsigned > LIMITS.u64Max) fail(n.index, `choose_args index ${n.index.text} is out of range`);
    const index = BigInt.asIntN(64, unsigned);
    if (this.map.chooseArgs.has(index)) fail(n.index, `duplicate choose_args ${n.index.text}`);
    const args: ChooseArg[] = [];
    const seen = new Set<number>();
    for (const a of n.args) {
      const bucketId = intIn(a.bucketId, LIMITS.int32Min, -1, 'bucket id');
      const b = this.map.buckets.get(bucketId);
      if (!b) fail(a.bucketId, `unknown bucket id ${bucketId}`);
      if (seen.has(bucketId)) fail(a.bucketId, `duplicate choose_args entry for bucket ${bucketId}`);
      seen.add(bucketId);
      const arg: ChooseArg = { bucketId };
      if (a.weightSet && a.weightSet.rows.length > 0) {
        arg.weightSet = a.weightSet.rows.map((row) => {
          if (row.length !== b.items.length) fail(row[0] ?? a.weightSet!.keyword, `bucket ${bucketId} needs exactly ${b.items.length} weights but got ${row.length}`);
          return row.map((t) => {
            const w = weightFromText(t.text);
            if (w === 'negative') fail(t, `negative weight ${t.text}`);
            if (w === 'too-large') fail(t, `weight ${t.text} is too large`);
            return w;
          });
        });
      }
      if (a.ids && (a.ids.values.length > 0 || b.items.length > 0)) {
        if (a.ids.values.length !== b.items.length) fail(a.ids.values[0] ?? a.ids.keyword, `bucket ${bucketId} needs exactly ${b.items.length} ids but got ${a.ids.values.length}`);
        if (a.ids.values.length > 0) arg.ids = a.ids.values.map((t) => intIn(t, LIMITS.int32Min, LIMITS.int32Max, 'id'));
      }
      // The compiled map keeps choose_args only for straw2 buckets (the only ones that use them).
      if ((arg.weightSet || arg.ids) && b.alg === 'straw2') args.push(arg);
    }
    args.sort((x, y) => y.bucketId - x.bucketId);
    this.map.chooseArgs.set(index, args);
  }
}

/**
 * crushtool's adjust_bucket_item_place, reproduced including its use of stale positions (see the
 * header). Bucket cycles are reported first, with the item that closes the cycle.
 */
function reorderBuckets(nodes: readonly TopNode[]): TopNode[] {
  const buckets = nodes.filter((n): n is BucketNode => n.kind === 'bucket');
  checkCycles(buckets);
  const names = buckets.map((b) => b.name.text);
  const itemsOf = new Map<string, Set<string>>();
  const slotOf = new Map<string, number>();
  buckets.forEach((b, i) => {
    const set = itemsOf.get(b.name.text) ?? new Set<string>();
    for (const it of b.items) set.add(it.name.text);
    itemsOf.set(b.name.text, set);
    slotOf.set(b.name.text, i);
  });
  const indexesOf = new Map<string, number[]>();
  names.forEach((name, i) => indexesOf.set(name, [...(indexesOf.get(name) ?? []), i]));
  const slots = [...buckets];
  for (let i = 0; i < names.length; i++) {
    // Every j > i whose bucket i lists, ascending: the pairs crushtool's double loop acts on.
    const js: number[] = [];
    for (const item of itemsOf.get(names[i]!)!) for (const j of indexesOf.get(item) ?? []) if (j > i) js.push(j);
    js.sort((x, y) => x - y);
    for (const j of js) {
      const a = slotOf.get(names[i]!)!;
      const b = slotOf.get(names[j]!)!;
      [slots[a], slots[b]] = [slots[b]!, slots[a]!];
    }
  }
  let k = 0;
  return nodes.map((n) => (n.kind === 'bucket' ? slots[k++]! : n));
}

function checkCycles(buckets: readonly BucketNode[]): void {
  const byName = new Map<string, BucketNode>();
  for (const b of buckets) if (!byName.has(b.name.text)) byName.set(b.name.text, b);
  const state = new Map<string, 'active' | 'done'>();
  const path: string[] = [];
  const visit = (b: BucketNode): void => {
    state.set(b.name.text, 'active');
    path.push(b.name.text);
    if (path.length > LIMITS.bucketDepthMax) fail(b.name, `buckets are nested more than ${LIMITS.bucketDepthMax} deep`);
    for (const it of b.items) {
      const child = byName.get(it.name.text);
      if (!child) continue;
      const st = state.get(child.name.text);
      if (st === 'active') {
        const cycle = [...path.slice(path.indexOf(child.name.text)), child.name.text].join(' -> ');
        fail(it.name, `bucket cycle: ${cycle}`);
      }
      if (st === undefined) visit(child);
    }
    path.pop();
    state.set(b.name.text, 'done');
  };
  for (const b of byName.values()) if (!state.has(b.name.text)) visit(b);
}
