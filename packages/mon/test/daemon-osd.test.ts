/**
 * What OSDs ask of the monitors, against three in-process MonitorDaemons: osd_boot (reply after
 * the epoch marking the OSD up commits; a resend changes nothing; boots sent to a peon are
 * forwarded), identity checks (an OSD boots only as itself), osd_alive and pg_temp replies,
 * failure reports → marked down by the leader, down → out after mon_osd_down_out_interval,
 * pg_stats seen by every monitor's `status` (relayed), and MON_DOWN in health.
 */
import t from 'tap';
import { MonClient, createMessenger, type Messenger } from '@nacre/msgr';
import { MonOsdAlive, MonOsdBoot, MonOsdFailure, MonOsdPgTemp, MonPgStats, type OsdBoot } from '@nacre/proto';
import { parsePgId, pgToUpActing } from '@nacre/osdmap';
import { Harness, FSID, envFor, waitFor } from './daemon-harness.js';

const fast = { leaseMs: 500, electionTimeoutMs: 500, tickIntervalMs: 100 };

interface Status {
  quorum: string[];
  osdmap: { epoch: number; num_osds: number; num_up: number; num_in: number };
  pgs: { total: number; by_state: Record<string, number> };
  health: { checks: { code: string }[] };
}

t.test('OSD boot, reports, failure detection, pg stats', async (t) => {
  const h = await Harness.create({ options: fast });
  const osdClients: Array<{ mc: MonClient; msgr: Messenger }> = [];
  t.teardown(async () => {
    for (const o of osdClients) {
      await o.mc.stop();
      await o.msgr.stop();
    }
    await h.close();
  });
  for (const id of [0, 1, 2]) h.keyring.add(`osd.${id}`);
  await h.startAll();
  await h.waitForQuorum(['a', 'b', 'c']);
  const admin = await h.client();
  await admin.command('osd pool create', { pool: 'data', pg_num: 4, size: 2, failure_domain: 'osd' });

  /** An OSD's monitor session, pinned to one monitor. */
  const osdSession = async (id: number, mon: string, as = `osd.${id}`): Promise<MonClient> => {
    const env = envFor(as, 'silent', 1000 + id * 10 + mon.charCodeAt(0));
    const msgr = createMessenger({ entity: as, key: h.keyring.keyOf(as as `osd.${number}`)! }, { env, transport: h.net.transport() });
    await msgr.start();
    const mc = new MonClient({ mons: [h.addr(mon)], fsid: FSID, huntConnectTimeoutMs: 300, attemptTimeoutMs: 2_000, commandTimeoutMs: 10_000 }, { env, messenger: msgr });
    osdClients.push({ mc, msgr });
    await mc.start();
    return mc;
  };
  const boot = (id: number, host: string): OsdBoot => ({ osd: id, addr: `osd-${id}:1`, host, weight: 0x10000, uuid: `uuid-${id}` });

  const osd0 = await osdSession(0, 'b'); // a peon: the boot is forwarded to the leader
  const osd1 = await osdSession(1, 'c');
  const r0 = await osd0.request(MonOsdBoot, boot(0, 'h0'));
  const r1 = await osd1.request(MonOsdBoot, boot(1, 'h1'));
  t.ok(r1.epoch > r0.epoch, `boot replies carry their epochs (${r0.epoch}, ${r1.epoch})`);
  for (const m of h.running()) await waitFor(() => m.state.osdmap.epoch >= r1.epoch, `mon.${m.name} at ${r1.epoch}`);
  const map = await osd0.waitForEpoch(r1.epoch, 5_000);
  t.ok(map.osds[0]!.up && map.osds[1]!.up, 'both up in the map the OSD receives');
  t.equal(map.osds[0]!.addr, 'osd-0:1');

  const resend = await osd0.request(MonOsdBoot, boot(0, 'h0'));
  t.equal(resend.epoch, map.osds[0]!.upFrom, 'a resent boot changes nothing and names the epoch it came up in');
  t.equal(h.leader()!.state.osdmap.epoch, r1.epoch, 'no new epoch for a resend');

  await t.rejects(osd0.request(MonOsdBoot, boot(1, 'h1'), { timeoutMs: 2_000 }), { code: 'EPERM' }, 'osd.0 may not boot osd.1');

  const alive = await osd1.request(MonOsdAlive, { osd: 1, upThru: r1.epoch });
  t.ok(alive.epoch > r1.epoch, 'up_thru raised in a new epoch');
  await osd1.waitForEpoch(alive.epoch, 5_000);
  t.equal(osd1.osdmap!.osds[1]!.upThru, r1.epoch);

  // A pg_temp different from the PG's up set (one equal to it would be dropped as pointless).
  const up = pgToUpActing(osd1.osdmap!, parsePgId('1.0')).up;
  const temp = [...up].reverse();
  const pgTemp = await osd1.request(MonOsdPgTemp, { epoch: alive.epoch, pgTemp: [['1.0', temp]] });
  t.ok(pgTemp.epoch > alive.epoch, 'pg_temp in a new epoch');
  await osd1.waitForEpoch(pgTemp.epoch, 5_000);
  t.same(osd1.osdmap!.pgTemp.get('1.0'), temp, 'pg_temp committed');
  const same = await osd1.request(MonOsdPgTemp, { epoch: pgTemp.epoch, pgTemp: [['1.0', up]] });
  t.ok(same.epoch <= h.leader()!.state.osdmap.epoch, 'a reply never names an epoch that will not come');

  // PG stats sent to mon.c show up in `status` on every monitor (relayed to the others).
  await osd1.send(MonPgStats, {
    osd: 1, epoch: pgTemp.epoch,
    pgs: [0, 1, 2, 3].map((seed) => ({ pgid: `1.${seed}`, state: ['active', 'clean'], objects: 1, bytes: 100, lastUpdate: `${pgTemp.epoch}'1` })),
    statfs: { capacityBytes: 1 << 30, allocatedBytes: 1 << 20, storedBytes: 400, objects: 4 },
  });
  for (const m of ['a', 'b', 'c']) {
    const only = await osdSession(2, m, 'client.admin');
    let st: Status | undefined;
    const deadline = performance.now() + 5_000;
    while (performance.now() < deadline) {
      st = (await only.command('status', {})).data as Status;
      if (st.pgs.by_state['active+clean'] === 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(st?.pgs.by_state['active+clean'], 4, `mon.${m} status shows the PGs osd.1 reported to mon.c`);
  }

  // A failure report with `immediate` (the reporter's connection was refused) marks osd.0 down.
  await admin.command('config set', { who: 'mon', key: 'mon_osd_down_out_interval', value: '1' });
  // Two OSDs: marking one out leaves half in, below Ceph's default mon_osd_min_in_ratio (0.75).
  await admin.command('config set', { who: 'mon', key: 'mon_osd_min_in_ratio', value: '0' });
  await osd1.send(MonOsdFailure, { target: 0, failedForMs: 5_000, epoch: pgTemp.epoch, immediate: true });
  await waitFor(() => h.leader()?.state.osdmap.osds[0]?.up === false, 'osd.0 marked down', 10_000);
  t.pass('osd.0 marked down after the failure report');
  await waitFor(() => h.leader()?.state.osdmap.osds[0]?.weight === 0, 'osd.0 marked out', 10_000);
  t.pass('osd.0 marked out after mon_osd_down_out_interval');
  const st = (await admin.command('status', {})).data as Status;
  t.match(st.osdmap, { num_osds: 2, num_up: 1, num_in: 1 });

  // Booting again brings it back (auto-out OSDs are marked in again).
  const again = await osd0.request(MonOsdBoot, boot(0, 'h0'));
  await admin.waitForEpoch(again.epoch, 5_000);
  t.ok(admin.osdmap!.osds[0]!.up && admin.osdmap!.osds[0]!.weight > 0, 'osd.0 up and in again');

  // MON_DOWN while a monitor is out of the quorum.
  await h.crash('c');
  await h.waitForQuorum(['a', 'b']);
  const health = (await admin.command('status', {})).data as Status;
  t.ok(health.health.checks.some((c) => c.code === 'MON_DOWN'), 'MON_DOWN reported');
});
