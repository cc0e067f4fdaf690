/**
 * A Draft is the leader's working copy while it folds a batch of changes into one proposal: the
 * committed state it started from (`base`), the state as changed so far (`state`), and the epoch
 * the proposal will produce (`pendingEpoch`, stamped into up_from, down_at, last_change …).
 *
 * The OSDMap inside `state` keeps the base epoch: every edit goes through the validating
 * `applyIncremental` and is then put back at the base epoch, so one batch produces exactly one
 * new epoch. `transaction()` turns the difference between `base` and `state` into the
 * StateTransaction every monitor will apply (see osdmap-diff.ts for why a diff).
 */
import { applyIncremental, encodeIncremental, type OsdMap, type OsdMapIncremental } from '@nacre/osdmap';
import type { EntityName } from '@nacre/proto';
import { generateKey } from '@nacre/msgr';
import type { QuorumInfo } from './quorum.js';
import type { PgSummary } from './pg-stats.js';
import { configKey, commandKey, type AuthEntry, type CommandRecord, type MonState, type OsdMeta } from './mon-state.js';
import { diffOsdMaps, stableJson } from './osdmap-diff.js';
import type { StateTransaction } from './transaction.js';

/** What the service layer needs from its surroundings (all passed in; nothing read from a clock). */
export interface ServiceContext {
  /** Wall-clock milliseconds, stamped into the OSDMap as its modification time (display only). */
  wallMs: number;
  /** Source of new secret keys (`auth add`); default: the messenger's generateKey (OS randomness). */
  newKey?: () => Buffer;
  /** Quorum and leader, from the Paxos core's `role` effect (status, health, mon stat). */
  quorum?: QuorumInfo;
  /** PG and usage summary from this monitor's PgStatsAggregator (status, health, df). */
  pgs?: PgSummary;
}

export type OsdMapChange = Omit<OsdMapIncremental, 'epoch' | 'modifiedMs'>;

export class Draft {
  state: MonState;
  readonly pendingEpoch: number;

  constructor(readonly base: MonState, readonly ctx: ServiceContext, pendingEpoch = base.osdmap.epoch + 1) {
    this.state = base;
    this.pendingEpoch = pendingEpoch;
  }

  get map(): OsdMap {
    return this.state.osdmap;
  }

  newKey(): Buffer {
    return (this.ctx.newKey ?? generateKey)();
  }

  /** Apply an OSDMap change to the working map (validated by applyIncremental; epoch unchanged). */
  editMap(change: OsdMapChange): void {
    const m = this.state.osdmap;
    const next = applyIncremental(m, { ...change, epoch: m.epoch + 1, modifiedMs: m.modifiedMs });
    this.state = { ...this.state, osdmap: { ...next, epoch: m.epoch } };
  }

  setOsdMeta(id: number, meta: OsdMeta | null): void {
    const t = new Map(this.state.osdMeta);
    if (meta === null) t.delete(id);
    else t.set(id, meta);
    this.state = { ...this.state, osdMeta: t };
  }

  setAuth(entity: EntityName, entry: AuthEntry | null): void {
    const t = new Map(this.state.auth);
    if (entry === null) t.delete(entity);
    else t.set(entity, entry);
    this.state = { ...this.state, auth: t };
  }

  setConfig(who: string, key: string, value: string | null): void {
    const t = new Map(this.state.config);
    if (value === null) t.delete(configKey(who, key));
    else t.set(configKey(who, key), { who, key, value });
    this.state = { ...this.state, config: t };
  }

  /** Remember a command's result for cmdId retries (committed with the proposal). */
  record(rec: CommandRecord): void {
    const log = new Map(this.state.commandLog);
    log.set(commandKey(rec.entity, rec.cmdId), rec);
    this.state = { ...this.state, commandLog: log };
  }

  /** Does the working state differ from the base in anything a transaction carries? */
  changed(): boolean {
    return this.transaction() !== undefined;
  }

  /** The transaction from `base` to `state`, or undefined when nothing changed. */
  transaction(): StateTransaction | undefined {
    const b = this.base;
    const s = this.state;
    const txn: StateTransaction = {};
    const inc = diffOsdMaps(b.osdmap, s.osdmap, this.pendingEpoch, this.ctx.wallMs);
    if (inc !== undefined) txn.osdmap = encodeIncremental(inc);
    const meta = tableDiff(b.osdMeta, s.osdMeta, (x, y) => x.uuid === y.uuid && x.bootId === y.bootId && x.autoOut === y.autoOut);
    if (meta.length > 0) txn.osdMeta = meta;
    const auth = tableDiff(b.auth, s.auth, (x, y) => x.key.equals(y.key) && stableJson(x.caps) === stableJson(y.caps));
    if (auth.length > 0) txn.auth = auth;
    const config = tableDiff(b.config, s.config, (x, y) => x.value === y.value);
    if (config.length > 0) {
      txn.config = config.map(([k, e]) => {
        const old = b.config.get(k);
        return e === null ? [old!.who, old!.key, null] : [e.who, e.key, e.value];
      });
    }
    const records = s.commandLog === b.commandLog ? [] : [...s.commandLog].filter(([k, r]) => b.commandLog.get(k) !== r).map(([, r]) => r);
    if (records.length > 0) txn.commands = records;
    return Object.keys(txn).length === 0 ? undefined : txn;
  }
}

function tableDiff<K, V>(before: ReadonlyMap<K, V>, after: ReadonlyMap<K, V>, same: (a: V, b: V) => boolean): [K, V | null][] {
  if (before === after) return [];
  const out: [K, V | null][] = [];
  for (const k of before.keys()) if (!after.has(k)) out.push([k, null]);
  for (const [k, v] of after) {
    const old = before.get(k);
    if (old === undefined || (old !== v && !same(old, v))) out.push([k, v]);
  }
  return out;
}
