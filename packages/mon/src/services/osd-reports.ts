/**
 * What OSDs tell the monitor, as changes to the leader's draft:
 *
 * - boot (mon.osd_boot): a new id is created; the OSD is placed in CRUSH under its host (root →
 *   rack → host created as needed, straw2) with the boot weight, or moved there if the cluster file
 *   moved it (Ceph's osd_crush_update_on_start; the weight is kept); it is marked up with its
 *   address and up_from = the new epoch; a new OSD, or one the down→out timer marked out, is
 *   marked in unless `noin`. A store uuid different from the one registered for the id — or a
 *   uuid registered for another id — is refused (EEXIST): a wrong data directory must never join
 *   under someone else's name. `noup` refuses boots (EAGAIN; the OSD retries).
 *   A boot from an OSD the map shows up is either a resend (same address, and the same bootId if it
 *   sends one: answered with its up_from, nothing changes) or a restart: then this proposal marks it
 *   down and the boot is retried in the next one, so the restart is a new interval (down, then up
 *   in a later epoch) that every peer sees — never a silent down+up inside one epoch.
 * - alive (mon.osd_alive): up_thru raised to what the OSD asks (its map epoch), never lowered.
 * - pg_temp (mon.osd_pg_temp): entries checked (PG exists, OSDs exist, at most `size` of them,
 *   no repeats; CRUSH_ITEM_NONE holes only in EC pools); an empty list clears.
 * - failure decisions (FailureTracker.tick): down and auto-out marks, re-checked against the
 *   draft (nodown/noout may have been set since).
 */
import { CRUSH_ITEM_NONE } from '@nacre/crush';
import { WEIGHT_ONE, osdExists, parsePgId, pgToUpActing, type OsdMap } from '@nacre/osdmap';
import type { OsdBoot, PgTempRequest } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { ancestorOfType, ensureHostChain, moveItem, placeDevice } from './crush-edits.js';
import type { Draft } from './draft.js';
import { checkItemName } from './names.js';
import { createOsd, osdIdForUuid, requireOsd } from './osd-commands.js';

export interface BootResult {
  /** The epoch in which the OSD is (or already was) up. */
  epoch: number;
  /** The OSD was still marked up: this proposal marks it down; run the boot again in the next one. */
  retry: boolean;
}

function bootLocation(boot: OsdBoot): { host: string; rack?: string; root?: string } {
  checkItemName(boot.host, 'host name');
  if (boot.rack !== undefined) checkItemName(boot.rack, 'rack name');
  if (boot.root !== undefined) checkItemName(boot.root, 'root name');
  return { host: boot.host, ...(boot.rack !== undefined ? { rack: boot.rack } : {}), ...(boot.root !== undefined ? { root: boot.root } : {}) };
}

function checkIdentity(draft: Draft, boot: OsdBoot): void {
  const id = boot.osd;
  const owner = osdIdForUuid(draft.state, boot.uuid);
  if (owner !== undefined && owner !== id) {
    throw new NacreError(`store uuid ${boot.uuid} belongs to osd.${owner}, not osd.${id}: refusing the boot (wrong data directory or OSD id?)`, { code: 'EEXIST' });
  }
  const meta = draft.state.osdMeta.get(id);
  if (osdExists(draft.map, id) && meta !== undefined && meta.uuid !== '' && meta.uuid !== boot.uuid) {
    throw new NacreError(
      `osd.${id} is registered with store uuid ${meta.uuid}, but this store is ${boot.uuid}: refusing the boot `
      + `(wrong data directory? to replace the OSD, remove the old one first: nacre osd rm ${id})`,
      { code: 'EEXIST' },
    );
  }
}

function placeInCrush(draft: Draft, boot: OsdBoot): void {
  const loc = bootLocation(boot);
  const crush = draft.map.crush;
  if (!crush.devices.has(boot.osd)) {
    draft.editMap({ newCrush: placeDevice(crush, boot.osd, boot.weight, loc, boot.deviceClass) });
    return;
  }
  if (ancestorOfType(crush, boot.osd, 'host') === boot.host) return;
  draft.editMap({ newCrush: moveItem(ensureHostChain(crush, loc), boot.osd, boot.host) });
}

export function applyOsdBoot(draft: Draft, boot: OsdBoot): BootResult {
  const id = boot.osd;
  if (draft.map.flags.has('noup')) throw new NacreError(`the noup flag is set: osd.${id} stays down until 'nacre osd unset noup'`, { code: 'EAGAIN' });
  bootLocation(boot);
  checkIdentity(draft, boot);
  const existed = osdExists(draft.map, id);
  if (!existed) createOsd(draft, id, boot.uuid);
  const o = draft.map.osds[id]!;
  const meta = draft.state.osdMeta.get(id) ?? { uuid: boot.uuid, bootId: '', autoOut: false };
  if (o.up) {
    // The same process at the same address is a resend; anything else is a restart.
    const resend = o.addr === boot.addr && (boot.bootId === undefined || meta.bootId === boot.bootId);
    if (resend) return { epoch: o.upFrom, retry: false };
    draft.editMap({ osdStates: [{ id, up: false, downAt: draft.pendingEpoch }] });
    return { epoch: draft.pendingEpoch, retry: true };
  }
  placeInCrush(draft, boot);
  draft.editMap({ osdStates: [{ id, up: true, addr: boot.addr, upFrom: draft.pendingEpoch }] });
  const neverBooted = o.upFrom === 0;
  const markIn = (neverBooted || meta.autoOut) && o.weight === 0 && !draft.map.flags.has('noin');
  if (markIn) draft.editMap({ newWeights: [[id, WEIGHT_ONE]] });
  draft.setOsdMeta(id, { uuid: boot.uuid, bootId: boot.bootId ?? '', autoOut: meta.autoOut && !markIn && o.weight === 0 });
  return { epoch: draft.pendingEpoch, retry: false };
}

export function applyOsdAlive(draft: Draft, osd: number, upThru: number): { epoch: number } {
  requireOsd(draft.map, osd);
  const o = draft.map.osds[osd]!;
  if (!o.up) throw new NacreError(`osd.${osd} is down; it must boot before it asks for up_thru`, { code: 'EAGAIN' });
  if (upThru > draft.base.osdmap.epoch) throw new NacreError(`up_thru ${upThru} is beyond the current epoch ${draft.base.osdmap.epoch}`, { code: 'EINVAL' });
  if (o.upThru >= upThru) return { epoch: draft.base.osdmap.epoch };
  draft.editMap({ osdStates: [{ id: osd, upThru }] });
  return { epoch: draft.pendingEpoch };
}

function checkPgTempEntry(map: OsdMap, pgid: string, osds: readonly number[]): string {
  const pg = parsePgId(pgid);
  const pool = map.pools.get(pg.pool);
  if (pool === undefined) throw new NacreError(`pg_temp ${pgid}: pool ${pg.pool} does not exist`, { code: 'ENOENT' });
  if (pg.seed >= pool.pgNum) throw new NacreError(`pg_temp ${pgid}: pool '${pool.name}' has ${pool.pgNum} PGs`, { code: 'ENOENT' });
  if (osds.length > pool.size) throw new NacreError(`pg_temp ${pgid}: ${osds.length} OSDs for a pool of size ${pool.size}`, { code: 'EINVAL' });
  const seen = new Set<number>();
  for (const osd of osds) {
    if (osd === CRUSH_ITEM_NONE) {
      if (pool.type !== 'erasure') throw new NacreError(`pg_temp ${pgid}: holes (NONE) are only allowed in erasure pools`, { code: 'EINVAL' });
      continue;
    }
    if (!osdExists(map, osd)) throw new NacreError(`pg_temp ${pgid}: osd.${osd} does not exist`, { code: 'ENOENT' });
    if (seen.has(osd)) throw new NacreError(`pg_temp ${pgid}: osd.${osd} appears twice`, { code: 'EINVAL' });
    seen.add(osd);
  }
  return `${pg.pool}.${pg.seed.toString(16)}`; // canonical spelling
}

export function applyOsdPgTemp(draft: Draft, req: PgTempRequest): { epoch: number } {
  const map = draft.map;
  const changes: [string, number[]][] = [];
  for (const [pgid, osds] of req.pgTemp) {
    const key = checkPgTempEntry(map, pgid, osds);
    const cur = map.pgTemp.get(key);
    const same = cur !== undefined ? cur.length === osds.length && cur.every((o, i) => o === osds[i]) : osds.length === 0;
    if (!same) changes.push([key, [...osds]]);
  }
  if (changes.length === 0) return { epoch: draft.base.osdmap.epoch };
  draft.editMap({ newPgTemp: changes });
  return { epoch: draft.pendingEpoch };
}

/**
 * Ceph's clean_temps: drop pg_temp entries that no longer matter — equal to the PG's up set, or
 * naming no OSD that is up — so a forgotten entry cannot pin a PG's acting set forever.
 */
export function cleanPgTemps(draft: Draft): void {
  const map = draft.map;
  const drop: [string, number[]][] = [];
  for (const [key, osds] of map.pgTemp) {
    const anyUp = osds.some((o) => o !== CRUSH_ITEM_NONE && o < map.maxOsd && map.osds[o]!.up);
    let equalsUp = false;
    if (anyUp) {
      const up = pgToUpActing(map, parsePgId(key)).up;
      equalsUp = up.length === osds.length && up.every((o, i) => o === osds[i]);
    }
    if (!anyUp || equalsUp) drop.push([key, []]);
  }
  if (drop.length > 0) draft.editMap({ newPgTemp: drop });
}

export interface FailureMark {
  osd: number;
  /** Why: 'reports' (peers), 'immediate' (connection refused), 'beacon' (no beacon). */
  reason: 'reports' | 'immediate' | 'beacon';
}

export function applyFailureMarks(draft: Draft, down: readonly FailureMark[], out: readonly number[]): { down: number[]; out: number[] } {
  const marked = { down: [] as number[], out: [] as number[] };
  if (!draft.map.flags.has('nodown')) {
    const states = down.filter((d) => osdExists(draft.map, d.osd) && draft.map.osds[d.osd]!.up).map((d) => ({ id: d.osd, up: false, downAt: draft.pendingEpoch }));
    if (states.length > 0) draft.editMap({ osdStates: states });
    marked.down = states.map((s) => s.id);
  }
  if (!draft.map.flags.has('noout')) {
    for (const osd of out) {
      if (!osdExists(draft.map, osd) || draft.map.osds[osd]!.up || draft.map.osds[osd]!.weight === 0) continue;
      draft.editMap({ newWeights: [[osd, 0]] });
      const meta = draft.state.osdMeta.get(osd) ?? { uuid: '', bootId: '', autoOut: false };
      draft.setOsdMeta(osd, { ...meta, autoOut: true });
      marked.out.push(osd);
    }
  }
  return marked;
}
