/** The handshake state machines and proofs, without sockets. */
import t from 'tap';
import fc from 'fast-check';
import { seedFromEnv } from '@nacre/util';
import { ClientHandshake, Keyring, ServerHandshake, computeProof, verifyProof, type HandshakeStep, type Transcript } from '@nacre/msgr';
import { WIRE_VERSION, decodeFrame, encodeFrame, type Frame } from '@nacre/proto';

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);

function frameOf(step: HandshakeStep): Frame {
  if (step.bytes === null) throw new Error(`step ${step.action} has nothing to send`);
  return decodeFrame(step.bytes);
}

function setup(clientKey?: Buffer) {
  const ring = new Keyring();
  const key = ring.add('client.admin');
  ring.add('mon.a');
  const client = new ClientHandshake('client.admin', clientKey ?? key, Buffer.alloc(32, 1));
  const server = new ServerHandshake('mon.a', ring, Buffer.alloc(32, 2));
  return { ring, key, client, server };
}

t.test('the happy path authenticates both sides', async (t) => {
  const { client, server } = setup();
  const s1 = server.onFrame(decodeFrame(client.hello()));
  t.equal(s1.action, 'continue');
  t.equal(frameOf(s1).type, 'msgr.challenge');
  const c1 = client.onFrame(frameOf(s1));
  t.equal(c1.action, 'continue');
  t.equal(frameOf(c1).type, 'msgr.auth');
  const s2 = server.onFrame(frameOf(c1));
  t.match(s2, { action: 'done', peer: 'client.admin', peerKind: 'client' });
  t.equal(frameOf(s2).type, 'msgr.auth_ok');
  const c2 = client.onFrame(frameOf(s2));
  t.match(c2, { action: 'done', peer: 'mon.a', peerKind: 'mon', bytes: null });
});

t.test('a wrong key is refused with auth_fail and a clear message', async (t) => {
  const { client, server } = setup(Buffer.alloc(32, 9));
  const s1 = server.onFrame(decodeFrame(client.hello()));
  const c1 = client.onFrame(frameOf(s1));
  const s2 = server.onFrame(frameOf(c1));
  t.match(s2, { action: 'fail', violation: false });
  if (s2.action !== 'fail') return;
  t.equal(s2.error.message, 'authentication failed for client.admin: bad key');
  const c2 = client.onFrame(frameOf(s2));
  t.match(c2, { action: 'fail', violation: false });
  if (c2.action === 'fail') t.same([c2.error.code, c2.error.message], ['EPERM', 'authentication failed for client.admin: bad key']);
});

t.test('a server that does not know our key cannot fake auth_ok', async (t) => {
  const { client, server } = setup();
  const s1 = server.onFrame(decodeFrame(client.hello()));
  client.onFrame(frameOf(s1));
  const forged = decodeFrame(encodeFrame('oneway', 0, 'msgr.auth_ok', { proof: Buffer.alloc(32, 5) }));
  const c2 = client.onFrame(forged);
  t.match(c2, { action: 'fail', violation: false });
  if (c2.action === 'fail') t.match(c2.error.message, /^authentication failed for client\.admin: mon\.a could not prove it knows our key/);
});

t.test('out-of-order and foreign frames are violations', async (t) => {
  const { client, server } = setup();
  t.match(server.onFrame(decodeFrame(encodeFrame('request', 1, 'test.echo', {}))), { action: 'fail', violation: true });
  const { server: s2 } = setup();
  t.match(s2.onFrame(decodeFrame(encodeFrame('oneway', 0, 'msgr.auth', { proof: Buffer.alloc(32) }))), { action: 'fail', violation: true });
  t.match(client.onFrame(decodeFrame(encodeFrame('oneway', 0, 'msgr.auth_ok', { proof: Buffer.alloc(32) }))), { action: 'fail', violation: true }, 'auth_ok before challenge');
});

t.test('proofs: bound to role, both nonces, both names and the version', async (t) => {
  await fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 64 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.nat(31),
      (keyBytes, cn, sn, bit) => {
        const key = Buffer.from(keyBytes);
        const tr: Transcript = { version: WIRE_VERSION, client: 'client.admin', server: 'mon.a', clientNonce: Buffer.from(cn), serverNonce: Buffer.from(sn) };
        const proof = computeProof(key, 'client', tr);
        if (!verifyProof(key, 'client', tr, proof)) return false;
        if (verifyProof(key, 'server', tr, proof)) return false; // reflection
        const flipped = Buffer.from(sn);
        flipped[bit] = flipped[bit]! ^ 1;
        if (verifyProof(key, 'client', { ...tr, serverNonce: flipped }, proof)) return false; // replay on another connection
        if (verifyProof(key, 'client', { ...tr, server: 'mon.b' }, proof)) return false;
        if (verifyProof(key, 'client', { ...tr, client: 'client.admim' }, proof)) return false;
        if (verifyProof(key, 'client', { ...tr, version: WIRE_VERSION + 1 }, proof)) return false;
        return !verifyProof(key, 'client', tr, proof.subarray(0, 31));
      },
    ),
    { seed, numRuns: 200 },
  );
  t.pass('200 random transcripts');
});
