/**
 * @nacre/osd — the OSD daemon: PGs with their logs in the store, primary-copy replication,
 * peering on every interval change (pure state machine + pure log merge), log-based recovery,
 * heartbeats and reports to the monitors. Design and safety argument: docs/osd.md.
 *
 * ```ts
 * import { createOsd } from '@nacre/osd';
 * import { BlockStore } from '@nacre/objectstore';
 * import { Keyring } from '@nacre/msgr';
 * import { realEnv, createLogger } from '@nacre/util';
 *
 * const osd = createOsd({
 *   id: 0, mons: ['127.0.0.1:6789'], keyring: Keyring.readFile('run/keyring'),
 *   publicAddr: '127.0.0.1:6800', hbAddr: '127.0.0.1:6801', host: 'host-a',
 * })({ env: realEnv(createLogger('osd.0')), store: new BlockStore('run/osd.0') });
 * await osd.start();
 * ```
 * The daemon entry is `node packages/osd/dist/main.js --id 0 --mon 127.0.0.1:6789 ...` (main.ts).
 */
export * from './config.js';
export * from './eversion.js';
export * from './pg-types.js';
export * from './pg-log.js';
export * from './log-merge.js';
export * from './past-intervals.js';
export * from './interval-tracker.js';
export * from './peering-machine.js';
export * from './mutations.js';
export * from './object-name.js';
export * from './op-eval.js';
export * from './messages.js';
export * from './mon-link.js';
export * from './map-history.js';
export { Pg, type PgHost } from './pg.js';
export { Osd, createOsd, type OsdInit, type OsdComponents, type OsdStatus } from './osd.js';
export {
  META_CID, OBJECT_INFO_ATTR, USER_ATTR_PREFIX, pgCollection, pgidOfCollection, loadPg, type LoadedPg,
} from './store-layout.js';
export { encodeObjectInfo, decodeObjectInfo, type ObjectInfo } from './pg-codec.js';
