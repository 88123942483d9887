/**
 * Markdown tables for the benchmarks' output: readable in a terminal and pasted as they are into
 * docs/BENCHMARKS.md.
 */

/** A cell that looks like a number (with a unit or a ×) is right-aligned. */
const NUMERIC = /^[-+−~≈]?[\d.,]+\s*(%|×|x|µs|ms|s|MB|KB|kB|B|\/s|\$)?$|^\$[\d.,]+$/;

export function renderTable(title: string, headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const right = headers.map(
    (_header, column) =>
      rows.length > 0 &&
      rows.every((row) => NUMERIC.test(row[column] ?? '') || ['', '–'].includes(row[column] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return right[column] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (right[column] ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [`### ${title}`, '', line(headers), rule, ...rows.map((row) => line(row))].join('\n');
}

/** Prints a table with the notes that say how to read it. */
export function printTable(
  title: string,
  headers: readonly string[],
  rows: readonly string[][],
  notes: readonly string[] = [],
): void {
  const text = [renderTable(title, headers, rows), ...(notes.length ? ['', ...notes] : []), ''].join('\n');
  process.stdout.write(`${text}\n`);
}

export const formatNumber = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const formatMegabytes = (bytes: number): string => `${formatNumber(bytes / 1024 / 1024, 1)} MB`;

export const formatKilobytes = (bytes: number): string => `${formatNumber(bytes / 1024, 1)} KB`;

export const formatRatio = (value: number): string => `${formatNumber(value, 2)}×`;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
