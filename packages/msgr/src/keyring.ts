/**
 * Keyrings: the secret key of each entity, in a Ceph-like INI file.
 *
 *   # Nacre keyring — keep it secret (mode 0600)
 *   [client.admin]
 *       key = 3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=
 *   [mon.a]
 *       key = ...
 *
 * - `[<entity>]` opens a section; the name must be a valid entity (mon.<id>, osd.<n>, client.<id>).
 * - `key = <base64>` inside a section: 16..64 bytes once decoded (generated keys are 32 random bytes).
 * - Blank lines and lines starting with `#` or `;` are ignored; other `name = value` lines inside a
 *   section (Ceph's `caps mon = "allow *"`) are accepted and ignored, because our capabilities come
 *   from the entity kind, not from the keyring.
 * - Any other line, a duplicate section or a section without a key is an error naming the line.
 *
 * Unlike Ceph's keys (a binary header + AES key), ours are plain random bytes used as HMAC-SHA256 keys.
 */
import { randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { NacreError } from '@nacre/util';
import { entityNameProblem, type EntityName } from '@nacre/proto';

export const keyBytes = 32;
export const keyBytesMin = 16;
export const keyBytesMax = 64;
/** Entities one keyring file may hold (bounds parsing of a hostile or corrupt file). */
export const keyringEntriesMax = 100_000;
/** Largest keyring file read (bytes). */
export const keyringFileBytesMax = 16 * 1024 * 1024;

/** What the messenger needs on the accepting side: the key of whoever connects. */
export interface KeyLookup {
  /** The secret of `entity`, or undefined if it is not known (the peer is refused). */
  keyOf(entity: EntityName): Buffer | undefined;
}

/** A fresh key from the OS's cryptographic random source (not from a seeded PRNG). */
export function generateKey(): Buffer {
  return randomFillSync(Buffer.alloc(keyBytes));
}

export class Keyring implements KeyLookup {
  private readonly keys = new Map<EntityName, Buffer>();

  constructor(entries: Iterable<[EntityName, Buffer]> = []) {
    for (const [entity, key] of entries) this.set(entity, key);
  }

  set(entity: EntityName, key: Buffer): void {
    const problem = entityNameProblem(entity);
    if (problem !== null) throw new NacreError(`bad entity name ${JSON.stringify(entity)}: ${problem}`, { code: 'EINVAL' });
    checkKeyLength(entity, key.length);
    if (!this.keys.has(entity) && this.keys.size >= keyringEntriesMax) {
      throw new NacreError(`keyring is full (keyringEntriesMax=${keyringEntriesMax})`, { code: 'ENOSPC' });
    }
    this.keys.set(entity, Buffer.from(key));
  }

  /** Add `entity` with a freshly generated key and return the key. */
  add(entity: EntityName): Buffer {
    const key = generateKey();
    this.set(entity, key);
    return key;
  }

  keyOf(entity: EntityName): Buffer | undefined {
    return this.keys.get(entity);
  }

  has(entity: EntityName): boolean {
    return this.keys.has(entity);
  }

  delete(entity: EntityName): boolean {
    return this.keys.delete(entity);
  }

  entities(): EntityName[] {
    return [...this.keys.keys()].sort();
  }

  get size(): number {
    return this.keys.size;
  }

  /** The file text (sections sorted by name, so the output is stable). */
  format(): string {
    const lines = ['# Nacre keyring: one secret key per entity. Keep this file private (mode 0600).'];
    for (const entity of this.entities()) {
      lines.push(`[${entity}]`, `\tkey = ${this.keys.get(entity)!.toString('base64')}`);
    }
    return lines.join('\n') + '\n';
  }

  static parse(text: string, source = 'keyring'): Keyring {
    return parseKeyring(text, source);
  }

  static readFile(path: string): Keyring {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : 'EIO';
      throw new NacreError(`cannot read keyring ${path}: ${(cause as Error).message}`, { code, cause });
    }
    if (text.length > keyringFileBytesMax) throw new NacreError(`keyring ${path} is larger than ${keyringFileBytesMax} bytes`, { code: 'EFBIG' });
    return parseKeyring(text, path);
  }

  /** Write the keyring readable by its owner only. */
  writeFile(path: string): void {
    writeFileSync(path, this.format(), { mode: 0o600 });
  }
}

function checkKeyLength(entity: string, length: number): void {
  if (length < keyBytesMin || length > keyBytesMax) {
    throw new NacreError(`key of ${entity} must be ${keyBytesMin}..${keyBytesMax} bytes, got ${length}`, { code: 'EINVAL' });
  }
}

const sectionRe = /^\[([^\]]*)\]$/;
const settingRe = /^([A-Za-z][A-Za-z0-9_ ]*?)\s*=\s*(.*)$/;
const base64Re = /^[A-Za-z0-9+/]+={0,2}$/;

function parseKeyring(text: string, source: string): Keyring {
  const ring = new Keyring();
  let section: EntityName | null = null;
  let sectionLine = 0;
  const fail = (lineNo: number, why: string): never => {
    throw new NacreError(`${source}:${lineNo}: ${why}`, { code: 'EINVAL' });
  };
  const closeSection = (): void => {
    if (section !== null && !ring.has(section)) fail(sectionLine, `section [${section}] has no key`);
  };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sectionMatch = sectionRe.exec(line);
    if (sectionMatch) {
      closeSection();
      const name = sectionMatch[1]!.trim();
      const problem = entityNameProblem(name);
      if (problem !== null) fail(lineNo, `bad entity name [${name}]: ${problem}`);
      if (ring.has(name as EntityName)) fail(lineNo, `duplicate section [${name}]`);
      section = name as EntityName;
      sectionLine = lineNo;
      continue;
    }
    const setting = settingRe.exec(line);
    if (!setting) fail(lineNo, `expected [entity] or name = value, got ${JSON.stringify(line.slice(0, 60))}`);
    if (section === null) fail(lineNo, 'setting outside of a [entity] section');
    if (setting![1] !== 'key') continue; // caps and other Ceph settings: accepted, not used
    if (ring.has(section!)) fail(lineNo, `second key for [${section}]`);
    const value = setting![2]!.trim();
    if (!base64Re.test(value)) fail(lineNo, `key of [${section}] is not base64`);
    const key = Buffer.from(value, 'base64');
    if (key.length < keyBytesMin || key.length > keyBytesMax) {
      fail(lineNo, `key of [${section}] must be ${keyBytesMin}..${keyBytesMax} bytes, got ${key.length}`);
    }
    ring.set(section!, key);
  }
  closeSection();
  return ring;
}
