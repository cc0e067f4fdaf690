/**
 * The server in a separate OS process (compiled echo daemon from dist/, spawned with node, killed
 * by pid): real sockets between processes, a 4 MiB payload round trip, capabilities and wrong keys
 * across the process boundary, and a client that notices the daemon's death and reconnects to its
 * successor — on each transport.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createMessenger, createTransport, transportNames, type TransportName } from '@nacre/msgr';
import { TestEcho, TestMonOnly, TestNote, TestNotesSeen } from '@nacre/msgr/testing';
import { defineRequest } from '@nacre/proto';
import { testEnv, testKeyring, waitFor } from './helpers.js';

const require = createRequire(import.meta.url);
const daemonPath = join(dirname(require.resolve('@nacre/msgr')), 'testing', 'echo-daemon.js');
const MonOnlyLoose = defineRequest<Record<string, never>, { ok: boolean }>({ type: 'test.mon_only', senders: ['client', 'mon', 'osd'] });

interface Daemon {
  child: ChildProcess;
  pid: number;
  port: number;
}

function spawnDaemon(keyringPath: string, listen: string, transport: TransportName): Promise<Daemon> {
  const child = spawn(process.execPath, ['--enable-source-maps', daemonPath, '--entity', 'mon.a', '--keyring', keyringPath, '--listen', listen, '--transport', transport], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NACRE_LOG_LEVEL: 'silent' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const ready = JSON.parse(out.slice(0, nl)) as { ready: boolean; pid: number; port: number };
      resolve({ child, pid: ready.pid, port: ready.port });
    });
    child.once('exit', (code) => reject(new Error(`echo daemon exited with ${code} before it was ready`)));
  });
}

function killByPid(d: Daemon, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (d.child.exitCode !== null || d.child.signalCode !== null) return resolve();
    d.child.once('exit', () => resolve());
    process.kill(d.pid, signal);
  });
}

for (const transport of transportNames) t.test(`messenger against a daemon in another process (${transport})`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-msgr-'));
  const keyring = testKeyring();
  const keyringPath = join(dir, 'keyring');
  keyring.writeFile(keyringPath);
  const daemons: Daemon[] = [];
  const env = testEnv();
  const client = createMessenger({ entity: 'client.admin', keyring, retry: { delayMsMin: 20, delayMsMax: 100 } }, { env: env.env, transport: createTransport(transport) });
  t.teardown(async () => {
    await client.stop();
    for (const d of daemons) await killByPid(d, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const first = await spawnDaemon(keyringPath, '127.0.0.1:0', transport);
  daemons.push(first);
  t.not(first.pid, process.pid, 'daemon runs in its own process');
  await client.start();
  const conn = client.connect(`127.0.0.1:${first.port}`, { expectPeer: 'mon.a' });
  await conn.ready();

  const data = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
  const rep = await conn.request(TestEcho, { text: '4 MiB', data });
  t.ok(rep.data !== undefined && rep.data.equals(data), '4 MiB payload round trip intact');

  for (let seq = 0; seq < 100; seq++) void conn.send(TestNote, { seq });
  t.same(await conn.request(TestNotesSeen, {}), { count: 100, bytes: 0, lastSeq: 99 }, 'one-ways delivered in order before the request');

  await t.rejects(conn.request(MonOnlyLoose, {}), { code: 'EPERM', message: 'client.admin may not send test.mon_only (allowed: mon)' }, 'caps enforced by the daemon');
  t.same(await conn.request(TestMonOnly, {}).catch((e: { code: string }) => e.code), 'EPERM', 'and locally');

  const impostor = createMessenger({ entity: 'client.admin', key: Buffer.alloc(32, 42) }, { env: testEnv(9).env, transport: createTransport(transport) });
  await impostor.start();
  await t.rejects(impostor.connect(`127.0.0.1:${first.port}`).ready(), { code: 'EPERM', message: 'authentication failed for client.admin: bad key' }, 'wrong key refused by the daemon');
  await impostor.stop();

  // kill -9: the client notices, requests written before fail or wait, and it reconnects to a new daemon on the same port.
  await killByPid(first, 'SIGKILL');
  await waitFor(() => conn.state !== 'open', 'client noticed the daemon died');
  const second = await spawnDaemon(keyringPath, `127.0.0.1:${first.port}`, transport);
  daemons.push(second);
  t.not(second.pid, first.pid, 'a new daemon process');
  t.same(await conn.request(TestEcho, { text: 'again' }, { timeoutMs: 20_000 }), { text: 'again' }, 'same connection object reconnected');
  t.same(await conn.request(TestNotesSeen, {}), { count: 0, bytes: 0, lastSeq: -1 }, 'talking to the new daemon');

  await killByPid(second, 'SIGTERM');
  t.equal(second.child.exitCode, 0, 'daemon exits cleanly on SIGTERM');
});
