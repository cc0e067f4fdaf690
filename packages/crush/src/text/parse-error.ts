/**
 * The error every piece of bad crushtool text produces: where (1-based line and column of the
 * offending token, columns counted in UTF-16 code units, a tab counts as one) and what.
 * The message reads `line 12, column 8: unknown bucket 'hostx'`.
 */
import { CrushError } from '../model.js';

export class CrushParseError extends CrushError {
  /** The message without the position prefix. */
  readonly detail: string;
  constructor(readonly line: number, readonly column: number, detail: string) {
    super(`line ${line}, column ${column}: ${detail}`);
    this.name = 'CrushParseError';
    this.detail = detail;
  }
}
