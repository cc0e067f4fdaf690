/**
 * Typed access to a command's arguments. The CLI sends what a person typed, so numbers may arrive
 * as strings ("3", "0.5") and OSD ids as `3`, `"3"` or `"osd.3"`; each getter accepts those forms
 * and throws EINVAL naming the command and the argument otherwise.
 */
import type { CommandArg } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { idsPerCommandMax } from './limits.js';

export class CommandArgs {
  constructor(readonly prefix: string, private readonly args: Readonly<Record<string, CommandArg>>) {}

  fail(message: string): never {
    throw new NacreError(`${this.prefix}: ${message}`, { code: 'EINVAL' });
  }

  has(name: string): boolean {
    return this.args[name] !== undefined;
  }

  /** The first of `names` that is present (aliases: `name` / `pool`). */
  private pick(names: readonly string[]): [string, CommandArg | undefined] {
    for (const n of names) if (this.args[n] !== undefined) return [n, this.args[n]];
    return [names[0]!, undefined];
  }

  optStr(...names: string[]): string | undefined {
    const [name, v] = this.pick(names);
    if (v === undefined) return undefined;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') this.fail(`argument '${name}' must be a single value`);
    return v;
  }

  str(...names: string[]): string {
    const v = this.optStr(...names);
    if (v === undefined || v === '') this.fail(`missing argument '${names[0]}'`);
    return v;
  }

  optInt(name: string, range: { min: number; max: number }): number | undefined {
    const v = this.args[name];
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < range.min || n > range.max) this.fail(`argument '${name}' must be an integer in ${range.min}..${range.max}, got ${JSON.stringify(v)}`);
    return n;
  }

  int(name: string, range: { min: number; max: number }): number {
    const n = this.optInt(name, range);
    if (n === undefined) this.fail(`missing argument '${name}'`);
    return n;
  }

  optFloat(name: string, range: { min: number; max: number }): number | undefined {
    const v = this.args[name];
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isFinite(n) || n < range.min || n > range.max) this.fail(`argument '${name}' must be a number in ${range.min}..${range.max}, got ${JSON.stringify(v)}`);
    return n;
  }

  float(name: string, range: { min: number; max: number }): number {
    const n = this.optFloat(name, range);
    if (n === undefined) this.fail(`missing argument '${name}'`);
    return n;
  }

  bool(name: string): boolean {
    const v = this.args[name];
    if (v === undefined) return false;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === '1' || v === 'yes' || v === 1) return true;
    if (v === 'false' || v === '0' || v === 'no' || v === 0) return false;
    this.fail(`argument '${name}' must be true or false`);
  }

  /** OSD ids from `ids` (or `id`): numbers, "3", "osd.3", or lists of those. */
  osdIds(): number[] {
    const [name, v] = this.pick(['ids', 'id']);
    if (v === undefined) this.fail("missing argument 'ids' (OSD ids, e.g. [3] or ['osd.3'])");
    const list: (string | number)[] = Array.isArray(v) ? v : [v as string | number];
    if (list.length === 0) this.fail(`argument '${name}' is empty`);
    if (list.length > idsPerCommandMax) this.fail(`at most ${idsPerCommandMax} OSD ids per command`);
    return [...new Set(list.map((x) => this.osdId(x, name)))];
  }

  optOsdId(name: string): number | undefined {
    const v = this.args[name];
    if (v === undefined) return undefined;
    if (Array.isArray(v) || typeof v === 'boolean') this.fail(`argument '${name}' must be one OSD id`);
    return this.osdId(v, name);
  }

  osdId(v: string | number, name = 'id'): number {
    const text = typeof v === 'number' ? String(v) : v.trim().replace(/^osd\./, '');
    if (!/^(0|[1-9]\d{0,6})$/.test(text)) this.fail(`argument '${name}': '${v}' is not an OSD id (use 3 or osd.3)`);
    return Number(text);
  }

  /** A list of strings (`caps: ['mon', 'allow *']`). */
  strList(name: string): string[] {
    const v = this.args[name];
    if (v === undefined) return [];
    if (Array.isArray(v)) return v.map(String);
    if (typeof v === 'string') return v.split(/\s+/).filter((s) => s !== '');
    this.fail(`argument '${name}' must be a list of words`);
  }
}
