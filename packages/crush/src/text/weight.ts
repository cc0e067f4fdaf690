/**
 * Weights in crushtool's text format, converted exactly as crushtool converts them.
 *
 * Reading: crushtool computes `(unsigned)(strtof(text) * (float)0x10000)` — the decimal text is
 * rounded once to float32 (strtof is correctly rounded), multiplied in float32 (exact: a power of
 * two), and truncated. `2.731` → 178978, `0.333` → 21823. Rounding the text through a double first
 * (`Math.fround(parseFloat(text))`) is *double* rounding and can differ from strtof, so the decimal
 * is rounded to float32 directly with BigInt arithmetic here.
 *
 * Printing: crushtool prints `snprintf("%.3f", (float)i / (float)0x10000)` where `i` is the 16.16
 * weight read back as a C `int`: weights ≥ 2^31 print negative, weights ≥ 2^24 lose low bits to
 * float32, and glibc rounds the exact binary value to three decimals with ties to even
 * (4096/65536 = 0.0625 prints "0.062", where `Number.prototype.toFixed` gives "0.063").
 */

/** `real_p` of crushtool's grammar: optional sign, digits with an optional dot (either side), optional exponent. */
export const REAL_NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const FLOAT32_MANTISSA_BITS = 24;
/** Exponent of the smallest float32 subnormal (2^-149). */
const FLOAT32_MIN_EXP = -149;
/** Values at or above 2^128 overflow float32 to infinity. */
const FLOAT32_MAX_EXP_EXCLUSIVE = 128;

/**
 * Correctly rounded decimal → float32 (round half to even), as glibc's strtof does. `text` must
 * match REAL_NUMBER_RE. Returns a JS number holding the float32 value (±Infinity on overflow).
 */
export function strtof32(text: string): number {
  if (!REAL_NUMBER_RE.test(text)) throw new RangeError(`not a real number: '${text}'`);
  let s = text;
  let negative = false;
  if (s[0] === '+' || s[0] === '-') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  let exp10 = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exp10 = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  if (dot >= 0) {
    exp10 -= s.length - dot - 1;
    s = s.slice(0, dot) + s.slice(dot + 1);
  }
  const digits = s.replace(/^0+/, '');
  const magnitude = digits === '' ? 0 : roundToFloat32(BigInt(digits), exp10, digits.length);
  return negative ? -magnitude : magnitude;
}

/** digits × 10^exp10 rounded to the nearest float32; `digitCount` = decimal length of `digits`. */
function roundToFloat32(digits: bigint, exp10: number, digitCount: number): number {
  // value < 10^(digitCount + exp10); far below 2^-150 rounds to 0, far above 2^128 overflows.
  if (digitCount + exp10 < -46) return 0;
  if (digitCount + exp10 > 40) return Infinity;
  let num = digits;
  let den = 1n;
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den = 10n ** BigInt(-exp10);
  // floor(log2(num/den)) is bitLength(num) - bitLength(den) or one less.
  let log2 = bitLength(num) - bitLength(den);
  if (shiftedCompare(num, den, log2) < 0) log2 -= 1;
  let exp2 = Math.max(log2 - (FLOAT32_MANTISSA_BITS - 1), FLOAT32_MIN_EXP);
  // q = round_half_even(num / den / 2^exp2)
  const scaledNum = exp2 >= 0 ? num : num << BigInt(-exp2);
  const scaledDen = exp2 >= 0 ? den << BigInt(exp2) : den;
  let q = scaledNum / scaledDen;
  const twiceRem = (scaledNum - q * scaledDen) * 2n;
  if (twiceRem > scaledDen || (twiceRem === scaledDen && (q & 1n) === 1n)) q += 1n;
  if (q === 1n << BigInt(FLOAT32_MANTISSA_BITS)) {
    q >>= 1n;
    exp2 += 1;
  }
  if (q !== 0n && bitLength(q) + exp2 > FLOAT32_MAX_EXP_EXCLUSIVE) return Infinity;
  return Number(q) * 2 ** exp2;
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** Sign of num/den − 2^k. */
function shiftedCompare(num: bigint, den: bigint, k: number): number {
  const lhs = k >= 0 ? num : num << BigInt(-k);
  const rhs = k >= 0 ? den << BigInt(k) : den;
  return lhs < rhs ? -1 : lhs > rhs ? 1 : 0;
}

/** Why a weight text cannot be stored as a 16.16 unsigned weight. */
export type WeightProblem = 'negative' | 'too-large';

/**
 * crushtool's weight conversion: `(unsigned)(strtof(text) * (float)0x10000)`. Negative weights and
 * products that do not fit in 32 bits are undefined behaviour in C (crushtool silently wraps them);
 * Nacre reports them instead.
 */
export function weightFromText(text: string): number | WeightProblem {
  const f = strtof32(text);
  if (f < 0 || Object.is(f, -0) || text.trimStart().startsWith('-')) return 'negative';
  const product = Math.fround(f * 0x10000);
  if (!(product < 2 ** 32)) return 'too-large';
  return Math.trunc(product);
}

/** crushtool's conversion of a weight given as a number (e.g. `--weight 0.5`, reweight commands). */
export function weightFromFloat(w: number): number {
  const product = Math.fround(Math.fround(w) * 0x10000);
  if (!(product >= 0 && product < 2 ** 32)) throw new RangeError(`weight ${w} is out of range`);
  return Math.trunc(product);
}

const MILLIS_PER_UNIT = 1000;
const FIXED_ONE = 0x10000;

/**
 * `%.3f` of `(float)(int)w / (float)0x10000`, byte for byte as crushtool prints it. `w` is a 16.16
 * weight (u32); it is reinterpreted as int32 like crushtool's `int` parameter.
 */
export function formatWeight(w: number): string {
  // (float)i: int32 → float32, round to nearest even; the result is an integer.
  const n = Math.fround(w | 0);
  const magnitude = Math.abs(n);
  // |n| / 65536 to three decimals, ties to even, on the exact binary value: |n| ≤ 2^31 so
  // |n| * 1000 < 2^53 stays exact in a double.
  const scaled = magnitude * MILLIS_PER_UNIT;
  let q = Math.floor(scaled / FIXED_ONE);
  const twiceRem = (scaled - q * FIXED_ONE) * 2;
  if (twiceRem > FIXED_ONE || (twiceRem === FIXED_ONE && q % 2 === 1)) q += 1;
  const intPart = Math.floor(q / MILLIS_PER_UNIT);
  const frac = String(q % MILLIS_PER_UNIT).padStart(3, '0');
  return `${n < 0 ? '-' : ''}${intPart}.${frac}`;
}
