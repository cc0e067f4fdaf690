/**
 * xxhash64 (xxhash-wasm) of each 32 KiB unit, seed 0. The WebAssembly module is instantiated once
 * per process; stores call `loadChecksum()` while mounting and then hash synchronously.
 */
import xxhash from 'xxhash-wasm';
import { assert } from '@nacre/util';

export type Hash64 = (data: Uint8Array) => bigint;

let loaded: Promise<Hash64> | undefined;
let hashFn: Hash64 | undefined;

export function loadChecksum(): Promise<Hash64> {
  loaded ??= xxhash().then((api) => {
    hashFn = (data: Uint8Array) => api.h64Raw(data);
    // Known answer so a broken build never writes wrong checksums: xxh64("") with seed 0.
    assert(hashFn(new Uint8Array(0)) === 0xef46db3751d8e999n, 'xxhash64 self-test failed');
    return hashFn;
  });
  return loaded;
}

/** Synchronous xxhash64; only valid after loadChecksum() resolved. */
export function checksum64(data: Uint8Array): bigint {
  assert(hashFn !== undefined, 'checksum module not loaded');
  return hashFn(data);
}
