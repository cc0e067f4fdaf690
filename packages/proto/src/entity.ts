/**
 * Entity names: every party on the wire is `<kind>.<id>` — `mon.a`, `osd.3`, `client.admin`.
 * The kind decides the capabilities (which message types the entity may send); the full name
 * selects the secret key in the keyring. Grammar (checked on every name that crosses the wire):
 *
 *   mon.<id>      id = [A-Za-z0-9_-]{1,64}
 *   osd.<n>       n  = decimal without leading zeros, 0 … 2^31-1 (Ceph's OSD ids are integers)
 *   client.<id>   id = [A-Za-z0-9_.-]{1,64}   (dots allowed: `client.rbd.backup`)
 */
import { NacreError } from '@nacre/util';

export type EntityKind = 'mon' | 'osd' | 'client';
export const ENTITY_KINDS: readonly EntityKind[] = ['mon', 'osd', 'client'];

/** A validated entity name. Build one with `parseEntityName` or `isEntityName`. */
export type EntityName = `${EntityKind}.${string}`;

/** Longest id part of a name; keeps names (and keyring sections) bounded. */
export const entityIdBytesMax = 64;

const osdIdMax = 0x7fff_ffff;
const monIdRe = /^[A-Za-z0-9_-]{1,64}$/;
const clientIdRe = /^[A-Za-z0-9_.-]{1,64}$/;
const osdIdRe = /^(0|[1-9][0-9]{0,9})$/;

export interface ParsedEntity {
  kind: EntityKind;
  id: string;
  name: EntityName;
}

/** Parse `kind.id`; throws NacreError EINVAL with the reason on a bad name. */
export function parseEntityName(text: string): ParsedEntity {
  const reason = entityNameProblem(text);
  if (reason !== null) throw new NacreError(`bad entity name ${JSON.stringify(text)}: ${reason}`, { code: 'EINVAL' });
  const dot = text.indexOf('.');
  return { kind: text.slice(0, dot) as EntityKind, id: text.slice(dot + 1), name: text as EntityName };
}

export function isEntityName(value: unknown): value is EntityName {
  return typeof value === 'string' && entityNameProblem(value) === null;
}

/** The kind of a name already known to be valid. */
export function entityKindOf(name: EntityName): EntityKind {
  return name.slice(0, name.indexOf('.')) as EntityKind;
}

/** Why `text` is not an entity name, or null if it is one. */
export function entityNameProblem(text: string): string | null {
  if (text.length > entityIdBytesMax + 8) return 'too long';
  const dot = text.indexOf('.');
  if (dot < 0) return 'expected <kind>.<id> (kind is mon, osd or client)';
  const kind = text.slice(0, dot);
  const id = text.slice(dot + 1);
  switch (kind) {
    case 'mon':
      return monIdRe.test(id) ? null : 'mon id must be 1-64 of [A-Za-z0-9_-]';
    case 'client':
      return clientIdRe.test(id) ? null : 'client id must be 1-64 of [A-Za-z0-9_.-]';
    case 'osd':
      return osdIdRe.test(id) && Number(id) <= osdIdMax ? null : 'osd id must be an integer 0..2147483647';
    default:
      return `unknown kind ${JSON.stringify(kind)} (expected mon, osd or client)`;
  }
}
