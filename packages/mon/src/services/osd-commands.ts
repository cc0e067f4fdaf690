/**
 * `osd …` commands that change OSD state: create, out/in/down, rm, reweight, primary-affinity,
 * set/unset FLAG; and the read-only `osd stat`, `osd ls`.
 *
 * Semantics follow Ceph's, with these choices:
 * - `osd out|in|down` validate every id first and change nothing if one is unknown; an id already
 *   in the requested state is reported, not an error.
 * - `osd rm` is Ceph's `osd purge`: the OSD must be down; it leaves the OSDMap, the CRUSH map, the
 *   auth table and every pg_temp/primary_temp/upmap entry naming it, in one epoch.
 * - `osd in` sets the in-weight to 1.0 (Ceph's CEPH_OSD_IN), `osd out` to 0; either clears the
 *   auto-out mark, so an OSD an operator marked out stays out when it boots.
 */
import { removeItem } from '@nacre/crush';
import { OSDMAP_FLAGS, OSD_ID_MAX, WEIGHT_ONE, countOsds, osdExists, type OsdMap, type OsdMapFlag } from '@nacre/osdmap';
import { NacreError } from '@nacre/util';
import type { CommandArgs } from './command-args.js';
import { readCommand, writeCommand, type CommandTable } from './command-spec.js';
import { crushEdit } from './crush-edits.js';
import type { Draft, OsdMapChange } from './draft.js';
import { plural } from './format.js';
import { maxOsdMax } from './limits.js';
import type { MonState } from './mon-state.js';

const uuidRe = /^[A-Za-z0-9-]{1,64}$/;

export function requireOsd(map: OsdMap, id: number): void {
  if (!osdExists(map, id)) throw new NacreError(`osd.${id} does not exist`, { code: 'ENOENT' });
}

export function osdIdForUuid(state: MonState, uuid: string): number | undefined {
  for (const [id, m] of state.osdMeta) if (m.uuid === uuid) return id;
  return undefined;
}

function lowestFreeOsdId(map: OsdMap): number {
  let id = 0;
  while (id < map.maxOsd && map.osds[id]!.exists) id++;
  return id;
}

/** Create OSD `id` (exists, down, out); grows max_osd. */
export function createOsd(draft: Draft, id: number, uuid: string): void {
  if (id >= Math.min(OSD_ID_MAX, maxOsdMax)) throw new NacreError(`osd id ${id} is too large (ids go up to ${maxOsdMax - 1})`, { code: 'ERANGE' });
  const map = draft.map;
  draft.editMap({ ...(id >= map.maxOsd ? { newMaxOsd: id + 1 } : {}), osdStates: [{ id, exists: true }] });
  draft.setOsdMeta(id, { uuid, bootId: '', autoOut: false });
}

function osdCreate(draft: Draft, a: CommandArgs): ReturnType<typeof reply> {
  const uuid = a.optStr('uuid');
  if (uuid !== undefined && !uuidRe.test(uuid)) a.fail(`bad uuid '${uuid}'`);
  const id = a.optOsdId('id');
  if (uuid !== undefined) {
    const owner = osdIdForUuid(draft.state, uuid);
    if (owner !== undefined) {
      if (id !== undefined && id !== owner) throw new NacreError(`uuid ${uuid} already belongs to osd.${owner}`, { code: 'EEXIST' });
      return reply({ osdid: owner }, `${owner}`);
    }
  }
  if (id !== undefined && osdExists(draft.map, id)) {
    const meta = draft.state.osdMeta.get(id);
    if (uuid === undefined || (meta !== undefined && meta.uuid !== '' && meta.uuid !== uuid)) {
      throw new NacreError(`osd.${id} already exists${meta?.uuid ? ` (uuid ${meta.uuid})` : ''}`, { code: 'EEXIST' });
    }
    draft.setOsdMeta(id, { uuid, bootId: meta?.bootId ?? '', autoOut: meta?.autoOut ?? false });
    return reply({ osdid: id }, `${id}`);
  }
  const newId = id ?? lowestFreeOsdId(draft.map);
  createOsd(draft, newId, uuid ?? '');
  return reply({ osdid: newId }, `${newId}`);
}

function reply(data: unknown, text: string): { data: unknown; text: string } {
  return { data, text };
}

/** Apply `change(id)` to every id, validated all together first. */
function forEachOsd(draft: Draft, a: CommandArgs, verb: string, already: (id: number) => boolean, change: (id: number) => void): { data: unknown; text: string } {
  const ids = a.osdIds();
  for (const id of ids) requireOsd(draft.map, id);
  const done: number[] = [];
  const skipped: number[] = [];
  for (const id of ids) {
    if (already(id)) skipped.push(id);
    else {
      change(id);
      done.push(id);
    }
  }
  const parts = [
    ...(done.length > 0 ? [`marked ${verb} ${done.map((i) => `osd.${i}`).join(', ')}.`] : []),
    ...skipped.map((i) => `osd.${i} is already ${verb}.`),
  ];
  return reply({ [verb]: done, already: skipped }, parts.join(' '));
}

function clearAutoOut(draft: Draft, id: number): void {
  const meta = draft.state.osdMeta.get(id);
  if (meta?.autoOut) draft.setOsdMeta(id, { ...meta, autoOut: false });
}

/** Remove OSD `id` everywhere it appears (Ceph's `osd purge`). It must be down. */
export function purgeOsd(draft: Draft, id: number): void {
  const map = draft.map;
  if (map.crush.devices.has(id)) {
    const crush = crushEdit(`cannot remove osd.${id} from the CRUSH map`, () => removeItem(map.crush, id));
    draft.editMap({ newCrush: crush });
  }
  const m = draft.map;
  const change: OsdMapChange = {
    osdStates: [{ id, exists: false }],
    newPgTemp: [...m.pgTemp].filter(([, osds]) => osds.includes(id)).map(([k]) => [k, []]),
    newPrimaryTemp: [...m.primaryTemp].filter(([, o]) => o === id).map(([k]) => [k, -1]),
    removedPgUpmap: [...m.pgUpmap].filter(([, osds]) => osds.includes(id)).map(([k]) => k),
    removedPgUpmapItems: [...m.pgUpmapItems].filter(([, items]) => items.some(([f, t]) => f === id || t === id)).map(([k]) => k),
  };
  draft.editMap(change);
  draft.setOsdMeta(id, null);
  if (draft.state.auth.has(`osd.${id}`)) draft.setAuth(`osd.${id}`, null);
}

function osdRm(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const ids = a.osdIds();
  for (const id of ids) {
    requireOsd(draft.map, id);
    if (draft.map.osds[id]!.up) throw new NacreError(`osd.${id} is still up; stop it first (nacre cluster stop osd.${id}) or mark it down (nacre osd down ${id})`, { code: 'EBUSY' });
  }
  for (const id of ids) purgeOsd(draft, id);
  return reply({ removed: ids }, `removed ${ids.map((i) => `osd.${i}`).join(', ')}`);
}

function weightArg(a: CommandArgs): number {
  const w = a.float('weight', { min: 0, max: 1 });
  return Math.min(WEIGHT_ONE, Math.round(w * WEIGHT_ONE));
}

function osdReweight(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const id = a.osdId(a.str('id'));
  requireOsd(draft.map, id);
  const w = weightArg(a);
  if (draft.map.osds[id]!.weight !== w) {
    draft.editMap({ newWeights: [[id, w]] });
    if (w > 0) clearAutoOut(draft, id);
  }
  return reply({ osd: id, weight: w / WEIGHT_ONE }, `reweighted osd.${id} to ${(w / WEIGHT_ONE).toFixed(5)} (${w.toString(16)})`);
}

function osdPrimaryAffinity(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const id = a.osdId(a.str('id'));
  requireOsd(draft.map, id);
  const w = weightArg(a);
  if (draft.map.osds[id]!.primaryAffinity !== w) draft.editMap({ newPrimaryAffinity: [[id, w]] });
  return reply({ osd: id, primary_affinity: w / WEIGHT_ONE }, `set osd.${id} primary-affinity to ${(w / WEIGHT_ONE).toFixed(5)} (${w.toString(16)})`);
}

function flagArg(a: CommandArgs): OsdMapFlag {
  const f = a.str('flag', 'key');
  if (!(OSDMAP_FLAGS as readonly string[]).includes(f)) a.fail(`unknown flag '${f}' (flags: ${OSDMAP_FLAGS.join(', ')})`);
  return f as OsdMapFlag;
}

function osdSetFlag(draft: Draft, a: CommandArgs, on: boolean): { data: unknown; text: string } {
  const flag = flagArg(a);
  const flags = new Set(draft.map.flags);
  if (flags.has(flag) === on) return reply({ flag, set: on }, `${flag} is already ${on ? 'set' : 'unset'}`);
  if (on) flags.add(flag);
  else flags.delete(flag);
  draft.editMap({ newFlags: [...flags].sort() });
  return reply({ flag, set: on }, `${flag} is ${on ? 'set' : 'unset'}`);
}

export function osdStat(state: MonState): { data: unknown; text: string } {
  const m = state.osdmap;
  const c = countOsds(m);
  const flags = [...m.flags].sort();
  return reply(
    { epoch: m.epoch, num_osds: c.num, num_up_osds: c.up, num_in_osds: c.in, flags },
    `${plural(c.num, 'osd')}: ${c.up} up, ${c.in} in; epoch: e${m.epoch}${flags.length > 0 ? `; flags ${flags.join(',')}` : ''}`,
  );
}

function osdLs(state: MonState): { data: unknown; text: string } {
  const ids: number[] = [];
  for (let i = 0; i < state.osdmap.maxOsd; i++) if (state.osdmap.osds[i]!.exists) ids.push(i);
  return reply(ids, ids.join('\n'));
}

export const osdCommands: CommandTable = {
  'osd create': writeCommand(osdCreate),
  'osd out': writeCommand((d, a) => forEachOsd(d, a, 'out', (id) => d.map.osds[id]!.weight === 0, (id) => {
    d.editMap({ newWeights: [[id, 0]] });
    clearAutoOut(d, id);
  })),
  'osd in': writeCommand((d, a) => forEachOsd(d, a, 'in', (id) => d.map.osds[id]!.weight > 0, (id) => {
    d.editMap({ newWeights: [[id, WEIGHT_ONE]] });
    clearAutoOut(d, id);
  })),
  'osd down': writeCommand((d, a) => forEachOsd(d, a, 'down', (id) => !d.map.osds[id]!.up, (id) => {
    d.editMap({ osdStates: [{ id, up: false, downAt: d.pendingEpoch }] });
  })),
  'osd rm': writeCommand(osdRm),
  'osd reweight': writeCommand(osdReweight),
  'osd primary-affinity': writeCommand(osdPrimaryAffinity),
  'osd set': writeCommand((d, a) => osdSetFlag(d, a, true)),
  'osd unset': writeCommand((d, a) => osdSetFlag(d, a, false)),
  'osd stat': readCommand((s) => osdStat(s)),
  'osd ls': readCommand((s) => osdLs(s)),
};
