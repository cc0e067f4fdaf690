/**
 * A bounded least-recently-used cache for decode plans, keyed by erasure pattern. A pattern costs a
 * k×k inversion and its tables (up to 32 inputs × 8 outputs × 32 bytes in kernel memory), and an
 * OSD sees few distinct patterns at a time (the shards that are down), so a small cache hits almost
 * always; the bound keeps a flapping cluster from growing it without limit. Evicted entries are
 * handed to `onEvict` so their kernel memory is returned.
 */
import { assert } from '@nacre/util';

/** Default number of cached erasure patterns per codec. */
export const DECODE_CACHE_ENTRIES_DEFAULT = 64;
/** Largest configurable cache. */
export const DECODE_CACHE_ENTRIES_MAX = 4096;

export class LruCache<V> {
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly entries = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(readonly entriesMax: number, private readonly onEvict: (value: V) => void) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 1 && entriesMax <= DECODE_CACHE_ENTRIES_MAX, 'cache bound');
  }

  get size(): number { return this.entries.size; }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    assert(!this.entries.has(key), 'cache set of a present key');
    while (this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next().value as string;
      const evicted = this.entries.get(oldest)!;
      this.entries.delete(oldest);
      this.onEvict(evicted);
    }
    this.entries.set(key, value);
  }

  /** Evict everything. */
  clear(): void {
    for (const value of this.entries.values()) this.onEvict(value);
    this.entries.clear();
  }
}
