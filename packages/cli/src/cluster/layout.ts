/**
 * The run directory of a local cluster (`nacre cluster up --dir DIR`, default ./run):
 *
 *   DIR/nacre.conf        fsid, mon_host, keyring; one [mon.X] / [osd.N] section per daemon (the
 *                         spawner's record of what it manages: `cluster status/start/down` read it)
 *   DIR/keyring           secret keys of mon.X, osd.N and client.admin (mode 0600)
 *   DIR/bootstrap.json    pools + config the monitors' mkfs commits as the first state
 *   DIR/mon.a/            monitor store           DIR/osd.0/   OSD store (block file + metadata)
 *   DIR/mon.a.log         daemon output           DIR/mon.a.pid  pid of the process we started
 *
 * A daemon is "ours" only if the pid in its pid file belongs to a live process whose command line
 * names this directory's nacre.conf (see procs.ts): a reused pid is never signalled.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClusterConf } from '@nacre/msgr';
import { NacreError } from '@nacre/util';

export type DaemonKind = 'mon' | 'osd';

export interface DaemonRef {
  kind: DaemonKind;
  /** `a` for mon.a, `3` for osd.3. */
  id: string;
  /** `mon.a`, `osd.3`. */
  name: string;
}

export const defaultRunDir = 'run';

export class ClusterDir {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  get confPath(): string {
    return join(this.root, 'nacre.conf');
  }

  get keyringPath(): string {
    return join(this.root, 'keyring');
  }

  /** Held while `cluster up` works on the directory. */
  get lockPath(): string {
    return join(this.root, 'up.lock');
  }

  /** Pools and settings the monitors' mkfs puts into the first committed state. */
  get bootstrapPath(): string {
    return join(this.root, 'bootstrap.json');
  }

  dataDir(name: string): string {
    return join(this.root, name);
  }

  logPath(name: string): string {
    return join(this.root, `${name}.log`);
  }

  pidPath(name: string): string {
    return join(this.root, `${name}.pid`);
  }

  exists(): boolean {
    return existsSync(this.confPath);
  }

  /** The cluster's nacre.conf, or ENOENT naming the directory (no cluster was brought up there). */
  readConf(): ClusterConf {
    if (!this.exists()) {
      throw new NacreError(`no cluster in ${this.root} (no nacre.conf; run \`nacre cluster up\` first, or pass --dir)`, { code: 'ENOENT' });
    }
    return ClusterConf.readFile(this.confPath);
  }
}

/** Every daemon the spawner manages, monitors first (in conf order), then OSDs by id. */
export function daemonsOf(conf: ClusterConf): DaemonRef[] {
  const mons: DaemonRef[] = [];
  const osds: DaemonRef[] = [];
  for (const s of conf.sections()) {
    const m = /^(mon|osd)\.(.+)$/.exec(s);
    if (m === null) continue;
    const ref = { kind: m[1] as DaemonKind, id: m[2]!, name: s };
    (ref.kind === 'mon' ? mons : osds).push(ref);
  }
  osds.sort((a, b) => Number(a.id) - Number(b.id));
  return [...mons, ...osds];
}

/** Find one daemon by name (`mon.a`, `osd.3`); EINVAL listing the known ones otherwise. */
export function findDaemon(conf: ClusterConf, name: string): DaemonRef {
  const all = daemonsOf(conf);
  const d = all.find((x) => x.name === name);
  if (d === undefined) {
    throw new NacreError(`no daemon '${name}' in this cluster (daemons: ${all.map((x) => x.name).join(', ') || 'none'})`, { code: 'EINVAL' });
  }
  return d;
}
