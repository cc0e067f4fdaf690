/**
 * PG versions `(epoch, v)` — Ceph's eversion_t, printed `71'3`. `v` grows by one per write in a PG
 * for the PG's whole life (it is also the object "user version" clients see); `epoch` is the map
 * epoch of the primary that assigned it. Versions sort by epoch first: when two primaries of
 * different intervals both assigned the same `v` (one of them to a write that never became
 * authoritative), the newer interval's entry is the later one.
 */
import { assert } from '@nacre/util';

export interface Eversion {
  readonly epoch: number;
  readonly v: number;
}

export const ZERO_VERSION: Eversion = Object.freeze({ epoch: 0, v: 0 });

export function ev(epoch: number, v: number): Eversion {
  assert(Number.isSafeInteger(epoch) && epoch >= 0 && Number.isSafeInteger(v) && v >= 0, () => `bad eversion ${epoch}'${v}`);
  return { epoch, v };
}

export function compareVersions(a: Eversion, b: Eversion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.v !== b.v) return a.v < b.v ? -1 : 1;
  return 0;
}

export function versionEq(a: Eversion, b: Eversion): boolean {
  return a.epoch === b.epoch && a.v === b.v;
}

export function versionLt(a: Eversion, b: Eversion): boolean {
  return compareVersions(a, b) < 0;
}

export function versionLte(a: Eversion, b: Eversion): boolean {
  return compareVersions(a, b) <= 0;
}

export function maxVersion(a: Eversion, b: Eversion): Eversion {
  return compareVersions(a, b) >= 0 ? a : b;
}

export function isZeroVersion(a: Eversion): boolean {
  return a.epoch === 0 && a.v === 0;
}

export function formatVersion(a: Eversion): string {
  return `${a.epoch}'${a.v}`;
}

/** Fixed-width key text: sorts like compareVersions (epoch 10 digits, v 16 digits). */
export function versionKey(a: Eversion): string {
  return `${String(a.epoch).padStart(10, '0')}.${String(a.v).padStart(16, '0')}`;
}

/** Compact wire/disk form. */
export function packVersion(a: Eversion): [number, number] {
  return [a.epoch, a.v];
}
