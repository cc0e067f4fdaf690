/** Small pure pieces: limits validation, backoff, the send queue's bounds and order, addresses. */
import t from 'tap';
import { backoffDelayMs, formatAddress, resolveLimits, resolveRetryPolicy, toAddress } from '@nacre/msgr';
import { SendQueue, type OutFrame } from '@nacre/msgr/send-queue';

t.test('limits are validated', async (t) => {
  t.equal(resolveLimits().frameBytesMax, 64 * 1024 * 1024, 'default frame limit 64 MiB');
  t.throws(() => resolveLimits({ frameBytesMax: 0 }), { code: 'EINVAL', message: /frameBytesMax must be a positive integer/ });
  t.throws(() => resolveLimits({ handshakeFrameBytesMax: 2, frameBytesMax: 1 }), { code: 'EINVAL' });
  t.throws(() => resolveLimits({ keepaliveIntervalMs: 10, peerSilenceMsMax: 10 }), { code: 'EINVAL' });
  t.equal(resolveRetryPolicy().attemptsMax, Infinity);
  t.throws(() => resolveRetryPolicy({ delayMsMin: 10, delayMsMax: 5 }), { code: 'EINVAL' });
});

t.test('backoff doubles, caps and jitters within [50%, 100%]', async (t) => {
  const policy = resolveRetryPolicy({ delayMsMin: 100, delayMsMax: 1000 });
  t.same([1, 2, 3, 4, 5, 50].map((a) => backoffDelayMs(policy, a, 0.999999)), [100, 200, 400, 800, 1000, 1000]);
  t.same([1, 2, 5].map((a) => backoffDelayMs(policy, a, 0)), [50, 100, 500]);
});

t.test('addresses', async (t) => {
  t.same(toAddress('127.0.0.1:6789'), { host: '127.0.0.1', port: 6789 });
  t.same(toAddress('[::1]:80'), { host: '::1', port: 80 });
  t.equal(formatAddress({ host: '::1', port: 80 }), '[::1]:80');
  t.throws(() => toAddress('nohost'), { code: 'EINVAL' });
  t.throws(() => toAddress('h:70000'), { code: 'EINVAL' });
});

function frame(bytes: number): OutFrame {
  return { head: Buffer.alloc(bytes), attachments: null, sizeBytes: bytes, tid: 0, cancelled: false };
}

t.test('send queue: bounded, FIFO, one frame always fits an empty queue', async (t) => {
  const q = new SendQueue({ bytesMax: 100, framesMax: 3, waitersMax: 2 });
  t.equal(q.offer(frame(500)), null, 'an oversized frame still fits an empty queue');
  const order: number[] = [];
  const w1 = q.offer(frame(10));
  t.ok(w1 instanceof Promise, 'next one waits');
  void w1!.then(() => order.push(1));
  const w2 = q.offer(frame(10))!;
  void w2.then(() => order.push(2));
  t.throws(() => q.offer(frame(1)), { code: 'EAGAIN', message: /sendWaitersMax=2/ });
  t.ok(q.offer(frame(1), true) instanceof Promise, 'priority frames (replies) may wait beyond waitersMax');
  t.equal(q.shift()!.sizeBytes, 500);
  await Promise.resolve();
  t.same(order, [1, 2], 'waiters admitted in order');
  t.equal(q.length, 3);
  t.ok(q.bytes <= 100);
  const late = frame(10);
  const wLate = q.offer(late)!;
  t.ok(q.withdraw(late), 'a waiting frame can be withdrawn');
  void wLate;
  const cancelled = q.shift()!;
  cancelled.cancelled = true;
  const err = new Error('gone');
  const w3 = q.offer(frame(90));
  q.failAll(err);
  if (w3 !== null) await t.rejects(w3, err, 'waiters fail with the error');
  t.equal(q.length, 0);
  t.equal(q.bytes, 0);
});

t.test('send queue: cancelled frames are skipped', async (t) => {
  const q = new SendQueue({ bytesMax: 100, framesMax: 10, waitersMax: 10 });
  const a = frame(1);
  const b = frame(2);
  q.offer(a);
  q.offer(b);
  a.cancelled = true;
  t.equal(q.shift(), b);
  t.equal(q.shift(), undefined);
});
