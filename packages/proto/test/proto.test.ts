/** Entity names, message definitions and the registry, payload helpers. */
import t from 'tap';
import {
  MessageRegistry,
  defineMessage,
  defineOneway,
  defineRequest,
  entityKindOf,
  expectArray,
  expectBool,
  expectBytes,
  expectEntityName,
  expectInt,
  expectOneOf,
  expectRecord,
  expectString,
  isEntityName,
  isErrorCode,
  maySend,
  msgrMessages,
  parseEntityName,
} from '@nacre/proto';

t.test('entity names', async (t) => {
  t.same(parseEntityName('mon.a'), { kind: 'mon', id: 'a', name: 'mon.a' });
  t.same(parseEntityName('osd.3'), { kind: 'osd', id: '3', name: 'osd.3' });
  t.same(parseEntityName('client.rbd.backup'), { kind: 'client', id: 'rbd.backup', name: 'client.rbd.backup' });
  t.equal(entityKindOf('client.admin'), 'client');
  for (const bad of ['', 'mon', 'mon.', 'osd.01', 'osd.-1', 'osd.2147483648', 'mgr.x', 'client.a b', `mon.${'a'.repeat(65)}`, 'mon.a.b']) {
    t.notOk(isEntityName(bad), `${JSON.stringify(bad)} is not an entity name`);
  }
  t.throws(() => parseEntityName('mgr.x'), { code: 'EINVAL', message: /bad entity name "mgr\.x": unknown kind "mgr"/ });
  t.ok(isEntityName('osd.2147483647'));
});

t.test('message definitions', async (t) => {
  const Req = defineRequest<{ a: number }, { b: number }>({ type: 'mon.pool_create', senders: ['client', 'mon'] });
  t.equal(Req.kind, 'request');
  t.ok(Object.isFrozen(Req) && Object.isFrozen(Req.senders), 'definitions are immutable');
  t.ok(maySend(Req, 'client'));
  t.notOk(maySend(Req, 'osd'));
  const One = defineMessage<{ x: string }>({ kind: 'oneway', type: 'osd.beacon', senders: ['osd'] });
  t.equal(One.kind, 'oneway');
  t.throws(() => defineOneway({ type: 'Bad.Type', senders: ['mon'] }), { code: 'EINVAL', message: /<area>\.<name>/ });
  t.throws(() => defineOneway({ type: 'noarea', senders: ['mon'] }), { code: 'EINVAL' });
  t.throws(() => defineOneway({ type: `a.${'b'.repeat(64)}`, senders: ['mon'] }), { code: 'EINVAL', message: /1\.\.64 characters/ });
  t.throws(() => defineOneway({ type: 'a.b', senders: [] }), { code: 'EINVAL', message: /senders must not be empty/ });
  t.throws(() => defineOneway({ type: 'a.b', senders: ['mgr' as never] }), { code: 'EINVAL', message: /unknown sender kind mgr/ });
});

t.test('registry', async (t) => {
  const A = defineOneway<null>({ type: 'test.a', senders: ['mon'] });
  const A2 = defineOneway<null>({ type: 'test.a', senders: ['osd'] });
  const reg = new MessageRegistry([A, ...msgrMessages]);
  reg.add(A);
  t.equal(reg.get('test.a'), A);
  t.equal(reg.size, 1 + msgrMessages.length);
  t.throws(() => reg.add(A2), { code: 'EEXIST', message: /test\.a is already defined/ });
  t.notOk(reg.has('test.b'));
});

t.test('payload helpers', async (t) => {
  const o = expectRecord({ s: 'hé', n: 5, b: Buffer.from([1]), u: new Uint8Array([2, 3]), f: true, l: [1, 2], e: 'osd.1', k: 'b' }, 'p');
  t.equal(expectString(o['s'], 's', { bytesMax: 3 }), 'hé');
  t.throws(() => expectString(o['s'], 's', { bytesMax: 2 }), { code: 'EINVAL', message: 'bad payload: s must be a string of 0..2 bytes' });
  t.equal(expectInt(o['n'], 'n', { min: 0, max: 5 }), 5);
  t.throws(() => expectInt(2n, 'n', { min: 0, max: 5 }), { code: 'EINVAL' });
  t.throws(() => expectInt(1.5, 'n', { min: 0, max: 5 }), { code: 'EINVAL' });
  t.same(expectBytes(o['b'], 'b', { bytesMax: 1 }), Buffer.from([1]));
  const u = expectBytes(o['u'], 'u', { bytesMax: 2 });
  t.ok(Buffer.isBuffer(u) && u.equals(Buffer.from([2, 3])), 'Uint8Array viewed as a Buffer');
  t.throws(() => expectBytes('x', 'b', { bytesMax: 1 }), { code: 'EINVAL', message: 'bad payload: b must be binary data' });
  t.equal(expectBool(o['f'], 'f'), true);
  t.same(expectArray(o['l'], 'l', { itemsMax: 2 }, (v, w) => expectInt(v, w, { min: 0, max: 9 })), [1, 2]);
  t.throws(() => expectArray(o['l'], 'l', { itemsMax: 1 }, (v) => v), { code: 'EINVAL' });
  t.throws(() => expectArray(['x'], 'l', { itemsMax: 1 }, (v, w) => expectInt(v, w, { min: 0, max: 9 })), { message: /l\[0\] must be an integer/ });
  t.equal(expectEntityName(o['e'], 'e'), 'osd.1');
  t.equal(expectOneOf(o['k'], 'k', ['a', 'b']), 'b');
  t.throws(() => expectOneOf('c', 'k', ['a', 'b']), { message: 'bad payload: k must be one of a, b' });
  for (const bad of [null, [], Buffer.alloc(1), 'x', 3]) t.throws(() => expectRecord(bad, 'p'), { code: 'EINVAL' });
  t.ok(isErrorCode('ENOENT'));
  t.notOk(isErrorCode('toString'), 'prototype keys are not codes');
});
