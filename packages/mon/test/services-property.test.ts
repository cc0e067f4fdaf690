/**
 * Properties of the service layer under random command sequences (fast-check, seeded):
 *   - every committed state is valid: placement is computable for every PG of every pool, with
 *     up sets of existing, up, distinct OSDs no larger than the pool;
 *   - the OSDMap epoch moves by exactly one per proposal that changes the map, never otherwise;
 *   - no change fails with an internal error (a transaction that would not reproduce the handlers'
 *     draft — buildProposal's own check, see docs/mon-services.md);
 *   - snapshot encode → decode → encode is a fixpoint;
 *   - determinism: replaying the committed values from the initial state — or from a snapshot
 *     taken midway — reproduces the final state byte for byte (what Paxos replay relies on).
 * The seed is printed first; NACRE_SEED=N reproduces a run; NACRE_SERVICES_RUNS=N sets the runs.
 */
import t from 'tap';
import fc from 'fast-check';
import {
  applyCommitted, buildProposal, decodeMonState, encodeMonState, installSnapshot, type MonState, type PendingChange,
} from '@nacre/mon';
import { CRUSH_ITEM_NONE } from '@nacre/crush';
import { OSDMAP_FLAGS, pgToUpActing, type OsdMap } from '@nacre/osdmap';
import { seedFromEnv } from '@nacre/util';
import { Cluster, keySource } from './services-helpers.js';

const seed = seedFromEnv();
const runs = Number(process.env['NACRE_SERVICES_RUNS'] ?? 60);
t.comment(`services property seed ${seed} (reproduce with NACRE_SEED=${seed})`);

const OSDS = 10;
const HOSTS = ['h0', 'h1', 'h2', 'h3', 'h4'];
const POOLS = ['p0', 'p1', 'p2'];

/** An action is drawn as numbers and interpreted against the current state (so it is usually meaningful). */
type Action = { kind: number; a: number; b: number; c: number };

const action: fc.Arbitrary<Action> = fc.record({ kind: fc.nat(26), a: fc.nat(1000), b: fc.nat(1000), c: fc.nat(1000) });

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length]!;
}

/** Mostly an existing pool (so pool commands do something), sometimes any name. */
function poolName(s: MonState, n: number): string {
  const names = [...s.osdmap.pools.values()].map((p) => p.name);
  return names.length > 0 && n % 4 !== 0 ? pick(names, n) : pick(POOLS, n);
}

/** Mostly an existing OSD. */
function osdId(s: MonState, n: number): number {
  const ids: number[] = [];
  for (let i = 0; i < s.osdmap.maxOsd; i++) if (s.osdmap.osds[i]!.exists) ids.push(i);
  return ids.length > 0 && n % 5 !== 0 ? pick(ids, n) : n % OSDS;
}

function toChange(s: MonState, x: Action): PendingChange {
  const osd = x.kind <= 4 ? x.a % OSDS : osdId(s, x.a);
  const cmd = (prefix: string, args: Record<string, string | number | boolean | (string | number)[]>): PendingChange =>
    ({ kind: 'command', command: { prefix, args: args as Record<string, string> } });
  const pool = poolName(s, x.b);
  switch (x.kind) {
    case 0: case 1: case 2: case 3: case 4: // boot (sometimes with a wrong uuid or on another host)
      return { kind: 'osdBoot', boot: { osd, addr: `10.0.0.${osd}:${6800 + (x.c % 2)}`, host: pick(HOSTS, x.b % 7 === 0 ? x.c : osd), weight: 0x10000 * (1 + (x.c % 3)), uuid: x.c % 13 === 0 ? 'intruder' : `uuid-${osd}` } };
    case 5: case 6: return cmd(pick(['osd down', 'osd out', 'osd in'], x.b), { ids: [osd] });
    case 7: return cmd('osd rm', { ids: [osd] });
    case 8: return cmd(pick(['osd reweight', 'osd primary-affinity'], x.b), { id: osd, weight: (x.c % 5) / 4 });
    case 9: return cmd(x.b % 2 === 0 ? 'osd set' : 'osd unset', { flag: pick(OSDMAP_FLAGS, x.c) });
    case 10: case 11: case 12: return x.c % 2 === 0
      ? cmd('osd pool create', { name: pick(POOLS, x.b), pg_num: 1 + (x.a % 16), size: 1 + (x.b % 4) })
      : cmd('osd pool create', { name: pick(POOLS, x.b), type: 'erasure', k: 2, m: 1 + (x.a % 2), pg_num: 1 + (x.c % 8), failure_domain: pick(['host', 'osd'], x.a) });
    case 13: return cmd('osd pool rm', { name: pool, confirm: pool });
    case 14: case 15: return cmd('osd pool set', { name: pool, key: pick(['size', 'min_size', 'pg_num', 'pgp_num'], x.c), value: 1 + (x.a % 20) });
    case 16: return cmd('osd pool mksnap-selfmanaged', { pool });
    case 17: return cmd('osd crush add-bucket', { name: `r${x.b % 3}`, type: 'rack', parent: 'default' });
    case 18: return cmd('osd crush move', { name: pick(HOSTS, x.b), parent: x.c % 2 === 0 ? `r${x.c % 3}` : 'default' });
    case 19: return cmd('osd crush reweight', { name: `osd.${osd}`, weight: (x.c % 4) / 2 });
    case 20: return { kind: 'osdAlive', osd, upThru: Math.max(0, s.osdmap.epoch - (x.b % 3)) };
    case 21: case 22: {
      const p = [...s.osdmap.pools.values()][x.b % Math.max(1, s.osdmap.pools.size)];
      const pgid = p === undefined ? '1.0' : `${p.id}.${(x.c % p.pgNum).toString(16)}`;
      const osds = x.c % 4 === 0 ? [] : [osd, osdId(s, x.b)].slice(0, 1 + (x.a % 2));
      return { kind: 'osdPgTemp', request: { epoch: s.osdmap.epoch, pgTemp: [[pgid, osds]] } };
    }
    case 23: return { kind: 'failures', down: x.b % 2 === 0 ? [{ osd, reason: 'reports' }] : [], out: x.c % 2 === 0 ? [osd] : [] };
    case 24: return x.b % 2 === 0 ? cmd('auth add', { entity: `client.c${x.c % 4}` }) : cmd('auth rm', { entity: `client.c${x.c % 4}` });
    case 25: return x.b % 2 === 0 ? cmd('config set', { who: pick(['global', 'osd', `osd.${osd}`], x.c), key: 'k', value: String(x.a) }) : cmd('config rm', { who: 'osd', key: 'k' });
    default: return cmd('osd create', x.b % 2 === 0 ? {} : { id: osd });
  }
}

function checkPlacement(m: OsdMap): void {
  for (const pool of m.pools.values()) {
    for (let seedPg = 0; seedPg < pool.pgNum; seedPg++) {
      const r = pgToUpActing(m, { pool: pool.id, seed: seedPg });
      if (r.up.length > pool.size || r.acting.length > pool.size) throw new Error(`pg ${pool.id}.${seedPg}: set larger than size`);
      const real = r.up.filter((o) => o !== CRUSH_ITEM_NONE);
      if (new Set(real).size !== real.length) throw new Error(`pg ${pool.id}.${seedPg}: duplicate OSD in up ${r.up}`);
      for (const o of real) if (!(o < m.maxOsd && m.osds[o]!.exists && m.osds[o]!.up)) throw new Error(`pg ${pool.id}.${seedPg}: osd.${o} in up but not up`);
    }
  }
}

/** Why changes were refused (printed, to see that the generator exercises real paths). */
const refusals = new Map<string, number>();
const stats = { ok: 0, error: 0, retry: 0, proposals: 0, epochs: 0, pools: 0, osdsUp: 0 };

function run(batches: Action[][], booted: boolean): void {
  const c = new Cluster();
  if (booted) c.bootMany(6, 2);
  const ctx = { wallMs: 1_700_000_000_000, newKey: keySource(1) };
  let snapshot: { version: number; bytes: Buffer } | undefined;
  for (const [i, batch] of batches.entries()) {
    const changes = batch.map((x) => toChange(c.state, x));
    const before = c.state;
    const p = buildProposal(before, changes, { ...ctx, wallMs: ctx.wallMs + i });
    if (p.outcomes.length !== changes.length) throw new Error('one outcome per change');
    for (const [k, o] of p.outcomes.entries()) {
      stats[o.status]++;
      if (o.status === 'error') {
        if (o.error.code === 'EIO') throw new Error(`internal error for change ${JSON.stringify(changes[k])}: ${o.error.message}`);
        const ch = changes[k]!;
        const key = `${ch.kind === 'command' ? ch.command.prefix : ch.kind} ${o.error.code}`;
        refusals.set(key, (refusals.get(key) ?? 0) + 1);
      }
    }
    if (p.value !== undefined) stats.proposals++;
    if (p.value !== undefined) c.commitValue(p.value);
    const inc = p.txn?.osdmap !== undefined ? 1 : 0;
    if (c.state.osdmap.epoch !== before.osdmap.epoch + inc) throw new Error(`epoch ${before.osdmap.epoch} → ${c.state.osdmap.epoch} with ${inc} incrementals`);
    if (p.value !== undefined && encodeMonState(p.next).compare(encodeMonState(c.state)) !== 0) throw new Error('proposal.next differs from the committed state');
    checkPlacement(c.state.osdmap);
    if (i % 5 === 0) {
      const bytes = encodeMonState(c.state);
      if (!encodeMonState(decodeMonState(bytes)).equals(bytes)) throw new Error('snapshot is not a fixpoint');
    }
    if (i === Math.floor(batches.length / 2)) snapshot = { version: c.state.version, bytes: encodeMonState(c.state) };
  }
  stats.epochs += c.state.osdmap.epoch;
  stats.pools += c.state.osdmap.pools.size;
  stats.osdsUp += c.state.osdmap.osds.filter((o) => o.up).length;
  const final = encodeMonState(c.state);
  let replay = c.initial;
  for (const v of c.values) {
    const r = applyCommitted(replay, replay.version + 1, v);
    if (r.rejected) throw new Error(`replayed value ${replay.version + 1} rejected: ${r.rejected.message}`);
    replay = r.state;
  }
  if (!encodeMonState(replay).equals(final)) throw new Error('replay from the initial state differs');
  if (snapshot !== undefined) {
    let s = installSnapshot(snapshot.version, snapshot.bytes);
    for (const v of c.values.slice(snapshot.version - c.initial.version)) s = applyCommitted(s, s.version + 1, v).state;
    if (!encodeMonState(s).equals(final)) throw new Error('snapshot + replay differs');
  }
}

t.test('random command sequences keep the state valid and replayable', async (t) => {
  const started = performance.now();
  fc.assert(
    fc.property(fc.array(fc.array(action, { minLength: 1, maxLength: 4 }), { minLength: 5, maxLength: 40 }), fc.boolean(), (batches, booted) => run(batches, booted)),
    { seed, numRuns: runs },
  );
  t.pass(`${runs} runs in ${Math.round(performance.now() - started)} ms`);
  // the changes must mostly do something, or the property says little
  t.comment(`changes: ${stats.ok} ok, ${stats.error} refused, ${stats.retry} retried; ${stats.proposals} proposals; `
    + `per run at the end: ${(stats.epochs / runs).toFixed(1)} epochs, ${(stats.pools / runs).toFixed(1)} pools, ${(stats.osdsUp / runs).toFixed(1)} OSDs up`);
  t.ok(stats.ok > stats.error, 'most changes apply');
  t.comment(`most refused: ${[...refusals].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
});

t.test('a long boot-heavy sequence with many pools', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.array(action.map((x) => ({ ...x, kind: x.kind % 3 === 0 ? 0 : x.kind })), { minLength: 1, maxLength: 8 }), { minLength: 60, maxLength: 80 }), (b) => run(b, false)),
    { seed: seed + 1, numRuns: 3 },
  );
  t.pass('ok');
});
