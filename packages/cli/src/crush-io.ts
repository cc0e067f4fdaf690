/** Reading CRUSH maps for the CLI: crushtool text or Nacre's JSON form, with errors naming the file. */
import { readFileSync } from 'node:fs';
import { CrushError, parseCrushText, type CrushMap } from '@nacre/crush';
import { NacreError } from '@nacre/util';
import { UsageError } from './args.js';

export function readInput(path: string): string {
  try {
    return path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new NacreError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { code: 'ENOENT', cause: err });
  }
}

/** JSON if the text starts with `{`, else crushtool text. Bad input → UsageError (exit 2). */
export async function loadCrushMap(path: string): Promise<CrushMap> {
  const text = readInput(path);
  try {
    if (text.trimStart().startsWith('{')) {
      const { crushMapFromJson } = await import('@nacre/crush');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new CrushError(`not valid JSON: ${(err as Error).message}`);
      }
      return crushMapFromJson(value);
    }
    return parseCrushText(text);
  } catch (err) {
    if (err instanceof CrushError) throw new UsageError(`${path}: ${err.message}`);
    throw err;
  }
}
