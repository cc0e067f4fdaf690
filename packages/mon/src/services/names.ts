/**
 * Names the service layer accepts from commands and checks again when decoding state: pool names,
 * CRUSH item names, config sections and keys. One place, so a name accepted by a command always
 * survives a snapshot round trip.
 */
import { entityNameProblem } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { configKeyBytesMax, nameBytesMax } from './limits.js';

/** CRUSH's item-name alphabet (crushtool's), also used for pool names so they print unquoted. */
const itemNameRe = /^[A-Za-z0-9_.-]+$/;
const configKeyRe = /^[a-z][a-z0-9_]*$/;
export const CONFIG_SECTIONS = ['global', 'mon', 'osd', 'client'] as const;

export function checkItemName(name: string, what: string): string {
  if (name.length < 1 || Buffer.byteLength(name) > nameBytesMax || !itemNameRe.test(name)) {
    throw new NacreError(`invalid ${what} '${name}': use 1..${nameBytesMax} of letters, digits, '-', '_', '.'`, { code: 'EINVAL' });
  }
  return name;
}

export function checkPoolName(name: string): string {
  return checkItemName(name, 'pool name');
}

/** `global`, `mon`, `osd`, `client`, or an entity name (`osd.3`). */
export function configWhoProblem(who: string): string | null {
  if ((CONFIG_SECTIONS as readonly string[]).includes(who)) return null;
  const p = entityNameProblem(who);
  return p === null ? null : `expected global, mon, osd, client or a daemon name like osd.3 (${p})`;
}

export function checkConfigWho(who: string): string {
  const p = configWhoProblem(who);
  if (p !== null) throw new NacreError(`invalid config section '${who}': ${p}`, { code: 'EINVAL' });
  return who;
}

export function checkConfigKey(key: string): string {
  if (!configKeyRe.test(key) || key.length > configKeyBytesMax) {
    throw new NacreError(`invalid config option name '${key}': use lower-case letters, digits and '_' (e.g. mon_osd_down_out_interval)`, { code: 'EINVAL' });
  }
  return key;
}
