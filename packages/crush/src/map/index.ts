/** Whole-map tools: shadow trees, validation, JSON form, edits. */
export { rebuildShadowTrees, shadowName } from './shadow-trees.js';
export { LIMITS } from './limits.js';
