/**
 * The tcp transport's record reader without sockets: any split of a byte stream into reads gives
 * the same records, whether reads land in the static buffer, straight in a frame's buffer (the
 * onread path) or arrive as Node chunks ('data'); limits are checked before allocating; the small
 * frame arena never hands out overlapping memory. Seeded: `NACRE_SEED=N` reproduces a run.
 */
import t from 'tap';
import fc from 'fast-check';
import { seedFromEnv } from '@nacre/util';
import { ReceiveMemory, arenaChunkBytes, arenaFrameBytesMax, readBufferBytes } from '@nacre/msgr/receive-memory';
import { RecordReader, type RecordSink } from '@nacre/msgr/tcp-reader';
import { banner, closeRecord, messageRecord, recordHeader } from './tcp-raw-peer.js';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

type Event =
  | { kind: 'banner' }
  | { kind: 'message'; data: Buffer }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'violation'; reason: string; code: number };

function recorder(): { events: Event[]; sink: RecordSink } {
  const events: Event[] = [];
  return {
    events,
    sink: {
      onBanner: () => events.push({ kind: 'banner' }),
      // Copy: the assertion must see what was delivered, not what a later read might overwrite.
      onMessage: (data) => events.push({ kind: 'message', data: Buffer.from(data) }),
      onCloseRecord: (code, reason) => events.push({ kind: 'close', code, reason }),
      onViolation: (reason, code) => events.push({ kind: 'violation', reason, code }),
    },
  };
}

/** Feed `stream` the way net's onread does: each read fills (part of) the buffer the reader asks for. */
function feedOnread(reader: RecordReader, stream: Buffer, readSizes: number[]): void {
  let offset = 0;
  for (let i = 0; offset < stream.length && !reader.stopped; i++) {
    const buf = reader.nextReadBuffer();
    const want = readSizes.length === 0 ? buf.length : Math.max(1, readSizes[i % readSizes.length]!);
    const n = Math.min(buf.length, want, stream.length - offset);
    stream.copy(buf, 0, offset, offset + n);
    reader.onRead(n, buf);
    offset += n;
  }
}

/** Feed it the way 'data' events do: fresh chunks. */
function feedChunks(reader: RecordReader, stream: Buffer, readSizes: number[]): void {
  let offset = 0;
  for (let i = 0; offset < stream.length && !reader.stopped; i++) {
    const n = Math.min(Math.max(1, readSizes[i % readSizes.length] ?? stream.length), stream.length - offset);
    const chunk = Buffer.from(stream.subarray(offset, offset + n));
    reader.onRead(n, chunk);
    offset += n;
  }
}

const bodyArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: arenaFrameBytesMax - 8, max: arenaFrameBytesMax + 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: readBufferBytes, max: 3 * readBufferBytes + 17 }) },
).map((bytes) => {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 7 + bytes) & 0xff;
  return b;
});

t.test('any split of the stream yields the same records (onread and data paths)', async (t) => {
  let direct = 0;
  await fc.assert(
    fc.property(
      fc.array(bodyArb, { maxLength: 12 }),
      fc.option(fc.tuple(fc.integer({ min: 1000, max: 4999 }), fc.string({ maxLength: 40 }))),
      fc.array(fc.integer({ min: 1, max: 2 * readBufferBytes }), { maxLength: 8 }),
      fc.boolean(),
      (bodies, close, readSizes, onread) => {
        const reasonBytes = close === null ? 0 : Buffer.byteLength(close[1]);
        if (reasonBytes > 123) return;
        const stream = Buffer.concat([banner, ...bodies.map(messageRecord), ...(close === null ? [] : [closeRecord(close[0], close[1])])]);
        const memory = new ReceiveMemory();
        const { events, sink } = recorder();
        const reader = new RecordReader(memory, sink, 1024 * 1024);
        if (onread) feedOnread(reader, stream, readSizes);
        else feedChunks(reader, stream, readSizes);
        const want: Event[] = [{ kind: 'banner' }, ...bodies.map((data): Event => ({ kind: 'message', data })), ...(close === null ? [] : [{ kind: 'close' as const, code: close[0], reason: close[1] }])];
        t.same(events, want);
        if (onread) direct += memory.stats.directReadBytes;
        else if (memory.stats.directReadBytes !== 0 || memory.stats.staticReadBytes !== 0) throw new Error('chunks counted as static or direct reads');
      },
    ),
    { seed, numRuns: 200 },
  );
  t.ok(direct > 0, `big frames were read straight into place (${direct} bytes)`);
});

t.test('a big frame arrives in reads aimed at its own buffer, never past its end', async (t) => {
  const memory = new ReceiveMemory();
  const { events, sink } = recorder();
  const reader = new RecordReader(memory, sink, 8 * 1024 * 1024);
  const body = Buffer.alloc(4 * 1024 * 1024, 3);
  const stream = Buffer.concat([banner, messageRecord(body), messageRecord(Buffer.from('next'))]);
  let offset = 0;
  let reads = 0;
  while (offset < stream.length) {
    const buf = reader.nextReadBuffer();
    const n = Math.min(buf.length, stream.length - offset, 256 * 1024);
    stream.copy(buf, 0, offset, offset + n);
    reader.onRead(n, buf);
    offset += n;
    reads++;
  }
  t.equal(events.length, 3, 'banner, the big frame, the next one');
  t.ok((events[1] as { data: Buffer }).data.equals(body), 'big frame intact');
  t.equal((events[2] as { data: Buffer }).data.toString(), 'next', 'the next record was not swallowed');
  t.ok(memory.stats.directReadBytes > body.length - readBufferBytes, `most of it read in place (${memory.stats.directReadBytes} bytes)`);
  t.equal(memory.stats.frameAllocations, 1, 'one allocation for the big frame');
  t.ok(reads < 30, `${reads} reads`);
});

t.test('limits are checked before allocating; violations stop the reader', async (t) => {
  const cases: Array<[string, Buffer, RegExp, number]> = [
    ['over the limit', recordHeader(1, 4097), /frame of 4097 bytes exceeds frameBytesMax=4096/, 1009],
    ['u32 max', recordHeader(1, 0xffff_ffff), /exceeds frameBytesMax/, 1009],
    ['bad banner', Buffer.from('GET / HTTP/1.1\r\n'), /not a Nacre tcp messenger peer: it sent "GET \/ HT".*ms_transport = ws/, 1002],
  ];
  for (const [what, bytes, reason, code] of cases) {
    const memory = new ReceiveMemory();
    const { events, sink } = recorder();
    const reader = new RecordReader(memory, sink, 4096);
    const stream = what === 'bad banner' ? bytes : Buffer.concat([banner, bytes, Buffer.alloc(5000)]);
    feedChunks(reader, stream, []);
    const last = events.at(-1);
    t.equal(last?.kind, 'violation', `${what}: violation`);
    t.match((last as { reason: string }).reason, reason, `${what}: reason`);
    t.equal((last as { code: number }).code, code, `${what}: close code`);
    t.equal(memory.stats.frameAllocations + memory.stats.arenaChunkAllocations, 0, `${what}: nothing allocated`);
    t.ok(reader.stopped, `${what}: reader stopped`);
  }
  // setFrameBytesMax: handshake-sized first, then the full limit.
  const { events, sink } = recorder();
  const reader = new RecordReader(new ReceiveMemory(), sink, 1024 * 1024);
  reader.setFrameBytesMax(100);
  feedChunks(reader, Buffer.concat([banner, messageRecord(Buffer.alloc(100))]), []);
  reader.setFrameBytesMax(1024 * 1024);
  feedChunks(reader, messageRecord(Buffer.alloc(5000)), []);
  t.same(events.map((e) => e.kind), ['banner', 'message', 'message'], 'raised limit applies to the next header');
});

t.test('a refusal close record where the banner belongs', async (t) => {
  const { events, sink } = recorder();
  const reader = new RecordReader(new ReceiveMemory(), sink, 4096);
  feedChunks(reader, closeRecord(1013, 'try again later'), [3]);
  t.same(events, [{ kind: 'close', code: 1013, reason: 'try again later' }]);
  t.ok(reader.stopped, 'nothing is read after a close record');
});

t.test('stop() from inside a delivery drops the rest of the read', async (t) => {
  const memory = new ReceiveMemory();
  const got: string[] = [];
  const reader: RecordReader = new RecordReader(memory, {
    onBanner: () => {},
    onMessage: (data) => {
      got.push(data.toString());
      if (got.length === 2) reader.stop();
    },
    onCloseRecord: () => t.fail('no close record expected'),
    onViolation: () => t.fail('no violation expected'),
  }, 4096);
  feedChunks(reader, Buffer.concat([banner, ...['a', 'b', 'c', 'd'].map((s) => messageRecord(Buffer.from(s)))]), []);
  t.same(got, ['a', 'b']);
});

t.test('the small-frame arena never hands out overlapping memory', async (t) => {
  const memory = new ReceiveMemory();
  const frames: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    const b = memory.frameBuffer(1 + ((i * 997) % arenaFrameBytesMax));
    b.fill(i);
    frames.push(b);
  }
  frames.forEach((b, i) => t.ok(b.every((x) => x === i), `frame ${i} kept its bytes`));
  t.ok(memory.stats.arenaChunkAllocations < 100, `${memory.stats.arenaChunkAllocations} chunks for 100 small frames`);
  const big = memory.frameBuffer(arenaFrameBytesMax + 1);
  t.equal(big.buffer.byteLength, arenaFrameBytesMax + 1, 'a bigger frame gets its own exact buffer');
  t.ok(frames.every((b) => b.buffer.byteLength === arenaChunkBytes), 'small frames are views of arena chunks');
});
