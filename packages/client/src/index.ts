/**
 * @nacre/client — the librados-like client library: connect to a cluster, open a pool, read and
 * write objects (compound ops, guards, xattrs, omap), list, watch/notify. Placement is computed
 * locally from the OSDMap; ops go to the acting primary and follow it across map changes.
 * Errors are NacreErrors with codes (README: error codes).
 *
 * ```ts
 * import { connect, ObjectOperation } from '@nacre/client';
 *
 * const cluster = await connect({ conf: 'nacre.conf' });          // name defaults to client.admin
 * const io = await cluster.pool('rbd');
 * await io.writeFull('greeting', 'hello');
 * const data = await io.read('greeting');                          // <Buffer 68 65 6c 6c 6f>
 * await io.operate('greeting', new ObjectOperation().assertExists().setXattr('lang', 'en'));
 * await cluster.close();
 * ```
 */
export { connect, Cluster, type ConnectOptions, type ClusterStatus } from './cluster.js';
export { IoCtx, type ObjectStat, type IoOptions, type ReadOptions, type OmapPage } from './ioctx.js';
export { ObjectOperation, omapEntryList, type XattrComparison, type OmapEntries } from './op-builder.js';
export { Watch, type WatchCallback, type WatchOptions, type WatchStatus, type NotifyEvent, type NotifyReplyInfo } from './watch.js';
export { defaultClientOptions, resolveClientOptions, type ClientOptions } from './options.js';
export { checkObjectName, type BytesLike } from './validate.js';
export type { OpOutcome, Target } from './objecter.js';
export type { ListOptions } from './list.js';
