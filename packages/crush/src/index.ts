/**
 * @nacre/crush — Ceph-identical CRUSH placement: the map model, crushtool's text format, the
 * rjenkins1 hashes, the bucket algorithms (straw2, straw, list, tree, uniform) and crush_do_rule.
 * Pure: no I/O, no clock, no logger.
 */
export * from './model.js';
export * from './hash.js';
export { crushLn, crushLnExact } from './crush-ln.js';
export { calcStraws } from './straw-calc.js';
export { compileMap, type CompiledMap, type CompiledBucket, type CompiledChooseArg } from './compiled.js';
export { doRule, chooseArgsFor } from './mapper.js';
export * from './text/index.js';
export * from './map/index.js';
