/** nacre.conf: parsing, writing, lookups with fallback, errors with line numbers, which file is used. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hasCode } from '@nacre/util';
import { ClusterConf, loadConf, parseConf, resolveConfPath } from '@nacre/msgr';

const sample = `# written by nacre cluster up
[global]
fsid = 6f1c0000-aaaa-bbbb-cccc-000000000001     # cluster id
mon_host = 127.0.0.1:6789,127.0.0.1:6790, 127.0.0.1:6791
keyring = keyring
; a comment
mon osd down out interval = 600

[mon.a]
addr = 127.0.0.1:6789
data = /abs/mon.a
[osd]
log_file = osd.log
[osd.3]
addr = 127.0.0.1:6803
host = node-1
weird key = "value # with ; comment chars"
`;

t.test('parse: sections, keys, inline comments, quoting, normalised keys', async (t) => {
  const conf = parseConf(sample, 'test.conf', '/etc/nacre');
  t.same(conf.sections(), ['global', 'mon.a', 'osd', 'osd.3']);
  t.equal(conf.fsid, '6f1c0000-aaaa-bbbb-cccc-000000000001');
  t.same(conf.monHosts(), ['127.0.0.1:6789', '127.0.0.1:6790', '127.0.0.1:6791']);
  t.equal(conf.keyringPath(), '/etc/nacre/keyring', 'relative paths resolve against the file directory');
  t.equal(conf.get('global', 'mon_osd_down_out_interval'), '600', 'spaces in keys normalised');
  t.equal(conf.get('global', 'mon-osd-down-out-interval'), '600', 'dashes too');
  t.equal(conf.get('osd.3', 'weird_key'), 'value # with ; comment chars', 'quoted value keeps comment chars');
  t.equal(conf.lookup('osd.3', 'addr'), '127.0.0.1:6803');
  t.equal(conf.lookup('osd.3', 'log_file'), 'osd.log', 'falls back to [osd]');
  t.equal(conf.lookup('osd.3', 'fsid'), conf.fsid, 'then [global]');
  t.equal(conf.path('osd.3', 'log_file'), '/etc/nacre/osd.log');
  t.equal(conf.lookup('osd.4', 'host'), undefined);
  t.same(conf.monNames(), ['a']);
});

t.test('format → parse round trip keeps every key (unknown ones included)', async (t) => {
  const conf = parseConf(sample, 'test.conf', '/x');
  const again = parseConf(conf.format(), 'again', '/x');
  for (const s of conf.sections()) t.same([...again.section(s)!], [...conf.section(s)!], `[${s}]`);
  const built = new ClusterConf('built', '/x');
  built.set('mon.a', 'addr', '127.0.0.1:1');
  built.set('global', 'fsid', 'abc');
  built.set('global', 'mon host', '127.0.0.1:1');
  built.set('global', 'odd', ' spaced "and quoted" # ');
  const text = built.format();
  t.match(text, /^# Nacre cluster configuration/);
  t.ok(text.indexOf('[global]') < text.indexOf('[mon.a]'), '[global] first');
  t.equal(parseConf(text).get('global', 'odd'), ' spaced "and quoted" # ');
  t.equal(parseConf(text).get('global', 'mon_host'), '127.0.0.1:1');
});

t.test('bad syntax: one EINVAL naming file and line', async (t) => {
  const cases: [string, RegExp][] = [
    ['[global]\nfsid = a\njunk line\n', /^c\.conf:3: expected \[section\] or key = value/],
    ['fsid = a\n', /^c\.conf:1: setting outside of a \[section\]/],
    ['[global]\n[global]\n', /^c\.conf:2: duplicate section \[global\]/],
    ['[global]\na = 1\na = 2\n', /^c\.conf:3: duplicate key a in \[global\]/],
    ['[glo bal]\n', /^c\.conf:1: bad section name/],
    ['[global\n', /^c\.conf:1: expected \[section\]/],
    ['[global]\na = "open\n', /^c\.conf:2: unterminated "quoted" value/],
    ['[global]\na = "x" y\n', /^c\.conf:2: text after the closing quote/],
    ['[global]\n= 3\n', /^c\.conf:2: expected \[section\] or key = value/],
  ];
  for (const [text, re] of cases) {
    let err: unknown;
    try {
      parseConf(text, 'c.conf');
    } catch (e) {
      err = e;
    }
    t.ok(hasCode(err, 'EINVAL'), JSON.stringify(text));
    t.match((err as Error).message, re);
  }
});

t.test('which file: --conf, else $NACRE_CONF, else ./nacre.conf', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(resolveConfPath({ flag: 'a.conf', env: { NACRE_CONF: 'b.conf' }, cwd: dir }).path, join(dir, 'a.conf'));
  t.same(resolveConfPath({ env: { NACRE_CONF: '/abs/b.conf' }, cwd: dir }), { path: '/abs/b.conf', from: 'env' });
  t.same(resolveConfPath({ env: {}, cwd: dir }), { path: join(dir, 'nacre.conf'), from: 'default' });
  let err: unknown;
  try {
    loadConf({ env: {}, cwd: dir });
  } catch (e) {
    err = e;
  }
  t.ok(hasCode(err, 'ENOENT'));
  t.match((err as Error).message, /nacre\.conf \(no --conf, \$NACRE_CONF unset\) does not exist/);
  writeFileSync(join(dir, 'nacre.conf'), '[global]\nfsid = f\nkeyring = k\n');
  const conf = loadConf({ env: {}, cwd: dir });
  t.equal(conf.fsid, 'f');
  t.equal(conf.keyringPath(), join(dir, 'k'));
  const written = join(dir, 'out.conf');
  conf.writeFile(written);
  t.equal(ClusterConf.readFile(written).fsid, 'f');
});
