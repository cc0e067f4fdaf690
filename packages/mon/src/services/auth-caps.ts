/** Ceph-like caps recorded for keyring entries (informational: access follows the entity kind). */
import type { EntityName } from '@nacre/proto';

export function defaultCaps(entity: EntityName): Record<string, string> {
  if (entity.startsWith('mon.')) return { mon: 'allow *' };
  if (entity.startsWith('osd.')) return { mon: 'allow profile osd', osd: 'allow *' };
  return { mon: 'allow *', osd: 'allow *' };
}
