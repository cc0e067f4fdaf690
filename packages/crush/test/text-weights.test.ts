/**
 * Weight conversions of the text format: crushtool's `(unsigned)(strtof(w) * 0x10000)` when
 * reading and `%.3f` of `(float)(int)w / 0x10000` when printing, checked against known values
 * (from the vectors' README and dumps) and, for random values, against independent BigInt
 * references (seeded; reproduce with NACRE_SEED=N).
 */
import fc from 'fast-check';
import t from 'tap';
import { formatWeight, strtof32, weightFromFloat, weightFromText } from '@nacre/crush';
import { seedFromEnv } from '@nacre/util';

const seed = seedFromEnv();
t.comment(`property seed ${seed} (reproduce with NACRE_SEED=${seed})`);

t.test('crushtool weights from the vectors', async (t) => {
  t.equal(weightFromText('2.731'), 178978);
  t.equal(weightFromText('0.333'), 21823);
  t.equal(weightFromText('0.100'), 6553);
  t.equal(weightFromText('0.1'), 6553);
  t.equal(weightFromText('1.000'), 65536);
  t.equal(weightFromText('0.5'), 32768);
  t.equal(weightFromText('1.7'), 111411);
  t.equal(weightFromText('0'), 0);
  t.equal(weightFromText('100'), 6553600);
  t.equal(weightFromText('1e2'), 6553600);
  t.equal(weightFromText('.5'), 32768);
  t.equal(weightFromText('2.'), 131072);
  t.equal(weightFromText('+3'), 196608);
  t.equal(weightFromText('-1'), 'negative');
  t.equal(weightFromText('-0'), 'negative');
  t.equal(weightFromText('65536'), 'too-large');
  t.equal(weightFromText('1e39'), 'too-large');
  t.equal(weightFromFloat(0.5), 32768);
  t.equal(weightFromFloat(0.3), 19660);
});

t.test('printing: glibc rounds exact ties to even, toFixed does not', async (t) => {
  t.equal(formatWeight(4096), '0.062'); // 0.0625
  t.equal((4096 / 65536).toFixed(3), '0.063');
  t.equal(formatWeight(4096 * 3), '0.188'); // 0.1875 → even 8
  t.equal(formatWeight(4096 * 5), '0.312'); // 0.3125 → even 2
  t.equal(formatWeight(178978), '2.731');
  t.equal(formatWeight(21823), '0.333');
  t.equal(formatWeight(6553), '0.100');
  t.equal(formatWeight(0), '0.000');
  t.equal(formatWeight(65536 * 65535), '-1.000', 'u32 weights ≥ 2^31 print negative, as crushtool reads them as int');
  t.equal(formatWeight(2 ** 31), '-32768.000');
  t.equal(formatWeight(0xffffffff), '-0.000');
  t.equal(formatWeight(2 ** 24 + 1), '256.000', 'float32 drops the low bit');
  t.equal(formatWeight(2 ** 25 + 3), '512.000', 'float32 rounds 2^25+3 to 2^25+4 = 512.00006');
});

/** %.3f of the exact rational n/65536, half to even — computed with BigInt decimal expansion. */
function referenceFormat(n: bigint): string {
  const negative = n < 0n;
  const a = negative ? -n : n;
  // a / 2^16 = a * 5^16 / 10^16 exactly; round to 10^-3 = divide by 10^13.
  const scaled = a * 5n ** 16n;
  const unit = 10n ** 13n;
  let q = scaled / unit;
  const r = scaled % unit;
  if (2n * r > unit || (2n * r === unit && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(4, '0');
  return `${negative ? '-' : ''}${s.slice(0, -3)}.${s.slice(-3)}`;
}

/** The float32 crushtool computes from a C int: round to 24 significant bits, ties to even (BigInt). */
function referenceFloat32OfInt(i: number): bigint {
  const n = BigInt(i);
  const a = n < 0n ? -n : n;
  const bits = a.toString(2).length;
  if (bits <= 24) return n;
  const shift = BigInt(bits - 24);
  let q = a >> shift;
  const rem = a - (q << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  const r = q << shift;
  return n < 0n ? -r : r;
}

t.test('formatWeight equals the BigInt reference for random 16.16 values', async (t) => {
  const u32 = fc.oneof(
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 100 * 0x10000 }),
    fc.integer({ min: 0, max: 8000 }).map((k) => k * 8), // many exact ties (multiples of 1/8192)
  );
  fc.assert(fc.property(u32, (w) => formatWeight(w) === referenceFormat(referenceFloat32OfInt(w | 0))), { seed, numRuns: 20000 });
  t.pass('20000 runs');
});

/** strtof reference: exact rational of the decimal text rounded to float32 by brute force over neighbours. */
function referenceStrtof(text: string): number {
  const d = Number(text);
  let best = Math.fround(d);
  // The correctly rounded float32 is Math.fround(d) or one of its neighbours; pick by exact comparison.
  const candidates = [best, nextFloat32(best, -1), nextFloat32(best, 1)].filter((c) => Number.isFinite(c) && c >= 0);
  const exact = decimalToRational(text);
  let bestDist: [bigint, bigint] | undefined;
  for (const c of candidates) {
    const [cn, cd] = floatToRational(c);
    const dist = absDiff(exact, [cn, cd]);
    if (bestDist === undefined || cmp(dist, bestDist) < 0 || (cmp(dist, bestDist) === 0 && isEvenMantissa(c))) {
      best = c;
      bestDist = dist;
    }
  }
  return best;
}

function nextFloat32(f: number, dir: 1 | -1): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  buf.setUint32(0, buf.getUint32(0) + dir);
  return buf.getFloat32(0);
}

function isEvenMantissa(f: number): boolean {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  return (buf.getUint32(0) & 1) === 0;
}

function decimalToRational(text: string): [bigint, bigint] {
  const m = /^(\d*)\.?(\d*)(?:e(-?\d+))?$/.exec(text)!;
  const digits = BigInt((m[1] ?? '') + (m[2] ?? '') || '0');
  const exp = Number(m[3] ?? 0) - (m[2] ?? '').length;
  return exp >= 0 ? [digits * 10n ** BigInt(exp), 1n] : [digits, 10n ** BigInt(-exp)];
}

function floatToRational(f: number): [bigint, bigint] {
  let den = 1n;
  let x = f;
  while (!Number.isInteger(x)) {
    x *= 2;
    den *= 2n;
  }
  return [BigInt(x), den];
}

function absDiff(a: [bigint, bigint], b: [bigint, bigint]): [bigint, bigint] {
  const num = a[0] * b[1] - b[0] * a[1];
  return [num < 0n ? -num : num, a[1] * b[1]];
}

function cmp(a: [bigint, bigint], b: [bigint, bigint]): number {
  const l = a[0] * b[1];
  const r = b[0] * a[1];
  return l < r ? -1 : l > r ? 1 : 0;
}

t.test('strtof32 is correctly rounded (random decimals, near-ties included)', async (t) => {
  const decimal = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 100000 }), fc.integer({ min: 0, max: 999999 }), fc.integer({ min: 1, max: 6 }))
      .map(([i, f, n]) => `${i}.${String(f).padStart(6, '0').slice(0, n)}`),
    // exact float32 midpoints and their decimal neighbours
    fc.integer({ min: 1, max: 2 ** 24 - 1 }).chain((m) => fc.integer({ min: -30, max: 10 }).map((e) => {
      const mid = (2 * m + 1) * 2 ** (e - 1);
      return mid.toPrecision(17).replace(/e\+?/, 'e');
    })),
    fc.integer({ min: 0, max: 2 ** 31 }).map((n) => String(n)),
  ).filter((s) => /^\d/.test(s) && !s.includes('e-') || /e-\d+$/.test(s));
  fc.assert(fc.property(decimal, (s) => Object.is(strtof32(s), referenceStrtof(s))), { seed: seed + 1, numRuns: 20000 });
  t.equal(strtof32('16777217'), 16777216, '2^24 + 1 ties to even');
  t.equal(strtof32('16777219'), 16777220);
  t.equal(strtof32('3.4028235e38'), 3.4028234663852886e38);
  t.equal(strtof32('3.5e38'), Infinity);
  t.equal(strtof32('1e-46'), 0);
  t.equal(strtof32('1.4e-45'), 1.401298464324817e-45, 'smallest subnormal');
});

t.test('weights read then printed keep three decimals for weights below 256', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 255999 }), (milli) => {
    const text = `${Math.floor(milli / 1000)}.${String(milli % 1000).padStart(3, '0')}`;
    const w = weightFromText(text) as number;
    return formatWeight(w) === text && weightFromText(formatWeight(w)) === w;
  }), { seed: seed + 2, numRuns: 5000 });
  t.pass('5000 runs');
});
