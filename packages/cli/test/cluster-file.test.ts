/** The cluster file: defaults, the example file, and one clear `FILE:LINE: path: reason` per mistake. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseClusterFile, parseSizeText } from '../src/cluster/cluster-file.js';
import { repoRoot } from './helpers.js';

function failure(text: string): string {
  try {
    parseClusterFile(text, 'c.yaml');
  } catch (err) {
    t.equal((err as { code?: string }).code, 'EINVAL');
    const msg = (err as Error).message;
    t.notMatch(msg, /\n/, 'one line');
    return msg;
  }
  throw new Error(`accepted:\n${text}`);
}

t.test('the example cluster file is what npm start promises', async (t) => {
  const spec = parseClusterFile(readFileSync(join(repoRoot, 'cluster.example.yaml'), 'utf8'), 'cluster.example.yaml');
  t.equal(spec.mons.length, 3);
  t.equal(spec.osds.length, 8);
  t.same([...new Set(spec.osds.map((o) => o.host))].length, 4, '4 hosts');
  for (const h of new Set(spec.osds.map((o) => o.host))) t.equal(spec.osds.filter((o) => o.host === h).length, 2, `2 OSDs on ${h}`);
  const rbd = spec.pools.find((p) => p.name === 'rbd');
  t.match(rbd, { type: 'replicated', size: 3, minSize: 2, failureDomain: 'host' });
  for (const o of spec.osds) t.ok(o.blockSizeBytes <= 4 * 1024 ** 3, `osd.${o.id} block file fits a laptop`);
  t.ok(spec.mons.every((m) => m.addr.startsWith('127.0.0.1:')), 'loopback only');
});

t.test('defaults', async (t) => {
  const spec = parseClusterFile('mons:\n  - name: a\n  - name: b\n  - name: c\n');
  t.same(spec.mons.map((m) => m.addr), ['127.0.0.1:6789', '127.0.0.1:6790', '127.0.0.1:6791']);
  t.same(spec.osds, []);
  t.same(spec.pools, []);
  t.equal(spec.name, 'nacre');

  const s2 = parseClusterFile(`
mons: [{ name: a, port: 7000 }]
osd_port_base: 7100
osd_block_size: 1GiB
osds:
  - { id: 0, host: h1 }
  - { id: 1, host: h2, rack: r1, class: ssd, weight: 0.5, block_size: 512MiB }
  - { id: 2, host: h3 }
pools:
  - { name: rbd }
  - { name: ec, type: erasure, k: 2, m: 1, failure_domain: host }
settings:
  mon_osd_down_out_interval: 10
`);
  t.same(s2.osds.map((o) => [o.addr, o.hbAddr]), [['127.0.0.1:7100', '127.0.0.1:7101'], ['127.0.0.1:7102', '127.0.0.1:7103'], ['127.0.0.1:7104', '127.0.0.1:7105']]);
  t.match(s2.osds[1], { rack: 'r1', deviceClass: 'ssd', weight: 0.5, blockSizeBytes: 512 * 1024 ** 2 });
  t.equal(s2.osds[0]!.blockSizeBytes, 1024 ** 3);
  t.match(s2.pools[0], { type: 'replicated', size: 3, minSize: 2, pgNum: 32, failureDomain: 'host' });
  t.match(s2.pools[1], { type: 'erasure', k: 2, m: 1, minSize: 2, stripeUnitBytes: 4096 });
  t.same(s2.settings, { mon_osd_down_out_interval: 10 });
});

t.test('sizes', async (t) => {
  t.equal(parseSizeText('2GiB'), 2 * 1024 ** 3);
  t.equal(parseSizeText('2 G'), 2 * 1024 ** 3);
  t.equal(parseSizeText('1.5GB'), 1.5e9);
  t.equal(parseSizeText('4096'), 4096);
  t.equal(parseSizeText('2 parsecs'), null);
  t.equal(parseSizeText('-1G'), null);
});

t.test('mistakes are one line with the file, line and YAML path', async (t) => {
  t.match(failure(''), /^c\.yaml: \(top level\): the file is empty/);
  t.match(failure('mons: [\n'), /^c\.yaml:\d+: not valid YAML/);
  t.match(failure('osds: []\n'), /^c\.yaml:1: mons: missing/);
  t.match(failure('mons:\n  - { name: a }\n  - { name: a }\n'), /^c\.yaml:3: mons\[1\]\.name: duplicate monitor name 'a'/);
  t.match(failure('mons:\n  - { name: a, port: 99999 }\n'), /^c\.yaml:2: mons\[0\]\.port: expected an integer 1\.\.65535, got 99999/);
  t.match(failure('mons:\n  - { name: a, prot: 1 }\n'), /mons\[0\]\.prot: unknown key \(expected one of name, port\)/);
  t.match(failure('mons: [{name: a}]\nosds:\n  - { id: 0 }\n'), /^c\.yaml:3: osds\[0\]\.host: missing/);
  t.match(failure('mons: [{name: a}]\nosds:\n  - { id: 0, host: h }\n  - { id: 0, host: h }\n'), /osds\[1\]\.id: duplicate OSD id 0/);
  t.match(failure('mons: [{name: a}]\nosds:\n  - { id: 0, host: h, block_size: 2 parsecs }\n'), /osds\[0\]\.block_size: expected a size like 2GiB/);
  t.match(failure('mons: [{name: a}]\nosds:\n  - { id: 0, host: h, block_size: 1MiB }\n'), /osds\[0\]\.block_size: must be between 64 MiB/);
  t.match(failure('mons: [{name: a, port: 6800}]\nosds:\n  - { id: 0, host: h }\n'), /port 6800 is used by both mon\.a and osd\.0/);
  t.match(failure('mons: [{name: a}]\nosds:\n  - { id: 0, host: h1 }\n  - { id: 1, host: h2 }\npools:\n  - { name: rbd, size: 3 }\n'),
    /^c\.yaml:6: pools\[0\]\.size: size 3 with failure_domain host needs 3 distinct hosts, the file has 2/);
  t.match(failure('mons: [{name: a}]\npools:\n  - { name: rbd, size: 3, min_size: 4 }\n'), /pools\[0\]\.min_size: expected an integer 1\.\.3, got 4/);
  t.match(failure('mons: [{name: a}]\npools:\n  - { name: rbd, type: mirrored }\n'), /pools\[0\]\.type: expected replicated or erasure/);
  t.match(failure('mons: [{name: a}]\npools:\n  - { name: e, type: erasure, size: 3 }\n'), /pools\[0\]\.size: unknown key/);
  t.match(failure('mons: [{name: a}]\nsettings:\n  mon_osd_down_out_intreval: 5\n'), /settings\.mon_osd_down_out_intreval: unknown setting \(known: /);
  t.match(failure('mons: [{name: a}]\nsettings:\n  log_level: loud\n'), /settings\.log_level: expected one of trace, debug/);
  t.match(failure('mons: [{name: a}]\nmons: [{name: b}]\n'), /not valid YAML/);
  t.match(failure('- a\n- b\n'), /\(top level\): expected a mapping/);
});
