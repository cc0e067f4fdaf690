/**
 * `nacre osd out|in|down ID…` — operator marks, committed through the monitors in one epoch:
 *
 * - `out`: the OSD keeps running but holds no data: CRUSH maps its PGs elsewhere (weight 0).
 * - `in`: back to full weight (undoes `out`, also an automatic down→out).
 * - `down`: marked down in the map; a live OSD notices and boots again (Ceph's way to force a
 *   re-peer), a dead one stays down until it restarts.
 *
 * IDs are `3` or `osd.3`; several at once (`nacre osd out 3 4`).
 */
import { UsageError, parseArgs } from '../args.js';
import type { Command } from '../main.js';
import { runMonCommand, sessionFlags } from '../mon-session.js';

export type OsdMark = 'out' | 'in' | 'down';

/** Parse `3` / `osd.3` strictly (no ranges, no junk). */
export function parseOsdIds(words: readonly string[]): number[] {
  if (words.length === 0) throw new UsageError('name at least one OSD (e.g. 3 or osd.3)');
  return words.map((w) => {
    const m = /^(?:osd\.)?(0|[1-9]\d{0,9})$/.exec(w);
    if (m === null || Number(m[1]) > 0x7fffffff) throw new UsageError(`'${w}' is not an OSD id (expected N or osd.N)`);
    return Number(m[1]);
  });
}

export function osdMarkCommand(mark: OsdMark): Command {
  return async (argv, io) => {
    const p = parseArgs(argv, sessionFlags);
    const ids = parseOsdIds(p.positionals);
    return runMonCommand(p, io, `osd ${mark}`, { ids });
  };
}
