/**
 * `config set|get|rm|dump`: the centralized configuration (Ceph's `ceph config`), replicated by
 * Paxos. Sections are `global`, `mon`, `osd`, `client` or one daemon (`osd.3`); a daemon's
 * effective value of an option is the most specific one (daemon, then its kind, then global).
 * Options the monitor itself reads (mon-options.ts) are validated at `config set`.
 */
import { entityNameProblem, type MonCommandReply } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import type { CommandArgs } from './command-args.js';
import { readCommand, writeCommand, type CommandTable } from './command-spec.js';
import type { Draft } from './draft.js';
import { configEntriesMax, configValueBytesMax } from './limits.js';
import { configKey, type ConfigEntry, type MonState } from './mon-state.js';
import { parseMonOption } from './mon-options.js';
import { checkConfigKey, checkConfigWho } from './names.js';

/** Sections consulted for `who`, most specific first. */
export function configSectionsFor(who: string): string[] {
  if (who === 'global') return ['global'];
  if (entityNameProblem(who) === null) return [who, who.slice(0, who.indexOf('.')), 'global'];
  return [who, 'global'];
}

/** Effective options for `who`: key → { value, section it came from }. */
export function effectiveConfig(state: MonState, who: string): Map<string, { value: string; section: string }> {
  const out = new Map<string, { value: string; section: string }>();
  const sections = configSectionsFor(who);
  for (const section of [...sections].reverse()) {
    for (const e of state.config.values()) if (e.who === section) out.set(e.key, { value: e.value, section });
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function configSet(draft: Draft, a: CommandArgs): MonCommandReply {
  const who = checkConfigWho(a.str('who'));
  const key = checkConfigKey(a.str('key', 'name'));
  const value = a.optStr('value');
  if (value === undefined) a.fail("missing argument 'value'");
  if (Buffer.byteLength(value) > configValueBytesMax) a.fail(`value longer than ${configValueBytesMax} bytes`);
  parseMonOption(key, value);
  const k = configKey(who, key);
  if (draft.state.config.get(k)?.value === value) return { data: { who, key, value }, text: `${who} ${key} is already ${value}` };
  if (!draft.state.config.has(k) && draft.state.config.size >= configEntriesMax) {
    throw new NacreError(`the config already holds ${configEntriesMax} entries`, { code: 'ENOSPC' });
  }
  draft.setConfig(who, key, value);
  return { data: { who, key, value }, text: `set ${who} ${key} = ${value}` };
}

function configGet(state: MonState, a: CommandArgs): MonCommandReply {
  const who = checkConfigWho(a.str('who'));
  const eff = effectiveConfig(state, who);
  const key = a.optStr('key', 'name');
  if (key !== undefined) {
    const e = eff.get(checkConfigKey(key));
    if (e === undefined) throw new NacreError(`${who} has no value for ${key} (set one with: nacre config set ${who} ${key} VALUE)`, { code: 'ENOENT' });
    return { data: { who, key, value: e.value, section: e.section }, text: e.value };
  }
  const entries = [...eff].map(([k, e]) => ({ key: k, value: e.value, section: e.section }));
  return { data: entries, text: entries.map((e) => `${e.key} = ${e.value}  (${e.section})`).join('\n') };
}

function configRm(draft: Draft, a: CommandArgs): MonCommandReply {
  const who = checkConfigWho(a.str('who'));
  const key = checkConfigKey(a.str('key', 'name'));
  if (!draft.state.config.has(configKey(who, key))) return { data: { who, key, removed: false }, text: `${who} ${key} was not set` };
  draft.setConfig(who, key, null);
  return { data: { who, key, removed: true }, text: `removed ${who} ${key}` };
}

function configDump(state: MonState): MonCommandReply {
  const order = (e: ConfigEntry): string => `${['global', 'mon', 'osd', 'client'].indexOf(e.who) >= 0 ? '0' : '1'}${e.who} ${e.key}`;
  const entries = [...state.config.values()].sort((x, y) => (order(x) < order(y) ? -1 : 1));
  return {
    data: entries.map((e) => ({ section: e.who, name: e.key, value: e.value })),
    text: entries.map((e) => `${e.who.padEnd(12)} ${e.key.padEnd(40)} ${e.value}`).join('\n'),
  };
}

export const configCommands: CommandTable = {
  'config set': writeCommand(configSet),
  'config get': readCommand(configGet),
  'config rm': writeCommand(configRm),
  'config dump': readCommand(configDump),
};
