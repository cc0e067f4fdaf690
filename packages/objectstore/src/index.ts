/**
 * @nacre/objectstore — the OSD's object store. BlockStore keeps objects on one raw block file
 * (32 KiB units, bitmap allocator, xxhash64 per unit) with metadata in LevelDB; MemStore is the
 * same interface in memory. Both pass one conformance suite.
 *
 * ```ts
 * import { mkfs, BlockStore, Transaction, objectId } from '@nacre/objectstore';
 * await mkfs('/tmp/osd0', { sizeBytes: 1 << 30 });
 * const store = new BlockStore('/tmp/osd0');
 * await store.mount();
 * const oid = objectId(1, 0x1234abcd, 'rbd_data.1.0000000000000000');
 * await store.queueTransaction(new Transaction().createCollection('1.0_head').write('1.0_head', oid, 0, Buffer.from('hello')));
 * console.log((await store.read('1.0_head', oid)).toString()); // hello
 * await store.umount();
 * ```
 */
export * from './object-id.js';
export * from './limits.js';
export * from './types.js';
export { Transaction, validateTransaction, type TxnOp, type TxnOpName } from './txn.js';
export { ObjectStoreBase } from './store-base.js';
export {
  BlockStore, mkfs, blockPath, metaPath, shrinkReserveUnitsFor, deviceUnitsMin, txnQueueDepthMax,
  groupTxnsMax, groupDataBytesMax, onodeCacheEntriesMax, metaFormatVersion,
  type BlockStoreOptions, type MkfsOptions,
} from './block-store.js';
export { MemStore, type MemStoreOptions } from './mem-store.js';
export { BitmapAllocator, bitmapChunkUnits } from './bitmap-allocator.js';
export { blockFormatVersion } from './block-file.js';
export { fsckProblemsMax } from './fsck.js';
