/**
 * The injected environment (DESIGN §3). Daemons and state machines never call Date.now,
 * setTimeout, Math.random, the network or the filesystem directly: they take these from an Env,
 * so a test can wire a simulated clock, network and disk and replay a run from a seed.
 */
import type { Logger } from 'pino';
import { Prng } from './prng.js';

export interface Clock {
  /** Monotonic milliseconds (never compare between hosts). */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the epoch (for display and timestamps only). */
  wallMs(): number;
}

export interface TimerHandle { cancel(): void }

export interface Timers {
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  setInterval(fn: () => void, periodMs: number): TimerHandle;
}

export interface Random {
  nextU32(): number;
  next(): number;
  fill(buf: Uint8Array): Uint8Array;
}

export interface Env {
  clock: Clock;
  timers: Timers;
  random: Random;
  logger: Logger;
}

export const realClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

export const realTimers: Timers = {
  setTimeout(fn, delayMs) {
    const h = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(h) };
  },
  setInterval(fn, periodMs) {
    const h = setInterval(fn, periodMs);
    return { cancel: () => clearInterval(h) };
  },
};

/** A real environment: Node's clock and timers, a PRNG seeded from the OS. */
export function realEnv(logger: Logger, seed?: number): Env {
  return {
    clock: realClock,
    timers: realTimers,
    random: new Prng(seed ?? ((Math.random() * 0x1_0000_0000) >>> 0)),
    logger,
  };
}
