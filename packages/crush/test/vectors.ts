/**
 * Access to Ceph's ground-truth vectors (../shared/vectors/ceph-placement, or NACRE_VECTORS).
 * A missing folder is a loud failure, never a skip: these vectors are the proof of compatibility.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function vectorsDir(): string {
  const dir = process.env['NACRE_VECTORS'] ?? join(repoRoot, '..', 'shared', 'vectors', 'ceph-placement');
  if (!existsSync(join(dir, 'manifest.json'))) {
    throw new Error(`Ceph placement vectors not found at ${dir} (set NACRE_VECTORS=DIR); these tests must not be skipped`);
  }
  return dir;
}

export function readJson<T = unknown>(relPath: string): T {
  return JSON.parse(readFileSync(join(vectorsDir(), relPath), 'utf8')) as T;
}

export function readText(relPath: string): string {
  return readFileSync(join(vectorsDir(), relPath), 'utf8');
}

/** File names (not paths) in a vectors subfolder, sorted. */
export function listFiles(subdir: string, suffix = ''): string[] {
  return readdirSync(join(vectorsDir(), subdir)).filter((f) => f.endsWith(suffix)).sort();
}
