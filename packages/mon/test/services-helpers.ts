/**
 * A monitor service state driven the way the daemon will drive it, for the services-*.test.ts
 * files: every change goes through buildProposal, its value is applied with applyCommitted (as
 * every monitor applies committed values), and the transactions are kept so a test can replay
 * them from the initial state.
 */
import {
  applyCommitted, bootstrapState, buildProposal, handleCommand, type BootstrapOptions, type ChangeOutcome,
  type MonState, type PendingChange, type ServiceContext,
} from '@nacre/mon';
import type { CommandArg, MonCommandReply, OsdBoot } from '@nacre/proto';
import { NacreError } from '@nacre/util';

export const FSID = 'f0000000-0000-4000-8000-000000000001';

export function defaultBootstrap(extra: Partial<BootstrapOptions> = {}): BootstrapOptions {
  return {
    fsid: FSID,
    mons: [{ name: 'a', addr: '127.0.0.1:6789' }, { name: 'b', addr: '127.0.0.1:6790' }, { name: 'c', addr: '127.0.0.1:6791' }],
    createdMs: 1_700_000_000_000,
    keyring: [['client.admin', Buffer.alloc(32, 1)], ['mon.a', Buffer.alloc(32, 2)], ['mon.b', Buffer.alloc(32, 3)], ['mon.c', Buffer.alloc(32, 4)]],
    ...extra,
  };
}

/** Deterministic keys for `auth add` (the real default uses OS randomness). */
export function keySource(seed = 7): () => Buffer {
  let n = seed;
  return () => {
    n++;
    return Buffer.alloc(32, n & 0xff);
  };
}

export class Cluster {
  state: MonState;
  readonly initial: MonState;
  /** Committed values, in order (what Paxos would hold). */
  readonly values: Buffer[] = [];
  wallMs = 1_700_000_000_000;
  ctx: ServiceContext;

  constructor(opts: Partial<BootstrapOptions> = {}) {
    this.state = bootstrapState(defaultBootstrap(opts));
    this.initial = this.state;
    this.ctx = { wallMs: this.wallMs, newKey: keySource() };
  }

  /** Build one proposal from `changes`, commit it, return the outcomes. */
  propose(changes: PendingChange[]): ChangeOutcome[] {
    const p = buildProposal(this.state, changes, { ...this.ctx, wallMs: this.wallMs });
    if (p.value !== undefined) this.commitValue(p.value);
    return p.outcomes;
  }

  commitValue(value: Buffer): void {
    const r = applyCommitted(this.state, this.state.version + 1, value);
    if (r.rejected) throw r.rejected;
    this.state = r.state;
    this.values.push(value);
  }

  /** Run a command; throws its NacreError on failure, commits any change. */
  cmd(prefix: string, args: Record<string, CommandArg> = {}, entity?: string, cmdId?: string): MonCommandReply {
    if (entity === undefined) {
      const r = handleCommand(this.state, { prefix, args }, { ...this.ctx, wallMs: this.wallMs });
      if (!r.ok) throw r.error;
      if (r.retry) throw new Error('unexpected retry');
      if (r.value !== undefined) this.commitValue(r.value);
      return r.reply;
    }
    const [o] = this.propose([{ kind: 'command', command: { prefix, args, ...(cmdId !== undefined ? { cmdId } : {}) }, entity }]);
    if (o!.status === 'error') throw o!.error;
    if (o!.status === 'retry') throw new Error('unexpected retry');
    return o!.reply;
  }

  /** The error a command fails with (fails the test if it succeeds). */
  cmdError(prefix: string, args: Record<string, CommandArg> = {}): NacreError {
    const before = this.state;
    const r = handleCommand(this.state, { prefix, args }, { ...this.ctx, wallMs: this.wallMs });
    if (r.ok) throw new Error(`'${prefix}' ${JSON.stringify(args)} succeeded, expected an error`);
    if (this.state !== before) throw new Error('state changed on error');
    return r.error;
  }

  boot(osd: number, host: string, extra: Partial<OsdBoot> = {}): ChangeOutcome {
    const boot: OsdBoot = { osd, addr: `127.0.0.1:${6800 + osd}`, host, weight: 0x10000, uuid: `uuid-${osd}`, ...extra };
    let [o] = this.propose([{ kind: 'osdBoot', boot }]);
    if (o!.status === 'retry') [o] = this.propose([{ kind: 'osdBoot', boot }]);
    return o!;
  }

  /** Boot `count` OSDs, `perHost` per host named h0, h1, … */
  bootMany(count: number, perHost = 2): void {
    for (let i = 0; i < count; i++) {
      const o = this.boot(i, `h${Math.floor(i / perHost)}`);
      if (o.status !== 'ok') throw new Error(`boot of osd.${i} failed: ${o.status === 'error' ? o.error.message : o.status}`);
    }
  }
}

export function okReply(o: ChangeOutcome | undefined): MonCommandReply & { epoch: number } {
  if (o === undefined || o.status !== 'ok') throw new Error(`expected ok, got ${o === undefined ? 'nothing' : o.status === 'error' ? `${o.error.code} ${o.error.message}` : o.status}`);
  return { ...o.reply, epoch: o.epoch };
}
