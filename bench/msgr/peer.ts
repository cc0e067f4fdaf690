/**
 * The receiving process of bench/msgr: a messenger (WebSocket, authenticated) and a plain `net`
 * server, both answering the bench protocol. Prints `{"ready":true,"pid":N,"msgrPort":P,"netPort":Q}`
 * and exits on SIGTERM or when stdin closes.
 *
 *   node --import tsx bench/msgr/peer.ts --keyring FILE
 */
import { createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { createLogger, realEnv } from '@nacre/util';
import { Keyring, createMessenger } from '@nacre/msgr';
import { BenchCpu, BenchData, BenchEcho, BenchSync, NetKind, NetReader, netHeader } from './protocol.js';

const keyringPath = process.argv[process.argv.indexOf('--keyring') + 1]!;
const logger = createLogger('bench-peer', { level: 'warn', destination: pino.destination(2) });
const msgr = createMessenger({ entity: 'mon.bench', keyring: Keyring.readFile(keyringPath), listen: '127.0.0.1:0' }, { env: realEnv(logger) });
let messages = 0;
let bytes = 0;
msgr.handle(BenchData, (m) => {
  messages++;
  bytes += m.data.length;
});
msgr.handle(BenchSync, () => {
  const r = { messages, bytes };
  messages = 0;
  bytes = 0;
  return r;
});
msgr.handle(BenchEcho, (m) => m);
msgr.handle(BenchCpu, () => {
  const c = process.cpuUsage();
  return { userUs: c.user, systemUs: c.system };
});
await msgr.start();

let netMessages = 0;
let netBytes = 0;
const server = createServer((sock: Socket) => {
  sock.setNoDelay(true);
  sock.on('error', () => {});
  const reader = new NetReader((kind, tid, body) => {
    if (kind === NetKind.data) {
      netMessages++;
      netBytes += body.length;
    } else if (kind === NetKind.sync) {
      const r = Buffer.alloc(16);
      r.writeDoubleLE(netMessages, 0);
      r.writeDoubleLE(netBytes, 8);
      netMessages = 0;
      netBytes = 0;
      sock.write(Buffer.concat([netHeader(NetKind.reply, tid, r.length), r]));
    } else if (kind === NetKind.cpu) {
      const c = process.cpuUsage();
      const r = Buffer.alloc(16);
      r.writeDoubleLE(c.user, 0);
      r.writeDoubleLE(c.system, 8);
      sock.write(Buffer.concat([netHeader(NetKind.reply, tid, r.length), r]));
    } else if (kind === NetKind.echo) {
      sock.cork();
      sock.write(netHeader(NetKind.reply, tid, body.length));
      sock.write(body);
      sock.uncork();
    }
  });
  sock.on('data', (chunk: Buffer) => reader.push(chunk));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const netPort = (server.address() as { port: number }).port;

process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, msgrPort: msgr.address!.port, netPort }) + '\n');
const stop = (): void => {
  server.close();
  void msgr.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
