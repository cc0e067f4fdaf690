/**
 * Bad crushtool text: every case must fail with a CrushParseError pointing at the right token.
 * In each input `⟦` marks where the offending token starts (it is removed before parsing), so the
 * expected line and column are read off the input itself; a few cases also spell them out.
 * A fuzz property then checks that mangled maps never throw anything but CrushParseError.
 */
import fc from 'fast-check';
import t from 'tap';
import { CrushParseError, parseCrushText } from '@nacre/crush';
import { seedFromEnv } from '@nacre/util';
import { listFiles, readText } from './vectors.js';

const HEAD = `device 0 osd.0 class hdd
device 1 osd.1 class ssd
device 2 osd.2
type 0 osd
type 1 host
type 2 root
`;
const HOST = `host h0 {
\tid -2
\talg straw2
\thash 0
\titem osd.0 weight 1.000
\titem osd.1 weight 1.000
}
`;
const ROOT = `root default {
\tid -1
\talg straw2
\titem h0
}
`;
const RULE = `rule r {
\tid 0
\ttype replicated
\tmin_size 1
\tmax_size 10
\tstep take default
\tstep chooseleaf firstn 0 type host
\tstep emit
}
`;
const rule = (steps: string, name = 'r', id = 0): string =>
  `rule ${name} {\n\tid ${id}\n\ttype replicated\n${steps.split('\n').map((s) => `\t${s}`).join('\n')}\n}\n`;
const VALID = HEAD + HOST + ROOT + RULE;

interface Case { name: string; input: string; message: string; line?: number; column?: number }

const cases: Case[] = [
  { name: 'unknown item in a bucket', input: HEAD + HOST.replace('item osd.1', 'item ⟦osd.9'), message: "unknown item 'osd.9' in bucket 'h0'" },
  { name: 'unknown bucket in take', input: HEAD + HOST + ROOT + rule('step take ⟦hostx\nstep emit'), message: "unknown bucket 'hostx'", line: 22, column: 12 },
  { name: 'unknown bucket type', input: HEAD + HOST + '⟦rack r1 {\n\tid -5\n\talg straw2\n}\n', message: "unknown type 'rack'" },
  { name: 'unknown type in choose', input: HEAD + HOST + ROOT + rule('step take default\nstep chooseleaf firstn 0 type ⟦rack\nstep emit'), message: "unknown type 'rack'" },
  { name: 'unknown class in take', input: HEAD + HOST + ROOT + rule('step take default class ⟦nvme\nstep emit'), message: "unknown device class 'nvme'" },
  { name: 'take class of a device', input: HEAD + HOST + ROOT + rule('step take osd.0 class ⟦hdd\nstep emit'), message: "'osd.0' has no shadow bucket for class 'hdd'" },
  { name: 'duplicate device id', input: HEAD + 'device ⟦0 osd.5\n', message: 'duplicate device id 0' },
  { name: 'duplicate device name', input: HEAD + 'device 5 ⟦osd.0\n', message: "duplicate name 'osd.0'" },
  { name: 'duplicate type id', input: HEAD + 'type ⟦1 rack\n', message: 'duplicate type id 1' },
  { name: 'duplicate type name', input: HEAD + 'type 3 ⟦host\n', message: "duplicate type name 'host'" },
  { name: 'duplicate bucket name', input: HEAD + HOST + 'host ⟦h0 {\n\tid -3\n\talg straw2\n}\n', message: "duplicate name 'h0'" },
  { name: 'bucket named like a device', input: HEAD + 'host ⟦osd.1 {\n\tid -3\n\talg straw2\n}\n', message: "duplicate name 'osd.1'" },
  { name: 'duplicate bucket id', input: HEAD + HOST + 'host h1 {\n\tid ⟦-2\n\talg straw2\n}\n', message: 'duplicate bucket id -2' },
  { name: 'bucket cycle', input: HEAD + 'host a {\n\tid -3\n\talg straw2\n\titem b\n}\nhost b {\n\tid -4\n\talg straw2\n\titem ⟦a\n}\n', message: 'bucket cycle: a -> b -> a' },
  { name: 'bucket containing itself', input: HEAD + 'host a {\n\tid -3\n\talg straw2\n\titem ⟦a\n}\n', message: 'bucket cycle: a -> a' },
  { name: 'negative weight', input: HEAD + HOST.replace('weight 1.000\n\titem osd.1', 'weight ⟦-1.000\n\titem osd.1'), message: 'negative weight -1.000' },
  { name: 'device weight above 100', input: HEAD + HOST.replace('osd.1 weight 1.000', 'osd.1 weight ⟦100.5'), message: 'above the limit of 100' },
  { name: 'bucket weight above 65535', input: HEAD + HOST + ROOT.replace('item h0', 'item h0 weight ⟦65535.5'), message: 'above the limit of 65535' },
  { name: 'bucket weight sum overflows 32 bits', input: HEAD + HOST + 'host h1 {\n\tid -3\n\talg straw2\n}\nroot r2 {\n\tid -4\n\talg straw2\n\titem h0 weight 65535\n\titem h1 weight ⟦65535\n}\n', message: 'overflows 32 bits' },
  { name: 'weight of 2^32 (crushtool would wrap it to 0)', input: HEAD + HOST + ROOT.replace('item h0', 'item h0 weight ⟦65536'), message: 'weight 65536 is too large' },
  { name: 'huge weight', input: HEAD + HOST.replace('osd.1 weight 1.000', 'osd.1 weight ⟦1e40'), message: 'too large' },
  { name: 'malformed weight', input: HEAD + HOST.replace('osd.1 weight 1.000', 'osd.1 weight ⟦1.0.0'), message: "malformed number '1.0.0'" },
  { name: 'malformed device id', input: '#x\ndevice ⟦x osd.3\n', message: "malformed number 'x'", line: 2, column: 8 },
  { name: 'device id out of range', input: 'device ⟦99999999999 osd.3\n', message: 'device id 99999999999 is out of range' },
  { name: 'rule id out of range', input: HEAD + HOST + ROOT + rule('step take default\nstep emit', 'r', 256).replace('id 256', 'id ⟦256'), message: 'rule id 256 is out of range' },
  { name: 'invalid device name', input: 'device 3 ⟦osd:3\n', message: "invalid device name 'osd:3'" },
  { name: 'unknown step', input: HEAD + HOST + ROOT + rule('step take default\nstep ⟦pick 3\nstep emit'), message: "unknown step 'pick'" },
  { name: 'negative set_choose_tries', input: HEAD + HOST + ROOT + rule('step set_choose_tries ⟦-1\nstep take default\nstep emit'), message: "malformed number '-1'" },
  { name: 'rule without steps', input: HEAD + HOST + ROOT + 'rule r {\n\tid 0\n\ttype replicated\n⟦}\n', message: "expected 'step'" },
  { name: 'unexpected end of input in a rule', input: HEAD + HOST + ROOT + 'rule r {\n\tid 0\n\ttype replicated\n\tstep take default⟦', message: 'unexpected end of input in rule' },
  { name: 'unexpected end of input in a bucket', input: HEAD + 'host h9 {\n\tid -9\n\talg straw2\n\titem osd.0⟦', message: "unexpected end of input in bucket 'h9'" },
  { name: 'unexpected token at top level', input: HEAD + '⟦}\n', message: "unexpected '}'" },
  { name: 'unexpected word at top level', input: HEAD + '⟦hello\n', message: "unexpected 'hello'" },
  { name: 'missing alg', input: HEAD + 'host h9 {\n\tid -9\n\t⟦item osd.0\n}\n', message: "expected 'alg' in bucket 'h9'" },
  { name: 'unknown tunable', input: 'tunable ⟦foo 1\n', message: "unknown tunable 'foo'" },
  { name: 'tunable out of range', input: 'tunable chooseleaf_vary_r ⟦256\n', message: 'out of range' },
  { name: 'unknown bucket algorithm', input: HEAD + 'host h9 {\n\tid -9\n\talg ⟦straw3\n}\n', message: "unknown bucket algorithm 'straw3'" },
  { name: 'unknown hash', input: HEAD + 'host h9 {\n\tid -9\n\talg straw2\n\thash ⟦7\n}\n', message: "unknown hash '7'" },
  { name: 'uniform bucket with different weights', input: HEAD + 'host u {\n\tid -9\n\talg uniform\n\titem osd.0 weight 1\n\titem osd.1 weight ⟦2\n}\n', message: 'uniform bucket items must all weigh the same' },
  { name: 'pos occupied', input: HEAD + 'host t {\n\tid -9\n\talg tree\n\titem osd.0 pos 0\n\titem osd.1 pos ⟦0\n}\n', message: 'has pos 0, which is occupied' },
  { name: 'pos beyond the bucket size', input: HEAD + 'host t {\n\tid -9\n\talg tree\n\titem osd.0 pos 0\n\titem osd.1 pos ⟦2\n}\n', message: 'has pos 2 >= size 2' },
  { name: 'item listed twice', input: HEAD + 'host t {\n\tid -9\n\talg straw2\n\titem osd.0\n\titem ⟦osd.0\n}\n', message: "item 'osd.0' appears twice" },
  { name: 'duplicate class id line', input: HEAD + 'host t {\n\tid -9\n\tid -10 class hdd\n\tid -11 class ⟦hdd\n\talg straw2\n}\n', message: "duplicate device class 'hdd'" },
  { name: 'declared shadow id already a bucket', input: HEAD + HOST.replace('\tid -2\n', '\tid -2\n\tid ⟦-1 class hdd\n') + ROOT + RULE, message: 'shadow id -1 declared for bucket' },
  { name: 'duplicate rule id', input: HEAD + HOST + ROOT + RULE + rule('step take default\nstep emit', 'r2', 0).replace('id 0', 'id ⟦0'), message: 'duplicate rule id 0' },
  { name: 'duplicate rule name', input: HEAD + HOST + ROOT + RULE + rule('step take default\nstep emit', 'r', 1).replace('rule r', 'rule ⟦r'), message: "duplicate rule name 'r'" },
  { name: 'bucket after a rule', input: HEAD + HOST + RULE.replace('take default', 'take h0') + '⟦root default {\n\tid -1\n\talg straw2\n\titem h0\n}\n', message: 'buckets must be defined before rules' },
  { name: 'device after a bucket', input: HEAD + HOST + '⟦device 7 osd.7\n', message: "'device' must come before buckets and rules" },
  { name: 'bucket after choose_args', input: HEAD + HOST + 'choose_args 0 {\n}\n⟦host h1 {\n\tid -3\n\talg straw2\n}\n', message: 'must come before choose_args' },
  { name: 'bucket defined too late for crushtool to reorder', input: HEAD + 'host A {\n\tid -3\n\talg straw2\n\titem C\n}\nhost B {\n\tid -4\n\talg straw2\n\titem ⟦A\n}\nhost C {\n\tid -5\n\talg straw2\n}\n', message: "item 'A' in bucket 'B' is not defined yet" },
  { name: 'choose_args of an unknown bucket', input: VALID + 'choose_args 0 {\n  {\n    bucket_id ⟦-9\n  }\n}\n', message: 'unknown bucket id -9' },
  { name: 'choose_args weight count', input: VALID + 'choose_args 0 {\n  {\n    bucket_id -2\n    weight_set [\n      [ ⟦1.0 ]\n    ]\n  }\n}\n', message: 'needs exactly 2 weights but got 1' },
  { name: 'choose_args ids count', input: VALID + 'choose_args 0 {\n  {\n    bucket_id -2\n    ids [ ⟦5 ]\n  }\n}\n', message: 'needs exactly 2 ids but got 1' },
  { name: 'duplicate choose_args index', input: VALID + 'choose_args 18446744073709551615 {\n}\nchoose_args ⟦18446744073709551615 {\n}\n', message: 'duplicate choose_args 18446744073709551615' },
  { name: 'choose_args index above 64 bits', input: VALID + 'choose_args ⟦18446744073709551616 {\n}\n', message: 'out of range' },
  { name: 'duplicate choose_args bucket', input: VALID + 'choose_args 0 {\n  {\n    bucket_id -2\n    ids [ 5 6 ]\n  }\n  {\n    bucket_id ⟦-2\n  }\n}\n', message: 'duplicate choose_args entry for bucket -2' },
];

function positionOf(input: string): { text: string; line: number; column: number } {
  const at = input.indexOf('⟦');
  if (at < 0) throw new Error('case without a ⟦ marker');
  const before = input.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1) + 1;
  return { text: input.slice(0, at) + input.slice(at + 1), line, column };
}

t.test('the base map is valid', async (t) => {
  t.doesNotThrow(() => parseCrushText(VALID));
});

for (const c of cases) {
  t.test(c.name, async (t) => {
    const { text, line, column } = positionOf(c.input);
    if (c.line !== undefined) t.equal(line, c.line, 'marker is on the line the case states');
    if (c.column !== undefined) t.equal(column, c.column, 'marker is at the column the case states');
    let err: unknown;
    try {
      parseCrushText(text);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof CrushParseError, `throws CrushParseError (got ${String(err)})`);
    if (!(err instanceof CrushParseError)) return;
    t.match(err.message, c.message);
    t.equal(err.line, line, `line (${err.message})`);
    t.equal(err.column, column, `column (${err.message})`);
    t.ok(err.message.startsWith(`line ${line}, column ${column}: `), 'message starts with the position');
    t.equal(err.code, 'EINVAL');
  });
}

const seed = seedFromEnv();
t.comment(`fuzz seed ${seed} (reproduce with NACRE_SEED=${seed})`);

t.test('mangled maps only ever throw CrushParseError', async (t) => {
  const sources = listFiles('maps', '.txt').map((f) => readText(`maps/${f}`));
  const pieces = ['{', '}', '[', ']', '#', '\n', ' ', '-', '-1', '0', '1.5', 'item', 'id', 'class', 'weight', 'pos', 'step', 'take',
    'rule', 'host', 'root', 'osd.0', 'h0', 'default', 'choose_args', 'bucket_id', 'weight_set', 'ids', 'type', 'device', 'tunable',
    'alg', 'uniform', 'tree', 'hash', 'emit', 'chooseleaf', 'firstn', '99999999999999999999', '1e39', 'ssd', 'hdd', '\u00e9', '~'];
  const edit = fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    cut: fc.integer({ min: 0, max: 40 }),
    insert: fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 })),
  });
  let runs = 0;
  fc.assert(fc.property(fc.constantFrom(...sources), fc.array(edit, { minLength: 1, maxLength: 4 }), (src, edits) => {
    let s = src;
    for (const e of edits) {
      const i = Math.floor(e.at * s.length);
      s = s.slice(0, i) + e.insert + s.slice(i + e.cut);
    }
    runs++;
    try {
      parseCrushText(s);
    } catch (e) {
      if (!(e instanceof CrushParseError)) throw e;
      if (!(e.line >= 1 && e.column >= 1)) throw new Error(`bad position in ${e.message}`);
    }
  }), { seed, numRuns: 2000 });
  t.pass(`${runs} mangled maps`);
});
