/**
 * @nacre/client/testing — an in-process fake cluster (fake monitors and OSDs over ws on 127.0.0.1
 * or a memory network) for tests of the client library, the CLI and anything built on them.
 */
export * from './test-map.js';
export * from './fake-object-store.js';
export * from './fake-osd.js';
export * from './fake-cluster.js';
