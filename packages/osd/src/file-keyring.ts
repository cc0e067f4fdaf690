/**
 * The daemon's keyring file, re-read when an unknown entity connects: OSDs added to a running
 * cluster get their keys written to the shared keyring file, and every OSD they talk to must learn
 * them without a restart. Re-reads are rate-limited so a stream of unknown peers cannot make us
 * parse the file on every connection attempt.
 */
import type { EntityName } from '@nacre/proto';
import { Keyring, type KeyLookup } from '@nacre/msgr';
import type { Clock, Logger } from '@nacre/util';

/** Least time between two re-reads of the file. */
export const keyringReloadMsMin = 1000;

export class FileKeyring implements KeyLookup {
  private ring: Keyring;
  private lastLoadMs: number;

  constructor(readonly path: string, private readonly clock: Clock, private readonly log: Logger) {
    this.ring = Keyring.readFile(path);
    this.lastLoadMs = clock.monotonicMs();
  }

  keyOf(entity: EntityName): Buffer | undefined {
    const key = this.ring.keyOf(entity);
    if (key !== undefined) return key;
    const now = this.clock.monotonicMs();
    if (now - this.lastLoadMs < keyringReloadMsMin) return undefined;
    this.lastLoadMs = now;
    try {
      this.ring = Keyring.readFile(this.path);
      this.log.info({ entity, path: this.path }, 'keyring re-read for an unknown entity');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'keyring re-read failed; keeping the old one');
    }
    return this.ring.keyOf(entity);
  }
}
