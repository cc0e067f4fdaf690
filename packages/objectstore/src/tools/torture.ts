/**
 * The workload of the crash test: a deterministic stream of transactions. Transaction `seq` is a
 * function of (seed, seq, state before it), so the process that applies them and the process that
 * checks the survivors after a kill -9 derive the same transactions and the same expected state.
 *
 * Every transaction also stamps its sequence number into an xattr and an omap key of each object
 * it touches, so a half-applied transaction (data without the stamp, or the reverse) shows up.
 */
import { Prng } from '@nacre/util';
import { objectId, type ObjectId } from '../object-id.js';
import { Transaction } from '../txn.js';
import type { ObjectStore } from '../types.js';

export const tortureCollection = 'torture_1.0_head';
export const tortureObjectNames = ['obj0', 'obj1', 'obj2', 'obj3', 'obj4', 'obj5', 'obj6', 'obj7'];
/** Objects stay within one RBD-sized object. */
export const tortureObjectBytesMax = 4 * 1024 * 1024;
const KiB = 1024;

export interface TortureObject {
  /** Never modified in place: every change makes a new buffer (models are shared cheaply). */
  data: Buffer;
  attrs: Map<string, Buffer>;
  omap: Map<string, Buffer>;
}

export type TortureModel = Map<string, TortureObject>;

export function tortureOid(name: string): ObjectId {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return objectId(1, h, name);
}

function mixSeed(seed: number, seq: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seq + 1, 0xc2b2ae35)) >>> 0;
}

/** Log-uniform length in [minBytes, maxBytes]: many small writes, some 4 MiB ones. */
function lengthBetween(rng: Prng, minBytes: number, maxBytes: number): number {
  const lo = Math.log2(minBytes);
  const hi = Math.log2(maxBytes);
  return Math.min(maxBytes, Math.max(minBytes, Math.round(2 ** (lo + rng.next() * (hi - lo)))));
}

function stamp(seq: number): Buffer {
  return Buffer.from(`seq ${seq}`);
}

/**
 * Transaction `seq` against `model`; returns it with the model after it (the input is untouched).
 */
export function tortureTransaction(seed: number, seq: number, model: TortureModel): { txn: Transaction; model: TortureModel } {
  const rng = new Prng(mixSeed(seed, seq));
  const next: TortureModel = new Map(model);
  const txn = new Transaction();
  const C = tortureCollection;
  const name = rng.pick(tortureObjectNames);
  const oid = tortureOid(name);
  const current = next.get(name);
  const roll = rng.int(0, 99);
  const fill = (n: number): Buffer => Buffer.from(rng.fill(new Uint8Array(n)));
  let touched: string[] = [name];

  if (current === undefined || roll < 25) {
    // Whole-object write, 4 KiB .. 4 MiB (replaces any previous content).
    const data = fill(lengthBetween(rng, 4 * KiB, tortureObjectBytesMax));
    txn.truncate(C, oid, 0).write(C, oid, 0, data);
    next.set(name, { data, attrs: new Map(current?.attrs), omap: new Map(current?.omap) });
  } else if (roll < 60) {
    // Overwrite somewhere in or just past the object.
    const lengthBytes = lengthBetween(rng, 4 * KiB, 1024 * KiB);
    const offsetBytes = Math.min(rng.int(0, current.data.length + 64 * KiB), tortureObjectBytesMax - lengthBytes);
    const piece = fill(lengthBytes);
    txn.write(C, oid, offsetBytes, piece);
    const data = Buffer.alloc(Math.max(current.data.length, offsetBytes + lengthBytes));
    current.data.copy(data);
    piece.copy(data, offsetBytes);
    next.set(name, { ...current, data });
  } else if (roll < 72) {
    const sizeBytes = rng.int(0, current.data.length + 64 * KiB);
    txn.truncate(C, oid, sizeBytes);
    const data = Buffer.alloc(sizeBytes);
    current.data.copy(data, 0, 0, Math.min(sizeBytes, current.data.length));
    next.set(name, { ...current, data });
  } else if (roll < 82) {
    txn.remove(C, oid);
    next.delete(name);
    touched = [];
  } else {
    // Clone (a snapshot), then write to the source so the two diverge.
    const dst = rng.pick(tortureObjectNames.filter((n) => n !== name));
    txn.clone(C, oid, tortureOid(dst));
    next.set(dst, { data: current.data, attrs: new Map(current.attrs), omap: new Map(current.omap) });
    const lengthBytes = lengthBetween(rng, 4 * KiB, 128 * KiB);
    const offsetBytes = Math.min(rng.int(0, current.data.length), tortureObjectBytesMax - lengthBytes);
    const piece = fill(lengthBytes);
    txn.write(C, oid, offsetBytes, piece);
    const data = Buffer.alloc(Math.max(current.data.length, offsetBytes + lengthBytes));
    current.data.copy(data);
    piece.copy(data, offsetBytes);
    next.set(name, { ...current, data });
    touched = [name, dst];
  }
  for (const n of touched) {
    const o = next.get(n)!;
    const attrs = new Map(o.attrs).set('seq', stamp(seq));
    const omap = new Map(o.omap).set(`s${seq % 4}`, stamp(seq));
    txn.setattr(C, tortureOid(n), 'seq', stamp(seq)).omapSetKeys(C, tortureOid(n), { [`s${seq % 4}`]: stamp(seq) });
    next.set(n, { ...o, attrs, omap });
  }
  return { txn, model: next };
}

/** Read the torture collection back into a model (the worker starts from what survived). */
export async function readTortureModel(store: ObjectStore): Promise<TortureModel> {
  const model: TortureModel = new Map();
  const page = await store.listObjects(tortureCollection, { limitCount: 1000 });
  for (const oid of page.objects) {
    const data = await store.read(tortureCollection, oid);
    const attrs = await store.getattrs(tortureCollection, oid);
    const omap = new Map((await store.omapGetRange(tortureCollection, oid)).entries);
    model.set(oid.name, { data, attrs, omap });
  }
  return model;
}

function mapsEqual(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v) === true);
}

export function modelsEqual(a: TortureModel, b: TortureModel): boolean {
  if (a.size !== b.size) return false;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (y === undefined || !x.data.equals(y.data) || !mapsEqual(x.attrs, y.attrs) || !mapsEqual(x.omap, y.omap)) return false;
  }
  return true;
}
