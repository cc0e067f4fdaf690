/** The frame codec: round trips, zero-copy binary, strict structure, never a stray exception. */
import t from 'tap';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { NacreError, seedFromEnv } from '@nacre/util';
import { attachToPayload, attachmentsMax, decodeFrame, encodeErrorFrame, encodeFrame, encodeFrameParts, errorMessageBytesMax, truncateUtf8 } from '@nacre/proto';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

t.test('round trips', async (t) => {
  const data = Buffer.from('binary payload');
  const bytes = encodeFrame('request', 7, 'osd.op', { oid: 'x', data, off: 2 ** 40 });
  t.equal(bytes[0], 0x94, 'a 4-element msgpack array');
  const f = decodeFrame(bytes);
  t.same(f, { kind: 'request', tid: 7, type: 'osd.op', payload: { oid: 'x', data, off: 2 ** 40 } });
  const got = (f.payload as { data: Buffer }).data;
  t.ok(Buffer.isBuffer(got), 'bin decodes as a Buffer');
  t.equal(got.buffer, bytes.buffer, 'decoded binary is a view into the frame (no copy)');
  t.same(decodeFrame(encodeFrame('oneway', 0, 'msgr.keepalive', undefined)), { kind: 'oneway', tid: 0, type: 'msgr.keepalive', payload: null });
  t.same(decodeFrame(encodeFrame('reply', Number.MAX_SAFE_INTEGER, 'a.b', [1])), { kind: 'reply', tid: Number.MAX_SAFE_INTEGER, type: 'a.b', payload: [1] }, 'tids up to 2^53-1 stay numbers');
  t.same(decodeFrame(encodeErrorFrame(3, 'a.b', 'ENOENT', 'no such object')), { kind: 'error', tid: 3, type: 'a.b', payload: { code: 'ENOENT', message: 'no such object' } });
  t.throws(() => encodeFrame('oneway', 0, 'a.b', { n: 2n ** 70n }), { code: 'EINVAL', message: /cannot encode a\.b payload/ });
});

t.test('attachments: big top-level binary fields leave the msgpack frame', async (t) => {
  const big = Buffer.alloc(1000, 7);
  const other = new Uint8Array(2000).fill(8);
  const payload = { oid: 'x', data: big, other, small: Buffer.alloc(10), nested: { deep: Buffer.alloc(5000) } };
  const enc = encodeFrameParts('request', 4, 'osd.op', payload, 100);
  t.equal(enc.attachments!.length, 2);
  t.equal(enc.attachments![0], big, 'the caller\'s Buffer itself (no copy)');
  t.equal(enc.attachments![1]!.buffer, other.buffer, 'a Uint8Array is viewed, not copied');
  t.equal(enc.totalBytes, enc.head.length + 3000);
  t.ok(enc.head.length < 5200, 'head holds the small and nested fields only');
  t.equal(payload.data, big, 'the caller\'s payload object is not modified');
  const f = decodeFrame(enc.head);
  t.same(f.attachments, [{ key: 'data', bytes: 1000 }, { key: 'other', bytes: 2000 }]);
  attachToPayload(f, [big, Buffer.from(other)]);
  t.same(f.payload, { oid: 'x', data: big, other: Buffer.from(other), small: Buffer.alloc(10), nested: { deep: Buffer.alloc(5000) } });
  t.equal(encodeFrameParts('oneway', 0, 'a.b', { d: big }, 1000).attachments, null, 'at the limit: inline');
  t.equal(encodeFrameParts('oneway', 0, 'a.b', [big], 10).attachments, null, 'arrays: inline');
  const many = Object.fromEntries(Array.from({ length: attachmentsMax + 2 }, (_, i) => [`f${i}`, big]));
  const enc2 = encodeFrameParts('oneway', 0, 'a.b', many, 10);
  t.equal(enc2.attachments!.length, attachmentsMax, 'at most attachmentsMax; the rest inline');
  const packr = new Packr({ useRecords: false });
  const bad: Array<[unknown[], RegExp]> = [
    [[1, 1, 'a.b', { d: 5 }, []], /attachments must list/],
    [[1, 1, 'a.b', { d: 5 }, ['d', 'd']], /duplicate attachment key/],
    [[1, 1, 'a.b', { d: 'x' }, ['d']], /attachment size is not a byte count/],
    [[1, 1, 'a.b', { d: -1 }, ['d']], /attachment size is not a byte count/],
    [[1, 1, 'a.b', [5], ['0']], /attachments need a map payload/],
    [[1, 1, 'a.b', { d: 5 }, ['toString']], /attachment key is not a payload field/],
    [[3, 1, 'a.b', { code: 'EIO', message: '' }, ['d']], /an error frame cannot carry attachments/],
  ];
  for (const [value, re] of bad) t.throws(() => decodeFrame(packr.pack(value)), { code: 'EPROTO', message: re }, re.source);
  t.throws(() => decodeFrame(packr.pack([1, 1, 'a.b', JSON.parse('{"__proto__": 5}'), ['__proto__']])), { code: 'EPROTO' }, 'no attachment can target __proto__');
});

t.test('error frames: long messages cut, unknown codes read as EIO', async (t) => {
  const long = decodeFrame(encodeErrorFrame(1, 'a.b', 'EIO', 'é'.repeat(5000)));
  t.equal(Buffer.byteLength((long.payload as { message: string }).message), errorMessageBytesMax, 'cut at a character boundary');
  const packr = new Packr({ useRecords: false });
  const odd = decodeFrame(packr.pack([3, 1, 'a.b', { code: 'EWHATEVER', message: 'm' }]));
  t.same(odd.payload, { code: 'EIO', message: 'm' });
  t.equal(truncateUtf8('aé', 2), 'a');
});

t.test('structural checks', async (t) => {
  const packr = new Packr({ useRecords: false });
  const cases: Array<[unknown, RegExp]> = [
    [[0, 0, 'a.b'], /expected \[kind, tid, type, payload\]/],
    [{ kind: 0 }, /expected \[kind, tid, type, payload\]/],
    [[4, 0, 'a.b', null], /bad kind/],
    [[-1, 0, 'a.b', null], /bad kind/],
    [[0, 1, 'a.b', null], /bad tid 1 for a oneway frame/],
    [[1, 0, 'a.b', null], /bad tid 0 for a request frame/],
    [[2, -5, 'a.b', null], /bad tid/],
    [[1, 1.5, 'a.b', null], /bad tid/],
    [[1, 2 ** 60, 'a.b', null], /bad tid/],
    [[1, 1, 5, null], /type is not a string/],
    [[1, 1, 'NoDots', null], /bad type/],
    [[3, 1, 'a.b', 'oops'], /error payload is not a map/],
    [[3, 1, 'a.b', { code: 5, message: '' }], /error code/],
  ];
  for (const [value, re] of cases) {
    t.throws(() => decodeFrame(packr.pack(value)), { code: 'EPROTO', message: re }, re.source);
  }
  t.throws(() => decodeFrame(Buffer.alloc(0)), { code: 'EPROTO', message: /empty/ });
  t.throws(() => decodeFrame(Buffer.alloc(100_000, 0x91)), { code: 'EPROTO', message: /not msgpack/ }, 'absurd nesting');
  t.throws(() => decodeFrame(Buffer.from([0x94, 0x00, 0x00])), { code: 'EPROTO' }, 'truncated');
  t.throws(() => decodeFrame(Buffer.concat([encodeFrame('oneway', 0, 'a.b', 1), Buffer.from([0])])), { code: 'EPROTO' }, 'trailing bytes');
  const proto = decodeFrame(packr.pack([0, 0, 'a.b', JSON.parse('{"__proto__": {"polluted": 1}}')]));
  t.equal(({} as { polluted?: number }).polluted, undefined, 'no prototype pollution');
  t.ok(proto.payload !== null);
});

t.test('property: any bytes decode to a frame or an EPROTO NacreError, nothing else', async (t) => {
  const wild = new Packr({ useRecords: true, moreTypes: true, structuredClone: true });
  const bytesArb = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.integer({ min: -1, max: 5 }), fc.oneof(fc.integer(), fc.double()), fc.string({ maxLength: 10 }), fc.anything()).map((v) => {
      try {
        return new Uint8Array(wild.pack(v));
      } catch {
        return new Uint8Array([0xc1]);
      }
    }),
  );
  await fc.assert(
    fc.property(bytesArb, (bytes) => {
      try {
        const f = decodeFrame(bytes);
        return ['oneway', 'request', 'reply', 'error'].includes(f.kind) && Number.isSafeInteger(f.tid) && typeof f.type === 'string';
      } catch (err) {
        return err instanceof NacreError && err.code === 'EPROTO';
      }
    }),
    { seed, numRuns: 2000 },
  );
  t.pass('2000 random inputs');
});
