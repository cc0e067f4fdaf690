/** Whole-map tools: shadow trees, validation, JSON form, edits. */
export { rebuildShadowTrees, shadowName } from './shadow-trees.js';
export { LIMITS } from './limits.js';
export { validateCrushMap } from './validate.js';
export { CRUSH_MAP_JSON_FORMAT, crushMapFromJson, crushMapToJson, type CrushMapJson, type SetStepOpName, type StepJson } from './json.js';
export { addBucket, addDevice, removeItem, setItemWeight, type AddBucketOptions, type AddDeviceOptions, type ItemRef } from './edit.js';
