/**
 * Model-based property test (fast-check commands): random transactions applied to a store and to
 * a plain in-memory model; after every step (and after remounts) every object reads back equal to
 * the model and fsck is clean. Seeded: NACRE_SEED reproduces a run.
 */
import t from 'tap';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { BlockStore, MemStore, Transaction, mkfs, objectId, unitSizeBytes, type ObjectId, type ObjectStore } from '@nacre/objectstore';
import { Prng } from '@nacre/util';
import { tempDir, testSeed } from './helpers.js';

const C = 'pg_1.7_head';
const names = ['a', 'b', 'c', 'd', 'e'];
const U = unitSizeBytes;

interface ModelObject {
  data: Buffer;
  attrs: Map<string, Buffer>;
  omap: Map<string, Buffer>;
}
type Model = Map<string, ModelObject>;

type Op =
  | { op: 'write'; name: string; offsetBytes: number; lengthBytes: number; seed: number }
  | { op: 'zero'; name: string; offsetBytes: number; lengthBytes: number }
  | { op: 'truncate'; name: string; sizeBytes: number }
  | { op: 'remove'; name: string }
  | { op: 'clone'; name: string; dst: string }
  | { op: 'setattr'; name: string; key: string; seed: number }
  | { op: 'rmattr'; name: string; key: string }
  | { op: 'omapSet'; name: string; key: string; seed: number }
  | { op: 'omapRm'; name: string; key: string }
  | { op: 'omapClear'; name: string };

function oid(name: string): ObjectId {
  // Distinct hashes so listing order differs from name order.
  return objectId(1, (name.charCodeAt(0) * 0x9e3779b1) >>> 0, name);
}

function bytes(seed: number, lengthBytes: number): Buffer {
  return Buffer.from(new Prng(seed).fill(new Uint8Array(lengthBytes)));
}

const nameArb = fc.constantFrom(...names);
// Offsets and lengths around unit boundaries, where copy-on-write of partial units happens.
const offsetArb = fc.oneof(
  fc.integer({ min: 0, max: 8 }).map((u) => u * U),
  fc.integer({ min: 0, max: 8 * U }),
  fc.integer({ min: 1, max: 8 }).map((u) => u * U - 1),
);
const lengthArb = fc.oneof(fc.integer({ min: 0, max: 3 * U }), fc.integer({ min: 1, max: 4 }).map((u) => u * U), fc.constant(1));
const keyArb = fc.constantFrom('k1', 'k2', 'k3', '_', 'snapset');

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), name: nameArb, offsetBytes: offsetArb, lengthBytes: lengthArb, seed: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('zero' as const), name: nameArb, offsetBytes: offsetArb, lengthBytes: lengthArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), name: nameArb, sizeBytes: offsetArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), name: nameArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('clone' as const), name: nameArb, dst: nameArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setattr' as const), name: nameArb, key: keyArb, seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rmattr' as const), name: nameArb, key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('omapSet' as const), name: nameArb, key: keyArb, seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('omapRm' as const), name: nameArb, key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('omapClear' as const), name: nameArb }) },
);

function emptyObject(): ModelObject {
  return { data: Buffer.alloc(0), attrs: new Map(), omap: new Map() };
}

function resize(data: Buffer, sizeBytes: number): Buffer {
  const out = Buffer.alloc(sizeBytes);
  data.copy(out, 0, 0, Math.min(sizeBytes, data.length));
  return out;
}

/** Apply ops to a copy of the model; returns the new model or the error code the store must give. */
function applyModel(model: Model, ops: Op[]): Model | string {
  const m: Model = new Map([...model].map(([k, o]) => [k, { data: Buffer.from(o.data), attrs: new Map(o.attrs), omap: new Map(o.omap) }]));
  const create = (name: string): ModelObject => {
    let o = m.get(name);
    if (o === undefined) m.set(name, (o = emptyObject()));
    return o;
  };
  for (const op of ops) {
    const existing = m.get(op.name);
    switch (op.op) {
      case 'write': {
        const o = create(op.name);
        if (op.lengthBytes === 0) break;
        const end = op.offsetBytes + op.lengthBytes;
        if (end > o.data.length) o.data = resize(o.data, end);
        bytes(op.seed, op.lengthBytes).copy(o.data, op.offsetBytes);
        break;
      }
      case 'zero': {
        const o = create(op.name);
        if (op.lengthBytes === 0) break;
        const end = op.offsetBytes + op.lengthBytes;
        if (end > o.data.length) o.data = resize(o.data, end);
        o.data.fill(0, op.offsetBytes, end);
        break;
      }
      case 'truncate': { const o = create(op.name); o.data = resize(o.data, op.sizeBytes); break; }
      case 'remove': if (existing === undefined) return 'ENOENT'; m.delete(op.name); break;
      case 'clone':
        if (op.name === op.dst) return 'EINVAL';
        if (existing === undefined) return 'ENOENT';
        m.set(op.dst, { data: Buffer.from(existing.data), attrs: new Map(existing.attrs), omap: new Map(existing.omap) });
        break;
      case 'setattr': create(op.name).attrs.set(op.key, bytes(op.seed, 20)); break;
      case 'rmattr': if (existing === undefined) return 'ENOENT'; existing.attrs.delete(op.key); break;
      case 'omapSet': create(op.name).omap.set(op.key, bytes(op.seed, 30)); break;
      case 'omapRm': if (existing === undefined) return 'ENOENT'; existing.omap.delete(op.key); break;
      case 'omapClear': if (existing === undefined) return 'ENOENT'; existing.omap.clear(); break;
    }
  }
  return m;
}

function toTransaction(ops: Op[]): Transaction {
  const txn = new Transaction();
  for (const op of ops) {
    const o = oid(op.name);
    switch (op.op) {
      case 'write': txn.write(C, o, op.offsetBytes, bytes(op.seed, op.lengthBytes)); break;
      case 'zero': txn.zero(C, o, op.offsetBytes, op.lengthBytes); break;
      case 'truncate': txn.truncate(C, o, op.sizeBytes); break;
      case 'remove': txn.remove(C, o); break;
      case 'clone': txn.clone(C, o, oid(op.dst)); break;
      case 'setattr': txn.setattr(C, o, op.key, bytes(op.seed, 20)); break;
      case 'rmattr': txn.rmattr(C, o, op.key); break;
      case 'omapSet': txn.omapSetKeys(C, o, { [op.key]: bytes(op.seed, 30) }); break;
      case 'omapRm': txn.omapRmKeys(C, o, [op.key]); break;
      case 'omapClear': txn.omapClear(C, o); break;
    }
  }
  return txn;
}

interface Real {
  store: ObjectStore;
  remount?: () => Promise<void>;
}

async function checkAgainstModel(real: Real, model: Model): Promise<void> {
  const { store } = real;
  const listed = (await store.listObjects(C, { limitCount: 100 })).objects.map((o) => o.name).sort();
  if (JSON.stringify(listed) !== JSON.stringify([...model.keys()].sort())) {
    throw new Error(`listing ${JSON.stringify(listed)} != model ${JSON.stringify([...model.keys()].sort())}`);
  }
  let storedBytes = 0;
  for (const [name, m] of model) {
    storedBytes += m.data.length;
    const data = await store.read(C, oid(name));
    if (!data.equals(m.data)) throw new Error(`data of ${name} differs (store ${data.length} bytes, model ${m.data.length})`);
    const attrs = await store.getattrs(C, oid(name));
    const omap = new Map((await store.omapGetRange(C, oid(name))).entries);
    for (const [want, got, what] of [[m.attrs, attrs, 'attrs'], [m.omap, omap, 'omap']] as const) {
      if (want.size !== got.size || [...want].some(([k, v]) => !got.get(k)?.equals(v))) throw new Error(`${what} of ${name} differ`);
    }
  }
  const st = await store.statfs();
  if (st.objectCount !== model.size || st.storedBytes !== storedBytes) throw new Error('statfs totals differ from the model');
  const report = await store.fsck({ deep: true });
  if (!report.clean) throw new Error(`fsck: ${JSON.stringify(report.problems.slice(0, 5))}`);
}

class TxnCommand implements fc.AsyncCommand<{ model: Model }, Real> {
  constructor(readonly ops: Op[]) {}
  check(): boolean { return true; }
  async run(m: { model: Model }, real: Real): Promise<void> {
    const expected = applyModel(m.model, this.ops);
    let code: string | undefined;
    try {
      await real.store.queueTransaction(toTransaction(this.ops));
    } catch (err) {
      code = (err as { code?: string }).code ?? String(err);
    }
    if (typeof expected === 'string') {
      if (code !== expected) throw new Error(`expected ${expected}, store said ${code ?? 'ok'}`);
    } else {
      if (code !== undefined) throw new Error(`store failed with ${code}, model expected success`);
      m.model = expected;
    }
    await checkAgainstModel(real, m.model);
  }
  toString(): string { return `txn ${JSON.stringify(this.ops)}`; }
}

class RemountCommand implements fc.AsyncCommand<{ model: Model }, Real> {
  check(): boolean { return true; }
  async run(m: { model: Model }, real: Real): Promise<void> {
    if (real.remount === undefined) return;
    await real.remount();
    await checkAgainstModel(real, m.model);
  }
  toString(): string { return 'remount'; }
}

/** Several transactions queued at once (one commit group), each checked against the model. */
class GroupCommand implements fc.AsyncCommand<{ model: Model }, Real> {
  constructor(readonly txns: Op[][]) {}
  check(): boolean { return true; }
  async run(m: { model: Model }, real: Real): Promise<void> {
    const expectations: Array<string | undefined> = [];
    for (const ops of this.txns) {
      const next = applyModel(m.model, ops);
      if (typeof next === 'string') expectations.push(next);
      else { expectations.push(undefined); m.model = next; }
    }
    const results = await Promise.allSettled(this.txns.map((ops) => real.store.queueTransaction(toTransaction(ops))));
    results.forEach((r, i) => {
      const code = r.status === 'rejected' ? (r.reason as { code?: string }).code : undefined;
      if (code !== expectations[i]) throw new Error(`group txn ${i}: expected ${expectations[i] ?? 'ok'}, got ${code ?? 'ok'}`);
    });
    await checkAgainstModel(real, m.model);
  }
  toString(): string { return `group ${JSON.stringify(this.txns)}`; }
}

const commandsArb = fc.commands([
  fc.array(opArb, { minLength: 1, maxLength: 4 }).map((ops) => new TxnCommand(ops)),
  fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 5 }).map((txns) => new GroupCommand(txns)),
  fc.constant(new RemountCommand()),
], { maxCommands: 25 });

const seed = testSeed('model-based objectstore test');

t.test('BlockStore matches the model', async (t) => {
  await fc.assert(fc.asyncProperty(commandsArb, async (cmds) => {
    const dir = tempDir('model');
    try {
      await mkfs(dir, { sizeBytes: 32 * 1024 * 1024 });
      const real: Real = { store: new BlockStore(dir) };
      real.remount = async () => {
        await real.store.umount();
        real.store = new BlockStore(dir);
        await real.store.mount();
      };
      await real.store.mount();
      await real.store.queueTransaction(new Transaction().createCollection(C));
      try {
        await fc.asyncModelRun(() => ({ model: { model: new Map() }, real }), cmds);
      } finally {
        if (real.store.status === 'open' || real.store.status === 'failed') await real.store.umount();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }), { seed, numRuns: 40 });
  t.pass('40 runs of up to 25 commands');
});

t.test('MemStore matches the model', async (t) => {
  await fc.assert(fc.asyncProperty(commandsArb, async (cmds) => {
    const real: Real = { store: new MemStore({ sizeBytes: 32 * 1024 * 1024 }) };
    await real.store.mount();
    await real.store.queueTransaction(new Transaction().createCollection(C));
    await fc.asyncModelRun(() => ({ model: { model: new Map() }, real }), cmds);
  }), { seed, numRuns: 40 });
  t.pass('40 runs of up to 25 commands');
});
