/**
 * rjenkins1 hashes, bit-exact with Ceph:
 * - `crushHash32*`: CRUSH's placement hash (Ceph `src/crush/hash.c`, CRUSH_HASH_RJENKINS1), used by
 *   every bucket algorithm, the "is out" test and HASHPSPOOL placement seeds.
 * - `cephStrHashRjenkins` / `cephStrHashLinux`: object name → 32-bit hash (`src/common/ceph_hash.cc`),
 *   the first step of object → PG.
 *
 * Everything is unsigned 32-bit arithmetic. Signed inputs (negative bucket ids) are hashed as their
 * two's-complement bit pattern, as C does. The hot path works on int32 values in local variables;
 * Bob Jenkins' 96-bit mix mutates three words, so it writes its result to module-level registers.
 */

const CRUSH_HASH_SEED = 1315423911;
const X = 231232;
const Y = 1232;

let ra = 0;
let rb = 0;
let rc = 0;

/** Jenkins' mix of (a, b, c); result in (ra, rb, rc). */
function mix(a: number, b: number, c: number): void {
  a = (a - b - c) ^ (c >>> 13);
  b = (b - c - a) ^ (a << 8);
  c = (c - a - b) ^ (b >>> 13);
  a = (a - b - c) ^ (c >>> 12);
  b = (b - c - a) ^ (a << 16);
  c = (c - a - b) ^ (b >>> 5);
  a = (a - b - c) ^ (c >>> 3);
  b = (b - c - a) ^ (a << 10);
  c = (c - a - b) ^ (b >>> 15);
  ra = a | 0;
  rb = b | 0;
  rc = c | 0;
}

// The five CRUSH hashes below are Jenkins' mix applied in the order Ceph's hash.c fixes; the mix is
// written out inline (a function call per mix costs ~2x on the mapping hot path).

export function crushHash32(a: number): number {
  let h = CRUSH_HASH_SEED ^ a;
  let x = X;
  let y = Y;
  let a_ = a | 0;
  let b = a | 0;
  {
    b = (b - x - h) ^ (h >>> 13);
    x = (x - h - b) ^ (b << 8);
    h = (h - b - x) ^ (x >>> 13);
    b = (b - x - h) ^ (h >>> 12);
    x = (x - h - b) ^ (b << 16);
    h = (h - b - x) ^ (x >>> 5);
    b = (b - x - h) ^ (h >>> 3);
    x = (x - h - b) ^ (b << 10);
    h = (h - b - x) ^ (x >>> 15);
  }
  {
    y = (y - a_ - h) ^ (h >>> 13);
    a_ = (a_ - h - y) ^ (y << 8);
    h = (h - y - a_) ^ (a_ >>> 13);
    y = (y - a_ - h) ^ (h >>> 12);
    a_ = (a_ - h - y) ^ (y << 16);
    h = (h - y - a_) ^ (a_ >>> 5);
    y = (y - a_ - h) ^ (h >>> 3);
    a_ = (a_ - h - y) ^ (y << 10);
    h = (h - y - a_) ^ (a_ >>> 15);
  }
  return h >>> 0;
}

export function crushHash32_2(a: number, b: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b;
  let x = X;
  let y = Y;
  let a_ = a | 0;
  let b_ = b | 0;
  {
    a_ = (a_ - b_ - h) ^ (h >>> 13);
    b_ = (b_ - h - a_) ^ (a_ << 8);
    h = (h - a_ - b_) ^ (b_ >>> 13);
    a_ = (a_ - b_ - h) ^ (h >>> 12);
    b_ = (b_ - h - a_) ^ (a_ << 16);
    h = (h - a_ - b_) ^ (b_ >>> 5);
    a_ = (a_ - b_ - h) ^ (h >>> 3);
    b_ = (b_ - h - a_) ^ (a_ << 10);
    h = (h - a_ - b_) ^ (b_ >>> 15);
  }
  {
    x = (x - a_ - h) ^ (h >>> 13);
    a_ = (a_ - h - x) ^ (x << 8);
    h = (h - x - a_) ^ (a_ >>> 13);
    x = (x - a_ - h) ^ (h >>> 12);
    a_ = (a_ - h - x) ^ (x << 16);
    h = (h - x - a_) ^ (a_ >>> 5);
    x = (x - a_ - h) ^ (h >>> 3);
    a_ = (a_ - h - x) ^ (x << 10);
    h = (h - x - a_) ^ (a_ >>> 15);
  }
  {
    b_ = (b_ - y - h) ^ (h >>> 13);
    y = (y - h - b_) ^ (b_ << 8);
    h = (h - b_ - y) ^ (y >>> 13);
    b_ = (b_ - y - h) ^ (h >>> 12);
    y = (y - h - b_) ^ (b_ << 16);
    h = (h - b_ - y) ^ (y >>> 5);
    b_ = (b_ - y - h) ^ (h >>> 3);
    y = (y - h - b_) ^ (b_ << 10);
    h = (h - b_ - y) ^ (y >>> 15);
  }
  return h >>> 0;
}

export function crushHash32_3(a: number, b: number, c: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b ^ c;
  let x = X;
  let y = Y;
  let a_ = a | 0;
  let b_ = b | 0;
  let c_ = c | 0;
  {
    a_ = (a_ - b_ - h) ^ (h >>> 13);
    b_ = (b_ - h - a_) ^ (a_ << 8);
    h = (h - a_ - b_) ^ (b_ >>> 13);
    a_ = (a_ - b_ - h) ^ (h >>> 12);
    b_ = (b_ - h - a_) ^ (a_ << 16);
    h = (h - a_ - b_) ^ (b_ >>> 5);
    a_ = (a_ - b_ - h) ^ (h >>> 3);
    b_ = (b_ - h - a_) ^ (a_ << 10);
    h = (h - a_ - b_) ^ (b_ >>> 15);
  }
  {
    c_ = (c_ - x - h) ^ (h >>> 13);
    x = (x - h - c_) ^ (c_ << 8);
    h = (h - c_ - x) ^ (x >>> 13);
    c_ = (c_ - x - h) ^ (h >>> 12);
    x = (x - h - c_) ^ (c_ << 16);
    h = (h - c_ - x) ^ (x >>> 5);
    c_ = (c_ - x - h) ^ (h >>> 3);
    x = (x - h - c_) ^ (c_ << 10);
    h = (h - c_ - x) ^ (x >>> 15);
  }
  {
    y = (y - a_ - h) ^ (h >>> 13);
    a_ = (a_ - h - y) ^ (y << 8);
    h = (h - y - a_) ^ (a_ >>> 13);
    y = (y - a_ - h) ^ (h >>> 12);
    a_ = (a_ - h - y) ^ (y << 16);
    h = (h - y - a_) ^ (a_ >>> 5);
    y = (y - a_ - h) ^ (h >>> 3);
    a_ = (a_ - h - y) ^ (y << 10);
    h = (h - y - a_) ^ (a_ >>> 15);
  }
  {
    b_ = (b_ - x - h) ^ (h >>> 13);
    x = (x - h - b_) ^ (b_ << 8);
    h = (h - b_ - x) ^ (x >>> 13);
    b_ = (b_ - x - h) ^ (h >>> 12);
    x = (x - h - b_) ^ (b_ << 16);
    h = (h - b_ - x) ^ (x >>> 5);
    b_ = (b_ - x - h) ^ (h >>> 3);
    x = (x - h - b_) ^ (b_ << 10);
    h = (h - b_ - x) ^ (x >>> 15);
  }
  {
    y = (y - c_ - h) ^ (h >>> 13);
    c_ = (c_ - h - y) ^ (y << 8);
    h = (h - y - c_) ^ (c_ >>> 13);
    y = (y - c_ - h) ^ (h >>> 12);
    c_ = (c_ - h - y) ^ (y << 16);
    h = (h - y - c_) ^ (c_ >>> 5);
    y = (y - c_ - h) ^ (h >>> 3);
    c_ = (c_ - h - y) ^ (y << 10);
    h = (h - y - c_) ^ (c_ >>> 15);
  }
  return h >>> 0;
}

export function crushHash32_4(a: number, b: number, c: number, d: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b ^ c ^ d;
  let x = X;
  let y = Y;
  let a_ = a | 0;
  let b_ = b | 0;
  let c_ = c | 0;
  let d_ = d | 0;
  {
    a_ = (a_ - b_ - h) ^ (h >>> 13);
    b_ = (b_ - h - a_) ^ (a_ << 8);
    h = (h - a_ - b_) ^ (b_ >>> 13);
    a_ = (a_ - b_ - h) ^ (h >>> 12);
    b_ = (b_ - h - a_) ^ (a_ << 16);
    h = (h - a_ - b_) ^ (b_ >>> 5);
    a_ = (a_ - b_ - h) ^ (h >>> 3);
    b_ = (b_ - h - a_) ^ (a_ << 10);
    h = (h - a_ - b_) ^ (b_ >>> 15);
  }
  {
    c_ = (c_ - d_ - h) ^ (h >>> 13);
    d_ = (d_ - h - c_) ^ (c_ << 8);
    h = (h - c_ - d_) ^ (d_ >>> 13);
    c_ = (c_ - d_ - h) ^ (h >>> 12);
    d_ = (d_ - h - c_) ^ (c_ << 16);
    h = (h - c_ - d_) ^ (d_ >>> 5);
    c_ = (c_ - d_ - h) ^ (h >>> 3);
    d_ = (d_ - h - c_) ^ (c_ << 10);
    h = (h - c_ - d_) ^ (d_ >>> 15);
  }
  {
    a_ = (a_ - x - h) ^ (h >>> 13);
    x = (x - h - a_) ^ (a_ << 8);
    h = (h - a_ - x) ^ (x >>> 13);
    a_ = (a_ - x - h) ^ (h >>> 12);
    x = (x - h - a_) ^ (a_ << 16);
    h = (h - a_ - x) ^ (x >>> 5);
    a_ = (a_ - x - h) ^ (h >>> 3);
    x = (x - h - a_) ^ (a_ << 10);
    h = (h - a_ - x) ^ (x >>> 15);
  }
  {
    y = (y - b_ - h) ^ (h >>> 13);
    b_ = (b_ - h - y) ^ (y << 8);
    h = (h - y - b_) ^ (b_ >>> 13);
    y = (y - b_ - h) ^ (h >>> 12);
    b_ = (b_ - h - y) ^ (y << 16);
    h = (h - y - b_) ^ (b_ >>> 5);
    y = (y - b_ - h) ^ (h >>> 3);
    b_ = (b_ - h - y) ^ (y << 10);
    h = (h - y - b_) ^ (b_ >>> 15);
  }
  {
    c_ = (c_ - x - h) ^ (h >>> 13);
    x = (x - h - c_) ^ (c_ << 8);
    h = (h - c_ - x) ^ (x >>> 13);
    c_ = (c_ - x - h) ^ (h >>> 12);
    x = (x - h - c_) ^ (c_ << 16);
    h = (h - c_ - x) ^ (x >>> 5);
    c_ = (c_ - x - h) ^ (h >>> 3);
    x = (x - h - c_) ^ (c_ << 10);
    h = (h - c_ - x) ^ (x >>> 15);
  }
  {
    y = (y - d_ - h) ^ (h >>> 13);
    d_ = (d_ - h - y) ^ (y << 8);
    h = (h - y - d_) ^ (d_ >>> 13);
    y = (y - d_ - h) ^ (h >>> 12);
    d_ = (d_ - h - y) ^ (y << 16);
    h = (h - y - d_) ^ (d_ >>> 5);
    y = (y - d_ - h) ^ (h >>> 3);
    d_ = (d_ - h - y) ^ (y << 10);
    h = (h - y - d_) ^ (d_ >>> 15);
  }
  return h >>> 0;
}

export function crushHash32_5(a: number, b: number, c: number, d: number, e: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b ^ c ^ d ^ e;
  let x = X;
  let y = Y;
  let a_ = a | 0;
  let b_ = b | 0;
  let c_ = c | 0;
  let d_ = d | 0;
  let e_ = e | 0;
  {
    a_ = (a_ - b_ - h) ^ (h >>> 13);
    b_ = (b_ - h - a_) ^ (a_ << 8);
    h = (h - a_ - b_) ^ (b_ >>> 13);
    a_ = (a_ - b_ - h) ^ (h >>> 12);
    b_ = (b_ - h - a_) ^ (a_ << 16);
    h = (h - a_ - b_) ^ (b_ >>> 5);
    a_ = (a_ - b_ - h) ^ (h >>> 3);
    b_ = (b_ - h - a_) ^ (a_ << 10);
    h = (h - a_ - b_) ^ (b_ >>> 15);
  }
  {
    c_ = (c_ - d_ - h) ^ (h >>> 13);
    d_ = (d_ - h - c_) ^ (c_ << 8);
    h = (h - c_ - d_) ^ (d_ >>> 13);
    c_ = (c_ - d_ - h) ^ (h >>> 12);
    d_ = (d_ - h - c_) ^ (c_ << 16);
    h = (h - c_ - d_) ^ (d_ >>> 5);
    c_ = (c_ - d_ - h) ^ (h >>> 3);
    d_ = (d_ - h - c_) ^ (c_ << 10);
    h = (h - c_ - d_) ^ (d_ >>> 15);
  }
  {
    e_ = (e_ - x - h) ^ (h >>> 13);
    x = (x - h - e_) ^ (e_ << 8);
    h = (h - e_ - x) ^ (x >>> 13);
    e_ = (e_ - x - h) ^ (h >>> 12);
    x = (x - h - e_) ^ (e_ << 16);
    h = (h - e_ - x) ^ (x >>> 5);
    e_ = (e_ - x - h) ^ (h >>> 3);
    x = (x - h - e_) ^ (e_ << 10);
    h = (h - e_ - x) ^ (x >>> 15);
  }
  {
    y = (y - a_ - h) ^ (h >>> 13);
    a_ = (a_ - h - y) ^ (y << 8);
    h = (h - y - a_) ^ (a_ >>> 13);
    y = (y - a_ - h) ^ (h >>> 12);
    a_ = (a_ - h - y) ^ (y << 16);
    h = (h - y - a_) ^ (a_ >>> 5);
    y = (y - a_ - h) ^ (h >>> 3);
    a_ = (a_ - h - y) ^ (y << 10);
    h = (h - y - a_) ^ (a_ >>> 15);
  }
  {
    b_ = (b_ - x - h) ^ (h >>> 13);
    x = (x - h - b_) ^ (b_ << 8);
    h = (h - b_ - x) ^ (x >>> 13);
    b_ = (b_ - x - h) ^ (h >>> 12);
    x = (x - h - b_) ^ (b_ << 16);
    h = (h - b_ - x) ^ (x >>> 5);
    b_ = (b_ - x - h) ^ (h >>> 3);
    x = (x - h - b_) ^ (b_ << 10);
    h = (h - b_ - x) ^ (x >>> 15);
  }
  {
    y = (y - c_ - h) ^ (h >>> 13);
    c_ = (c_ - h - y) ^ (y << 8);
    h = (h - y - c_) ^ (c_ >>> 13);
    y = (y - c_ - h) ^ (h >>> 12);
    c_ = (c_ - h - y) ^ (y << 16);
    h = (h - y - c_) ^ (c_ >>> 5);
    y = (y - c_ - h) ^ (h >>> 3);
    c_ = (c_ - h - y) ^ (y << 10);
    h = (h - y - c_) ^ (c_ >>> 15);
  }
  {
    d_ = (d_ - x - h) ^ (h >>> 13);
    x = (x - h - d_) ^ (d_ << 8);
    h = (h - d_ - x) ^ (x >>> 13);
    d_ = (d_ - x - h) ^ (h >>> 12);
    x = (x - h - d_) ^ (d_ << 16);
    h = (h - d_ - x) ^ (x >>> 5);
    d_ = (d_ - x - h) ^ (h >>> 3);
    x = (x - h - d_) ^ (d_ << 10);
    h = (h - d_ - x) ^ (x >>> 15);
  }
  {
    y = (y - e_ - h) ^ (h >>> 13);
    e_ = (e_ - h - y) ^ (y << 8);
    h = (h - y - e_) ^ (e_ >>> 13);
    y = (y - e_ - h) ^ (h >>> 12);
    e_ = (e_ - h - y) ^ (y << 16);
    h = (h - y - e_) ^ (e_ >>> 5);
    y = (y - e_ - h) ^ (h >>> 3);
    e_ = (e_ - h - y) ^ (y << 10);
    h = (h - y - e_) ^ (e_ >>> 15);
  }
  return h >>> 0;
}

/**
 * `ceph_str_hash_rjenkins`: Bob Jenkins' lookup2 over the bytes (little-endian words, the length
 * folded into c). This is the pool default (`object_hash rjenkins`).
 */
export function cephStrHashRjenkins(bytes: Uint8Array): number {
  const length = bytes.length;
  let a = 0x9e3779b9 | 0;
  let b = a;
  let c = 0;
  let k = 0;
  let len = length;
  while (len >= 12) {
    a = (a + (bytes[k]! | (bytes[k + 1]! << 8) | (bytes[k + 2]! << 16) | (bytes[k + 3]! << 24))) | 0;
    b = (b + (bytes[k + 4]! | (bytes[k + 5]! << 8) | (bytes[k + 6]! << 16) | (bytes[k + 7]! << 24))) | 0;
    c = (c + (bytes[k + 8]! | (bytes[k + 9]! << 8) | (bytes[k + 10]! << 16) | (bytes[k + 11]! << 24))) | 0;
    mix(a, b, c); a = ra; b = rb; c = rc;
    k += 12;
    len -= 12;
  }
  c = (c + length) | 0;
  // The tail (C's fall-through switch): the low byte of c is reserved for the length, so c takes
  // bytes 8..10 shifted up.
  if (len >= 11) c = (c + (bytes[k + 10]! << 24)) | 0;
  if (len >= 10) c = (c + (bytes[k + 9]! << 16)) | 0;
  if (len >= 9) c = (c + (bytes[k + 8]! << 8)) | 0;
  if (len >= 8) b = (b + (bytes[k + 7]! << 24)) | 0;
  if (len >= 7) b = (b + (bytes[k + 6]! << 16)) | 0;
  if (len >= 6) b = (b + (bytes[k + 5]! << 8)) | 0;
  if (len >= 5) b = (b + bytes[k + 4]!) | 0;
  if (len >= 4) a = (a + (bytes[k + 3]! << 24)) | 0;
  if (len >= 3) a = (a + (bytes[k + 2]! << 16)) | 0;
  if (len >= 2) a = (a + (bytes[k + 1]! << 8)) | 0;
  if (len >= 1) a = (a + bytes[k]!) | 0;
  mix(a, b, c);
  return rc >>> 0;
}

/** `ceph_str_hash_linux` (`object_hash linux`): the dcache-style hash; only its low 32 bits matter. */
export function cephStrHashLinux(bytes: Uint8Array): number {
  let hash = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    hash = Math.imul((hash + (c << 4) + (c >>> 4)) | 0, 11);
  }
  return hash >>> 0;
}
