/**
 * Log merge (pure) against a model: after merging an OSD's log with the authoritative one and
 * recovering exactly what the merge says (delete removeObjects, copy missing objects at `need`),
 * the OSD's objects equal the authoritative state — for random histories with a shared prefix,
 * divergent branches on either side, trimmed tails and deletes. Seeded (NACRE_SEED reproduces).
 */
import t from 'tap';
import fc from 'fast-check';
import { seedFromEnv } from '@nacre/util';
import { PgLog, ev, mergeLog, objectKeyText, versionKey, type Eversion, type LogEntry, type MissingItem } from '@nacre/osd';

const seed = seedFromEnv();
t.comment(`seed ${seed} (NACRE_SEED=${seed} reproduces)`);

type Op = { obj: number; del: boolean };
const opArb = fc.record({ obj: fc.integer({ min: 0, max: 5 }), del: fc.boolean() });

function entries(ops: Op[], epoch: number, firstV: number, state: Map<number, Eversion>): LogEntry[] {
  const out: LogEntry[] = [];
  ops.forEach((op, i) => {
    const version = ev(epoch, firstV + i);
    const prior = state.get(op.obj) ?? ev(0, 0);
    out.push({ version, prior, op: op.del ? 'delete' : 'modify', oid: { hash: op.obj, name: `o${op.obj}` }, reqid: `c/1/${epoch}.${firstV + i}`, mtimeMs: 0 });
    if (op.del) state.delete(op.obj);
    else state.set(op.obj, version);
  });
  return out;
}

function apply(es: LogEntry[]): Map<number, string> {
  const s = new Map<number, string>();
  for (const e of es) {
    if (e.op === 'delete') s.delete(e.oid.hash);
    else s.set(e.oid.hash, versionKey(e.version));
  }
  return s;
}

function view(all: LogEntry[], tailIdx: number): { tail: Eversion; head: Eversion; entries: LogEntry[] } {
  const tail = tailIdx === 0 ? ev(0, 0) : all[tailIdx - 1]!.version;
  const es = all.slice(tailIdx);
  return { tail, head: es.length > 0 ? es[es.length - 1]!.version : tail, entries: es };
}

t.test('merge + recovery reaches the authoritative state', async (t) => {
  let merged = 0;
  let backfills = 0;
  fc.assert(fc.property(
    fc.array(opArb, { maxLength: 30 }), fc.array(opArb, { maxLength: 10 }), fc.array(opArb, { maxLength: 10 }),
    fc.nat(), fc.nat(), fc.nat(),
    (prefixOps, localOps, authOps, forkSeed, authTailSeed, localTailSeed) => {
      const P = prefixOps.length;
      const F = P === 0 ? 0 : forkSeed % (P + 1);
      const st = new Map<number, Eversion>();
      const prefix = entries(prefixOps, 1, 1, st);
      // Local forks at F (its own branch at epoch 2); the authoritative log has the whole prefix and a branch at epoch 3.
      const stLocal = new Map<number, Eversion>();
      for (const e of prefix.slice(0, F)) e.op === 'delete' ? stLocal.delete(e.oid.hash) : stLocal.set(e.oid.hash, e.version);
      const localAll = [...prefix.slice(0, F), ...entries(localOps, 2, F + 1, stLocal)];
      const authAll = [...prefix, ...entries(authOps, 3, P + 1, new Map(st))];
      const authTailIdx = authTailSeed % (P + 1);
      const localTailIdx = localTailSeed % (F + 1);
      const local = view(localAll, localTailIdx);
      const auth = view(authAll, authTailIdx);
      const r = mergeLog(local, new Map(), auth);
      if (r.kind === 'merged' && F < authTailIdx) return false;
      if (r.kind === 'backfill') {
        backfills++;
        // Only when what we share with the authoritative log ends before its tail.
        return F < authTailIdx;
      }
      merged++;
      const state = apply(localAll);
      const want = apply(authAll);
      for (const ref of r.removeObjects) state.delete(ref.hash);
      for (const m of r.missingSet) {
        if (want.get(m.oid.hash) !== versionKey(m.need)) return false; // missing items name the authoritative version
        state.set(m.oid.hash, versionKey(m.need));
      }
      if (state.size !== want.size) return false;
      for (const [k, v] of want) if (state.get(k) !== v) return false;
      // Divergent entries are exactly the local branch.
      if (r.divergent.length !== localOps.length) return false;
      return r.added.every((e) => auth.entries.includes(e));
    },
  ), { seed, numRuns: 2000 });
  t.ok(merged > 100 && backfills > 0, `merged ${merged}, backfills ${backfills}`);
});

t.test('existing missing items keep their `have` and get the newer `need`', async (t) => {
  const st = new Map<number, Eversion>();
  const base = entries([{ obj: 1, del: false }, { obj: 2, del: false }], 1, 1, st);
  const more = entries([{ obj: 1, del: false }], 1, 3, st);
  const missing = new Map<string, MissingItem>([[objectKeyText({ hash: 1, name: 'o1' }), { oid: { hash: 1, name: 'o1' }, need: ev(1, 1), have: ev(0, 0) }]]);
  const r = mergeLog(view(base, 0), missing, view([...base, ...more], 0));
  t.equal(r.kind, 'merged');
  if (r.kind !== 'merged') return;
  t.same(r.missingSet, [{ oid: { hash: 1, name: 'o1' }, need: ev(1, 3), have: ev(0, 0) }]);
});

t.test('a divergent create is removed, a divergent overwrite goes back to its prior version', async (t) => {
  const st = new Map<number, Eversion>();
  const prefix = entries([{ obj: 1, del: false }], 1, 1, st);
  const local = [...prefix, ...entries([{ obj: 1, del: false }, { obj: 2, del: false }], 2, 2, new Map(st))];
  const r = mergeLog(view(local, 0), new Map(), view(prefix, 0));
  t.equal(r.kind, 'merged');
  if (r.kind !== 'merged') return;
  t.same(r.removeObjects, [{ hash: 2, name: 'o2' }], 'o2 was created by a divergent entry: remove it');
  t.same(r.missingSet.map((m) => [m.oid.name, versionKey(m.need)]), [['o1', versionKey(ev(1, 1))]], 'o1 back to 1\'1');
});

t.test('PgLog: append order, trim to dups, reqid lookup, bounds', async (t) => {
  const log = new PgLog(100, 3);
  const st = new Map<number, Eversion>();
  const es = entries(Array.from({ length: 10 }, (_, i) => ({ obj: i % 3, del: false })), 1, 1, st);
  for (const e of es) log.append(e);
  t.equal(log.length, 10);
  t.throws(() => log.append(es[0]!), 'older versions are refused');
  const trim = log.trimTo(4);
  t.equal(trim.removed.length, 6);
  t.same(log.tail, es[5]!.version);
  t.equal(log.dups.length, 3, 'dups are bounded');
  t.equal(log.findReqid(es[5]!.reqid!)?.version.v, 6, 'a recent trimmed reqid is still known');
  t.equal(log.findReqid(es[0]!.reqid!), undefined, 'the oldest fell off the dups list');
  t.equal(log.findReqid(es[9]!.reqid!)?.version.v, 10);
  t.same(log.entriesAfter(es[7]!.version).map((e) => e.version.v), [9, 10]);
});
