/**
 * Builds a CrushMap from `crushtool --dump` JSON (maps/NAME.dump.json). Used to check the mapper
 * against Ceph independently of our text compiler: the dump is Ceph's own compiled map, shadow
 * buckets included.
 */
import { emptyMap, type BucketAlg, type CrushMap, type RuleStep, StepOp } from '@nacre/crush';

interface DumpStep { op?: string; opcode?: number; arg1?: number; arg2?: number; item?: number; num?: number; type?: string }
interface Dump {
  devices: { id: number; name: string; class?: string }[];
  types: { type_id: number; name: string }[];
  buckets: { id: number; name: string; type_id: number; alg: string; hash: string; items: { id: number; weight: number }[] }[];
  rules: { rule_id: number; rule_name: string; type: number; min_size: number; max_size: number; steps: DumpStep[] }[];
  tunables: Record<string, number | string>;
  choose_args: Record<string, { bucket_id: number; weight_set?: number[][]; ids?: number[] }[]>;
}

const OPS: Record<string, StepOp> = {
  take: StepOp.Take, choose_firstn: StepOp.ChooseFirstn, choose_indep: StepOp.ChooseIndep, emit: StepOp.Emit,
  chooseleaf_firstn: StepOp.ChooseleafFirstn, chooseleaf_indep: StepOp.ChooseleafIndep,
  set_choose_tries: StepOp.SetChooseTries, set_chooseleaf_tries: StepOp.SetChooseleafTries,
  set_choose_local_tries: StepOp.SetChooseLocalTries, set_choose_local_fallback_tries: StepOp.SetChooseLocalFallbackTries,
  set_chooseleaf_vary_r: StepOp.SetChooseleafVaryR, set_chooseleaf_stable: StepOp.SetChooseleafStable,
};

export function mapFromDump(d: Dump): CrushMap {
  const t = d.tunables;
  const map = emptyMap({
    chooseLocalTries: Number(t['choose_local_tries']),
    chooseLocalFallbackTries: Number(t['choose_local_fallback_tries']),
    chooseTotalTries: Number(t['choose_total_tries']),
    chooseleafDescendOnce: Number(t['chooseleaf_descend_once']),
    chooseleafVaryR: Number(t['chooseleaf_vary_r']),
    chooseleafStable: Number(t['chooseleaf_stable']),
    strawCalcVersion: Number(t['straw_calc_version']),
    allowedBucketAlgs: Number(t['allowed_bucket_algs']),
  });
  for (const dev of d.devices) map.devices.set(dev.id, { id: dev.id, name: dev.name, ...(dev.class ? { deviceClass: dev.class } : {}) });
  const typeIds = new Map<string, number>();
  for (const ty of d.types) {
    map.types.set(ty.type_id, { id: ty.type_id, name: ty.name });
    typeIds.set(ty.name, ty.type_id);
  }
  for (const b of d.buckets) {
    map.buckets.set(b.id, {
      id: b.id, name: b.name, type: b.type_id, alg: b.alg as BucketAlg, hash: b.hash === 'rjenkins1' ? 0 : Number(b.hash),
      items: b.items.map((i) => i.id), itemWeights: b.items.map((i) => i.weight), classIds: new Map(),
    });
  }
  for (const r of d.rules) {
    const steps: RuleStep[] = r.steps.map((s) => {
      if (s.opcode !== undefined) return { op: s.opcode as StepOp, arg1: s.arg1 ?? 0, arg2: s.arg2 ?? 0 };
      const op = OPS[s.op!];
      if (op === undefined) throw new Error(`unknown dump op ${s.op}`);
      if (op === StepOp.Take) return { op, arg1: s.item!, arg2: 0 };
      if (op === StepOp.Emit) return { op, arg1: 0, arg2: 0 };
      return { op, arg1: s.num!, arg2: s.type === undefined ? 0 : typeIds.get(s.type)! };
    });
    map.rules.set(r.rule_id, { id: r.rule_id, name: r.rule_name, type: r.type, minSize: r.min_size, maxSize: r.max_size, steps });
  }
  for (const [key, args] of Object.entries(d.choose_args)) {
    map.chooseArgs.set(BigInt(key), args.map((a) => ({
      bucketId: a.bucket_id,
      ...(a.weight_set ? { weightSet: a.weight_set.map((row) => row.map((w) => Math.round(w * 0x10000))) } : {}),
      ...(a.ids ? { ids: a.ids } : {}),
    })));
  }
  return map;
}
