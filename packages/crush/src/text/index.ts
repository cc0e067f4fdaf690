/** crushtool's text format: parser (compiler) and printer (decompiler), and weight conversions. */
export { parseCrushText } from './parse.js';
export { printCrushText } from './printer.js';
export { CrushParseError } from './parse-error.js';
export { formatWeight, strtof32, weightFromFloat, weightFromText, type WeightProblem } from './weight.js';
