/**
 * The fake OSDs' shared object table: objects of every pool in memory, compound ops applied
 * atomically with Ceph's semantics (as documented in proto/osd-messages.ts), and the reqid table
 * that makes resends idempotent. Shared by all fake OSDs because a real PG's data and log move
 * with it to a new primary; here they simply are everywhere.
 */
import type { ObjectLocator, OpReply, ReqId, SubOp, SubOpResult } from '@nacre/proto';
import { NacreError } from '@nacre/util';

export interface FakeObject {
  data: Buffer;
  xattrs: Map<string, Buffer>;
  omap: Map<string, Buffer>;
  version: number;
  mtimeMs: number;
}

/** Replies remembered per reqid (oldest forgotten first), like a PG log's dup entries. */
const reqidsKeptMax = 100_000;

export function objectKey(poolId: number, oid: ObjectLocator): string {
  return `${poolId}\u0000${oid.namespace ?? ''}\u0000${oid.name}`;
}

export class FakeObjectStore {
  readonly objects = new Map<string, FakeObject & { poolId: number; oid: ObjectLocator }>();
  private readonly replies = new Map<string, OpReply>();
  /** Resends answered from the reqid table. */
  dupHits = 0;
  /** Ops applied (not counting duplicates). */
  applied = 0;

  constructor(readonly objectBytesMax = 128 * 1024 * 1024, private readonly nowMs: () => number = () => 0) {}

  replyFor(reqid: ReqId): OpReply | undefined {
    const r = this.replies.get(reqidKey(reqid));
    if (r !== undefined) this.dupHits++;
    return r;
  }

  remember(reqid: ReqId, reply: OpReply): void {
    this.replies.set(reqidKey(reqid), reply);
    if (this.replies.size > reqidsKeptMax) this.replies.delete(this.replies.keys().next().value!);
  }

  get(poolId: number, oid: ObjectLocator): FakeObject | undefined {
    return this.objects.get(objectKey(poolId, oid));
  }

  /** Apply sub-ops all-or-nothing; throws the first failure's NacreError (nothing changed). */
  apply(poolId: number, oid: ObjectLocator, ops: readonly SubOp[]): { version: number; results: SubOpResult[] } {
    const key = objectKey(poolId, oid);
    const cur = this.objects.get(key);
    let obj: FakeObject | null = cur === undefined ? null : { data: cur.data, xattrs: new Map(cur.xattrs), omap: new Map(cur.omap), version: cur.version, mtimeMs: cur.mtimeMs };
    let wrote = false;
    const results: SubOpResult[] = [];
    const need = (): FakeObject => {
      if (obj === null) throw new NacreError(`object ${oid.name} does not exist`, { code: 'ENOENT' });
      return obj;
    };
    const make = (): FakeObject => {
      obj ??= { data: Buffer.alloc(0), xattrs: new Map(), omap: new Map(), version: 0, mtimeMs: 0 };
      wrote = true;
      return obj;
    };
    const limit = (end: number): void => {
      if (end > this.objectBytesMax) throw new NacreError(`object would exceed ${this.objectBytesMax} bytes`, { code: 'EFBIG' });
    };
    for (const s of ops) {
      switch (s.op) {
        case 'create':
          if (obj !== null && s.exclusive) throw new NacreError(`object ${oid.name} exists`, { code: 'EEXIST' });
          make();
          results.push({});
          break;
        case 'write_full': limit(s.data.length); make().data = Buffer.from(s.data); results.push({}); break;
        case 'write': {
          limit(s.offset + s.data.length);
          const o = make();
          const next = Buffer.alloc(Math.max(o.data.length, s.offset + s.data.length));
          o.data.copy(next);
          Buffer.from(s.data).copy(next, s.offset);
          o.data = next;
          results.push({});
          break;
        }
        case 'append': {
          const o = make();
          limit(o.data.length + s.data.length);
          o.data = Buffer.concat([o.data, s.data]);
          results.push({});
          break;
        }
        case 'truncate': {
          limit(s.size);
          const o = make();
          const next = Buffer.alloc(s.size);
          o.data.copy(next, 0, 0, Math.min(s.size, o.data.length));
          o.data = next;
          results.push({});
          break;
        }
        case 'zero': {
          limit(s.offset + s.length);
          if (obj !== null) {
            const o = make();
            const end = Math.min(o.data.length, s.offset + s.length);
            if (s.offset < end) {
              o.data = Buffer.from(o.data);
              o.data.fill(0, s.offset, end);
            }
          }
          results.push({});
          break;
        }
        case 'remove': need(); obj = null; wrote = true; results.push({}); break;
        case 'read': { const o = need(); results.push({ data: Buffer.from(o.data.subarray(Math.min(s.offset, o.data.length), Math.min(o.data.length, s.offset + s.length))) }); break; }
        case 'stat': { const o = need(); results.push({ size: o.data.length, mtimeMs: o.mtimeMs, version: o.version }); break; }
        case 'getxattr': {
          const v = need().xattrs.get(s.name);
          if (v === undefined) throw new NacreError(`xattr ${s.name} does not exist`, { code: 'ENOENT' });
          results.push({ value: v });
          break;
        }
        case 'getxattrs': results.push({ attrs: [...need().xattrs].sort(([a], [b]) => (a < b ? -1 : 1)) }); break;
        case 'setxattr': make().xattrs.set(s.name, Buffer.from(s.value)); results.push({}); break;
        case 'rmxattr': {
          const o = need();
          if (!o.xattrs.has(s.name)) throw new NacreError(`xattr ${s.name} does not exist`, { code: 'ENOENT' });
          make().xattrs.delete(s.name);
          results.push({});
          break;
        }
        case 'omap_get_vals': {
          const keys = [...need().omap.keys()].filter((k) => k > s.after && k.startsWith(s.prefix)).sort();
          results.push({ entries: keys.slice(0, s.max).map((k) => [k, obj!.omap.get(k)!] as [string, Buffer]), more: keys.length > s.max });
          break;
        }
        case 'omap_get_keys': {
          const keys = [...need().omap.keys()].filter((k) => k > s.after).sort();
          results.push({ keys: keys.slice(0, s.max), more: keys.length > s.max });
          break;
        }
        case 'omap_get_vals_by_keys': {
          const o = need();
          results.push({ entries: s.keys.filter((k) => o.omap.has(k)).map((k) => [k, o.omap.get(k)!] as [string, Buffer]), more: false });
          break;
        }
        case 'omap_set': { const o = make(); for (const [k, v] of s.entries) o.omap.set(k, Buffer.from(v)); results.push({}); break; }
        case 'omap_rm': { need(); const o = make(); for (const k of s.keys) o.omap.delete(k); results.push({}); break; }
        case 'omap_clear': { need(); make().omap.clear(); results.push({}); break; }
        case 'assert_exists': need(); results.push({}); break;
        case 'assert_version':
          if ((obj?.version ?? 0) !== s.version) throw new NacreError(`object version is ${obj?.version ?? 0}, not ${s.version}`, { code: 'ERANGE' });
          results.push({});
          break;
        case 'cmpxattr': {
          const v = need().xattrs.get(s.name) ?? Buffer.alloc(0);
          const c = Buffer.compare(v, s.value);
          const ok = { eq: c === 0, ne: c !== 0, gt: c > 0, gte: c >= 0, lt: c < 0, lte: c <= 0 }[s.cmp];
          if (!ok) throw new NacreError(`cmpxattr ${s.name} ${s.cmp} failed`, { code: 'ECANCELED' });
          results.push({});
          break;
        }
      }
    }
    if (wrote) {
      this.applied++;
      if (obj === null) {
        this.objects.delete(key);
        return { version: (cur?.version ?? 0) + 1, results };
      }
      const o = obj as FakeObject;
      o.version = (cur?.version ?? 0) + 1;
      o.mtimeMs = this.nowMs();
      this.objects.set(key, { ...o, poolId, oid: { ...oid } });
      return { version: o.version, results };
    }
    return { version: obj?.version ?? 0, results };
  }
}

function reqidKey(r: ReqId): string {
  return `${r.client}/${r.inc}/${r.tid}`;
}
