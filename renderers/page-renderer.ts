/**
 * Paints laid-out turns onto a white page (glyphs from the canvas, through the glyph atlas) and
 * returns a grayscale PNG with the line geometry embedded. Same turns and plan -> same bytes.
 */
import { RenderError } from '../src/errors.js';
import { loadCanvas } from '../src/internal/lazy.js';
import { loadFontSet, registerShippedFonts, type FontSet } from './fonts.js';
import { loadGlyphAtlas, paintRuns } from './glyph-atlas.js';
import type { LineBox, PageGeometry, RenderedPage } from './page.js';
import { encodeGrayPng, GEOMETRY_KEYWORD } from './png.js';
import { layoutTurns, type FontChoice, type LaidOutLine, type RenderTurn } from './text-layout.js';

export interface PageLayoutPlan {
  readonly width: number;
  readonly height: number;
  readonly fontSize: number;
  /** Integer px, so line crops land on whole rows. */
  readonly lineHeight: number;
  readonly margin: number;
  readonly font: FontChoice;
  /** Text columns; short-line content (code, lists) reads larger in two or three. Default 1. */
  readonly columns?: number;
}

/** Renders turns to a page image. One implementation today (canvas); the spec keeps it pluggable. */
export interface RendererV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  render(turns: readonly RenderTurn[], plan: PageLayoutPlan): Promise<RenderedPage>;
}
export type Renderer = RendererV1;

/** Space between columns: wide enough that a reader never runs two columns together. */
export function gutterFor(plan: PageLayoutPlan): number {
  return Math.ceil(plan.fontSize * 3);
}

export function columnWidth(plan: PageLayoutPlan): number {
  const columns = plan.columns ?? 1;
  return (plan.width - 2 * plan.margin - (columns - 1) * gutterFor(plan)) / columns;
}

export function layoutForPlan(turns: readonly RenderTurn[], plan: PageLayoutPlan): LaidOutLine[] {
  return layoutTurns(turns, { fontSize: plan.fontSize, maxWidth: columnWidth(plan), font: plan.font });
}

export function rowsPerColumn(plan: PageLayoutPlan): number {
  return Math.floor((plan.height - 2 * plan.margin) / plan.lineHeight);
}

/** Lines that fit on the page for this plan (all columns). */
export function linesThatFit(plan: PageLayoutPlan): number {
  return rowsPerColumn(plan) * (plan.columns ?? 1);
}

export function createCanvasRenderer(): Renderer {
  return { specificationVersion: 'v1', name: 'canvas', render: renderPage };
}

export async function renderPage(turns: readonly RenderTurn[], plan: PageLayoutPlan): Promise<RenderedPage> {
  const lines = layoutForPlan(turns, plan);
  if (lines.length > linesThatFit(plan)) {
    throw new RenderError(
      `The text needs ${lines.length} lines but a ${plan.width}x${plan.height} page at ${plan.fontSize}px holds ${linesThatFit(plan)}. Let the planner choose the plan (planPages) or pass a smaller 'fontSize'.`,
      { field: 'plan.fontSize' },
    );
  }
  await registerShippedFonts();
  const fonts = loadFontSet();
  const atlas = await loadGlyphAtlas(loadCanvas, fonts);
  const surface = { width: plan.width, height: plan.height, data: new Uint8Array(plan.width * plan.height).fill(255) };
  const baseline = baselineOffset(plan.fontSize, plan.lineHeight, fonts);
  const boxes: LineBox[] = [];
  const rows = rowsPerColumn(plan);
  const colStep = columnWidth(plan) + gutterFor(plan);
  lines.forEach((line, i) => {
    const col = Math.floor(i / rows);
    const y = plan.margin + (i % rows) * plan.lineHeight;
    // Whole-pixel line starts: a reader that draws a line again lands on the same pixels.
    const x = Math.round(plan.margin + col * colStep + line.indent);
    paintRuns(surface, atlas, fonts, line.runs, x, y + baseline, plan.fontSize);
    if (line.runs.length === 0) return; // blank line: position only, nothing to read
    boxes.push({
      x,
      y,
      width: Math.min(Math.ceil(line.width) + 1, plan.width - Math.floor(x)),
      height: plan.lineHeight,
      fontSize: plan.fontSize,
      font: line.baseFont,
      turn: line.turn,
      ...(line.wrapped ? { wrapped: true } : {}),
      ...(line.cut ? { cut: true } : {}),
    });
  });
  const gray = surface.data;
  const geometry: PageGeometry = {
    version: 1,
    width: plan.width,
    height: plan.height,
    fontSize: plan.fontSize,
    lineHeight: plan.lineHeight,
    margin: plan.margin,
    font: plan.font,
    ...((plan.columns ?? 1) > 1 ? { columns: plan.columns, gutter: gutterFor(plan) } : {}),
    lines: boxes,
  };
  const png = encodeGrayPng(gray, plan.width, plan.height, { [GEOMETRY_KEYWORD]: JSON.stringify(geometry) });
  return { png, geometry, text: lines.map((l) => ' '.repeat(l.indentSpaces) + l.text).join('\n') };
}

/** Baseline of every line, px below the line box's top: the sans face's ascent and descent centred in the line, on a whole pixel. */
export function baselineOffset(fontSize: number, lineHeight: number, fonts: FontSet = loadFontSet()): number {
  const sans = fonts.fonts.sans.metrics;
  const ascent = (sans.ascender / sans.unitsPerEm) * fontSize;
  const descent = (-sans.descender / sans.unitsPerEm) * fontSize;
  return Math.round((lineHeight - (ascent + descent)) / 2 + ascent);
}

