/**
 * Which transport a daemon or client uses: the `ms_transport` key of nacre.conf (looked up like
 * every key, `[osd.3]` → `[osd]` → `[global]`; the spawner writes it in `[global]`).
 *
 *   ms_transport = tcp     TcpTransport: plain TCP records, less GC work on the data path
 *   ms_transport = ws      WsTransport: WebSockets (the design card's transport)
 *
 * Both ends of a connection must speak the same transport (a ws client cannot talk to a tcp
 * listener: it gets "unexpected HTTP 400", and a tcp client talking to a ws listener fails with
 * EPROTO naming the mismatch), so a cluster uses one; every process that reads nacre.conf picks
 * the same one. Without the key, `ws` (what createMessenger uses without a transport).
 */
import { NacreError } from '@nacre/util';
import type { ClusterConf } from './conf.js';
import { TcpTransport } from './tcp-transport.js';
import type { Transport } from './transport.js';
import { WsTransport } from './ws-transport.js';

export const transportNames = ['ws', 'tcp'] as const;
export type TransportName = (typeof transportNames)[number];
/** The nacre.conf key. */
export const transportConfKey = 'ms_transport';
/** Used when nacre.conf does not say. */
export const transportNameDefault: TransportName = 'ws';

/** Check a transport name (`source` names where it came from, for the error). */
export function parseTransportName(text: string, source = transportConfKey): TransportName {
  const name = text.trim().toLowerCase();
  if ((transportNames as readonly string[]).includes(name)) return name as TransportName;
  throw new NacreError(`${source}: unknown transport '${text}' (expected ${transportNames.join(' or ')})`, { code: 'EINVAL' });
}

export function createTransport(name: TransportName): Transport {
  return name === 'tcp' ? new TcpTransport() : new WsTransport();
}

/** The transport name nacre.conf sets for `entity` (or the default; no config at all is the default too). */
export function transportNameOf(conf: ClusterConf | null, entity: string): TransportName {
  const text = conf?.lookup(entity, transportConfKey);
  return text === undefined ? transportNameDefault : parseTransportName(text, `${conf!.source}: ${transportConfKey}`);
}

/** The transport nacre.conf sets for `entity`. */
export function transportFromConf(conf: ClusterConf | null, entity: string): Transport {
  return createTransport(transportNameOf(conf, entity));
}
