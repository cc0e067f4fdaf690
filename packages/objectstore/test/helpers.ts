/** Shared helpers for the objectstore tests: temp dirs, store factories, seeds. */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockStore, MemStore, blockPath, mkfs, type ObjectStore } from '@nacre/objectstore';
import { seedFromEnv } from '@nacre/util';
import type { StoreFactory, StoreHandle } from './objectstore-suite.js';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(join(tmpdir(), `nacre-os-${tag}-`));
}

/** The test seed: NACRE_SEED or fresh; printed first so a failure can be reproduced. */
export function testSeed(what: string): number {
  const seed = seedFromEnv();
  console.log(`# ${what}: seed ${seed} (reproduce with NACRE_SEED=${seed})`);
  return seed;
}

/** Flip a few bytes of the block file at `fileOffsetBytes`. */
export function flipBytes(dir: string, fileOffsetBytes: number, count = 4): void {
  const fd = fs.openSync(blockPath(dir), 'r+');
  try {
    const buf = Buffer.alloc(count);
    fs.readSync(fd, buf, 0, count, fileOffsetBytes);
    for (let i = 0; i < count; i++) buf[i] = buf[i]! ^ 0x5a;
    fs.writeSync(fd, buf, 0, count, fileOffsetBytes);
  } finally {
    fs.closeSync(fd);
  }
}

async function closeQuietly(store: ObjectStore): Promise<void> {
  if (store.status === 'open' || store.status === 'failed') await store.umount();
}

export const blockStoreFactory: StoreFactory = {
  name: 'BlockStore',
  async create({ sizeBytes }): Promise<StoreHandle> {
    const dir = tempDir('conf');
    await mkfs(dir, { sizeBytes });
    let store = new BlockStore(dir);
    await store.mount();
    return {
      get store() { return store; },
      async corrupt(cid, oid, offsetBytes) {
        const at = await store.physicalOffsetOf(cid, oid, offsetBytes);
        if (at === null) throw new Error('no data unit at that offset');
        flipBytes(dir, at);
      },
      async remount() {
        await store.umount();
        store = new BlockStore(dir);
        await store.mount();
        return store;
      },
      async cleanup() {
        await closeQuietly(store);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const memStoreFactory: StoreFactory = {
  name: 'MemStore',
  async create({ sizeBytes }): Promise<StoreHandle> {
    const store = new MemStore({ sizeBytes });
    await store.mount();
    return {
      store,
      async corrupt(cid, oid, offsetBytes) { store.corruptForTesting(cid, oid, offsetBytes); },
      async remount() { await store.umount(); await store.mount(); return store; },
      async cleanup() { await closeQuietly(store); },
    };
  },
};
