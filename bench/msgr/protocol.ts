/**
 * What bench/msgr sends: four messenger messages, and the same four over the plain `net`
 * baseline with the thinnest framing that still delimits messages:
 *
 *   [u32 body bytes][u8 kind][u32 tid][body]      kind: 1 data (one-way), 2 sync, 3 echo, 4 reply, 5 cpu
 *
 * The baseline reader assembles each message into one Buffer (copying only when a message spans
 * socket reads) — the work any real protocol, ws included, must do — so the ratio measures what the
 * messenger adds on top: msgpack framing, the transport's framing (WebSocket or tcp records),
 * request bookkeeping.
 */
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';
import { defineOneway, defineRequest } from '@nacre/proto';

export const BenchData = defineOneway<{ data: Buffer }>({ type: 'bench.data', senders: ['client'] });
export const BenchSync = defineRequest<Record<string, never>, { messages: number; bytes: number }>({ type: 'bench.sync', senders: ['client'] });
export const BenchEcho = defineRequest<{ data: Buffer }, { data: Buffer }>({ type: 'bench.echo', senders: ['client'] });

/**
 * The peer's CPU time so far (process.cpuUsage, µs), to report CPU per operation on both sides,
 * and its garbage collections so far (perf_hooks 'gc' entries): all of them, and the
 * mark-compact (major) ones with the time they took.
 */
export interface CpuSample {
  userUs: number;
  systemUs: number;
  gcCount: number;
  gcMajorCount: number;
  gcMajorMs: number;
}
export const BenchCpu = defineRequest<Record<string, never>, CpuSample>({ type: 'bench.cpu', senders: ['client'] });

export const NetKind = { data: 1, sync: 2, echo: 3, reply: 4, cpu: 5 } as const;
/** The net baseline's answer to `cpu`: CpuSample's fields as doubles, in this order. */
export const cpuSampleFields = ['userUs', 'systemUs', 'gcCount', 'gcMajorCount', 'gcMajorMs'] as const;
export const netHeaderBytes = 9;

export function netHeader(kind: number, tid: number, bodyBytes: number): Buffer {
  const h = Buffer.allocUnsafe(netHeaderBytes);
  h.writeUInt32LE(bodyBytes, 0);
  h.writeUInt8(kind, 4);
  h.writeUInt32LE(tid, 5);
  return h;
}

/** Splits a byte stream into [kind, tid, body] messages. */
export class NetReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly onMessage: (kind: number, tid: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < netHeaderBytes) return;
      const head = this.peek(netHeaderBytes);
      const bodyBytes = head.readUInt32LE(0);
      if (this.buffered < netHeaderBytes + bodyBytes) return;
      this.take(netHeaderBytes);
      const body = this.take(bodyBytes);
      this.onMessage(head.readUInt8(4), head.readUInt32LE(5), body);
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    return first.length >= n ? first.subarray(0, n) : Buffer.concat(this.chunks, n).subarray(0, n);
  }

  /** n bytes off the front: a view when one chunk holds them, else one copy. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const used = Math.min(c.length, n - off);
      c.copy(out, off, 0, used);
      off += used;
      if (used === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(used);
    }
    return out;
  }
}

/** Counts this process's garbage collections from the moment it is created. */
export class GcCounter {
  count = 0;
  majorCount = 0;
  majorMs = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.count++;
        if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
          this.majorCount++;
          this.majorMs += e.duration;
        }
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  sample(): CpuSample {
    const c = process.cpuUsage();
    return { userUs: c.user, systemUs: c.system, gcCount: this.count, gcMajorCount: this.majorCount, gcMajorMs: this.majorMs };
  }

  stop(): void {
    this.observer.disconnect();
  }
}
