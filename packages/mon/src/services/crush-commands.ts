/**
 * `osd crush …` commands: add (or relocate/reweight) an OSD, move an item, remove an item,
 * reweight a device, add a bucket. Weights are CRUSH weights as decimals (1.0 = 0x10000, Ceph's
 * convention of about 1.0 per TiB is up to the operator), converted exactly as crushtool does.
 */
import { CRUSH_MAX_DEVICE_WEIGHT, StepOp, addBucket, removeItem, setItemWeight, weightFromFloat } from '@nacre/crush';
import { NacreError } from '@nacre/util';
import type { CommandArgs } from './command-args.js';
import { writeCommand, type CommandTable } from './command-spec.js';
import {
  DEFAULT_ROOT, crushEdit, ensureHostChain, itemIdByName, moveItem, parentOf, placeDevice, typeIdByName, typeName,
} from './crush-edits.js';
import type { Draft } from './draft.js';
import { checkItemName } from './names.js';
import { requireOsd } from './osd-commands.js';

function crushWeightArg(a: CommandArgs): number {
  const w = a.float('weight', { min: 0, max: CRUSH_MAX_DEVICE_WEIGHT / 0x10000 });
  return weightFromFloat(w);
}

function resolveItem(draft: Draft, name: string): number {
  const id = itemIdByName(draft.map.crush, name);
  if (id === undefined) throw new NacreError(`no CRUSH item named '${name}'`, { code: 'ENOENT' });
  return id;
}

/** `osd crush add ID WEIGHT host=H [rack=R] [root=ROOT] [class=C]`: add, or move/reweight if present. */
function crushAdd(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const id = a.osdId(a.str('id'));
  requireOsd(draft.map, id);
  const weight = crushWeightArg(a);
  const host = checkItemName(a.str('host'), 'host name');
  const rack = a.optStr('rack');
  const root = a.optStr('root') ?? DEFAULT_ROOT;
  const cls = a.optStr('class');
  if (rack !== undefined) checkItemName(rack, 'rack name');
  checkItemName(root, 'root name');
  if (cls !== undefined) checkItemName(cls, 'device class');
  const loc = { host, root, ...(rack !== undefined ? { rack } : {}) };
  let crush = draft.map.crush;
  if (!crush.devices.has(id)) {
    crush = placeDevice(crush, id, weight, loc, cls);
    draft.editMap({ newCrush: crush });
    return { data: { osd: id, host, weight: weight / 0x10000 }, text: `add item id ${id} name 'osd.${id}' weight ${(weight / 0x10000).toFixed(5)} at location {host=${host}${rack ? `,rack=${rack}` : ''},root=${root}} to crush map` };
  }
  if (cls !== undefined && crush.devices.get(id)!.deviceClass !== cls) {
    throw new NacreError(`osd.${id} already has device class '${crush.devices.get(id)!.deviceClass ?? ''}'; changing classes is not supported`, { code: 'EINVAL' });
  }
  crush = ensureHostChain(crush, loc);
  crush = moveItem(crush, id, host);
  crush = crushEdit(`cannot reweight osd.${id}`, () => setItemWeight(crush, id, weight));
  draft.editMap({ newCrush: crush });
  return { data: { osd: id, host, weight: weight / 0x10000 }, text: `updated item id ${id} name 'osd.${id}' weight ${(weight / 0x10000).toFixed(5)} at location {host=${host}} in crush map` };
}

function crushMove(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const name = a.str('name');
  const parent = a.str('parent');
  const id = resolveItem(draft, name);
  const before = draft.map.crush;
  const crush = moveItem(before, id, parent);
  if (crush === before) return { data: { name, parent }, text: `no need to move item '${name}': already under '${parent}'` };
  draft.editMap({ newCrush: crush });
  return { data: { name, parent }, text: `moved item '${name}' to '${parent}'` };
}

function crushRemove(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const name = a.str('name');
  const crush = draft.map.crush;
  const id = resolveItem(draft, name);
  if (id < 0) {
    const b = crush.buckets.get(id)!;
    if (b.items.length > 0) throw new NacreError(`bucket '${name}' is not empty (${b.items.length} items); move or remove them first`, { code: 'ENOTEMPTY' });
    for (const r of crush.rules.values()) {
      if (r.steps.some((s) => s.op === StepOp.Take && (s.arg1 === id || [...b.classIds.values()].includes(s.arg1)))) {
        throw new NacreError(`bucket '${name}' is used by CRUSH rule '${r.name}'`, { code: 'EBUSY' });
      }
    }
  }
  const next = crushEdit(`cannot remove '${name}'`, () => removeItem(crush, id));
  draft.editMap({ newCrush: next });
  return { data: { name }, text: `removed item id ${id} name '${name}' from crush map` };
}

function crushReweight(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const name = a.str('name');
  const id = resolveItem(draft, name);
  if (id < 0) a.fail(`'${name}' is a bucket; reweight its OSDs instead (a bucket weighs the sum of its items)`);
  const weight = crushWeightArg(a);
  const crush = draft.map.crush;
  if (parentOf(crush, id) === undefined) throw new NacreError(`'${name}' is in no bucket; add it with 'osd crush add' first`, { code: 'ENOENT' });
  const next = crushEdit(`cannot reweight '${name}'`, () => setItemWeight(crush, id, weight));
  draft.editMap({ newCrush: next });
  return { data: { name, weight: weight / 0x10000 }, text: `reweighted item id ${id} name '${name}' to ${(weight / 0x10000).toFixed(5)} in crush map` };
}

function crushAddBucket(draft: Draft, a: CommandArgs): { data: unknown; text: string } {
  const name = checkItemName(a.str('name'), 'bucket name');
  const type = a.str('type');
  const parent = a.optStr('parent');
  const crush = draft.map.crush;
  const typeId = typeIdByName(crush, type);
  if (typeId === undefined) a.fail(`unknown bucket type '${type}' (types: ${[...crush.types.values()].map((t) => t.name).join(', ')})`);
  if (typeId === 0) a.fail(`'${type}' is the device type; buckets hold devices`);
  const existing = itemIdByName(crush, name);
  if (existing !== undefined) {
    const b = existing < 0 ? crush.buckets.get(existing)! : undefined;
    if (b !== undefined && b.type === typeId) return { data: { name, type }, text: `bucket '${name}' already exists` };
    throw new NacreError(`'${name}' already exists as a ${b !== undefined ? typeName(crush, b.type) : 'device'}`, { code: 'EEXIST' });
  }
  if (parent !== undefined) {
    const pid = itemIdByName(crush, parent);
    if (pid === undefined || pid >= 0) throw new NacreError(`no bucket named '${parent}'`, { code: 'ENOENT' });
    if (crush.buckets.get(pid)!.type <= typeId) a.fail(`a ${type} cannot go under ${typeName(crush, crush.buckets.get(pid)!.type)} '${parent}' (the parent must be of a higher type)`);
  }
  const next = crushEdit(`cannot add bucket '${name}'`, () => addBucket(crush, { name, type: typeId, alg: 'straw2', ...(parent !== undefined ? { parent } : {}) }));
  draft.editMap({ newCrush: next });
  return { data: { name, type, id: itemIdByName(next, name) }, text: `added bucket ${name} type ${type}${parent !== undefined ? ` under ${parent}` : ''} to crush map` };
}

export const crushCommands: CommandTable = {
  'osd crush add': writeCommand(crushAdd),
  'osd crush move': writeCommand(crushMove),
  'osd crush remove': writeCommand(crushRemove),
  'osd crush reweight': writeCommand(crushReweight),
  'osd crush add-bucket': writeCommand(crushAddBucket),
};
