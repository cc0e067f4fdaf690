/**
 * ReedSolomon: the public codec. Methods validate their arguments (args.ts), turn the request into
 * jobs — a prepared plan plus the buffers it reads and writes — and hand them to the kernel, either
 * in one synchronous call or slice by slice with a yield between slices (the *Async methods).
 *
 * Error codes: EINVAL for bad arguments, EIO when more than m chunks are missing (the data is
 * unrecoverable from what was given — the code an OSD returns for a lost object), ESHUTDOWN after
 * dispose(), ENOTSUP for a kernel this runtime cannot run.
 */
import { assert, NacreError } from '@nacre/util';
import { checkBuffer, checkBufferList, checkIndexes, checkNoOverlap, invalid } from './args.js';
import { DECODE_CACHE_ENTRIES_DEFAULT, LruCache } from './decode-cache.js';
import { checkGeometry, generatorMatrix } from './generator.js';
import type { Kernel, KernelName, PreparedPlan, RunArgs } from './kernel.js';
import { resolveKernel, type KernelChoice } from './kernels.js';
import type { Matrix } from './matrix.js';
import { planDecode, planEncode, planUpdate, type ChunkPlan, type PlannerMode } from './planner.js';
import { allocStripe, type Stripe } from './stripe.js';

/** Bytes per chunk computed between two yields of the async path, WebAssembly kernels (≈ 0.1 ms for 4+2). */
export const ASYNC_SLICE_BYTES_WASM = 256 * 1024;
/** The same for the JavaScript kernel (≈ 0.2 ms for 4+2). */
export const ASYNC_SLICE_BYTES_JS = 16 * 1024;

export interface ReedSolomonOptions {
  /** Data chunks, 1..32. */
  readonly k: number;
  /** Parity chunks, 1..8, k + m ≤ 40. */
  readonly m: number;
  /** Default 'auto': the fastest kernel this runtime supports. */
  readonly kernel?: KernelChoice;
  /** Bound on cached erasure patterns (default DECODE_CACHE_ENTRIES_DEFAULT). */
  readonly decodeCacheEntriesMax?: number;
  /** 'xor-shortcuts' (default) or 'plain'; identical bytes, plain does more work (tests, benchmarks). */
  readonly planner?: PlannerMode;
}

/** One data chunk's change, for read–modify–write. */
export interface ChunkChange {
  /** Data chunk index, 0..k-1. */
  readonly index: number;
  /** The bytes before and after the write, same length. */
  readonly before: Uint8Array;
  readonly after: Uint8Array;
  /** Where in the chunk they start (default 0); the same range of every parity chunk changes. */
  readonly offsetBytes?: number;
}

export interface AsyncOptions {
  /** Bytes per chunk per slice (default ASYNC_SLICE_BYTES_WASM or _JS by kernel). */
  readonly sliceBytes?: number;
  /** How to yield between slices (default: setImmediate, so I/O callbacks run in between). */
  readonly yieldFn?: () => Promise<void>;
}

export interface CodecStats {
  readonly kernel: KernelName;
  readonly decodeCacheEntries: number;
  readonly decodeCacheHits: number;
  readonly decodeCacheMisses: number;
}

/** A prepared plan with a pin count, so an async job keeps it alive across a cache eviction. */
interface PlanEntry {
  readonly chunkPlan: ChunkPlan;
  readonly prepared: PreparedPlan;
  pins: number;
  retired: boolean;
}

interface Job {
  readonly entry: PlanEntry;
  readonly args: RunArgs;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ReedSolomon {
  readonly k: number;
  readonly m: number;
  /** (k+m)×k generator [I; P] (see generator.ts). */
  readonly generator: Matrix;
  readonly kernel: Kernel;
  readonly planner: PlannerMode;
  private status: 'open' | 'closed' = 'open';
  private readonly encodeEntry: PlanEntry;
  private readonly updateEntries: (PlanEntry | undefined)[];
  private readonly decodeCache: LruCache<PlanEntry>;

  constructor(options: ReedSolomonOptions) {
    checkGeometry(options.k, options.m);
    this.k = options.k;
    this.m = options.m;
    this.generator = generatorMatrix(this.k, this.m);
    this.kernel = resolveKernel(options.kernel);
    this.planner = options.planner ?? 'xor-shortcuts';
    if (this.planner !== 'xor-shortcuts' && this.planner !== 'plain') throw invalid(`unknown planner ${String(this.planner)}`);
    const entriesMax = options.decodeCacheEntriesMax ?? DECODE_CACHE_ENTRIES_DEFAULT;
    this.decodeCache = new LruCache<PlanEntry>(entriesMax, (entry) => this.retire(entry));
    this.encodeEntry = this.newEntry(planEncode(this.k, this.m, this.generator, this.planner));
    this.updateEntries = new Array<PlanEntry | undefined>(this.k).fill(undefined);
  }

  get kernelName(): KernelName {
    return this.kernel.name;
  }

  /** Parity of `data` (k equally long chunks), written into `parityInto` if given (m buffers). */
  encode(data: readonly Uint8Array[], parityInto?: readonly Uint8Array[]): Uint8Array[] {
    const { jobs, parity } = this.encodeJobs(data, parityInto);
    this.runSync(jobs);
    return parity;
  }

  async encodeAsync(data: readonly Uint8Array[], parityInto?: readonly Uint8Array[], options?: AsyncOptions): Promise<Uint8Array[]> {
    const { jobs, parity } = this.encodeJobs(data, parityInto);
    await this.runAsync(jobs, options);
    return parity;
  }

  /** Encode a stripe from allocStripe in place. */
  encodeStripe(stripe: Stripe): void {
    this.encode(stripe.data, stripe.parity);
  }

  /**
   * Rebuild the chunks `want` (indexes of absent chunks) from `chunks` (k+m entries, null or
   * undefined where absent; at least k present). Results go into `into` (aligned with `want`) if
   * given, else into new buffers; returned aligned with `want`. EIO if fewer than k are present.
   */
  reconstruct(chunks: readonly (Uint8Array | null | undefined)[], want: readonly number[], into?: readonly Uint8Array[]): Uint8Array[] {
    const { jobs, outputs } = this.reconstructJobs(chunks, want, into);
    this.runSync(jobs);
    return outputs;
  }

  async reconstructAsync(
    chunks: readonly (Uint8Array | null | undefined)[], want: readonly number[], into?: readonly Uint8Array[], options?: AsyncOptions,
  ): Promise<Uint8Array[]> {
    const { jobs, outputs } = this.reconstructJobs(chunks, want, into);
    await this.runAsync(jobs, options);
    return outputs;
  }

  /** All k+m chunks: the present ones as given, every absent one rebuilt into a new buffer. */
  decode(chunks: readonly (Uint8Array | null | undefined)[]): Uint8Array[] {
    const missing = this.missingIndexes(chunks);
    const rebuilt = this.reconstruct(chunks, missing);
    return this.merge(chunks, missing, rebuilt);
  }

  async decodeAsync(chunks: readonly (Uint8Array | null | undefined)[], options?: AsyncOptions): Promise<Uint8Array[]> {
    const missing = this.missingIndexes(chunks);
    const rebuilt = await this.reconstructAsync(chunks, missing, undefined, options);
    return this.merge(chunks, missing, rebuilt);
  }

  /**
   * The zero-copy decode: `chunks` holds all k+m buffers (e.g. a stripe's); those listed in
   * `missing` are treated as lost and overwritten with their rebuilt contents.
   */
  reconstructInPlace(chunks: readonly Uint8Array[], missing: readonly number[]): void {
    checkBufferList(chunks, this.k + this.m, 'chunks');
    const lost = new Set(checkIndexes(missing, this.k + this.m, 'missing'));
    if (lost.size === 0) return;
    const present = chunks.map((c, i) => (lost.has(i) ? null : c));
    this.reconstruct(present, missing, missing.map((i) => chunks[i]!));
  }

  /**
   * Read–modify–write: fold the changes of some data chunks into `parity` (m buffers, updated in
   * place) without reading the untouched data chunks: parity_j ^= P[j][i]·(before ⊕ after).
   * The result equals re-encoding the new data.
   */
  updateParity(parity: readonly Uint8Array[], changes: readonly ChunkChange[]): void {
    this.runSync(this.updateJobs(parity, changes));
  }

  async updateParityAsync(parity: readonly Uint8Array[], changes: readonly ChunkChange[], options?: AsyncOptions): Promise<void> {
    await this.runAsync(this.updateJobs(parity, changes), options);
  }

  /**
   * The parity deltas of one change, P[j][i]·(before ⊕ after) for each parity chunk j, so a primary
   * can ship deltas and each parity shard XORs its own in (xorInto) — the partial-write path that
   * never moves the old parity. Returns m buffers of the change's length (into `into` if given).
   */
  parityDelta(change: ChunkChange, into?: readonly Uint8Array[]): Uint8Array[] {
    this.checkOpen();
    const lengthBytes = checkBuffer(change?.before, 'change.before').length;
    if (change.offsetBytes !== undefined && change.offsetBytes !== 0) throw invalid('parityDelta: offsetBytes must be 0 (pass the changed range)');
    const deltas = into ?? Array.from({ length: this.m }, () => new Uint8Array(lengthBytes));
    checkBufferList(deltas, this.m, 'parityDelta into', lengthBytes);
    for (const d of deltas) d.fill(0);
    this.updateParity(deltas, [change]);
    return deltas as Uint8Array[];
  }

  /** A stripe of k+m chunks of `chunkBytes`, in kernel memory when possible (see stripe.ts). */
  allocStripe(chunkBytes: number): Stripe {
    this.checkOpen();
    if (!Number.isInteger(chunkBytes) || chunkBytes < 0) throw invalid(`bad chunk size ${chunkBytes}`);
    return allocStripe(this.kernel, this.k, this.m, chunkBytes);
  }

  stats(): CodecStats {
    return {
      kernel: this.kernel.name,
      decodeCacheEntries: this.decodeCache.size,
      decodeCacheHits: this.decodeCache.hits,
      decodeCacheMisses: this.decodeCache.misses,
    };
  }

  /** Return the codec's kernel memory (tables). Later calls fail with ESHUTDOWN; idempotent. */
  dispose(): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.decodeCache.clear();
    this.retire(this.encodeEntry);
    for (const entry of this.updateEntries) if (entry !== undefined) this.retire(entry);
  }

  // ---- jobs ----

  private encodeJobs(data: readonly Uint8Array[], parityInto?: readonly Uint8Array[]): { jobs: Job[]; parity: Uint8Array[] } {
    this.checkOpen();
    const lengthBytes = checkBufferList(data, this.k, 'data');
    const parity = parityInto === undefined
      ? Array.from({ length: this.m }, () => new Uint8Array(lengthBytes))
      : [...parityInto];
    checkBufferList(parity, this.m, 'parity', lengthBytes);
    checkNoOverlap(data, parity);
    const chunkOf = (i: number): Uint8Array => (i < this.k ? data[i]! : parity[i - this.k]!);
    return { jobs: [this.job(this.encodeEntry, chunkOf, lengthBytes)], parity };
  }

  private reconstructJobs(
    chunks: readonly (Uint8Array | null | undefined)[], want: readonly number[], into?: readonly Uint8Array[],
  ): { jobs: Job[]; outputs: Uint8Array[] } {
    this.checkOpen();
    const { present, lengthBytes } = this.checkChunks(chunks);
    checkIndexes(want, this.k + this.m, 'want');
    for (const i of want) if (chunks[i] !== null && chunks[i] !== undefined) throw invalid(`want: chunk ${i} is present`);
    if (present.length < this.k) {
      throw new NacreError(
        `cannot decode: ${this.k + this.m - present.length} of ${this.k + this.m} chunks missing, at most m=${this.m} can be rebuilt`,
        { code: 'EIO' },
      );
    }
    const outputs = into === undefined ? want.map(() => new Uint8Array(lengthBytes)) : [...into];
    checkBufferList(outputs, want.length, 'into', lengthBytes);
    checkNoOverlap(present.map((i) => chunks[i]!), outputs);
    if (want.length === 0) return { jobs: [], outputs };
    const sortedWant = [...want].sort((a, b) => a - b);
    const entry = this.decodeEntry(present, sortedWant);
    const outputOf = new Map<number, Uint8Array>(want.map((index, j) => [index, outputs[j]!]));
    const chunkOf = (i: number): Uint8Array => chunks[i] ?? outputOf.get(i)!;
    return { jobs: [this.job(entry, chunkOf, lengthBytes)], outputs };
  }

  private updateJobs(parity: readonly Uint8Array[], changes: readonly ChunkChange[]): Job[] {
    this.checkOpen();
    const parityBytes = checkBufferList(parity, this.m, 'parity');
    if (!Array.isArray(changes)) throw invalid('changes must be an array');
    return changes.map((change, n) => {
      const what = `changes[${n}]`;
      if (typeof change !== 'object' || change === null) throw invalid(`${what} must be an object`);
      checkIndexes([change.index], this.k, `${what}.index`);
      const lengthBytes = checkBufferList([change.before, change.after], 2, `${what} before/after`);
      const offsetBytes = change.offsetBytes ?? 0;
      if (!Number.isInteger(offsetBytes) || offsetBytes < 0 || offsetBytes + lengthBytes > parityBytes) {
        throw invalid(`${what}: range ${offsetBytes}+${lengthBytes} is outside the ${parityBytes}-byte chunks`);
      }
      const window = parity.map((p) => p.subarray(offsetBytes, offsetBytes + lengthBytes));
      checkNoOverlap([change.before, change.after], window);
      const entry = this.updateEntry(change.index);
      const cp = entry.chunkPlan;
      return {
        entry,
        args: {
          inputs: [change.before, change.after],
          generalOutputs: cp.generalOutputIndexes.map((i) => window[i - this.k]!),
          xorOutput: cp.xorOutputIndex < 0 ? null : window[cp.xorOutputIndex - this.k]!,
          startBytes: 0,
          endBytes: lengthBytes,
          update: true,
        },
      };
    });
  }

  private job(entry: PlanEntry, chunkOf: (index: number) => Uint8Array, lengthBytes: number): Job {
    const cp = entry.chunkPlan;
    return {
      entry,
      args: {
        inputs: cp.inputIndexes.map(chunkOf),
        generalOutputs: cp.generalOutputIndexes.map(chunkOf),
        xorOutput: cp.xorOutputIndex < 0 ? null : chunkOf(cp.xorOutputIndex),
        startBytes: 0,
        endBytes: lengthBytes,
        update: false,
      },
    };
  }

  private runSync(jobs: readonly Job[]): void {
    for (const job of jobs) this.kernel.run(job.entry.prepared, job.args);
  }

  private async runAsync(jobs: readonly Job[], options: AsyncOptions = {}): Promise<void> {
    const sliceBytes = options.sliceBytes ?? (this.kernel.name === 'js' ? ASYNC_SLICE_BYTES_JS : ASYNC_SLICE_BYTES_WASM);
    if (!Number.isInteger(sliceBytes) || sliceBytes < 1) throw invalid(`bad sliceBytes ${sliceBytes}`);
    const yieldFn = options.yieldFn ?? yieldToEventLoop;
    // Pinned: a decode on another pattern during a yield may evict this plan from the cache.
    for (const job of jobs) job.entry.pins++;
    try {
      let first = true;
      for (const { entry, args } of jobs) {
        for (let s = args.startBytes; s < args.endBytes; s += sliceBytes) {
          if (!first) await yieldFn();
          first = false;
          this.kernel.run(entry.prepared, { ...args, startBytes: s, endBytes: Math.min(args.endBytes, s + sliceBytes) });
        }
      }
    } finally {
      for (const job of jobs) this.unpin(job.entry);
    }
  }

  // ---- plans ----

  private newEntry(chunkPlan: ChunkPlan): PlanEntry {
    return { chunkPlan, prepared: this.kernel.prepare(chunkPlan.plan), pins: 0, retired: false };
  }

  /** Release an entry's kernel memory now, or when its last async user unpins it. */
  private retire(entry: PlanEntry): void {
    assert(!entry.retired, 'plan retired twice');
    entry.retired = true;
    if (entry.pins === 0) this.kernel.release(entry.prepared);
  }

  private unpin(entry: PlanEntry): void {
    assert(entry.pins > 0, 'unpin of an unpinned plan');
    entry.pins--;
    if (entry.pins === 0 && entry.retired) this.kernel.release(entry.prepared);
  }

  private decodeEntry(present: readonly number[], want: readonly number[]): PlanEntry {
    const inputs = present.slice(0, this.k);
    const key = `${indexMask(inputs)}:${indexMask(want)}`;
    let entry = this.decodeCache.get(key);
    if (entry === undefined) {
      entry = this.newEntry(planDecode(this.k, this.generator, present, want, this.planner));
      this.decodeCache.set(key, entry);
    }
    return entry;
  }

  private updateEntry(index: number): PlanEntry {
    let entry = this.updateEntries[index];
    if (entry === undefined) {
      entry = this.newEntry(planUpdate(this.k, this.m, this.generator, index, this.planner));
      this.updateEntries[index] = entry;
    }
    return entry;
  }

  // ---- helpers ----

  private checkOpen(): void {
    if (this.status !== 'open') throw new NacreError('erasure codec is disposed', { code: 'ESHUTDOWN' });
  }

  /** Present indexes (ascending) and their common length. */
  private checkChunks(chunks: readonly (Uint8Array | null | undefined)[]): { present: number[]; lengthBytes: number } {
    if (!Array.isArray(chunks) || chunks.length !== this.k + this.m) throw invalid(`chunks: expected ${this.k + this.m} entries`);
    const present: number[] = [];
    let lengthBytes = -1;
    chunks.forEach((c, i) => {
      if (c === null || c === undefined) return;
      const buf = checkBuffer(c, `chunks[${i}]`);
      if (lengthBytes >= 0 && buf.length !== lengthBytes) throw invalid(`chunks[${i}] is ${buf.length} bytes, expected ${lengthBytes}`);
      lengthBytes = buf.length;
      present.push(i);
    });
    return { present, lengthBytes: Math.max(lengthBytes, 0) };
  }

  private missingIndexes(chunks: readonly (Uint8Array | null | undefined)[]): number[] {
    if (!Array.isArray(chunks)) throw invalid('chunks must be an array');
    const missing: number[] = [];
    chunks.forEach((c, i) => { if (c === null || c === undefined) missing.push(i); });
    return missing;
  }

  private merge(chunks: readonly (Uint8Array | null | undefined)[], missing: readonly number[], rebuilt: readonly Uint8Array[]): Uint8Array[] {
    const all = chunks.map((c) => c ?? null);
    missing.forEach((index, j) => { all[index] = rebuilt[j]!; });
    return all as Uint8Array[];
  }
}

/** Bit i set for each index (indexes < 40, so the sum is an exact double). */
function indexMask(indexes: readonly number[]): number {
  let mask = 0;
  for (const i of indexes) mask += 2 ** i;
  return mask;
}
