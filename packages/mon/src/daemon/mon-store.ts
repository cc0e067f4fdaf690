/**
 * The monitor's durable store: one `level` (LevelDB) database in `<data>/store.db`, keys as UTF-8
 * strings, values msgpack-encoded. Every write is one atomic batch with `sync: true` (LevelDB
 * fsyncs its log before the batch resolves), so a batch is either wholly durable or absent after
 * a crash — the property the Paxos driver contract needs ("value committed" and "service state
 * updated" in one batch). Key layout: daemon-keys.ts.
 *
 * Public methods check the lifecycle state and arguments; a write failure is not retried here:
 * the caller (the persist queue) treats it as fatal, because after a failed fsync nobody can say
 * what is on disk.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { Packr } from 'msgpackr';
import { NacreError, assert } from '@nacre/util';

export type MonStoreStatus = 'opening' | 'open' | 'closing' | 'closed';

export type MonStoreOp =
  | { op: 'put'; key: string; value: unknown }
  | { op: 'del'; key: string };

/** Keys one batch may carry: a group commit of many persists is still one bounded batch. */
export const storeOpsPerBatchMax = 1_000_000;
/** Entries one prefix scan may return (the Paxos log is bounded by retainedVersionsMax). */
export const storeScanEntriesMax = 10_000_000;

/** One encoding for every monitor store value: plain msgpack, no records, so bytes are stable. */
const storePackr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false });

export function encodeStoreValue(value: unknown): Buffer {
  return storePackr.pack(value);
}

export function decodeStoreValue(bytes: Uint8Array): unknown {
  return storePackr.unpack(bytes);
}

export function storeDbPath(dataDir: string): string {
  return join(dataDir, 'store.db');
}

export class MonStore {
  private statusValue: MonStoreStatus = 'opening';

  private constructor(private readonly db: Level<string, Buffer>, readonly path: string) {}

  /**
   * Open the store of a monitor data directory. `create: true` (mkfs) makes the directory and
   * refuses an existing store; `create: false` refuses a missing one, so a typo in `--data` never
   * silently starts a blank monitor.
   */
  static async open(dataDir: string, opts: { create: boolean }): Promise<MonStore> {
    const path = storeDbPath(dataDir);
    if (opts.create) mkdirSync(dataDir, { recursive: true });
    else if (!existsSync(join(path, 'CURRENT'))) {
      throw new NacreError(`${dataDir} holds no monitor store (run with --mkfs first)`, { code: 'ENOENT' });
    }
    const db = new Level<string, Buffer>(path, {
      keyEncoding: 'utf8', valueEncoding: 'buffer', createIfMissing: opts.create, errorIfExists: opts.create,
    });
    try {
      await db.open();
    } catch (cause) {
      const text = (cause as Error & { cause?: Error }).cause?.message ?? (cause as Error).message;
      if (opts.create && /exists/i.test(text)) {
        throw new NacreError(`${dataDir} already holds a monitor store`, { code: 'EEXIST', cause });
      }
      if (!opts.create && /does not exist/i.test(text)) {
        throw new NacreError(`${dataDir} holds no monitor store (run with --mkfs first)`, { code: 'ENOENT', cause });
      }
      throw new NacreError(`cannot open monitor store ${path}: ${text}`, { code: 'EIO', cause });
    }
    const store = new MonStore(db, path);
    store.statusValue = 'open';
    return store;
  }

  get status(): MonStoreStatus {
    return this.statusValue;
  }

  private checkOpen(what: string): void {
    if (this.statusValue !== 'open') throw new NacreError(`monitor store: ${what} while ${this.statusValue}`, { code: 'ESHUTDOWN' });
  }

  async get(key: string): Promise<unknown> {
    this.checkOpen('get');
    const bytes = await this.db.get(key);
    return bytes === undefined ? undefined : decodeStoreValue(bytes);
  }

  /** Every entry whose key starts with `prefix`, decoded, in key order. */
  async scan(prefix: string): Promise<Array<[string, unknown]>> {
    this.checkOpen('scan');
    assert(prefix.length > 0, 'scan needs a prefix');
    const out: Array<[string, unknown]> = [];
    // '\uffff' sorts after every character a key of ours uses.
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: `${prefix}\uffff` })) {
      assert(out.length < storeScanEntriesMax, () => `store scan of ${prefix} exceeds ${storeScanEntriesMax} entries`);
      out.push([key, decodeStoreValue(value)]);
    }
    return out;
  }

  /** One atomic, fsync'd batch. */
  async write(ops: readonly MonStoreOp[]): Promise<void> {
    this.checkOpen('write');
    assert(ops.length <= storeOpsPerBatchMax, () => `batch of ${ops.length} ops exceeds storeOpsPerBatchMax`);
    if (ops.length === 0) return;
    const batch = ops.map((o) => (o.op === 'put'
      ? { type: 'put' as const, key: o.key, value: encodeStoreValue(o.value) }
      : { type: 'del' as const, key: o.key }));
    await this.db.batch(batch, { sync: true });
  }

  async close(): Promise<void> {
    if (this.statusValue === 'closed' || this.statusValue === 'closing') return;
    this.statusValue = 'closing';
    try {
      await this.db.close();
    } finally {
      this.statusValue = 'closed';
    }
  }
}
