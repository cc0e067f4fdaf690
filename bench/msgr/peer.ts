/**
 * The receiving process of bench/msgr: two messengers (authenticated; one on the WebSocket
 * transport, one on the tcp transport) and a plain `net` server, all answering the bench
 * protocol. Prints `{"ready":true,"pid":N,"wsPort":P,"tcpPort":Q,"netPort":R}` and exits on
 * SIGTERM or when stdin closes.
 *
 *   node --import tsx bench/msgr/peer.ts --keyring FILE
 */
import { createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { createLogger, realEnv } from '@nacre/util';
import { Keyring, createMessenger, createTransport, type Messenger, type TransportName } from '@nacre/msgr';
import { BenchCpu, BenchData, BenchEcho, BenchSync, GcCounter, NetKind, NetReader, cpuSampleFields, netHeader } from './protocol.js';

const keyringPath = process.argv[process.argv.indexOf('--keyring') + 1]!;
const logger = createLogger('bench-peer', { level: 'warn', destination: pino.destination(2) });
const keyring = Keyring.readFile(keyringPath);
const gc = new GcCounter();

function benchMessenger(transport: TransportName): Messenger {
  const msgr = createMessenger({ entity: 'mon.bench', keyring, listen: '127.0.0.1:0' }, { env: realEnv(logger), transport: createTransport(transport) });
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
  msgr.handle(BenchCpu, () => gc.sample());
  return msgr;
}

const ws = benchMessenger('ws');
const tcp = benchMessenger('tcp');
await ws.start();
await tcp.start();

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
      const c = gc.sample();
      const r = Buffer.alloc(8 * cpuSampleFields.length);
      cpuSampleFields.forEach((f, i) => r.writeDoubleLE(c[f], 8 * i));
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

process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, wsPort: ws.address!.port, tcpPort: tcp.address!.port, netPort }) + '\n');
const stop = (): void => {
  server.close();
  gc.stop();
  void Promise.all([ws.stop(), tcp.stop()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
