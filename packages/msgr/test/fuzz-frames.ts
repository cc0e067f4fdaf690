/**
 * Random messenger frames for the fuzz tests (fuzz.test.ts over ws, tcp-fuzz.test.ts over tcp):
 * random bytes, frame-shaped msgpack with random fields, valid frames, and mutations of valid
 * frames.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { TestEcho, TestNote, TestNotesSeen } from '@nacre/msgr/testing';
import { MsgrAuth, MsgrHello, WIRE_VERSION, encodeFrame } from '@nacre/proto';

/** Encodes anything, including things our codec would never produce (records, odd types). */
const wildPackr = new Packr({ useRecords: true, moreTypes: true, structuredClone: true });

const knownTypes = ['test.echo', 'test.note', 'test.notes_seen', 'test.mon_only', 'test.osd_only', 'msgr.hello', 'msgr.challenge', 'msgr.auth', 'msgr.auth_ok', 'msgr.auth_fail', 'msgr.keepalive'];

const typeArb = fc.oneof(
  fc.constantFrom(...knownTypes),
  fc.constantFrom('osd.op', 'mon.paxos_begin', 'x', '', 'A.B', 'a'.repeat(65), 'msgr.', '.x'),
  fc.string({ maxLength: 20 }),
);
const tidArb = fc.oneof(fc.constant(0), fc.nat(5), fc.integer(), fc.constantFrom(-1, 2 ** 53, 2 ** 64, 1.5, Number.NaN));
const payloadArb = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.record({ text: fc.string({ maxLength: 30 }) }),
  fc.record({ seq: fc.oneof(fc.nat(), fc.integer()), data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ v: fc.constantFrom(WIRE_VERSION, 0, 2), entity: fc.constantFrom('client.admin', 'mon.a', 'osd.0', 'client.nobody', 'x'), nonce: fc.uint8Array({ minLength: 0, maxLength: 40 }) }),
  fc.record({ proof: fc.uint8Array({ minLength: 30, maxLength: 34 }) }),
  fc.record({ code: fc.string({ maxLength: 8 }), message: fc.string({ maxLength: 30 }) }),
);

/** A frame-shaped msgpack array with random fields (kind may be out of range, tid negative, ...). */
const attachmentsArb = fc.oneof(
  fc.constant(undefined),
  fc.array(fc.constantFrom('data', 'text', 'x', '__proto__', 'constructor'), { maxLength: 3 }),
  fc.anything({ maxDepth: 1 }),
);

const lookalikeFrameArb = fc
  .tuple(fc.oneof(fc.nat(4), fc.integer({ min: -2, max: 9 })), tidArb, typeArb, payloadArb, attachmentsArb)
  .map(([kind, tid, type, payload, attachments]) => {
    try {
      return Buffer.from(wildPackr.pack(attachments === undefined ? [kind, tid, type, payload] : [kind, tid, type, payload, attachments]));
    } catch {
      return Buffer.from([0x94, 0x00, 0x00, 0xa1, 0x78, 0xc0]);
    }
  });

const validFrameArb = fc.oneof(
  // A frame announcing an attachment (the next message, whatever it is, is taken as its bytes).
  fc.nat(64).map((bytes) => Buffer.from(wildPackr.pack([1, 1, TestEcho.type, { text: 'a', data: bytes }, ['data']]))),
  fc.record({ text: fc.string({ maxLength: 50 }) }).map((p) => encodeFrame('request', 1, TestEcho.type, p)),
  fc.nat(1000).map((seq) => encodeFrame('oneway', 0, TestNote.type, { seq })),
  fc.constant(encodeFrame('request', 2, TestNotesSeen.type, {})),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((nonce) => encodeFrame('oneway', 0, MsgrHello.type, { v: WIRE_VERSION, entity: 'client.admin', nonce: Buffer.from(nonce) })),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((proof) => encodeFrame('oneway', 0, MsgrAuth.type, { proof: Buffer.from(proof) })),
);

/** A valid frame with a few bytes flipped, or cut short, or with junk appended. */
const mutatedFrameArb = fc
  .tuple(validFrameArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.oneof(fc.constant(null), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })))
  .map(([frame, flips, tail]) => {
    let b = Buffer.from(frame);
    for (const [pos, val] of flips) b[pos % b.length] = val;
    if (typeof tail === 'number') b = b.subarray(0, tail % (b.length + 1));
    else if (tail !== null) b = Buffer.concat([b, Buffer.from(tail)]);
    return b;
  });

export const frameArb = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 3, arbitrary: lookalikeFrameArb },
  { weight: 3, arbitrary: mutatedFrameArb },
  { weight: 2, arbitrary: validFrameArb },
);
