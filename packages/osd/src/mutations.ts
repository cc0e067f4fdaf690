/**
 * Object mutations: the deterministic description of a write that the primary evaluates once and
 * every acting OSD applies identically (replication ships these, not client sub-ops). They are
 * absolute (an append is already a write at the old size), so applying them to the same object
 * state gives the same bytes everywhere.
 */
import { Transaction, type ObjectId } from '@nacre/objectstore';
import { expectArray, expectBytes, expectInt, expectOneOf, expectRecord, expectString } from '@nacre/proto';

export type Mutation =
  | { m: 'touch' }
  | { m: 'write'; offset: number; data: Buffer }
  | { m: 'zero'; offset: number; length: number }
  | { m: 'truncate'; size: number }
  | { m: 'remove' }
  | { m: 'setattrs'; attrs: [string, Buffer][] }
  | { m: 'rmattr'; name: string }
  | { m: 'omap_set'; entries: [string, Buffer][] }
  | { m: 'omap_rm'; keys: string[] }
  | { m: 'omap_clear' };

/** Mutations per write (sub-ops expand to at most a few each). */
export const mutationsPerWriteMax = 256;

/** Top-level fields that may carry write data (the messenger moves at most 8 fields to attachments). */
export const dataRefs = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'] as const;
/** Data shorter than this stays inline (the messenger inlines it anyway). */
const refBytesMin = 64 * 1024;

/** Wire form of a mutation list: large write data moved to top-level `d0`… fields of `into`. */
export function mutationsToWire(muts: readonly Mutation[], into: Record<string, unknown>): unknown[] {
  let next = 0;
  return muts.map((mu) => {
    if (mu.m !== 'write' || mu.data.length < refBytesMin || next >= dataRefs.length) return mu;
    const ref = dataRefs[next++]!;
    into[ref] = mu.data;
    return { m: 'write', offset: mu.offset, ref };
  });
}

export function addMutations(txn: Transaction, cid: string, oid: ObjectId, muts: readonly Mutation[]): void {
  for (const mu of muts) {
    switch (mu.m) {
      case 'touch': txn.touch(cid, oid); break;
      case 'write': txn.write(cid, oid, mu.offset, mu.data); break;
      case 'zero': txn.zero(cid, oid, mu.offset, mu.length); break;
      case 'truncate': txn.truncate(cid, oid, mu.size); break;
      case 'remove': txn.remove(cid, oid); break;
      case 'setattrs': txn.setattrs(cid, oid, new Map(mu.attrs)); break;
      case 'rmattr': txn.rmattr(cid, oid, mu.name); break;
      case 'omap_set': txn.omapSetKeys(cid, oid, new Map(mu.entries)); break;
      case 'omap_rm': txn.omapRmKeys(cid, oid, mu.keys); break;
      case 'omap_clear': txn.omapClear(cid, oid); break;
    }
  }
}

const u53 = { min: 0, max: Number.MAX_SAFE_INTEGER };
const pairs = (v: unknown, what: string, keyBytesMax: number, valueBytesMax: number): [string, Buffer][] =>
  expectArray(v, what, { itemsMax: 100_000 }, (p, w) => {
    const pair = expectArray(p, w, { itemsMax: 2 }, (x) => x);
    return [expectString(pair[0], `${w}[0]`, { bytesMax: keyBytesMax }), expectBytes(pair[1], `${w}[1]`, { bytesMax: valueBytesMax })];
  });

/**
 * Check a peer's mutation list (shape only; the store validates ranges and names again). A write's
 * data may travel as a top-level field of the message (`ref` names it) so the messenger sends it
 * as an attachment, without copying it into the frame.
 */
export function decodeMutations(raw: unknown, what: string, fields: Record<string, unknown> = {}): Mutation[] {
  return expectArray(raw, what, { itemsMax: mutationsPerWriteMax }, (v, w) => {
    const o = expectRecord(v, w);
    const m = expectOneOf(o['m'], `${w}.m`, ['touch', 'write', 'zero', 'truncate', 'remove', 'setattrs', 'rmattr', 'omap_set', 'omap_rm', 'omap_clear'] as const);
    switch (m) {
      case 'touch': case 'remove': case 'omap_clear': return { m };
      case 'write': {
        const ref = o['ref'] === undefined ? undefined : expectOneOf(o['ref'], `${w}.ref`, dataRefs);
        const data = ref === undefined ? o['data'] : fields[ref];
        return { m, offset: expectInt(o['offset'], `${w}.offset`, u53), data: expectBytes(data, `${w}.data`, { bytesMax: 256 * 1024 * 1024 }) };
      }
      case 'zero': return { m, offset: expectInt(o['offset'], `${w}.offset`, u53), length: expectInt(o['length'], `${w}.length`, u53) };
      case 'truncate': return { m, size: expectInt(o['size'], `${w}.size`, u53) };
      case 'setattrs': return { m, attrs: pairs(o['attrs'], `${w}.attrs`, 256, 64 * 1024) };
      case 'rmattr': return { m, name: expectString(o['name'], `${w}.name`, { bytesMax: 256, bytesMin: 1 }) };
      case 'omap_set': return { m, entries: pairs(o['entries'], `${w}.entries`, 4096, 1024 * 1024) };
      case 'omap_rm': return { m, keys: expectArray(o['keys'], `${w}.keys`, { itemsMax: 100_000 }, (k, q) => expectString(k, q, { bytesMax: 4096 })) };
    }
  });
}
