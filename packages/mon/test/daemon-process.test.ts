/**
 * The monitor as real OS processes (`node packages/mon/dist/main.js`, compiled, on 127.0.0.1 and
 * free ports), driven by a MonClient over WebSockets: --mkfs and its refusals, the ready line and
 * pid file, kill -9 of the leader (a pool create must succeed within 10 s), the old leader
 * rejoining with every committed epoch, 2 of 3 killed (a pool create fails within its timeout,
 * nothing half-applied), quorum back with exactly the committed state, SIGTERM (exit 0, pid file
 * removed). Every process is killed by pid in the teardown, also when a test fails half-way.
 * (`nacre cluster up` drives the same processes in test/cluster-mons.test.ts.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ClusterConf, Keyring, MonClient, createMessenger, type Messenger } from '@nacre/msgr';
import { hasCode } from '@nacre/util';
import { envFor, sleep } from './daemon-harness.js';

/** Poll `fn` until it returns a value; a hang guard, not a timing assertion. */
async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, limitMs = 20_000): Promise<T> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const mainJs = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const names = ['a', 'b', 'c'];

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

/** Compiled JS without the test runner's loader hooks (tap injects them through NODE_OPTIONS). */
function monSync(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, mainJs, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

class ProcCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'nacre-mon-proc-'));
  readonly confPath = join(this.root, 'nacre.conf');
  readonly keyring = new Keyring();
  readonly procs = new Map<string, ChildProcess>();
  readonly allPids = new Set<number>();
  addrs = new Map<string, string>();
  private clients: Array<{ mc: MonClient; msgr: Messenger }> = [];
  /** Every client its own seed: MonClient draws its cmdId incarnation from env.random. */
  private seed = 100;

  async write(): Promise<void> {
    for (const n of names) this.keyring.add(`mon.${n}`);
    this.keyring.add('client.admin');
    this.keyring.writeFile(join(this.root, 'keyring'));
    const conf = new ClusterConf(this.confPath, this.root);
    conf.set('global', 'fsid', 'proc-test-fsid');
    conf.set('global', 'keyring', 'keyring');
    conf.set('global', 'log_level', 'info');
    for (const n of names) {
      this.addrs.set(n, `127.0.0.1:${await freePort()}`);
      conf.set(`mon.${n}`, 'addr', this.addrs.get(n)!);
      conf.set(`mon.${n}`, 'data', `mon.${n}`);
    }
    conf.set('global', 'mon_host', names.map((n) => this.addrs.get(n)!).join(','));
    conf.writeFile(this.confPath);
  }

  pidFile(n: string): string {
    return join(this.root, `mon.${n}.pid`);
  }

  /** Start mon.N; resolves with its ready line. */
  start(n: string): Promise<{ pid: number; addr: string }> {
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, mainJs, '--conf', this.confPath, '--id', n], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.set(n, child);
    return new Promise((res, rej) => {
      let out = '';
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) {
          const ready = JSON.parse(line) as { pid: number; addr: string };
          this.allPids.add(ready.pid);
          res(ready);
        }
      });
      child.on('exit', (code) => rej(new Error(`mon.${n} exited ${code} before ready: ${err.trim()}`)));
    });
  }

  kill9(n: string): void {
    const pid = Number(readFileSync(this.pidFile(n), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    this.procs.delete(n);
  }

  async client(mons: string[] = names, opts: { commandTimeoutMs?: number } = {}): Promise<MonClient> {
    const env = envFor('client.admin', 'silent', this.seed++);
    const msgr = createMessenger({ entity: 'client.admin', key: this.keyring.keyOf('client.admin')! }, { env });
    await msgr.start();
    const mc = new MonClient({
      mons: mons.map((n) => this.addrs.get(n)!), fsid: 'proc-test-fsid',
      huntConnectTimeoutMs: 500, attemptTimeoutMs: 3_000, commandTimeoutMs: opts.commandTimeoutMs ?? 15_000,
    }, { env, messenger: msgr });
    this.clients.push({ mc, msgr });
    await mc.start();
    return mc;
  }

  async destroy(): Promise<void> {
    for (const { mc, msgr } of this.clients) {
      await mc.stop().catch(() => {});
      await msgr.stop().catch(() => {});
    }
    for (const pid of this.allPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

interface Status { quorum: string[]; leader: string | null; osdmap: { epoch: number }; health: { checks: { code: string }[] } }

t.test('monitor processes', async (t) => {
  const c = new ProcCluster();
  t.teardown(() => c.destroy());
  await c.write();

  await t.test('mkfs, and what it refuses', async (t) => {
    const noId = monSync(['--mkfs', '--conf', c.confPath]);
    t.equal(noId.code, 1);
    t.match(noId.stderr, /^nacre-mon: --id is required/);
    const notMade = monSync(['--conf', c.confPath, '--id', 'a']);
    t.equal(notMade.code, 1);
    t.match(notMade.stderr, /holds no monitor store \(run with --mkfs first\)/);
    for (const n of names) {
      const r = monSync(['--mkfs', '--conf', c.confPath, '--id', n]);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, new RegExp(`mon\\.${n}: created a monitor store .* \\(fsid proc-test-fsid, monitors a,b,c\\)`));
    }
    const again = monSync(['--mkfs', '--conf', c.confPath, '--id', 'a']);
    t.equal(again.code, 1);
    t.match(again.stderr, /already holds a monitor store/);
    const stranger = monSync(['--mkfs', '--conf', c.confPath, '--id', 'z', '--data', join(c.root, 'mon.z')]);
    t.equal(stranger.code, 1);
    t.match(stranger.stderr, /no key for mon\.z|not in the monmap/);
  });

  await t.test('three processes form a quorum', async (t) => {
    const ready = await Promise.all(names.map((n) => c.start(n)));
    for (const [i, n] of names.entries()) {
      t.equal(ready[i]!.addr, c.addrs.get(n));
      t.equal(Number(readFileSync(c.pidFile(n), 'utf8')), ready[i]!.pid, `pid file of mon.${n}`);
    }
    const t0 = performance.now();
    const mc = await c.client();
    const created = await mc.command('osd pool create', { pool: 'first', pg_num: 8, size: 1 });
    t.comment(`first pool create ${Math.round(performance.now() - t0)} ms after the monitors were ready`);
    t.match(created.data, { pool: 'first' });
    const st = (await mc.command('status', {})).data as Status;
    t.same(st.quorum, ['a', 'b', 'c']);
    t.equal(st.leader, 'a');
  });

  await t.test('kill -9 the leader: a new leader and a pool create within 10 s; the old leader rejoins', async (t) => {
    const mc = await c.client();
    t.match((await mc.command('osd pool create', { pool: 'before-kill', pg_num: 8, size: 1 })).data, { pool: 'before-kill' });
    const killedAt = performance.now();
    c.kill9('a');
    await mc.command('osd pool create', { pool: 'after-kill', pg_num: 8, size: 1 }, { timeoutMs: 10_000 });
    const tookMs = performance.now() - killedAt;
    t.ok(tookMs < 10_000, `pool create succeeded ${(tookMs / 1000).toFixed(2)} s after kill -9 of the leader`);
    t.comment(`failover: pool create ${(tookMs / 1000).toFixed(2)} s after kill -9 of mon.a`);
    const st = (await mc.command('status', {})).data as Status;
    t.same(st.quorum, ['b', 'c']);
    t.equal(st.leader, 'b');
    t.ok(st.health.checks.some((ch) => ch.code === 'MON_DOWN'), 'MON_DOWN while mon.a is down');
    const epoch = st.osdmap.epoch;

    const restartedAt = performance.now();
    await c.start('a');
    // Ask mon.a alone: it answers reads from its own committed state once it holds a lease.
    const onlyA = await c.client(['a']);
    const seen = await waitFor(async () => {
      const s = (await onlyA.command('status', {}, { timeoutMs: 3_000 }).catch(() => null))?.data as Status | undefined;
      return s !== undefined && s.quorum.length === 3 && s.osdmap.epoch === epoch ? s : undefined;
    }, 'mon.a back in quorum at the committed epoch');
    t.comment(`mon.a back in quorum with epoch ${seen.osdmap.epoch} ${((performance.now() - restartedAt) / 1000).toFixed(2)} s after restart`);
    const pools = (await onlyA.command('osd pool ls', {})).data as string[];
    t.same(pools.sort(), ['after-kill', 'before-kill', 'first']);
    const map = await onlyA.subscribeOsdMap();
    t.equal(map.epoch, epoch, 'it serves the committed map');
  });

  await t.test('kill 2 of 3: pool create fails within its timeout, nothing half-applied; quorum returns with exactly that state', async (t) => {
    const mc = await c.client();
    const before = ((await mc.command('osd pool ls', {})).data as string[]).sort();
    const epochBefore = ((await mc.command('status', {})).data as Status).osdmap.epoch;
    await mc.stop();
    c.kill9('a');
    c.kill9('b');
    const lone = await c.client(['c'], { commandTimeoutMs: 3_000 });
    const t0 = performance.now();
    const err = await lone.command('osd pool create', { pool: 'never', pg_num: 8, size: 1 }).then(() => null, (e: unknown) => e as Error);
    const ms = performance.now() - t0;
    t.ok(err !== null && hasCode(err, 'ETIMEDOUT'), `refused: ${err?.message}`);
    t.match(err?.message ?? '', /no quorum/, 'the error says why');
    t.equal(err?.message.includes('\n'), false, 'one line');
    t.ok(ms < 3_500, `failed after ${Math.round(ms)} ms (timeout 3000)`);
    await lone.stop();

    await Promise.all([c.start('a'), c.start('b')]);
    const mc2 = await c.client();
    const st = await waitFor(async () => {
      const s = (await mc2.command('status', {}, { timeoutMs: 3_000 }).catch(() => null))?.data as Status | undefined;
      return s !== undefined && s.quorum.length === 3 ? s : undefined;
    }, 'quorum of three again');
    t.equal(st.osdmap.epoch, epochBefore, 'same epoch as before the loss');
    t.same(((await mc2.command('osd pool ls', {})).data as string[]).sort(), before, 'exactly the committed pools');
  });

  await t.test('SIGTERM: clean stop, exit 0, pid file removed', async (t) => {
    const child = c.procs.get('c')!;
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    child.kill('SIGTERM');
    // `env` execs node, so the child is the monitor itself.
    t.equal(await exited, 0);
    t.equal(existsSync(c.pidFile('c')), false, 'pid file removed');
    const log = readFileSync(join(c.root, 'mon.c.log'), 'utf8');
    t.match(log, /"msg":"stopping on signal"/);
    await sleep(10);
  });
});
