/** A fake cluster plus a connected client, torn down with the test. */
import type { Test } from 'tap';
import { connect, type Cluster, type ClientOptions, type IoCtx } from '@nacre/client';
import { FakeCluster, type FakeClusterSpec } from '@nacre/client/testing';

export interface Rig {
  fc: FakeCluster;
  cluster: Cluster;
  io: IoCtx;
}

export async function rig(t: Test, spec: Partial<FakeClusterSpec> = {}, client: Partial<ClientOptions> = {}): Promise<Rig> {
  const fc = await FakeCluster.start({ hosts: 3, osdsPerHost: 2, pools: [{ name: 'rbd', pgNum: 16 }], transport: 'memory', ...spec });
  const transport = fc.clientTransport();
  const cluster = await connect({
    mons: fc.monAddrs, key: fc.adminKey, fsid: fc.map.fsid, client: { opTimeoutMs: 5000, ...client },
    monClient: { huntConnectTimeoutMs: 300, mapPollIntervalMs: 100 },
    ...(transport ? { transport } : {}),
  });
  t.teardown(async () => {
    await cluster.close();
    await fc.stop();
  });
  const io = await cluster.pool('rbd');
  return { fc, cluster, io };
}

export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).message);
  }
}

export async function errOf(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
