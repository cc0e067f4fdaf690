/**
 * A minimal daemon around one messenger, for multi-process tests and the msgr benchmark:
 *
 *   node packages/msgr/dist/testing/echo-daemon.js --entity mon.a --keyring K --listen 127.0.0.1:0 [--transport ws|tcp]
 *
 * Serves the `test.*` vocabulary (echo, notes, a mon-only request), prints one JSON line
 * `{"ready":true,"pid":N,"port":P}` on stdout once listening, logs to stderr, and exits on
 * SIGTERM/SIGINT or when its stdin closes (so a crashed parent never leaves it behind).
 */
import { pino } from 'pino';
import { NacreError, createLogger, realEnv } from '@nacre/util';
import { Keyring } from '../keyring.js';
import { createMessenger } from '../messenger.js';
import { createTransport, parseTransportName } from '../transport-select.js';
import { TestEcho, TestMonOnly, TestNote, TestNotesSeen } from './vocabulary.js';

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (!name.startsWith('--') || value === undefined) throw new NacreError(`usage: echo-daemon --entity E --keyring FILE --listen HOST:PORT [--frame-bytes-max N] [--transport ws|tcp]`, { code: 'EINVAL' });
    args.set(name.slice(2), value);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const entity = args.get('entity') ?? 'mon.a';
  const logger = createLogger(entity, { level: process.env['NACRE_LOG_LEVEL'] ?? 'warn', destination: pino.destination(2) });
  const keyring = Keyring.readFile(args.get('keyring') ?? 'keyring');
  const frameBytesMax = args.has('frame-bytes-max') ? Number(args.get('frame-bytes-max')) : undefined;
  const msgr = createMessenger(
    { entity, keyring, listen: args.get('listen') ?? '127.0.0.1:0', ...(frameBytesMax === undefined ? {} : { limits: { frameBytesMax } }) },
    { env: realEnv(logger), transport: createTransport(parseTransportName(args.get('transport') ?? 'ws', '--transport')) },
  );
  let notes = { count: 0, bytes: 0, lastSeq: -1 };
  msgr.handle(TestEcho, (req) => req);
  msgr.handle(TestNote, (note) => {
    notes = { count: notes.count + 1, bytes: notes.bytes + (note.data?.length ?? 0), lastSeq: note.seq };
  });
  msgr.handle(TestNotesSeen, () => notes);
  msgr.handle(TestMonOnly, () => ({ ok: true }));
  await msgr.start();
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, port: msgr.address!.port }) + '\n');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void msgr.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`echo-daemon: ${(err as Error).message}\n`);
  process.exit(1);
});
