/**
 * Three real monitor processes brought up by `nacre cluster up` (0 OSDs), driven only through
 * the CLI as a user would: quorum, `cluster status`, `status --format json`, pools, leader
 * failover (a pool create succeeds within 10 s of kill -9 of the leader), the old leader rejoining
 * with every committed epoch, loss of quorum (a pool create fails within its timeout with one
 * line, nothing applied), quorum back with exactly the committed state, `cluster down` leaving no
 * process, and `cluster up` again on the kept data. Timings are printed as test comments.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { TestCluster, freePorts, isAlive, sleep, waitFor } from './cluster-helpers.js';

interface Status {
  fsid: string;
  health: { status: string; checks: { code: string; summary: string }[] };
  quorum: string[];
  leader: string | null;
  monmap_epoch: number;
  osdmap: { epoch: number; num_osds: number; num_up: number; num_in: number };
  pools: { pool_name: string }[];
  pgs: { total: number; by_state: Record<string, number> };
}

interface ClusterStatus {
  dir: string;
  daemons: { name: string; pid: number | null; addr: string | null; running: boolean }[];
}

const names = ['a', 'b', 'c'];

t.test('three monitors through the CLI', async (t) => {
  const c = new TestCluster(t, 'nacre-mons-');
  const ports = await freePorts(3);
  const addrs = new Map(names.map((n, i) => [n, `127.0.0.1:${ports[i]}`]));
  const file = c.writeFile('cluster.yaml', [
    'cluster: montest',
    'mons:',
    ...names.map((n, i) => `  - { name: ${n}, port: ${ports[i]} }`),
    'pools:',
    '  - { name: boot, pg_num: 8, size: 1, min_size: 1, failure_domain: osd }',
    'settings:',
    '  mon_osd_down_out_interval: 30',
    // The ws transport end to end (other cluster tests run the tcp default); monConf() below relies
    // on ws being what a nacre.conf without ms_transport means.
    '  ms_transport: ws',
    '',
  ].join('\n'));
  /** A conf naming one monitor only: what that monitor itself says. */
  const monConf = (n: string): string => c.writeFile(`mon-${n}.conf`, `[global]\nmon_host = ${addrs.get(n)}\nkeyring = ${join(c.dir, 'keyring')}\n`);
  const statusOf = (conf?: string): Promise<Status> => c.json<Status>(['status', '--timeout', '5'], conf);
  const poolNames = async (conf?: string): Promise<string[]> => (await c.json<string[]>(['pool', 'ls', '--timeout', '5'], conf)).sort();
  const remember = async (): Promise<ClusterStatus> => {
    const cs = await c.json<ClusterStatus>(['cluster', 'status']).catch(() => null);
    if (cs !== null) c.remember(cs.daemons.flatMap((d) => (d.pid === null ? [] : [d.pid])));
    return cs ?? { dir: c.dir, daemons: [] };
  };

  await t.test('a bad cluster file starts nothing', async (t) => {
    const bad = c.writeFile('bad.yaml', 'mons:\n  - { name: a, port: 0 }\n');
    const r = await c.nacre(['cluster', 'up', '-c', bad, '--dir', join(c.root, 'bad-run')]);
    t.equal(r.code, 2);
    t.match(r.stderr, /^nacre: .*bad\.yaml:2: mons\[0\]\.port: expected an integer 1\.\.65535, got 0\n$/);
  });

  await t.test('a port held by another process starts nothing', async (t) => {
    const [busyPort] = await freePorts(1);
    const holder = createServer();
    await new Promise<void>((res) => holder.listen(busyPort, '127.0.0.1', res));
    t.teardown(() => holder.close());
    const f = c.writeFile('busy.yaml', `mons:\n  - { name: a, port: ${busyPort} }\n`);
    const r = await c.nacre(['cluster', 'up', '-c', f, '--dir', join(c.root, 'busy-run')]);
    t.equal(r.code, 1);
    t.match(r.stderr, new RegExp(`^nacre: mon\\.a cannot listen on 127\\.0\\.0\\.1:${busyPort}: the port is in use by another process[^\\n]*\\n$`));
    t.notOk(existsSync(join(c.root, 'busy-run', 'nacre.conf')), 'nothing written');
  });

  await t.test('cluster up: quorum of three', async (t) => {
    const r = await c.nacre(['cluster', 'up', '-c', file, '--dir', c.dir]);
    await remember();
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /quorum a,b,c \(leader a\) after [\d.]+ s/);
    // No OSDs yet, so the pool's PGs cannot be active: HEALTH_WARN, but nothing about monitors.
    t.match(r.stdout, /HEALTH_WARN after [\d.]+ s: /);
    t.notMatch(r.stdout, /MON_/);
    t.comment(`cluster up (3 monitors): ${(r.ms / 1000).toFixed(2)} s wall; ${r.stdout.split('\n').filter((l) => / after /.test(l)).join('; ')}`);
  });

  await t.test('cluster status lists every daemon with its pid', async (t) => {
    const cs = await remember();
    t.same(cs.daemons.map((d) => d.name), ['mon.a', 'mon.b', 'mon.c']);
    for (const d of cs.daemons) {
      t.equal(d.running, true, `${d.name} running`);
      t.ok(d.pid !== null && isAlive(d.pid, c.conf), `${d.name} pid ${d.pid} is a live process started for this cluster`);
      t.equal(d.addr, addrs.get(d.name.slice(4)));
    }
    const human = await c.nacre(['cluster', 'status', '--dir', c.dir]);
    t.match(human.stdout, /^NAME\s+PID\s+ADDRESS\s+RUNNING\s+RSS\n/);
    t.match(human.stdout, /3 of 3 daemons running/);
  });

  let committed: { epoch: number; pools: string[] } = { epoch: 0, pools: [] };

  await t.test('status --format json', async (t) => {
    const st = await statusOf();
    t.match(st, { quorum: names, leader: 'a', monmap_epoch: 1 });
    t.notOk(st.health.checks.some((x) => x.code.startsWith('MON_')), `no monitor health check (${st.health.status})`);
    t.match(st.osdmap, { num_osds: 0, num_up: 0, num_in: 0 });
    t.ok(st.osdmap.epoch >= 1);
    t.same(st.pools.map((p) => p.pool_name), ['boot'], 'the cluster file\'s pool exists');
    t.equal(st.pgs.total, 8);
    t.type(st.pgs.by_state, 'object');
    const human = await c.nacre(['status', '--conf', c.conf]);
    t.match(human.stdout, /health: HEALTH_WARN/);
    t.match(human.stdout, /quorum a,b,c/);
  });

  await t.test('pool create, ls, rm (and rm refused without confirmation)', async (t) => {
    let r = await c.nacre(['pool', 'create', 'p1', '16', '--size', '2', '--conf', c.conf]);
    t.equal(r.code, 0, r.stderr);
    t.same(await poolNames(), ['boot', 'p1']);
    const detail = await c.json<{ pool_name: string; size: number; pg_num: number }[]>(['pool', 'ls', '--detail']);
    t.match(detail.find((p) => p.pool_name === 'p1'), { size: 2, pg_num: 16 });
    r = await c.nacre(['pool', 'rm', 'p1', '--conf', c.conf]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^nacre: refusing to remove pool 'p1'.*--yes-i-really-really-mean-it\n$/);
    t.same(await poolNames(), ['boot', 'p1'], 'still there');
    r = await c.nacre(['pool', 'rm', 'p1', 'p1', '--yes-i-really-really-mean-it', '--conf', c.conf]);
    t.equal(r.code, 0, r.stderr);
    t.same(await poolNames(), ['boot']);
    r = await c.nacre(['pool', 'create', 'p1', '--size', 'three', '--conf', c.conf]);
    t.equal(r.code, 2, 'bad input: exit 2');
    r = await c.nacre(['pool', 'rm', 'nope', 'nope', '--yes-i-really-really-mean-it', '--conf', c.conf]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^nacre: pool 'nope' does not exist\n$/);
  });

  await t.test('kill -9 the leader: a new leader, pool create within 10 s', async (t) => {
    const before = await statusOf();
    const leader = before.leader!;
    const k = await c.nacre(['cluster', 'kill', `mon.${leader}`, '--dir', c.dir]);
    t.equal(k.code, 0, k.stderr);
    t.match(k.stdout, new RegExp(`mon\\.${leader} killed \\(pid \\d+, SIGKILL\\)`));
    const t0 = performance.now();
    const r = await c.nacre(['pool', 'create', 'after-failover', '8', '--conf', c.conf, '--timeout', '20']);
    const ms = performance.now() - t0;
    t.equal(r.code, 0, r.stderr);
    t.ok(ms < 10_000, `pool create succeeded ${(ms / 1000).toFixed(2)} s after kill -9 of the leader (limit 10 s)`);
    t.comment(`leader failover: pool create succeeded ${(ms / 1000).toFixed(2)} s after kill -9 of mon.${leader}`);
    const after = await statusOf();
    t.not(after.leader, leader, `new leader ${after.leader}`);
    t.same(after.quorum, names.filter((n) => n !== leader));
    t.equal(after.health.status, 'HEALTH_WARN');
    t.ok(after.health.checks.some((x) => x.code === 'MON_DOWN'), 'MON_DOWN reported');
    const cs = await remember();
    t.equal(cs.daemons.find((d) => d.name === `mon.${leader}`)?.running, false, 'cluster status shows it stopped');

    await t.test('restart the old leader: it rejoins with every committed epoch', async (t) => {
      const s = await c.nacre(['cluster', 'start', `mon.${leader}`, '--dir', c.dir]);
      t.equal(s.code, 0, s.stderr);
      await remember();
      const t1 = performance.now();
      const st = await waitFor('all three monitors in quorum', 20_000, async () => {
        const x = await statusOf();
        return x.quorum.length === 3 ? x : undefined;
      });
      t.comment(`old leader back in quorum ${((performance.now() - t1) / 1000).toFixed(2)} s after restart (leader now ${st.leader})`);
      // Each monitor, asked alone, has the same newest epoch and the same pools.
      const views = await waitFor('every monitor at the same epoch', 10_000, async () => {
        const v = await Promise.all(names.map(async (n) => ({ n, st: await statusOf(monConf(n)), pools: await poolNames(monConf(n)) })));
        return v.every((x) => x.st.osdmap.epoch === v[0]!.st.osdmap.epoch) ? v : undefined;
      });
      for (const v of views) t.same(v.pools, ['after-failover', 'boot'], `mon.${v.n} has every pool`);
      t.ok(views[0]!.st.osdmap.epoch >= after.osdmap.epoch, `every monitor at epoch ${views[0]!.st.osdmap.epoch}`);
      committed = { epoch: views[0]!.st.osdmap.epoch, pools: views[0]!.pools };
    });
  });

  await t.test('kill 2 of 3: commands fail within their timeout, nothing applied; quorum returns with exactly that state', async (t) => {
    const st = await statusOf();
    const victims = [st.leader!, names.find((n) => n !== st.leader)!];
    const survivor = names.find((n) => !victims.includes(n))!;
    for (const v of victims) {
      const k = await c.nacre(['cluster', 'kill', `mon.${v}`, '--dir', c.dir]);
      t.equal(k.code, 0, k.stderr);
    }
    const r = await c.nacre(['pool', 'create', 'no-quorum', '--conf', c.conf, '--timeout', '5']);
    t.not(r.code, 0, 'pool create fails');
    t.match(r.stderr, /^nacre: [^\n]+\n$/, `one line: ${r.stderr.trim()}`);
    t.match(r.stderr, /quorum|no monitor/);
    t.ok(r.ms < 5_000 + 3_000, `failed after ${(r.ms / 1000).toFixed(2)} s (timeout 5 s)`);
    t.comment(`without quorum: pool create failed after ${(r.ms / 1000).toFixed(2)} s: ${r.stderr.trim()}`);
    const s = await c.nacre(['status', '--conf', c.conf, '--timeout', '3']);
    t.not(s.code, 0, 'status fails too (no quorum, no lease)');

    for (const v of victims) {
      const k = await c.nacre(['cluster', 'start', `mon.${v}`, '--dir', c.dir]);
      t.equal(k.code, 0, k.stderr);
    }
    await remember();
    const t1 = performance.now();
    await waitFor('quorum of three', 20_000, async () => ((await statusOf()).quorum.length === 3 ? true : undefined));
    t.comment(`quorum back ${((performance.now() - t1) / 1000).toFixed(2)} s after restarting 2 monitors (survivor mon.${survivor})`);
    for (const n of names) {
      const view = await statusOf(monConf(n));
      t.equal(view.osdmap.epoch, committed.epoch, `mon.${n}: epoch unchanged (${committed.epoch})`);
      t.same(await poolNames(monConf(n)), committed.pools, `mon.${n}: pools unchanged, no 'no-quorum'`);
    }
  });

  await t.test('cluster up on a running cluster changes nothing', async (t) => {
    const pidsBefore = (await remember()).daemons.map((d) => d.pid);
    const r = await c.nacre(['cluster', 'up', '-c', file, '--dir', c.dir]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /mon\.a\s+running/);
    t.same((await remember()).daemons.map((d) => d.pid), pidsBefore, 'same processes');
    t.same(await poolNames(), committed.pools);
  });

  await t.test('cluster down leaves no process; up again keeps the data', async (t) => {
    const pids = (await remember()).daemons.map((d) => d.pid!);
    const d = await c.nacre(['cluster', 'down', '--dir', c.dir]);
    t.equal(d.code, 0, d.stderr);
    t.match(d.stdout, /3 daemons stopped/);
    for (const pid of pids) t.notOk(isAlive(pid), `pid ${pid} is gone`);
    const cs = await c.json<ClusterStatus>(['cluster', 'status']);
    t.ok(cs.daemons.every((x) => !x.running && x.pid === null));
    const again = await c.nacre(['cluster', 'down', '--dir', c.dir]);
    t.match(again.stdout, /0 daemons stopped/);

    const up = await c.nacre(['cluster', 'up', '-c', file, '--dir', c.dir]);
    await remember();
    t.equal(up.code, 0, up.stderr);
    t.comment(`cluster up on existing data: ${(up.ms / 1000).toFixed(2)} s`);
    t.same(await poolNames(), committed.pools, 'pools kept');
    const down = await c.nacre(['cluster', 'down', '--dir', c.dir]);
    t.equal(down.code, 0);
    await sleep(100);
    for (const pid of c.extraPids) t.notOk(isAlive(pid, c.conf), `pid ${pid} is gone`);
  });
});
