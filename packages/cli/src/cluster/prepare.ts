/**
 * Preparing a run directory for `cluster up`: the keyring and nacre.conf, written once and then
 * only extended. On an existing directory the cluster keeps its fsid and keys; OSDs added to the
 * cluster file get a key and a section; monitors cannot change (the monmap's ranks are fixed at
 * mkfs), so a cluster file whose monitors differ from the directory's is refused.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ClusterConf, Keyring } from '@nacre/msgr';
import type { EntityName } from '@nacre/proto';
import { NacreError } from '@nacre/util';
import { clusterTransportDefault, settingDefs, type ClusterSpec, type OsdSpec } from './cluster-file.js';
import { daemonsOf, type ClusterDir } from './layout.js';
import { poolCreateArgs } from './pool-args.js';

export interface Prepared {
  conf: ClusterConf;
  keyring: Keyring;
  fsid: string;
  /** The directory was new (monitors need mkfs). */
  created: boolean;
  /** OSDs that got their key and section in this run (new to an existing cluster, or all on a new one). */
  addedOsds: number[];
}

export function prepareClusterDir(dir: ClusterDir, spec: ClusterSpec): Prepared {
  mkdirSync(dir.root, { recursive: true });
  if (!dir.exists()) return createFresh(dir, spec);
  return extendExisting(dir, spec);
}

function createFresh(dir: ClusterDir, spec: ClusterSpec): Prepared {
  const fsid = randomUUID();
  const keyring = new Keyring();
  keyring.add('client.admin');
  for (const m of spec.mons) keyring.add(`mon.${m.name}`);
  for (const o of spec.osds) keyring.add(`osd.${o.id}`);
  keyring.writeFile(dir.keyringPath);

  const conf = new ClusterConf(dir.confPath, dir.root);
  conf.set('global', 'fsid', fsid);
  conf.set('global', 'cluster', spec.name);
  // Every monitor's mkfs must see the same creation time (it is part of the bootstrap state).
  conf.set('global', 'created_ms', String(Date.now()));
  conf.set('global', 'mon_host', spec.mons.map((m) => m.addr).join(','));
  conf.set('global', 'keyring', dir.keyringPath);
  for (const [key, value] of Object.entries(spec.settings)) conf.set(settingDefs[key]!.section, key, String(value));
  // Every process that reads this file (daemons, clients, the CLI) takes its transport from here.
  if (spec.settings['ms_transport'] === undefined) conf.set(settingDefs['ms_transport']!.section, 'ms_transport', clusterTransportDefault);
  for (const m of spec.mons) {
    const name = `mon.${m.name}`;
    conf.set(name, 'addr', m.addr);
    conf.set(name, 'data', dir.dataDir(name));
    conf.set(name, 'log_file', dir.logPath(name));
  }
  for (const o of spec.osds) writeOsdSection(conf, dir, o);
  writeBootstrap(dir, spec);
  writeConf(conf, dir);
  return { conf, keyring, fsid, created: true, addedOsds: spec.osds.map((o) => o.id) };
}

function extendExisting(dir: ClusterDir, spec: ClusterSpec): Prepared {
  const conf = dir.readConf();
  const fsid = conf.fsid;
  if (fsid === undefined) throw new NacreError(`${dir.confPath} has no fsid; it was not written by \`nacre cluster up\``, { code: 'EINVAL' });
  const keyring = Keyring.readFile(conf.keyringPath() ?? dir.keyringPath);
  const haveMons = daemonsOf(conf).filter((d) => d.kind === 'mon').map((d) => `${d.id}@${conf.get(d.name, 'addr') ?? '?'}`);
  const wantMons = spec.mons.map((m) => `${m.name}@${m.addr}`);
  if (haveMons.join(',') !== wantMons.join(',')) {
    throw new NacreError(`the monitors in the cluster file (${wantMons.join(', ')}) differ from those of the cluster in ${dir.root} (${haveMons.join(', ')}); `
      + 'monitors of an existing cluster cannot change here: use another --dir, or `nacre cluster down` and remove the directory', { code: 'EINVAL' });
  }
  const addedOsds: number[] = [];
  for (const o of spec.osds) {
    const name = `osd.${o.id}`;
    if (conf.hasSection(name)) continue;
    writeOsdSection(conf, dir, o);
    if (!keyring.has(name as EntityName)) keyring.add(name as EntityName);
    addedOsds.push(o.id);
  }
  if (addedOsds.length > 0) {
    keyring.writeFile(conf.keyringPath() ?? dir.keyringPath);
    writeConf(conf, dir);
  }
  return { conf, keyring, fsid, created: false, addedOsds };
}

/**
 * An OSD's section: everything its process needs (addresses, data, CRUSH location, block size),
 * so `cluster start osd.N` can restart it from nacre.conf alone.
 */
function writeOsdSection(conf: ClusterConf, dir: ClusterDir, o: OsdSpec): void {
  const name = `osd.${o.id}`;
  conf.set(name, 'addr', o.addr);
  conf.set(name, 'hb_addr', o.hbAddr);
  conf.set(name, 'data', dir.dataDir(name));
  conf.set(name, 'log_file', dir.logPath(name));
  conf.set(name, 'host', o.host);
  if (o.rack !== undefined) conf.set(name, 'rack', o.rack);
  if (o.deviceClass !== undefined) conf.set(name, 'device_class', o.deviceClass);
  conf.set(name, 'crush_weight', String(o.weight));
  conf.set(name, 'block_size', String(o.blockSizeBytes));
}

/**
 * What the first leader commits as the cluster's first state besides fsid, monmap and keys
 * (the monitor's `--mkfs --bootstrap FILE`): the cluster file's pools, so they exist from epoch 1,
 * and its replicated-config settings.
 */
function writeBootstrap(dir: ClusterDir, spec: ClusterSpec): void {
  const config = Object.entries(spec.settings)
    .filter(([key]) => settingDefs[key]!.target === 'config')
    .map(([key, value]) => ['mon', key, String(value)]);
  const doc = { pools: spec.pools.map(poolCreateArgs), config };
  writeFileSync(dir.bootstrapPath, JSON.stringify(doc, null, 2) + '\n', { mode: 0o644 });
}

function writeConf(conf: ClusterConf, dir: ClusterDir): void {
  conf.writeFile(dir.confPath, 'Nacre cluster configuration, written by `nacre cluster up` (format: packages/msgr/src/conf.ts).\n'
    + 'The spawner manages the daemons of the [mon.X] and [osd.N] sections below.');
}
