/**
 * `crush_do_rule`: map an input x through a rule to an ordered list of devices, exactly as Ceph's
 * `src/crush/mapper.c` does (Pacific semantics: vary_r, stable, choose_args, per-rule tunable
 * overrides, multi-take rules, the per-device in-weight vector).
 *
 * The walk is pure and allocation-light: scratch vectors live in a per-CompiledMap workspace, and the
 * only per-call allocation is the returned array. Retry policy (firstn's local/fallback/descent
 * retries, indep's rounds) is kept apart from the bucket choice functions (`bucket-choose.ts`).
 */
import { bucketChoose, bucketPermChoose, newPermWork, type PermWork } from './bucket-choose.js';
import type { CompiledBucket, CompiledChooseArg, CompiledMap } from './compiled.js';
import { crushHash32_2 } from './hash.js';
import { CRUSH_ITEM_NONE, CRUSH_ITEM_UNDEF, StepOp } from './model.js';

/** Everything a single crush_do_rule call needs besides its arguments. */
interface Ctx {
  map: CompiledMap;
  weights: ArrayLike<number>;
  weightMax: number;
  chooseArgs: readonly (CompiledChooseArg | undefined)[] | undefined;
  perm: PermWork;
}

/** Scratch state reused across calls on one compiled map (Ceph's crush_work). */
interface Workspace {
  perm: PermWork;
  w: Int32Array;
  o: Int32Array;
  c: Int32Array;
}

const workspaces = new WeakMap<CompiledMap, Workspace>();

function workspaceFor(map: CompiledMap, resultMax: number): Workspace {
  let ws = workspaces.get(map);
  if (ws === undefined || ws.w.length < resultMax) {
    const size = Math.max(resultMax, 16);
    ws = { perm: ws?.perm ?? newPermWork(map.maxBuckets), w: new Int32Array(size), o: new Int32Array(size), c: new Int32Array(size) };
    workspaces.set(map, ws);
  }
  return ws;
}

/**
 * Run rule `ruleno` for input `x`, returning at most `resultMax` items.
 * `weights[osd]` is the 16.16 in-weight of each device (0x10000 = in, 0 = out); devices at or past
 * `weights.length` count as out. `chooseArgs` is one compiled choose_args set (see `chooseArgsFor`).
 * An unknown rule gives an empty result, as in Ceph.
 */
export function doRule(
  map: CompiledMap,
  ruleno: number,
  x: number,
  resultMax: number,
  weights: ArrayLike<number>,
  chooseArgs?: readonly (CompiledChooseArg | undefined)[],
): number[] {
  const rule = ruleno >= 0 ? map.rules[ruleno] : undefined;
  if (rule === undefined || resultMax <= 0) return [];
  const ws = workspaceFor(map, resultMax);
  ws.perm.generation++; // Ceph starts every crush_do_rule with a fresh workspace
  const ctx: Ctx = { map, weights, weightMax: weights.length, chooseArgs, perm: ws.perm };

  const result: number[] = [];
  let w = ws.w;
  let o = ws.o;
  const c = ws.c;
  let wsize = 0;

  // The original choose_total_tries counted retries, not tries: add one.
  let chooseTries = map.chooseTotalTries + 1;
  let chooseLeafTries = 0;
  let localRetries = map.chooseLocalTries;
  let localFallbackRetries = map.chooseLocalFallbackTries;
  let varyR = map.chooseleafVaryR;
  let stable = map.chooseleafStable;

  for (const step of rule.steps) {
    switch (step.op) {
      case StepOp.Take: {
        const id = step.arg1;
        const ok = (id >= 0 && id < map.maxDevices) ||
          (-1 - id >= 0 && -1 - id < map.maxBuckets && map.buckets[-1 - id] !== undefined);
        if (ok) {
          w[0] = id;
          wsize = 1;
        }
        break;
      }
      case StepOp.SetChooseTries:
        if (step.arg1 > 0) chooseTries = step.arg1;
        break;
      case StepOp.SetChooseleafTries:
        if (step.arg1 > 0) chooseLeafTries = step.arg1;
        break;
      case StepOp.SetChooseLocalTries:
        if (step.arg1 >= 0) localRetries = step.arg1;
        break;
      case StepOp.SetChooseLocalFallbackTries:
        if (step.arg1 >= 0) localFallbackRetries = step.arg1;
        break;
      case StepOp.SetChooseleafVaryR:
        if (step.arg1 >= 0) varyR = step.arg1;
        break;
      case StepOp.SetChooseleafStable:
        if (step.arg1 >= 0) stable = step.arg1;
        break;
      case StepOp.ChooseFirstn:
      case StepOp.ChooseleafFirstn:
      case StepOp.ChooseIndep:
      case StepOp.ChooseleafIndep: {
        if (wsize === 0) break;
        const firstn = step.op === StepOp.ChooseFirstn || step.op === StepOp.ChooseleafFirstn;
        const recurseToLeaf = step.op === StepOp.ChooseleafFirstn || step.op === StepOp.ChooseleafIndep;
        let osize = 0;
        for (let i = 0; i < wsize; i++) {
          let numrep = step.arg1;
          if (numrep <= 0) {
            numrep += resultMax;
            if (numrep <= 0) continue;
          }
          const bno = -1 - w[i]!;
          if (bno < 0 || bno >= map.maxBuckets) continue; // e.g. CRUSH_ITEM_NONE from a previous step
          const bucket = map.buckets[bno];
          if (bucket === undefined) continue;
          if (firstn) {
            const recurseTries = chooseLeafTries !== 0 ? chooseLeafTries : map.chooseleafDescendOnce !== 0 ? 1 : chooseTries;
            osize += chooseFirstn(ctx, bucket, x, numrep, step.arg2, o, osize, 0, resultMax - osize,
              chooseTries, recurseTries, localRetries, localFallbackRetries, recurseToLeaf, varyR, stable,
              c, osize, 0);
          } else {
            const outSize = Math.min(numrep, resultMax - osize);
            chooseIndep(ctx, bucket, x, outSize, numrep, step.arg2, o, osize, 0, chooseTries,
              chooseLeafTries !== 0 ? chooseLeafTries : 1, recurseToLeaf, c, osize, 0);
            osize += outSize;
          }
        }
        if (recurseToLeaf) o.set(c.subarray(0, osize));
        const tmp = o;
        o = w;
        w = tmp;
        wsize = osize;
        break;
      }
      case StepOp.Emit:
        for (let i = 0; i < wsize && result.length < resultMax; i++) result.push(w[i]!);
        wsize = 0;
        break;
      default:
        break;
    }
  }
  return result;
}

/** crushtool's and the OSDMap's choice of choose_args set: `index` if present, else the default (-1). */
export function chooseArgsFor(map: CompiledMap, index: bigint | number): (CompiledChooseArg | undefined)[] | undefined {
  return map.chooseArgs.get(BigInt(index)) ?? map.chooseArgs.get(-1n);
}

function isOut(ctx: Ctx, item: number, x: number): boolean {
  if (item >= ctx.weightMax) return true;
  const w = ctx.weights[item]!;
  if (w >= 0x10000) return false;
  if (w === 0) return true;
  return (crushHash32_2(x, item) & 0xffff) >= w;
}

function itemType(map: CompiledMap, item: number): number {
  return item < 0 ? map.buckets[-1 - item]!.type : 0;
}

function argFor(ctx: Ctx, bucket: CompiledBucket): CompiledChooseArg | undefined {
  return ctx.chooseArgs === undefined ? undefined : ctx.chooseArgs[-1 - bucket.id];
}

/**
 * Replicated placement: choose `numrep` distinct items of `type` below `bucket`, writing them at
 * out[outBase + outpos …]; with recurseToLeaf also one device under each into out2. Returns the new
 * outpos. Retries on collision/out: first in the same bucket (local retries), then an exhaustive
 * permutation scan (local fallback, legacy tunables), then a fresh descent from `bucket`.
 */
function chooseFirstn(
  ctx: Ctx, bucket: CompiledBucket, x: number, numrep: number, type: number,
  out: Int32Array, outBase: number, outpos: number, outSize: number,
  tries: number, recurseTries: number, localRetries: number, localFallbackRetries: number,
  recurseToLeaf: boolean, varyR: number, stable: number,
  out2: Int32Array | null, out2Base: number, parentR: number,
): number {
  const map = ctx.map;
  let count = outSize;
  for (let rep = stable !== 0 ? 0 : outpos; rep < numrep && count > 0; rep++) {
    let ftotal = 0;
    let skipRep = false;
    let item = 0;
    let retryDescent: boolean;
    do {
      retryDescent = false;
      let inBucket = bucket;
      let flocal = 0;
      let retryBucket: boolean;
      do {
        retryBucket = false;
        let collide = false;
        let reject: boolean;
        const r = rep + parentR + ftotal;
        if (inBucket.size === 0) {
          reject = true;
        } else {
          if (localFallbackRetries > 0 && flocal >= (inBucket.size >> 1) && flocal > localFallbackRetries) {
            item = bucketPermChoose(inBucket, ctx.perm, x, r);
          } else {
            item = bucketChoose(inBucket, ctx.perm, x, r, argFor(ctx, inBucket), outpos);
          }
          if (item >= map.maxDevices) {
            skipRep = true;
            break;
          }
          const t = itemType(map, item);
          if (t !== type) {
            if (item >= 0 || -1 - item >= map.maxBuckets) {
              skipRep = true;
              break;
            }
            inBucket = map.buckets[-1 - item]!;
            retryBucket = true;
            continue;
          }
          for (let i = 0; i < outpos; i++) {
            if (out[outBase + i] === item) {
              collide = true;
              break;
            }
          }
          reject = false;
          if (!collide && recurseToLeaf) {
            if (item < 0) {
              const subR = varyR !== 0 ? r >> (varyR - 1) : 0;
              const got = chooseFirstn(ctx, map.buckets[-1 - item]!, x, stable !== 0 ? 1 : outpos + 1, 0,
                out2!, out2Base, outpos, count, recurseTries, 0, localRetries, localFallbackRetries,
                false, varyR, stable, null, 0, subR);
              if (got <= outpos) reject = true; // no leaf found
            } else {
              out2![out2Base + outpos] = item; // already a leaf
            }
          }
          if (!reject && !collide && t === 0) reject = isOut(ctx, item, x);
        }
        if (reject || collide) {
          ftotal++;
          flocal++;
          if (collide && flocal <= localRetries) retryBucket = true;
          else if (localFallbackRetries > 0 && flocal <= inBucket.size + localFallbackRetries) retryBucket = true;
          else if (ftotal < tries) retryDescent = true;
          else skipRep = true;
        }
      } while (retryBucket);
    } while (retryDescent);
    if (skipRep) continue;
    out[outBase + outpos] = item;
    outpos++;
    count--;
  }
  return outpos;
}

/**
 * EC placement: fill positions [outpos, outpos + left) independently and stably; a position whose
 * item fails keeps its slot (retried in later rounds with a different r) and ends as
 * CRUSH_ITEM_NONE if it never succeeds — a hole, never a shift.
 */
function chooseIndep(
  ctx: Ctx, bucket: CompiledBucket, x: number, left: number, numrep: number, type: number,
  out: Int32Array, outBase: number, outpos: number, tries: number, recurseTries: number,
  recurseToLeaf: boolean, out2: Int32Array | null, out2Base: number, parentR: number,
): void {
  const map = ctx.map;
  const endpos = outpos + left;
  for (let rep = outpos; rep < endpos; rep++) {
    out[outBase + rep] = CRUSH_ITEM_UNDEF;
    if (out2) out2[out2Base + rep] = CRUSH_ITEM_UNDEF;
  }
  for (let ftotal = 0; left > 0 && ftotal < tries; ftotal++) {
    for (let rep = outpos; rep < endpos; rep++) {
      if (out[outBase + rep] !== CRUSH_ITEM_UNDEF) continue;
      let inBucket = bucket;
      for (;;) {
        // the choice depends on the position even in nested calls, to spread load
        let r = rep + parentR;
        if (inBucket.alg === 1 /* uniform */ && inBucket.size % numrep === 0) r += (numrep + 1) * ftotal;
        else r += numrep * ftotal;
        if (inBucket.size === 0) break;
        const item = bucketChoose(inBucket, ctx.perm, x, r, argFor(ctx, inBucket), outpos);
        if (item >= map.maxDevices) {
          out[outBase + rep] = CRUSH_ITEM_NONE;
          if (out2) out2[out2Base + rep] = CRUSH_ITEM_NONE;
          left--;
          break;
        }
        const t = itemType(map, item);
        if (t !== type) {
          if (item >= 0 || -1 - item >= map.maxBuckets) {
            out[outBase + rep] = CRUSH_ITEM_NONE;
            if (out2) out2[out2Base + rep] = CRUSH_ITEM_NONE;
            left--;
            break;
          }
          inBucket = map.buckets[-1 - item]!;
          continue;
        }
        let collide = false;
        for (let i = outpos; i < endpos; i++) {
          if (out[outBase + i] === item) {
            collide = true;
            break;
          }
        }
        if (collide) break;
        if (recurseToLeaf) {
          if (item < 0) {
            chooseIndep(ctx, map.buckets[-1 - item]!, x, 1, numrep, 0, out2!, out2Base, rep, recurseTries, 0,
              false, null, 0, r);
            if (out2![out2Base + rep] === CRUSH_ITEM_NONE) break; // no leaf below
          } else {
            out2![out2Base + rep] = item;
          }
        }
        if (t === 0 && isOut(ctx, item, x)) break;
        out[outBase + rep] = item;
        left--;
        break;
      }
    }
  }
  for (let rep = outpos; rep < endpos; rep++) {
    if (out[outBase + rep] === CRUSH_ITEM_UNDEF) out[outBase + rep] = CRUSH_ITEM_NONE;
    if (out2 && out2[out2Base + rep] === CRUSH_ITEM_UNDEF) out2[out2Base + rep] = CRUSH_ITEM_NONE;
  }
}
