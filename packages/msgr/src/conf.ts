/**
 * `nacre.conf` — the cluster configuration file every daemon, the client library and the CLI
 * read. ONE implementation for everybody: the cluster spawner writes the file with `formatConf` /
 * `ClusterConf.writeFile`, everyone else reads it with `ClusterConf.readFile` / `loadConf`.
 *
 *   # written by `nacre cluster up`
 *   [global]
 *   fsid = 6f1c2d3e-…                 # cluster id: maps of another cluster are refused
 *   mon_host = 127.0.0.1:6789,127.0.0.1:6790,127.0.0.1:6791
 *   keyring = /abs/dir/keyring        # relative paths are relative to this file's directory
 *
 *   [mon.a]
 *   addr = 127.0.0.1:6789
 *   data = /abs/dir/mon.a
 *   [osd.3]
 *   addr = 127.0.0.1:6803
 *   log_file = /abs/dir/osd.3.log
 *
 * Syntax (Ceph-style INI):
 * - `[name]` opens a section: `global`, a daemon type (`mon`, `osd`, `client`) or a daemon
 *   (`mon.a`, `osd.3`, `client.admin`); names are [A-Za-z0-9_.-]+. A section may appear once.
 * - `key = value` inside a section. Keys are normalised as Ceph does: `mon host`, `mon-host` and
 *   `mon_host` are the same key (stored lower case with `_`). A key may appear once per section.
 * - `#` and `;` start a comment at the beginning of a line, or after whitespace inside a line
 *   (`fsid = abc  # cluster id`). A value in double quotes keeps such characters (`"a # b"`),
 *   with `\"` and `\\` escapes.
 * - Unknown keys are kept (tools and later versions add their own); anything else — a line that
 *   is neither, a setting before the first section, a duplicate — is one EINVAL error naming
 *   `FILE:LINE`.
 *
 * Lookups for a daemon fall back like Ceph's: `[osd.3]` → `[osd]` → `[global]`.
 * Which file: `--conf FILE`, else `$NACRE_CONF`, else `./nacre.conf` (`resolveConfPath`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { NacreError } from '@nacre/util';

/** Largest config file read (bytes): a config is a few kilobytes; a huge one is a mistake. */
export const confFileBytesMax = 4 * 1024 * 1024;
/** Sections one file may hold (a daemon each, plus a few type sections). */
export const confSectionsMax = 100_000;
/** Keys one section may hold. */
export const confKeysPerSectionMax = 10_000;
/** Longest value (bytes of UTF-8). */
export const confValueBytesMax = 64 * 1024;
/** The file used when neither `--conf` nor `$NACRE_CONF` names one. */
export const defaultConfName = 'nacre.conf';
/** The environment variable that names the config file. */
export const confEnvVar = 'NACRE_CONF';

const sectionNameRe = /^[A-Za-z0-9_.-]+$/;
const keyRe = /^[A-Za-z][A-Za-z0-9_ -]*$/;

/** Ceph's key normalisation: spaces and dashes are underscores; keys are lower case. */
export function normalizeConfKey(key: string): string {
  return key.trim().toLowerCase().replace(/[ -]+/g, '_');
}

export class ClusterConf {
  private readonly data = new Map<string, Map<string, string>>();

  /**
   * @param source  where the text came from (error messages).
   * @param baseDir directory relative paths in the file (keyring, data, log_file) resolve against;
   *                the file's own directory when read from disk.
   */
  constructor(readonly source = defaultConfName, readonly baseDir: string = process.cwd()) {}

  /** Section names in file order. */
  sections(): string[] {
    return [...this.data.keys()];
  }

  hasSection(name: string): boolean {
    return this.data.has(name);
  }

  /** The keys of one section (a copy), or undefined. */
  section(name: string): Map<string, string> | undefined {
    const s = this.data.get(name);
    return s === undefined ? undefined : new Map(s);
  }

  /** A value from exactly this section. */
  get(section: string, key: string): string | undefined {
    return this.data.get(section)?.get(normalizeConfKey(key));
  }

  /**
   * A value for a daemon or client: `[entity]`, then `[type]` (the part before the dot), then
   * `[global]` — the first that has the key.
   */
  lookup(entity: string, key: string): string | undefined {
    const k = normalizeConfKey(key);
    const dot = entity.indexOf('.');
    const chain = dot > 0 ? [entity, entity.slice(0, dot), 'global'] : [entity, 'global'];
    for (const s of chain) {
      const v = this.data.get(s)?.get(k);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Set a value (creating the section). Validates like the parser. */
  set(section: string, key: string, value: string): void {
    if (!sectionNameRe.test(section)) throw new NacreError(`bad section name [${section}] (expected [A-Za-z0-9_.-]+)`, { code: 'EINVAL' });
    const k = normalizeConfKey(key);
    if (!keyRe.test(k)) throw new NacreError(`bad key ${JSON.stringify(key)}`, { code: 'EINVAL' });
    if (/[\r\n]/.test(value)) throw new NacreError(`value of ${k} must be one line`, { code: 'EINVAL' });
    if (Buffer.byteLength(value) > confValueBytesMax) throw new NacreError(`value of ${k} is longer than ${confValueBytesMax} bytes`, { code: 'EINVAL' });
    let s = this.data.get(section);
    if (s === undefined) {
      if (this.data.size >= confSectionsMax) throw new NacreError(`too many sections (confSectionsMax=${confSectionsMax})`, { code: 'EINVAL' });
      s = new Map();
      this.data.set(section, s);
    }
    if (!s.has(k) && s.size >= confKeysPerSectionMax) {
      throw new NacreError(`too many keys in [${section}] (confKeysPerSectionMax=${confKeysPerSectionMax})`, { code: 'EINVAL' });
    }
    s.set(k, value);
  }

  delete(section: string, key: string): boolean {
    return this.data.get(section)?.delete(normalizeConfKey(key)) ?? false;
  }

  /** `[global] fsid`, if set. */
  get fsid(): string | undefined {
    return this.get('global', 'fsid');
  }

  /**
   * Monitor addresses: `[global] mon_host` (comma/space separated `host:port`), else the `addr`
   * of every `[mon.X]` section. Empty if neither is present.
   */
  monHosts(): string[] {
    const list = this.get('global', 'mon_host');
    if (list !== undefined) return list.split(/[\s,]+/).filter((a) => a !== '');
    const out: string[] = [];
    for (const [name, s] of this.data) {
      const addr = s.get('addr');
      if (name.startsWith('mon.') && addr !== undefined) out.push(addr);
    }
    return out;
  }

  /** Names of the `[mon.X]` sections (X), in file order. */
  monNames(): string[] {
    return this.sections().filter((s) => s.startsWith('mon.')).map((s) => s.slice(4));
  }

  /** A path setting for `entity` (fallback chain as `lookup`), resolved against `baseDir`. */
  path(entity: string, key: string): string | undefined {
    const v = this.lookup(entity, key);
    if (v === undefined || v === '') return undefined;
    return isAbsolute(v) ? v : resolve(this.baseDir, v);
  }

  /** The keyring file of `entity` (`keyring` key, usually in `[global]`). */
  keyringPath(entity = 'global'): string | undefined {
    return this.path(entity, 'keyring');
  }

  /** The file text: a header comment, `[global]` first, then the other sections in order. */
  format(header = 'Nacre cluster configuration (nacre.conf); format: packages/msgr/src/conf.ts'): string {
    const lines = header.split('\n').map((l) => `# ${l}`.trimEnd());
    const names = this.sections().sort((a, b) => (a === 'global' ? -1 : b === 'global' ? 1 : 0));
    for (const name of names) {
      lines.push('', `[${name}]`);
      for (const [k, v] of this.data.get(name)!) lines.push(`${k} = ${quoteIfNeeded(v)}`);
    }
    return lines.join('\n') + '\n';
  }

  static parse(text: string, source = defaultConfName, baseDir: string = process.cwd()): ClusterConf {
    return parseConf(text, source, baseDir);
  }

  /** Read and parse a file; relative paths inside resolve against the file's directory. */
  static readFile(path: string): ClusterConf {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : 'EIO';
      throw new NacreError(`cannot read cluster config ${path}: ${(cause as Error).message}`, { code, cause });
    }
    if (text.length > confFileBytesMax) throw new NacreError(`cluster config ${path} is larger than ${confFileBytesMax} bytes`, { code: 'EFBIG' });
    return parseConf(text, path, dirname(resolve(path)));
  }

  writeFile(path: string, header?: string): void {
    writeFileSync(path, this.format(header), { mode: 0o644 });
  }
}

function quoteIfNeeded(v: string): string {
  if (v === '' || /[#;"\\]/.test(v) || v !== v.trim()) return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return v;
}

/** Parse the text of a config file. Throws NacreError EINVAL `SOURCE:LINE: reason`. */
export function parseConf(text: string, source = defaultConfName, baseDir: string = process.cwd()): ClusterConf {
  const conf = new ClusterConf(source, baseDir);
  const fail = (lineNo: number, why: string): never => {
    throw new NacreError(`${source}:${lineNo}: ${why}`, { code: 'EINVAL' });
  };
  let section: string | null = null;
  const seenSections = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = stripComment(lines[i]!, (why) => fail(lineNo, why)).trim();
    if (line === '') continue;
    if (line.startsWith('[')) {
      const m = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
      if (m === null) fail(lineNo, `expected [section], got ${JSON.stringify(line.slice(0, 60))}`);
      const name = m![1]!;
      if (!sectionNameRe.test(name)) fail(lineNo, `bad section name [${name}] (expected [A-Za-z0-9_.-]+)`);
      if (seenSections.has(name)) fail(lineNo, `duplicate section [${name}]`);
      seenSections.add(name);
      section = name;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) fail(lineNo, `expected [section] or key = value, got ${JSON.stringify(line.slice(0, 60))}`);
    const rawKey = line.slice(0, eq).trim();
    if (!keyRe.test(rawKey)) fail(lineNo, `bad key ${JSON.stringify(rawKey)}`);
    if (section === null) fail(lineNo, 'setting outside of a [section] (start the file with [global])');
    const key = normalizeConfKey(rawKey);
    if (conf.get(section!, key) !== undefined) fail(lineNo, `duplicate key ${key} in [${section}]`);
    const value = unquote(line.slice(eq + 1).trim(), (why) => fail(lineNo, why));
    try {
      conf.set(section!, key, value);
    } catch (err) {
      fail(lineNo, (err as Error).message);
    }
  }
  return conf;
}

/** Drop a `#`/`;` comment: at the start of the line, or after whitespace outside double quotes. */
function stripComment(line: string, fail: (why: string) => never): string {
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
      continue;
    }
    if (c === '"') inQuotes = true;
    else if ((c === '#' || c === ';') && (i === 0 || /\s/.test(line[i - 1]!) || line.slice(0, i).trim() === '')) return line.slice(0, i);
  }
  if (inQuotes) fail('unterminated "quoted" value');
  return line;
}

function unquote(value: string, fail: (why: string) => never): string {
  if (!value.startsWith('"')) return value;
  let out = '';
  let i = 1;
  for (; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const n = value[++i];
      if (n !== '"' && n !== '\\') fail(`bad escape \\${n ?? ''} in quoted value (only \\" and \\\\)`);
      out += n;
    } else if (c === '"') {
      break;
    } else {
      out += c;
    }
  }
  if (i !== value.length - 1) fail('text after the closing quote');
  return out;
}

export interface ConfPathOptions {
  /** The `--conf FILE` flag, if given. */
  flag?: string;
  /** Environment to read `$NACRE_CONF` from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory of the default `./nacre.conf` (default process.cwd()). */
  cwd?: string;
}

/** Which config file to use: `--conf FILE`, else `$NACRE_CONF`, else `./nacre.conf`. */
export function resolveConfPath(opts: ConfPathOptions = {}): { path: string; from: 'flag' | 'env' | 'default' } {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag !== undefined && opts.flag !== '') return { path: resolve(cwd, opts.flag), from: 'flag' };
  const fromEnv = (opts.env ?? process.env)[confEnvVar];
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(cwd, fromEnv), from: 'env' };
  return { path: resolve(cwd, defaultConfName), from: 'default' };
}

/**
 * Resolve and read the config file. A missing file is one ENOENT line that says how it was
 * chosen, so "which file did it read?" never needs a debugger.
 */
export function loadConf(opts: ConfPathOptions = {}): ClusterConf {
  const { path, from } = resolveConfPath(opts);
  try {
    return ClusterConf.readFile(path);
  } catch (err) {
    if ((err as NacreError).code !== 'ENOENT') throw err;
    const how = from === 'flag' ? 'given with --conf' : from === 'env' ? `named by $${confEnvVar}` : `(no --conf, $${confEnvVar} unset)`;
    throw new NacreError(`cluster config ${path} ${how} does not exist`, { code: 'ENOENT', cause: err });
  }
}
