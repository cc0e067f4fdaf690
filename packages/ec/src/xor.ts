/**
 * dst ^= src, for applying a parity delta (ReedSolomon.parityDelta) on the shard that holds the
 * parity. Four bytes at a time when both views are 4-byte aligned, which is the common case for
 * buffers from Buffer.alloc, the network and allocStripe.
 */
import { checkBuffer, invalid } from './args.js';

export function xorInto(dst: Uint8Array, src: Uint8Array): void {
  checkBuffer(dst, 'dst');
  checkBuffer(src, 'src');
  if (dst.length !== src.length) throw invalid(`xorInto: ${dst.length} and ${src.length} bytes`);
  let start = 0;
  if (dst.byteOffset % 4 === 0 && src.byteOffset % 4 === 0) {
    const words = dst.length >>> 2;
    const d32 = new Int32Array(dst.buffer, dst.byteOffset, words);
    const s32 = new Int32Array(src.buffer, src.byteOffset, words);
    for (let i = 0; i < words; i++) d32[i] ^= s32[i]!;
    start = words << 2;
  }
  for (let p = start; p < dst.length; p++) dst[p] ^= src[p]!;
}
