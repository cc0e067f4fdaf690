/**
 * `parseCrushText`: crushtool's compiler (`crushtool -c`) for Nacre — text in, CrushMap out, the
 * same map crushtool builds (see compile.ts for the Ceph behaviour reproduced). Any problem with
 * the input is a CrushParseError carrying line and column.
 */
import type { CrushMap } from '../model.js';
import { compileSyntax } from './compile.js';
import { tokenize } from './lexer.js';
import { parseSyntax } from './syntax.js';

export function parseCrushText(text: string): CrushMap {
  return compileSyntax(parseSyntax(tokenize(text)));
}
