/**
 * Tables for evaluation reports: Markdown for the committed result files and boxed plain text
 * for the console. Columns are padded by display width (CJK characters take two cells) so the
 * raw Markdown lines up in an editor too.
 */
import { isWideCodePoint } from '../../renderers/fonts.js';

export type Align = 'left' | 'right' | 'center';
export type Cell = string | number | null | undefined;

export interface TableOptions {
  /** One entry per column; by default columns of numbers (or formatted numbers) are right-aligned. */
  align?: readonly Align[];
}

/** Placeholder for a missing or non-finite value. */
export const MISSING = '—';

export interface NumberFormat {
  /** Decimal places; defaults to 0 for integers and 2 otherwise. */
  digits?: number;
  /** Thousands as 'k' and millions as 'M' (12.3k). */
  compact?: boolean;
}

/** Thousands-separated number with a fixed count of decimals; '—' for null and NaN. */
export function formatNumber(value: number | null | undefined, options: NumberFormat = {}): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  const digits = options.digits ?? (Number.isInteger(value) ? 0 : 2);
  if (options.compact) {
    const abs = Math.abs(value);
    if (abs >= 1e6) return `${formatNumber(value / 1e6, { digits: Math.max(1, digits) })}M`;
    if (abs >= 1e3) return `${formatNumber(value / 1e3, { digits: Math.max(1, digits) })}k`;
  }
  // A fixed locale keeps reports identical whatever machine produced them.
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio (0.973) as a percentage ('97.3%'); '—' for null and NaN. */
export function formatPercent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return MISSING;
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** Terminal and editor cells the text occupies. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += isWideCodePoint(ch.codePointAt(0)!) ? 2 : 1;
  return width;
}

/** Numbers and formatted numbers ('1,234', '97.3%', '12.3k', '10x') line up on the right. */
function looksNumeric(cell: Cell): boolean {
  if (typeof cell !== 'string') return true;
  return cell === MISSING || /^[-+−]?[\d,]*\.?\d+\s?(%|k|M|x|×)?$/.test(cell.trim());
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return MISSING;
  return typeof cell === 'number' ? formatNumber(cell) : cell;
}

function pad(text: string, width: number, align: Align): string {
  const gap = Math.max(0, width - displayWidth(text));
  if (align === 'right') return ' '.repeat(gap) + text;
  if (align === 'center') return ' '.repeat(Math.floor(gap / 2)) + text + ' '.repeat(Math.ceil(gap / 2));
  return text + ' '.repeat(gap);
}

interface Layout {
  header: string[];
  body: string[][];
  widths: number[];
  align: Align[];
}

function layout(headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions, escape: (s: string) => string): Layout {
  rows.forEach((row, i) => {
    if (row.length !== headers.length) {
      throw new RangeError(`table row ${i} has ${row.length} cells for ${headers.length} columns`);
    }
  });
  const header = headers.map(escape);
  const body = rows.map((row) => row.map((cell) => escape(cellText(cell))));
  const align = headers.map((_, c) => {
    const given = options.align?.[c];
    if (given) return given;
    return rows.length > 0 && rows.every((row) => looksNumeric(row[c])) ? 'right' : 'left';
  });
  const widths = headers.map((_, c) => Math.max(displayWidth(header[c]!), ...body.map((row) => displayWidth(row[c]!))));
  return { header, body, widths, align };
}

function escapeMarkdown(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GitHub-flavoured Markdown table, ending without a newline. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions = {}): string {
  const { header, body, widths, align } = layout(headers, rows, options, escapeMarkdown);
  // The delimiter row needs at least three characters per column.
  const w = widths.map((x) => Math.max(3, x));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, c) => pad(cell, w[c]!, align[c]!)).join(' | ')} |`;
  const rule = w.map((x, c) => {
    const a = align[c]!;
    const dashes = '-'.repeat(x - (a === 'center' ? 2 : 1));
    return a === 'center' ? `:${dashes}:` : a === 'right' ? `${dashes}:` : `:${dashes}`;
  });
  return [line(header), `| ${rule.join(' | ')} |`, ...body.map(line)].join('\n');
}

/** A boxed plain-text table for terminals, ending without a newline. */
export function textTable(headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions = {}): string {
  const { header, body, widths, align } = layout(headers, rows, options, (s) => s.replace(/\r?\n/g, ' '));
  const border = (l: string, m: string, r: string) => l + widths.map((x) => '─'.repeat(x + 2)).join(m) + r;
  const line = (cells: readonly string[]) => `│ ${cells.map((cell, c) => pad(cell, widths[c]!, align[c]!)).join(' │ ')} │`;
  return [
    border('┌', '┬', '┐'),
    line(header),
    border('├', '┼', '┤'),
    ...body.map(line),
    border('└', '┴', '┘'),
  ].join('\n');
}

/** Print a plain-text table, by default to stdout. */
export function printTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TableOptions & { write?: (text: string) => void } = {},
): void {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  write(textTable(headers, rows, options) + '\n');
}
