/**
 * `nacre cluster up` with OSDs (1 monitor, 3 OSDs on 3 hosts, a size-3 pool): every OSD up and
 * every PG active when `up` returns; `osd tree`, `df`, `osd out|in|down` through the CLI; an OSD
 * killed and restarted; an OSD added to the cluster file joins on the next `up` (its key reaches
 * the monitors); `cluster down` leaves no process. Timings are printed as test comments.
 */
import t from 'tap';
import { ClusterConf } from '@nacre/msgr';
import { TestCluster, freePortBase, freePorts, isAlive, sleep, waitFor } from './cluster-helpers.js';

interface Status {
  health: { status: string; checks: { code: string }[] };
  osdmap: { epoch: number; num_osds: number; num_up: number; num_in: number };
  pgs: { total: number; by_state: Record<string, number> };
}

interface ClusterStatus {
  daemons: { name: string; pid: number | null; running: boolean }[];
}

function allActive(st: Status): boolean {
  const active = Object.entries(st.pgs.by_state).filter(([s]) => s.split('+').includes('active')).reduce((n, [, c]) => n + c, 0);
  return st.pgs.total > 0 && active === st.pgs.total;
}

function clusterFile(monPort: number, osdBase: number, osds: number): string {
  return [
    'cluster: osdtest',
    `mons: [{ name: a, port: ${monPort} }]`,
    `osd_port_base: ${osdBase}`,
    'osd_block_size: 256MiB',
    'osds:',
    ...Array.from({ length: osds }, (_, i) => `  - { id: ${i}, host: h${i} }`),
    'pools:',
    '  - { name: rbd, size: 3, min_size: 2, pg_num: 16, failure_domain: host }',
    '',
  ].join('\n');
}

t.test('a cluster with OSDs through the CLI', async (t) => {
  const c = new TestCluster(t, 'nacre-osds-');
  const [monPort] = await freePorts(1);
  const osdBase = await freePortBase(4);
  const file = c.writeFile('cluster.yaml', clusterFile(monPort!, osdBase, 3));
  const status = (): Promise<Status> => c.json<Status>(['status', '--timeout', '5']);
  const remember = async (): Promise<ClusterStatus> => {
    const cs = await c.json<ClusterStatus>(['cluster', 'status']);
    c.remember(cs.daemons.flatMap((d) => (d.pid === null ? [] : [d.pid])));
    return cs;
  };

  await t.test('cluster up: all OSDs up, all PGs active', async (t) => {
    const r = await c.nacre(['cluster', 'up', '-c', file, '--dir', c.dir, '--timeout', '90']);
    await remember();
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /3\/3 OSDs up/);
    t.match(r.stdout, /16 PGs 16 active\+clean after [\d.]+ s/);
    t.match(r.stdout, /HEALTH_OK after [\d.]+ s/);
    t.comment(`cluster up (1 mon, 3 OSDs): ${(r.ms / 1000).toFixed(2)} s wall; ${r.stdout.split('\n').filter((l) => / after /.test(l)).join('; ')}`);
    const st = await status();
    t.match(st, { health: { status: 'HEALTH_OK' }, osdmap: { num_osds: 3, num_up: 3, num_in: 3 }, pgs: { total: 16 } });
    t.equal(ClusterConf.readFile(c.conf).get('global', 'ms_transport'), 'tcp', 'cluster up chose the tcp transport (the cluster file did not)');
    t.ok(allActive(st));
  });

  await t.test('osd tree and df', async (t) => {
    const tree = await c.json<{ nodes: { name: string; type: string; status?: string }[] }>(['osd', 'tree']);
    t.same(tree.nodes.filter((n) => n.type === 'osd').map((n) => [n.name, n.status]).sort(), [['osd.0', 'up'], ['osd.1', 'up'], ['osd.2', 'up']]);
    t.same(tree.nodes.filter((n) => n.type === 'host').map((n) => n.name).sort(), ['h0', 'h1', 'h2']);
    const human = await c.nacre(['osd', 'tree', '--conf', c.conf]);
    t.match(human.stdout, /host h0/);
    const df = await c.json<{ stats: { total_bytes: number }; pools: { name: string }[] }>(['df']);
    t.ok(df.stats.total_bytes > 3 * 200 * 1024 * 1024, `raw capacity ${df.stats.total_bytes} bytes from 3 × 256 MiB block files`);
    t.same(df.pools.map((p) => p.name), ['rbd']);
    const dfHuman = await c.nacre(['df', '--conf', c.conf]);
    t.match(dfHuman.stdout, /RAW STORAGE/);
  });

  await t.test('osd out / in', async (t) => {
    let r = await c.nacre(['osd', 'out', '2', '--conf', c.conf]);
    t.equal(r.code, 0, r.stderr);
    t.equal((await status()).osdmap.num_in, 2);
    r = await c.nacre(['osd', 'in', 'osd.2', '--conf', c.conf]);
    t.equal(r.code, 0, r.stderr);
    t.equal((await status()).osdmap.num_in, 3);
    r = await c.nacre(['osd', 'out', '99', '--conf', c.conf]);
    t.not(r.code, 0, 'unknown OSD refused');
    t.match(r.stderr, /^nacre: [^\n]+\n$/);
  });

  await t.test('kill an OSD: marked down; restart: up and all PGs active again', async (t) => {
    const k = await c.nacre(['cluster', 'kill', 'osd.1', '--dir', c.dir]);
    t.equal(k.code, 0, k.stderr);
    const t0 = performance.now();
    await waitFor('osd.1 marked down', 30_000, async () => ((await status()).osdmap.num_up === 2 ? true : undefined));
    t.comment(`killed OSD marked down after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const epochBefore = (await status()).osdmap.epoch;
    const s = await c.nacre(['cluster', 'start', 'osd.1', '--dir', c.dir]);
    t.equal(s.code, 0, s.stderr);
    await remember();
    const t1 = performance.now();
    await waitFor('osd.1 booted again', 30_000, async () => {
      const dump = await c.json<{ osds: { osd: number; up: number; up_from: number }[] }>(['osd', 'dump']);
      const o = dump.osds.find((x) => x.osd === 1);
      return o !== undefined && o.up === 1 && o.up_from > epochBefore ? true : undefined;
    });
    // PG states come from the OSDs' reports (every 2 s): trust them once one after the boot can be in.
    await sleep(2_500);
    await waitFor('3 up and all PGs active', 60_000, async () => {
      const st = await status();
      return st.osdmap.num_up === 3 && allActive(st) ? true : undefined;
    });
    t.comment(`restarted OSD booted, all PGs active again after ${((performance.now() - t1) / 1000).toFixed(2)} s (including a 2.5 s settle)`);
  });

  await t.test('an OSD added to the cluster file joins on the next up', async (t) => {
    c.writeFile('cluster.yaml', clusterFile(monPort!, osdBase, 4));
    const r = await c.nacre(['cluster', 'up', '-c', file, '--dir', c.dir, '--timeout', '90']);
    t.comment(`adding an OSD: ${(r.ms / 1000).toFixed(2)} s; ${r.stdout.split('\n').filter((l) => / after /.test(l)).join('; ')}`);
    await remember();
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /osd\.3\s+started/);
    t.match(r.stdout, /osd\.0\s+running/);
    t.match(r.stdout, /4\/4 OSDs up/);
    const st = await status();
    t.match(st.osdmap, { num_osds: 4, num_up: 4, num_in: 4 });
  });

  await t.test('cluster down leaves no process', async (t) => {
    const pids = (await remember()).daemons.map((d) => d.pid!);
    t.equal(pids.length, 5);
    const d = await c.nacre(['cluster', 'down', '--dir', c.dir]);
    t.equal(d.code, 0, d.stderr);
    t.match(d.stdout, /5 daemons stopped/);
    for (const pid of [...pids, ...c.extraPids]) t.notOk(isAlive(pid, c.conf), `pid ${pid} is gone`);
  });
});
