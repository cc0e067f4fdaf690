/**
 * @nacre/osdmap — the OSDMap (pools, OSD states, CRUSH map, pg_temp/upmap overlays), epochs and
 * incrementals, and Ceph-identical placement: object → PG → up/acting OSDs.
 *
 * ```ts
 * import { objectToUpActing } from '@nacre/osdmap';
 * const m = objectToUpActing(osdmap, 1, 'rbd_data.1234.0000000000000000');
 * console.log(formatPgId(m.pgid), m.up, m.actingPrimary);
 * ```
 */
export * from './stable-mod.js';
export * from './pgid.js';
export * from './pool.js';
export * from './osdmap.js';
export * from './placement.js';
export * from './incremental.js';
export * from './codec.js';
