/**
 * The kernel-memory allocator and the decode-plan LRU: random operation sequences keep their
 * invariants (no overlap, coalesced free list, bytes add up, bound respected).
 */
import fc from 'fast-check';
import t from 'tap';
import { ARENA_ALIGN_BYTES, Arena, LruCache } from '@nacre/ec';
import { runs, seed, seedLine } from './helpers.js';

t.comment(seedLine);

t.test('arena: random alloc/free sequences', async (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('alloc' as const), bytes: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 40_000 })) }),
    fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
  );
  fc.assert(fc.property(fc.array(op, { minLength: 50, maxLength: 300 }), (ops) => {
    const arena = new Arena(4096, 4096 + 256 * 1024);
    const live: { offset: number; bytes: number }[] = [];
    for (const o of ops) {
      if (o.kind === 'alloc') {
        const offset = arena.alloc(o.bytes);
        if (offset < 0) continue;
        if (offset % ARENA_ALIGN_BYTES !== 0 || offset < 4096 || offset + o.bytes > 4096 + 256 * 1024) return false;
        for (const l of live) if (offset < l.offset + Math.max(l.bytes, 1) && l.offset < offset + Math.max(o.bytes, 1)) return false;
        live.push({ offset, bytes: o.bytes });
      } else if (live.length > 0) {
        const [victim] = live.splice(o.pick % live.length, 1);
        arena.free(victim!.offset);
      }
      arena.checkInvariants();
    }
    for (const l of live) arena.free(l.offset);
    arena.checkInvariants();
    return arena.usedBytes === 0 && arena.freeBlockCount === 1 && arena.alloc(256 * 1024) === 4096;
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});

t.test('arena: double free and foreign offsets are assertion failures', async (t) => {
  const arena = new Arena(4096, 8192);
  const a = arena.alloc(10);
  arena.free(a);
  t.throws(() => arena.free(a), { name: 'AssertionFailure' });
  t.throws(() => arena.free(4097), { name: 'AssertionFailure' });
  t.equal(arena.alloc(8192), -1, 'too large');
});

t.test('LRU: bounded, evicts the least recently used, hands evictions back', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 100 }), (max, keys) => {
    const evicted: number[] = [];
    const cache = new LruCache<number>(max, (v) => evicted.push(v));
    const model: number[] = []; // most recent last
    for (const key of keys) {
      if (cache.get(String(key)) !== undefined) {
        model.splice(model.indexOf(key), 1);
      } else {
        cache.set(String(key), key);
        if (model.length === max) { if (evicted[evicted.length - 1] !== model.shift()) return false; }
      }
      model.push(key);
      if (cache.size !== model.length || cache.size > max) return false;
    }
    cache.clear();
    return cache.size === 0;
  }), { seed, numRuns: runs });
  t.pass(`${runs} runs`);
});
