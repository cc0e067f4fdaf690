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

export function crushHash32(a: number): number {
  let h = CRUSH_HASH_SEED ^ a;
  let b = a;
  let x = X;
  let y = Y;
  mix(b, x, h); b = ra; x = rb; h = rc;
  mix(y, a, h); y = ra; a = rb; h = rc;
  return h >>> 0;
}

export function crushHash32_2(a: number, b: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b;
  let x = X;
  let y = Y;
  mix(a, b, h); a = ra; b = rb; h = rc;
  mix(x, a, h); x = ra; a = rb; h = rc;
  mix(b, y, h); b = ra; y = rb; h = rc;
  return h >>> 0;
}

export function crushHash32_3(a: number, b: number, c: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b ^ c;
  let x = X;
  let y = Y;
  mix(a, b, h); a = ra; b = rb; h = rc;
  mix(c, x, h); c = ra; x = rb; h = rc;
  mix(y, a, h); y = ra; a = rb; h = rc;
  mix(b, x, h); b = ra; x = rb; h = rc;
  mix(y, c, h); y = ra; c = rb; h = rc;
  return h >>> 0;
}

export function crushHash32_4(a: number, b: number, c: number, d: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b ^ c ^ d;
  let x = X;
  let y = Y;
  mix(a, b, h); a = ra; b = rb; h = rc;
  mix(c, d, h); c = ra; d = rb; h = rc;
  mix(a, x, h); a = ra; x = rb; h = rc;
  mix(y, b, h); y = ra; b = rb; h = rc;
  mix(c, x, h); c = ra; x = rb; h = rc;
  mix(y, d, h); y = ra; d = rb; h = rc;
  return h >>> 0;
}

export function crushHash32_5(a: number, b: number, c: number, d: number, e: number): number {
  let h = CRUSH_HASH_SEED ^ a ^ b ^ c ^ d ^ e;
  let x = X;
  let y = Y;
  mix(a, b, h); a = ra; b = rb; h = rc;
  mix(c, d, h); c = ra; d = rb; h = rc;
  mix(e, x, h); e = ra; x = rb; h = rc;
  mix(y, a, h); y = ra; a = rb; h = rc;
  mix(b, x, h); b = ra; x = rb; h = rc;
  mix(y, c, h); y = ra; c = rb; h = rc;
  mix(d, x, h); d = ra; x = rb; h = rc;
  mix(y, e, h); y = ra; e = rb; h = rc;
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
