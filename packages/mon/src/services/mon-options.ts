/**
 * The service layer's tunables: failure detection timings and fullness ratios, with Ceph's names
 * and defaults. They can be set cluster-wide through the replicated config (`config set mon
 * mon_osd_down_out_interval 30`, values in Ceph's units — seconds, ratios), which `config set`
 * validates; `monServiceOptions(state, base)` resolves them: the `mon` section wins over `global`,
 * both over `base` (the driver's options, e.g. from nacre.conf), which wins over the defaults.
 */
import { NacreError } from '@nacre/util';
import type { MonState } from './mon-state.js';

export interface MonServiceOptions {
  /** mon_osd_min_down_reporters: distinct reporting subtrees needed to mark an OSD down. */
  minDownReporters: number;
  /** mon_osd_reporter_subtree_level: the CRUSH type whose instances count as distinct reporters. */
  reporterSubtreeLevel: string;
  /** osd_heartbeat_grace: how long an OSD must have been unreachable before reports count. */
  heartbeatGraceMs: number;
  /**
   * How long a failure report stays valid without being re-sent (Nacre; Ceph keeps reports until
   * cancelled, our OSDs re-send them every heartbeat interval while the peer stays unreachable).
   */
  failureReportTtlMs: number;
  /** mon_osd_report_timeout: an up OSD with no beacon for this long is marked down. */
  reportTimeoutMs: number;
  /** mon_osd_down_out_interval: a down OSD is marked out after this long (0: never). */
  downOutIntervalMs: number;
  /** mon_osd_min_in_ratio: never auto-mark out below this fraction of existing OSDs in. */
  minInRatio: number;
  /** mon_osd_nearfull_ratio / mon_osd_full_ratio: per-OSD fullness for health. */
  nearfullRatio: number;
  fullRatio: number;
}

export const DEFAULT_MON_SERVICE_OPTIONS: Readonly<MonServiceOptions> = Object.freeze({
  minDownReporters: 2,
  reporterSubtreeLevel: 'host',
  heartbeatGraceMs: 20_000,
  failureReportTtlMs: 40_000,
  reportTimeoutMs: 900_000,
  downOutIntervalMs: 600_000,
  minInRatio: 0.75,
  nearfullRatio: 0.85,
  fullRatio: 0.95,
});

type Kind = { field: keyof MonServiceOptions } & (
  | { type: 'int'; min: number; max: number }
  | { type: 'seconds'; min: number; max: number }
  | { type: 'ratio' }
  | { type: 'name' }
);

/** Config option name (Ceph's) → option field and how to read its value. */
export const MON_CONFIG_OPTIONS: Readonly<Record<string, Kind>> = {
  mon_osd_min_down_reporters: { field: 'minDownReporters', type: 'int', min: 1, max: 1000 },
  mon_osd_reporter_subtree_level: { field: 'reporterSubtreeLevel', type: 'name' },
  osd_heartbeat_grace: { field: 'heartbeatGraceMs', type: 'seconds', min: 0.001, max: 86_400 },
  mon_osd_failure_report_ttl: { field: 'failureReportTtlMs', type: 'seconds', min: 0.001, max: 86_400 },
  mon_osd_report_timeout: { field: 'reportTimeoutMs', type: 'seconds', min: 0.001, max: 31_536_000 },
  mon_osd_down_out_interval: { field: 'downOutIntervalMs', type: 'seconds', min: 0, max: 31_536_000 },
  mon_osd_min_in_ratio: { field: 'minInRatio', type: 'ratio' },
  mon_osd_nearfull_ratio: { field: 'nearfullRatio', type: 'ratio' },
  mon_osd_full_ratio: { field: 'fullRatio', type: 'ratio' },
};

/** The option value `text` means, or an EINVAL naming the option and the accepted range. */
export function parseMonOption(key: string, text: string): number | string {
  const kind = MON_CONFIG_OPTIONS[key];
  if (kind === undefined) return text;
  const bad = (range: string): never => {
    throw new NacreError(`config option ${key} must be ${range}, got '${text}'`, { code: 'EINVAL' });
  };
  if (kind.type === 'name') {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(text)) bad('a CRUSH type name such as host or osd');
    return text;
  }
  const n = /^\s*[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (kind.type === 'int') {
    if (!Number.isSafeInteger(n) || n < kind.min || n > kind.max) bad(`an integer in ${kind.min}..${kind.max}`);
    return n;
  }
  if (kind.type === 'ratio') {
    if (!(n >= 0 && n <= 1)) bad('a ratio in 0..1');
    return n;
  }
  if (!(n >= kind.min && n <= kind.max)) bad(`a number of seconds in ${kind.min}..${kind.max}`);
  return Math.round(n * 1000);
}

/** Options with the replicated config applied over `base` (see the header for precedence). */
export function monServiceOptions(state: MonState, base: Partial<MonServiceOptions> = {}): MonServiceOptions {
  const out: MonServiceOptions = { ...DEFAULT_MON_SERVICE_OPTIONS, ...base };
  for (const who of ['global', 'mon']) {
    for (const [key, kind] of Object.entries(MON_CONFIG_OPTIONS)) {
      const entry = state.config.get(`${who} ${key}`);
      if (entry === undefined) continue;
      try {
        (out as unknown as Record<string, number | string>)[kind.field] = parseMonOption(key, entry.value);
      } catch {
        // validated by `config set`; an entry that no longer parses keeps the lower-precedence value
      }
    }
  }
  return out;
}
