/** @nacre/ec */
export * from './gf256.js';
export * from './matrix.js';
export * from './generator.js';
export * from './plan.js';
export * from './planner.js';
export * from './kernel.js';
export * from './kernel-js.js';
export * from './kernel-wasm.js';
