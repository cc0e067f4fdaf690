/**
 * Human output helpers shared by the admin commands: aligned tables (like `ceph osd tree`,
 * `ceph df`), byte and duration formatting.
 */
export { formatBytes } from './cluster/cluster-file.js';

/** Columns padded to their widest cell, two spaces apart; trailing spaces trimmed. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Seconds with one decimal: `1.2 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
