/**
 * OSD failure acceptance of issue 5 on a real multi-process cluster (`nacre cluster up`: one
 * monitor, three OSDs on three hosts, pool rbd size 3 / min_size 2, so every object is on every OSD):
 * - kill -9 of a replica under continuous writers: writes keep being acknowledged; the OSD is
 *   restarted (`nacre cluster start`), catches up from the PG log; afterwards every acknowledged
 *   write reads back and all three copies are identical (osd.admin object_info on each OSD);
 * - the same with the primary of a busy PG killed mid-write: no acknowledged write lost, no object
 *   torn (each read is exactly one of the values written to it, and the last acknowledged one).
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type IoCtx } from '@nacre/client';
import { ClusterConf, Keyring, createMessenger, transportFromConf, type Connection } from '@nacre/msgr';
import { OsdAdmin } from '@nacre/osd/messages';
import { Prng, realEnv, seedFromEnv, silentLogger } from '@nacre/util';
import { TestCluster, freePortBase, freePorts, repoRoot, waitFor } from './cluster-helpers.js';

const mains = ['mon', 'osd'].map((k) => join(repoRoot, 'packages', k, 'dist', 'main.js'));
// `npm test` builds first; a missing entry point is a broken build, never a reason to pass.
if (!mains.every((m) => existsSync(m))) {
  throw new Error(`daemons not built (${mains.filter((m) => !existsSync(m)).join(', ')} missing): run npm run build`);
}

const seed = seedFromEnv();
t.comment(`seed ${seed} (reproduce with NACRE_SEED=${seed})`);
const rng = new Prng(seed);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Status { pgs: { total: number; by_state: Record<string, number> } }

t.test('OSD kill -9 and restart under writers on a real cluster', async (t) => {
  const c = new TestCluster(t, 'nacre-osd-recovery-');
  const [monPort] = await freePorts(1);
  const osdBase = await freePortBase(3);
  const file = c.writeFile('cluster.yaml', [
    'cluster: recovery', `mons: [{ name: a, port: ${monPort} }]`, `osd_port_base: ${osdBase}`, 'osd_block_size: 1GiB', 'osds:',
    '  - { id: 0, host: h0 }', '  - { id: 1, host: h1 }', '  - { id: 2, host: h2 }',
    'pools:', '  - { name: rbd, size: 3, min_size: 2, pg_num: 16, failure_domain: host }', '',
  ].join('\n'));
  const up = await c.nacre(['cluster', 'up', '-c', file, '--dir', c.dir]);
  t.equal(up.code, 0, up.stderr);
  const cluster = await connect({ conf: c.conf, client: { opTimeoutMs: 60_000 } });
  t.teardown(() => cluster.close());
  const io = await cluster.pool('rbd');
  const conf = ClusterConf.readFile(c.conf);
  const key = Keyring.readFile(conf.keyringPath()!).keyOf('client.admin')!;
  const msgr = createMessenger({ entity: 'client.admin', key }, { env: realEnv(silentLogger()), transport: transportFromConf(conf, 'client.admin') });
  await msgr.start();
  t.teardown(() => msgr.stop());
  const admins = new Map<number, Connection>();
  const admin = (osd: number): Connection => {
    let conn = admins.get(osd);
    if (conn === undefined || conn.state === 'closed' || conn.state === 'failed') {
      conn = msgr.connect(conf.get(`osd.${osd}`, 'addr')!, { retry: { attemptsMax: 3 } });
      admins.set(osd, conn);
    }
    return conn;
  };
  const allClean = async (): Promise<true | undefined> => {
    const st = await c.json<Status>(['status', '--timeout', '5']);
    return st.pgs.total > 0 && st.pgs.by_state['active+clean'] === st.pgs.total ? true : undefined;
  };

  /** Writers on a few objects; every acknowledged value recorded, every attempted one remembered. */
  async function underWriters(t: Test, pickVictim: () => number): Promise<void> {
    const acked = new Map<string, Buffer>();
    const tried = new Map<string, Set<string>>();
    let stop = false;
    let failure: unknown = null;
    let count = 0;
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const name = `obj-${w}-${i % 5}`;
        const b = Buffer.from(rng.fill(new Uint8Array(rng.int(1, 256 * 1024))));
        if (!tried.has(name)) tried.set(name, new Set());
        tried.get(name)!.add(sha(b));
        try {
          await io.writeFull(name, b);
        } catch (err) {
          failure = err;
          return;
        }
        acked.set(name, b);
        count++;
      }
    });
    await waitFor('some writes', 20_000, async () => (count >= 40 ? true : undefined), 20);
    const victim = pickVictim();
    const kill = await c.nacre(['cluster', 'kill', `osd.${victim}`, '--dir', c.dir]);
    t.equal(kill.code, 0, kill.stderr);
    const killedAt = count;
    await waitFor('writes after the kill', 60_000, async () => (count >= killedAt + 40 || failure !== null ? true : undefined), 20);
    t.equal(failure, null, 'no write failed');
    t.ok(count >= killedAt + 40, `writes kept being acknowledged with osd.${victim} dead (${count - killedAt} more)`);
    const start = await c.nacre(['cluster', 'start', `osd.${victim}`, '--dir', c.dir]);
    t.equal(start.code, 0, start.stderr);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(writers);
    await waitFor('all PGs active+clean again', 60_000, allClean);
    let same = 0;
    for (const [name, b] of acked) {
      const got = await io.read(name);
      if (got.equals(b)) same++;
      else t.fail(`${name}: read ${got.length} bytes ${tried.get(name)!.has(sha(got)) ? '(an older write)' : '(torn: never written)'}`);
    }
    t.equal(same, acked.size, `all ${acked.size} objects hold their last acknowledged value`);
    let identical = 0;
    for (const [name, b] of acked) {
      const infos = await Promise.all([0, 1, 2].map((o) => admin(o).request(OsdAdmin, { cmd: 'object_info', args: { pool: 1, name } }) as Promise<{ exists: boolean; sha256: string | null }>));
      if (infos.every((i) => i.exists && i.sha256 === sha(b))) identical++;
      else t.fail(`${name}: copies ${JSON.stringify(infos.map((i) => i.sha256?.slice(0, 8)))} want ${sha(b).slice(0, 8)}`);
    }
    t.equal(identical, acked.size, 'all three copies identical on every OSD');
  }

  await t.test('a replica killed and restarted catches up from the log', async (t) => {
    await underWriters(t, () => {
      const loc = io.objectLocation('obj-0-0');
      return loc.acting.find((o) => o !== loc.actingPrimary)!;
    });
  });

  await t.test('the primary of a busy PG killed mid-write: nothing acknowledged lost, nothing torn', async (t) => {
    await underWriters(t, () => io.objectLocation('obj-1-1').actingPrimary);
  });

  const down = await c.nacre(['cluster', 'down', '--dir', c.dir]);
  t.equal(down.code, 0, down.stderr);
});
