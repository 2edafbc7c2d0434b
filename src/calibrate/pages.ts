/**
 * Calibration pages: the canvas filled with held-out chat text at one font size, as full as
 * the layout allows, so a page shows the glyph size at the highest ratio it can reach.
 *
 * Page `p` at every size starts at the same turn of the text (spread over it by the golden
 * ratio, so the start does not depend on how many pages are read) and takes whole turns from
 * there, cycling to the start of the text when it runs out, then as much of the next turn as
 * fits, cut after a space. One to three columns are tried (a column at least 160 px wide, as
 * the planner does); the layout that holds the most characters wins, fewer columns on a tie.
 */
import { lineHeightFor, marginFor, pageSourceText } from '../../renderers/page-planner.js';
import { layoutForPlan, linesThatFit, renderPage, type PageLayoutPlan } from '../../renderers/page-renderer.js';
import type { RenderedPage } from '../../renderers/page.js';
import type { FontChoice, RenderTurn } from '../../renderers/text-layout.js';
import { InvalidInputError } from '../errors.js';
import { seenScale } from '../tokens/legibility.js';
import type { TextTokenizer } from '../tokens/text-tokenizer.js';
import type { CanvasSize, VisionTokenProfile } from '../tokens/vision-token-profile.js';

const GOLDEN = (Math.sqrt(5) - 1) / 2;
const MAX_COLUMNS = 3;
const MIN_COLUMN_WIDTH = 160;

export interface CalibrationPagePlan {
  /** The ladder size the page stands for, px as the model sees it. */
  readonly glyphPx: number;
  /** Glyph size the model actually sees: the drawn font size times its resize. */
  readonly seenGlyphPx: number;
  readonly page: number;
  /** Index of the turn the page starts at. */
  readonly start: number;
  readonly layout: PageLayoutPlan;
  readonly turns: readonly RenderTurn[];
  readonly sourceText: string;
  readonly textTokens: number;
  readonly visualTokens: number;
  /** textTokens / visualTokens. */
  readonly ratio: number;
}

/** First turn of page `page`: the same at every glyph size and whatever the page count. */
export function pageStart(page: number, turnCount: number): number {
  const frac = (page * GOLDEN) % 1;
  return Math.min(turnCount - 1, Math.floor(frac * turnCount));
}

/** The font size (0.25 px steps, as the planner draws) at which the model sees `glyphPx`. */
export function fontSizeFor(profile: VisionTokenProfile, canvas: CanvasSize, glyphPx: number): number {
  return Math.max(0.25, Math.round((glyphPx / seenScale(profile, canvas.width, canvas.height)) * 4) / 4);
}

function layoutPlan(canvas: CanvasSize, fontSize: number, font: FontChoice, columns: number): PageLayoutPlan {
  return { width: canvas.width, height: canvas.height, fontSize, lineHeight: lineHeightFor(fontSize), margin: marginFor(fontSize), font, columns };
}

/** Positions after which `text` may be cut: after spaces and line breaks, or anywhere when it has none. */
function cutPoints(text: string): number[] {
  const points: number[] = [];
  for (let i = 1; i <= text.length; i++) {
    if (/\s/.test(text[i - 1]!)) points.push(i);
  }
  if (points.length > 0) return points;
  const out: number[] = [];
  for (let i = 1; i <= text.length; i++) if (!/[\ud800-\udbff]/.test(text[i - 1]!)) out.push(i);
  return out;
}

interface Fill {
  readonly turns: RenderTurn[];
  readonly chars: number;
}

/** As much text from `start` on as fits `plan`; each turn starts a new line, so line counts add up. */
function fill(stream: readonly RenderTurn[], start: number, plan: PageLayoutPlan): Fill {
  const capacity = linesThatFit(plan);
  const turns: RenderTurn[] = [];
  let used = 0;
  let chars = 0;
  for (let k = 0; k < stream.length * 64 && used < capacity; k++) {
    const turn = stream[(start + k) % stream.length]!;
    const lines = layoutForPlan([turn], plan).length;
    if (used + lines <= capacity) {
      turns.push(turn);
      used += lines;
      chars += turn.content.length;
      continue;
    }
    // The part of this turn that fits the lines left, cut after a space.
    const points = cutPoints(turn.content);
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const content = turn.content.slice(0, points[mid - 1]!).trimEnd();
      if (used + layoutForPlan([{ ...turn, content }], plan).length <= capacity) lo = mid;
      else hi = mid - 1;
    }
    const content = lo > 0 ? turn.content.slice(0, points[lo - 1]!).trimEnd() : '';
    if (content !== '') {
      turns.push({ ...turn, content });
      chars += content.length;
    }
    break;
  }
  return { turns, chars };
}

export interface PlanPageInput {
  /** A turn planted in the middle of every page (a needle), built per page. */
  readonly plant?: (glyphPx: number, page: number) => RenderTurn;
  readonly profile: VisionTokenProfile;
  readonly canvas: CanvasSize;
  readonly font: FontChoice;
  readonly tokenizer: TextTokenizer;
  readonly turns: readonly RenderTurn[];
}

/** The page read at `glyphPx` as page number `page`. */
export function planCalibrationPage(input: PlanPageInput, glyphPx: number, page: number): CalibrationPagePlan {
  const { profile, canvas, font, tokenizer, turns: stream } = input;
  if (stream.length === 0) throw new InvalidInputError('turns', "'turns' holds no text. Pass held-out chat text (--text FILE).");
  const fontSize = fontSizeFor(profile, canvas, glyphPx);
  const start = pageStart(page, stream.length);
  let best: { layout: PageLayoutPlan; fill: Fill } | undefined;
  for (let columns = 1; columns <= MAX_COLUMNS; columns++) {
    if (columns > 1 && canvas.width / columns < MIN_COLUMN_WIDTH) break;
    const layout = layoutPlan(canvas, fontSize, font, columns);
    if (linesThatFit(layout) < 1) break;
    const f = fill(stream, start, layout);
    if (!best || f.chars > best.fill.chars) best = { layout, fill: f };
  }
  if (best && input.plant && best.fill.turns.length > 0) {
    // The planted turn goes after half of the page's turns; the page is filled again around it.
    const half = Math.floor(best.fill.turns.length / 2);
    const rotated = Array.from({ length: stream.length }, (_, k) => stream[(start + k) % stream.length]!);
    const planted = [...rotated.slice(0, half), input.plant(glyphPx, page), ...rotated.slice(half)];
    best = { layout: best.layout, fill: fill(planted, 0, best.layout) };
  }
  if (!best || best.fill.turns.length === 0) {
    throw new InvalidInputError(
      'sizes',
      `A ${glyphPx}px glyph (font ${fontSize}px) leaves no room for a line of text on the ${canvas.width}x${canvas.height} canvas. Leave ${glyphPx} out of 'sizes', or pick a larger 'canvas'.`,
    );
  }
  const sourceText = pageSourceText(best.fill.turns);
  const textTokens = tokenizer.count(sourceText);
  const visualTokens = profile.tokensFor(canvas.width, canvas.height);
  return {
    glyphPx,
    seenGlyphPx: fontSize * seenScale(profile, canvas.width, canvas.height),
    page,
    start,
    layout: best.layout,
    turns: best.fill.turns,
    sourceText,
    textTokens,
    visualTokens,
    ratio: textTokens / visualTokens,
  };
}

/** Draw a planned page: the same plan gives the same PNG bytes. */
export function renderCalibrationPage(plan: CalibrationPagePlan): Promise<RenderedPage> {
  return renderPage(plan.turns, plan.layout);
}
