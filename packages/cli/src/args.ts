/**
 * A small argument reader shaped for Ceph-style commands: repeated flags (`--out 3 --out 5`),
 * flags with two values (`--weight OSD W`), and one clear error line for anything unexpected.
 */
import { NacreError } from '@nacre/util';

export class UsageError extends NacreError {
  constructor(message: string) {
    super(message, { code: 'EINVAL' });
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** Number of values the flag takes (0 = boolean switch). */
  arity: 0 | 1 | 2;
  /** May appear more than once. */
  repeat?: boolean;
  /** Other spellings (e.g. `-i` for `--input`). */
  aliases?: string[];
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[][]>;
}

export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const byName = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) {
    byName.set(name, name);
    for (const a of s.aliases ?? []) byName.set(a, name);
  }
  const positionals: string[] = [];
  const flags = new Map<string, string[][]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) { positionals.push(arg); continue; }
    let key = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { key = arg.slice(0, eq); inline = arg.slice(eq + 1); }
    const name = byName.get(key);
    if (name === undefined) throw new UsageError(`unknown option ${key}`);
    const s = spec[name]!;
    const values: string[] = [];
    if (inline !== undefined) {
      if (s.arity !== 1) throw new UsageError(`option ${key} does not take '=value'`);
      values.push(inline);
    } else {
      for (let k = 0; k < s.arity; k++) {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`option ${key} needs ${s.arity} value${s.arity > 1 ? 's' : ''}`);
        values.push(v);
      }
    }
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !s.repeat) throw new UsageError(`option ${key} given more than once`);
    list.push(values);
    flags.set(name, list);
  }
  return { positionals, flags };
}

export function flagString(p: ParsedArgs, name: string): string | undefined {
  return p.flags.get(name)?.[0]?.[0];
}

export function requireString(p: ParsedArgs, name: string): string {
  const v = flagString(p, name);
  if (v === undefined) throw new UsageError(`missing required option ${name}`);
  return v;
}

export function flagBool(p: ParsedArgs, name: string): boolean {
  return p.flags.has(name);
}

/** Parse a decimal integer strictly (no trailing junk, no floats). */
export function parseIntStrict(text: string, what: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[-+]?\d+$/.test(text)) throw new UsageError(`${what} must be an integer, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function flagInt(p: ParsedArgs, name: string, min?: number, max?: number): number | undefined {
  const v = flagString(p, name);
  return v === undefined ? undefined : parseIntStrict(v, name, min, max);
}

export function requireInt(p: ParsedArgs, name: string, min?: number, max?: number): number {
  return parseIntStrict(requireString(p, name), name, min, max);
}
