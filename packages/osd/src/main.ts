/**
 * The OSD daemon entry point (flags and nacre.conf keys: daemon-settings.ts):
 *
 *   node packages/osd/dist/main.js --conf nacre.conf --id 3
 *
 * Creates the BlockStore on first start, prints `osd.N ready addr=… hb=… pid=…` on stdout once
 * serving, logs JSON to the log file (or stderr), stops gracefully on SIGTERM/SIGINT.
 */
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { createLogger, realClock, realEnv } from '@nacre/util';
import { createTransport } from '@nacre/msgr';
import { BlockStore, blockPath, metaPath, mkfs } from '@nacre/objectstore';
import { resolveSettings } from './daemon-settings.js';
import { FileKeyring } from './file-keyring.js';
import { createOsd } from './osd.js';

async function main(): Promise<void> {
  const s = resolveSettings(process.argv.slice(2));
  const dest = s.logFile !== undefined ? pino.destination({ dest: s.logFile, append: true, mkdir: true, sync: true }) : pino.destination(2);
  const logger = createLogger(`osd.${s.id}`, { level: s.logLevel, destination: dest });
  const keyring = new FileKeyring(s.keyringPath, realClock, logger);
  if (!existsSync(blockPath(s.dataDir)) && !existsSync(metaPath(s.dataDir))) {
    logger.info({ dir: s.dataDir, sizeBytes: s.blockSizeBytes, preallocate: s.blockPreallocate }, 'creating the store (first start)');
    await mkfs(s.dataDir, { sizeBytes: s.blockSizeBytes, preallocate: s.blockPreallocate });
  }
  const store = new BlockStore(s.dataDir, { logger });
  const osd = createOsd({
    id: s.id, mons: s.mons, keyring, publicAddr: s.addr, hbAddr: s.hbAddr, host: s.host, weight: s.weight, config: s.config,
    ...(s.fsid !== undefined ? { fsid: s.fsid } : {}),
    ...(s.rack !== undefined ? { rack: s.rack } : {}),
    ...(s.deviceClass !== undefined ? { deviceClass: s.deviceClass } : {}),
  })({ env: realEnv(logger), store, transport: createTransport(s.transport), hbTransport: createTransport(s.transport) });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    osd.stop().then(
      () => process.exit(0),
      (err: unknown) => { logger.error({ err }, 'stop failed'); process.exit(1); },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await osd.start();
  process.stdout.write(`osd.${s.id} ready addr=${osd.publicAddress} hb=${osd.hbAddress} pid=${process.pid}\n`);
}

main().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  process.stderr.write(`osd: ${e.message ?? String(err)}${e.code !== undefined ? ` (${e.code})` : ''}\n`);
  process.exit(e.code === 'EINVAL' ? 2 : 1);
});
