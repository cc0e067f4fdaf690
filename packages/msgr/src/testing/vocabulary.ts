/**
 * A small vocabulary for messenger tests, benchmarks and the echo daemon (`test.*` types). Not used
 * by the cluster; kept in src so that spawned processes run it compiled from dist.
 */
import { defineOneway, defineRequest, expectBytes, expectInt, expectRecord, expectString } from '@nacre/proto';

export interface EchoPayload {
  text: string;
  data?: Buffer;
}

function decodeEcho(raw: unknown): EchoPayload {
  const o = expectRecord(raw, 'payload');
  const text = expectString(o['text'], 'text', { bytesMax: 4096 });
  return o['data'] === undefined ? { text } : { text, data: expectBytes(o['data'], 'data', { bytesMax: 64 * 1024 * 1024 }) };
}

/** Request/reply any entity may send; the reply echoes the payload. */
export const TestEcho = defineRequest<EchoPayload, EchoPayload>({
  type: 'test.echo',
  senders: ['client', 'mon', 'osd'],
  decode: decodeEcho,
  decodeReply: decodeEcho,
});

export interface NotePayload {
  seq: number;
  data?: Buffer;
}

/** One-way message with a sequence number (ordering tests, one-way throughput). */
export const TestNote = defineOneway<NotePayload>({
  type: 'test.note',
  senders: ['client', 'mon', 'osd'],
  decode: (raw) => {
    const o = expectRecord(raw, 'payload');
    const seq = expectInt(o['seq'], 'seq', { min: 0, max: Number.MAX_SAFE_INTEGER });
    return o['data'] === undefined ? { seq } : { seq, data: expectBytes(o['data'], 'data', { bytesMax: 64 * 1024 * 1024 }) };
  },
});

/** Reports what the receiver saw of TestNote so far (answered after every earlier note: ordering). */
export const TestNotesSeen = defineRequest<Record<string, never>, { count: number; bytes: number; lastSeq: number }>({
  type: 'test.notes_seen',
  senders: ['client', 'mon', 'osd'],
});

/** A monitor-internal request: clients and OSDs must be refused (capabilities). */
export const TestMonOnly = defineRequest<Record<string, never>, { ok: boolean }>({
  type: 'test.mon_only',
  senders: ['mon'],
});

/** An OSD-internal one-way message. */
export const TestOsdOnly = defineOneway<{ seq: number }>({
  type: 'test.osd_only',
  senders: ['osd'],
});

export const testMessages = [TestEcho, TestNote, TestNotesSeen, TestMonOnly, TestOsdOnly] as const;
