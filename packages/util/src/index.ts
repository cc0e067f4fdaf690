/**
 * @nacre/util — the few pieces every daemon shares: coded errors and always-on assertions,
 * a seeded PRNG, the injected environment (clock, timers, randomness, logger) and pino loggers.
 *
 * ```ts
 * import { NacreError, assert, Prng } from '@nacre/util';
 * const rng = new Prng(42);
 * assert(rng.int(1, 6) <= 6, 'dice');
 * throw new NacreError('object not found', { code: 'ENOENT' });
 * ```
 */
export * from './errors.js';
export * from './prng.js';
export * from './env.js';
export * from './log.js';
export * from './expect.js';
