/**
 * From page results to a calibration: a row per glyph size, the floor, the legibility preset,
 * a Markdown report and a chart.
 *
 * The floor rule: with the ladder's sizes s1 < s2 < ... < sn and the mean fidelity f(s) of the
 * pages read at each, the floor is the smallest si such that f(sj) >= minFidelity for every
 * j >= i. A size that reaches minFidelity below a size that does not is not the floor: legibility
 * must hold from the floor up. When the largest size misses minFidelity there is no floor and no
 * preset.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatNumber, formatPercent, markdownTable } from '../internal/table.js';
import { LegibilityPresetSchema, type LegibilityPreset } from '../tokens/legibility.js';
import type { CanvasSize } from '../tokens/vision-token-profile.js';
import type { PageResult } from './state.js';

export interface CalibrationRow {
  /** Ladder size, px as the model sees it. */
  readonly glyphPx: number;
  readonly seenGlyphPx: number;
  /** Font size the pages were drawn at. */
  readonly fontSize: number;
  readonly pages: number;
  /** Mean text tokens / visual tokens of the pages: the ratio a full page reaches at this size. */
  readonly ratio: number;
  readonly textTokens: number;
  /** Mean fidelity of the pages. */
  readonly fidelity: number;
  /** Fidelity of the worst page. */
  readonly worstFidelity: number;
  /** Pages the decoder could not read (refused, cut at its token limit), counted at fidelity 0. */
  readonly unread: number;
  /** Mean fidelity >= minFidelity. */
  readonly legible: boolean;
  /** Share of the needle questions answered right, when pages carried needles. */
  readonly needles?: number;
}

export interface ReportContext {
  readonly profile: string;
  readonly model: string;
  readonly decoder: string;
  readonly canvas: CanvasSize;
  readonly visualTokensPerPage: number;
  readonly pagesPerSize: number;
  readonly minFidelity: number;
  readonly textSource: string;
  readonly measuredAt: string;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One row per ladder size that has results, smallest size first. */
export function summarize(results: readonly PageResult[], sizes: readonly number[], minFidelity: number): CalibrationRow[] {
  const rows: CalibrationRow[] = [];
  for (const glyphPx of sizes) {
    const at = results.filter((r) => r.glyphPx === glyphPx);
    if (at.length === 0) continue;
    const fidelity = mean(at.map((r) => r.fidelity));
    const asked = at.filter((r) => r.needle !== undefined);
    rows.push({
      glyphPx,
      seenGlyphPx: at[0]!.seenGlyphPx,
      fontSize: at[0]!.fontSize,
      pages: at.length,
      ratio: mean(at.map((r) => r.ratio)),
      textTokens: mean(at.map((r) => r.textTokens)),
      fidelity,
      worstFidelity: Math.min(...at.map((r) => r.fidelity)),
      unread: at.filter((r) => r.error !== undefined).length,
      legible: fidelity >= minFidelity,
      ...(asked.length > 0 ? { needles: asked.filter((r) => r.needle!.found).length / asked.length } : {}),
    });
  }
  return rows;
}

/** The floor by the rule above, or undefined when the largest size is not legible. */
export function floorOf(rows: readonly CalibrationRow[]): number | undefined {
  let floor: number | undefined;
  for (let i = rows.length - 1; i >= 0; i--) {
    if (!rows[i]!.legible) break;
    floor = rows[i]!.glyphPx;
  }
  return floor;
}

export function floorRule(minFidelity: number): string {
  return `the smallest ladder size from which every larger ladder size reaches a mean page fidelity of at least ${formatPercent(minFidelity)}`;
}

export function buildPreset(rows: readonly CalibrationRow[], floor: number, ctx: ReportContext): LegibilityPreset {
  return LegibilityPresetSchema.parse({
    format: 'opticmem-legibility',
    version: 1,
    profile: ctx.profile,
    model: ctx.model,
    minGlyphPx: floor,
    minFidelity: ctx.minFidelity,
    measuredAt: ctx.measuredAt,
    source:
      `opticmem calibrate: ${ctx.decoder} read full pages of ${ctx.textSource} on the ${ctx.canvas.width}x${ctx.canvas.height} canvas ` +
      `(${ctx.visualTokensPerPage} visual tokens), up to ${ctx.pagesPerSize} pages a glyph size from ${rows[0]?.glyphPx} to ${rows[rows.length - 1]?.glyphPx} px; ` +
      `the floor is ${floorRule(ctx.minFidelity)}.`,
    rows: rows.map((r) => ({ glyphPx: r.glyphPx, ratio: round(r.ratio, 3), pages: r.pages, fidelity: round(r.fidelity, 4) })),
  });
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** The table of a calibration, as Markdown. */
export function calibrationTable(rows: readonly CalibrationRow[]): string {
  const needles = rows.some((r) => r.needles !== undefined);
  return markdownTable(
    ['glyph px', 'font px', 'ratio', 'pages', 'fidelity', 'worst page', ...(needles ? ['needle'] : []), 'legible'],
    rows.map((r) => [
      formatNumber(r.seenGlyphPx, { digits: Number.isInteger(r.seenGlyphPx) ? 0 : 2 }),
      formatNumber(r.fontSize, { digits: Number.isInteger(r.fontSize) ? 0 : 2 }),
      `${r.ratio.toFixed(1)}x`,
      r.unread ? `${r.pages} (${r.unread} unread)` : r.pages,
      formatPercent(r.fidelity),
      formatPercent(r.worstFidelity),
      ...(needles ? [r.needles === undefined ? '—' : formatPercent(r.needles, 0)] : []),
      r.legible ? 'yes' : 'no',
    ]),
  );
}

export function markdownReport(rows: readonly CalibrationRow[], floor: number | undefined, ctx: ReportContext): string {
  const floorRow = rows.find((r) => r.glyphPx === floor);
  return [
    `# Legibility calibration: ${ctx.model} on ${ctx.profile}`,
    '',
    `Pages: the ${ctx.canvas.width}x${ctx.canvas.height} canvas (${ctx.visualTokensPerPage} visual tokens a page) filled with ${ctx.textSource} at each glyph size; ${ctx.pagesPerSize} pages a size. ` +
      `Read by ${ctx.decoder}. Measured ${ctx.measuredAt}.`,
    'Glyph px is the font size as the model sees it after its resize; ratio is text tokens (o200k) / visual tokens of a full page; ' +
      'fidelity = 1 - character edit distance / reference length after whitespace normalisation, averaged over the pages of a row.' +
      (rows.some((r) => r.needles !== undefined) ? ' Needle: share of pages whose planted fact (a four-digit code) the model gave back when asked about the page; not part of the floor.' : ''),
    '',
    calibrationTable(rows),
    '',
    floor === undefined
      ? `No floor: the largest size (${rows[rows.length - 1]?.glyphPx ?? '?'} px) does not reach ${formatPercent(ctx.minFidelity)}. Add larger sizes, or check that the model reads the pages (its prompt).`
      : `Floor: **${floor} px** (${floorRow ? `${floorRow.ratio.toFixed(1)}x on this canvas` : ''}), ${floorRule(ctx.minFidelity)}.`,
    '',
  ].join('\n');
}

/** Fidelity vs glyph size, each point labelled with the ratio a full page reaches there. */
export async function renderCalibrationChart(series: readonly { readonly name: string; readonly rows: readonly CalibrationRow[] }[], minFidelity: number, title: string, labels = series.length === 1): Promise<Uint8Array> {
  const { renderLineChart } = await import('../internal/chart.js');
  const all = series.flatMap((s) => s.rows);
  const xs = all.map((r) => r.glyphPx);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return renderLineChart({
    title,
    xLabel: labels ? 'glyph size as the model sees it (px); labels: text tokens / visual tokens of a full page' : 'glyph size as the model sees it (px)',
    yLabel: 'fidelity (%)',
    series: [
      ...series.map((s) => ({
        name: s.name,
        points: s.rows.map((r) => ({ x: r.glyphPx, y: r.fidelity * 100, ...(labels ? { label: `${r.ratio.toFixed(1)}x` } : {}) })),
      })),
      { name: `min fidelity ${formatPercent(minFidelity)}`, style: 'dashed' as const, color: '#888888', points: [{ x: lo, y: minFidelity * 100 }, { x: hi, y: minFidelity * 100 }] },
    ],
    xDomain: [Math.max(0, lo - 1), hi + 1],
    // From the nearest ten below the lowest point (or the threshold), so a curve near the top stays readable.
    yDomain: [Math.max(0, Math.floor(Math.min(minFidelity * 100, ...all.map((r) => r.fidelity * 100)) / 10) * 10), 100],
  });
}

export interface WrittenFiles {
  readonly markdown: string;
  readonly json: string;
  readonly chart: string;
  /** Absent when there is no floor. */
  readonly preset?: string;
}

export const PRESET_FILE = 'legibility.json';

/** Write calibration.md, calibration.json, calibration.png and (with a floor) legibility.json to `dir`. */
export async function writeReport(dir: string, report: { markdown: string; json: unknown; rows: readonly CalibrationRow[]; preset: LegibilityPreset | undefined; ctx: ReportContext }): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const files = { markdown: join(dir, 'calibration.md'), json: join(dir, 'calibration.json'), chart: join(dir, 'calibration.png') };
  await writeFile(files.markdown, report.markdown);
  await writeFile(files.json, JSON.stringify(report.json, null, 2) + '\n');
  await writeFile(files.chart, await renderCalibrationChart([{ name: report.ctx.model, rows: report.rows }], report.ctx.minFidelity, `Legibility of ${report.ctx.model} on ${report.ctx.profile} (${report.ctx.canvas.width}x${report.ctx.canvas.height})`));
  const preset = join(dir, PRESET_FILE);
  if (!report.preset) {
    // A preset an earlier run left would contradict this report.
    await rm(preset, { force: true });
    return files;
  }
  await writeFile(preset, JSON.stringify(report.preset, null, 2) + '\n');
  return { ...files, preset };
}
