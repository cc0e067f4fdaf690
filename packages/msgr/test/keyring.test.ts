/** Keyring file format: parse, format, errors naming the line, key generation, file mode. */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, generateKey, keyBytes } from '@nacre/msgr';

const k1 = Buffer.alloc(32, 1).toString('base64');
const k2 = Buffer.alloc(16, 2).toString('base64');

t.test('parse a Ceph-like keyring', async (t) => {
  const ring = Keyring.parse(
    [
      '# comment',
      '; another comment',
      '',
      '[client.admin]',
      `\tkey = ${k1}`,
      '\tcaps mon = "allow *"',
      '[osd.3]',
      `key=${k2}`,
      '[ mon.a ]',
      `    key   =   ${k1}   `,
    ].join('\r\n'),
  );
  t.same(ring.entities(), ['client.admin', 'mon.a', 'osd.3']);
  t.same(ring.keyOf('client.admin'), Buffer.alloc(32, 1));
  t.same(ring.keyOf('osd.3'), Buffer.alloc(16, 2));
  t.equal(ring.keyOf('osd.4'), undefined);
});

t.test('format → parse round trip, sorted and stable', async (t) => {
  const ring = new Keyring();
  ring.add('mon.b');
  ring.add('client.admin');
  ring.add('osd.0');
  const text = ring.format();
  t.match(text, /^# Nacre keyring/);
  t.match(text, /\[client\.admin\]\n\tkey = [A-Za-z0-9+/]+=*\n\[mon\.b\]\n\tkey = .*\n\[osd\.0\]\n\tkey = .*\n$/);
  const back = Keyring.parse(text);
  for (const e of ring.entities()) t.same(back.keyOf(e), ring.keyOf(e), `${e} survives`);
  t.equal(back.format(), text, 'formatting is stable');
});

t.test('errors name the line', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [`key = ${k1}`, /keyring:1: setting outside of a \[entity\] section/],
    ['[client.admin]\n', /keyring:1: section \[client\.admin\] has no key/],
    ['[root]\nkey = x', /keyring:1: bad entity name \[root\]/],
    ['[osd.x]\n', /osd id must be an integer/],
    [`[mon.a]\nkey = ${k1}\n[mon.a]\nkey = ${k1}`, /keyring:3: duplicate section \[mon\.a\]/],
    [`[mon.a]\nkey = ${k1}\nkey = ${k1}`, /keyring:3: second key for \[mon\.a\]/],
    ['[mon.a]\nkey = not base64!', /keyring:2: key of \[mon\.a\] is not base64/],
    ['[mon.a]\nkey = AAAA', /keyring:2: key of \[mon\.a\] must be 16\.\.64 bytes, got 3/],
    ['[mon.a]\njust some words', /keyring:2: expected \[entity\] or name = value/],
  ];
  for (const [text, re] of cases) t.throws(() => Keyring.parse(text), { code: 'EINVAL', message: re }, re.source);
});

t.test('generated keys are fresh random bytes', async (t) => {
  const a = generateKey();
  const b = generateKey();
  t.equal(a.length, keyBytes);
  t.notSame(a, b);
  t.throws(() => new Keyring().set('client.x', Buffer.alloc(8)), { code: 'EINVAL', message: /must be 16\.\.64 bytes/ });
  t.throws(() => new Keyring().set('nobody' as never, Buffer.alloc(32)), { code: 'EINVAL' });
});

t.test('files: written 0600, read back, clear errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-keyring-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ring = new Keyring();
  ring.add('client.admin');
  const path = join(dir, 'keyring');
  ring.writeFile(path);
  t.equal(statSync(path).mode & 0o777, 0o600, 'owner-only');
  t.same(Keyring.readFile(path).keyOf('client.admin'), ring.keyOf('client.admin'));
  t.equal(readFileSync(path, 'utf8'), ring.format());
  t.throws(() => Keyring.readFile(join(dir, 'missing')), { code: 'ENOENT', message: /cannot read keyring/ });
  writeFileSync(join(dir, 'bad'), '[mon.a]\n');
  t.throws(() => Keyring.readFile(join(dir, 'bad')), { code: 'EINVAL', message: new RegExp(`${join(dir, 'bad')}:1: section \\[mon\\.a\\] has no key`) });
});
