import { createLogger, realEnv } from '@nacre/util';
import { Keyring, createMessenger } from '@nacre/msgr';
import { BenchEcho } from './protocol.js';
const keyring = new Keyring(); keyring.add('mon.bench'); keyring.add('client.bench');
const env = realEnv(createLogger('b', { level: 'warn' }));
const server = createMessenger({ entity: 'mon.bench', keyring, listen: '127.0.0.1:0' }, { env });
server.handle(BenchEcho, (m) => m);
await server.start();
const msgr = createMessenger({ entity: 'client.bench', keyring }, { env });
await msgr.start();
const conn = msgr.connect(server.address!);
await conn.ready();
const small = Buffer.alloc(4096, 1);
for (let round = 0; round < 3; round++) {
  let n = 0; const c0 = process.cpuUsage(); const t0 = performance.now(); const end = t0 + 2000;
  await Promise.all(Array.from({ length: 32 }, async () => { while (performance.now() < end) { await conn.request(BenchEcho, { data: small }); n++; } }));
  const c = process.cpuUsage(c0);
  console.log('ops/s', Math.round(n / 2), 'cpu µs/op (both sides, one process)', ((c.user + c.system) / n).toFixed(1), 'user', (c.user / n).toFixed(1), 'sys', (c.system / n).toFixed(1));
}
await msgr.stop(); await server.stop();
