/**
 * @nacre/msgr/testing — helpers for tests of the messenger and of the packages built on it:
 * a `test.*` vocabulary, timers that count outstanding handles (leak checks), a virtual clock with
 * timers (VirtualTime, for runs on injected time with MemoryNetwork).
 * The echo daemon (`dist/testing/echo-daemon.js`) is a separate entry point.
 */
export * from './vocabulary.js';
export * from './counting-timers.js';
export * from './virtual-time.js';
export * from './fake-mon.js';
