/**
 * Chooses, for each page, the canvas and font size so that text tokens / visual tokens stays
 * at or below the target ratio while glyphs stay as large as the canvas allows. Text that
 * does not fit one canvas is split over several pages.
 */
import { InvalidInputError, RenderError } from '../src/errors.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import type { CanvasSize, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { minFontSizeFor } from '../src/tokens/legibility.js';
import { layoutForPlan, linesThatFit, type PageLayoutPlan } from './page-renderer.js';
import { labelFor, type FontChoice, type RenderTurn } from './text-layout.js';

export interface PlanOptions {
  /** Target text tokens per visual token (10 = lossless tier, 20 = forgetting tier). */
  readonly ratio: number;
  readonly profile: VisionTokenProfile;
  readonly tokenizer: TextTokenizer;
  readonly font?: FontChoice;
  /** Smallest font the planner may use, px. Below ~5 px no OCR model reads Latin text. */
  readonly minFontSize?: number;
  readonly maxFontSize?: number;
  /** Largest canvas side the planner may use, px. */
  readonly maxSide?: number;
  /** Most text columns per page (1 keeps a single column). Default 3. */
  readonly maxColumns?: number;
  /**
   * Smallest glyph the consuming model must see, in its own input pixels after its resize
   * (a legibility floor, see legibility.ts): each canvas gets the font size that gives it, so
   * pages come out at the highest ratio the floor allows when that is below `ratio`.
   */
  readonly minGlyphPx?: number;
}

/** Where a page's turn came from: source turn index and the character range of its content. */
export interface TurnSlice {
  readonly turn: number;
  readonly start: number;
  readonly end: number;
}

export interface PagePlan extends PageLayoutPlan {
  readonly turns: readonly RenderTurn[];
  readonly slices: readonly TurnSlice[];
  readonly textTokens: number;
  readonly visualTokens: number;
  /** textTokens / visualTokens; never above the target. */
  readonly ratio: number;
  readonly profile: string;
}

const DEFAULTS = { font: 'auto' as FontChoice, minFontSize: 5, maxFontSize: 28, maxSide: 2048, maxColumns: 3 };

/** The text a page stands for, which its token count and fidelity are measured against. */
export function pageSourceText(turns: readonly RenderTurn[]): string {
  return turns
    .map((t) => {
      const label = labelFor(t);
      return label ? `${label} ${t.content}` : t.content;
    })
    .join('\n');
}

export function lineHeightFor(fontSize: number): number {
  return Math.max(Math.ceil(fontSize * 1.2), Math.ceil(fontSize) + 2);
}

export function marginFor(fontSize: number): number {
  return Math.max(2, Math.round(fontSize * 0.6));
}

function layoutPlan(size: CanvasSize, fontSize: number, font: FontChoice, columns = 1): PageLayoutPlan {
  return { width: size.width, height: size.height, fontSize, lineHeight: lineHeightFor(fontSize), margin: marginFor(fontSize), font, columns };
}

/** Largest font size (in 0.25 px steps) at which the turns fit the canvas, or undefined. */
export function fitFontSize(
  turns: readonly RenderTurn[],
  size: CanvasSize,
  font: FontChoice,
  minFontSize: number,
  maxFontSize: number,
  columns = 1,
): number | undefined {
  const fits = (fs: number) => {
    const plan = layoutPlan(size, fs, font, columns);
    return layoutForPlan(turns, plan).length <= linesThatFit(plan);
  };
  if (!fits(minFontSize)) return undefined;
  let lo = Math.round(minFontSize * 4);
  let hi = Math.round(maxFontSize * 4);
  if (fits(hi / 4)) return hi / 4;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid / 4)) lo = mid;
    else hi = mid;
  }
  return lo / 4;
}

interface Segment {
  readonly turn: number;
  readonly start: number;
  readonly end: number;
  readonly tokens: number;
}

/** Cut each turn's content into lines (and long lines into word runs) with token counts. */
function segmentTurns(turns: readonly RenderTurn[], tokenizer: TextTokenizer, maxTokens: number): Segment[] {
  const out: Segment[] = [];
  turns.forEach((turn, t) => {
    const text = turn.content;
    const label = labelFor(turn);
    let pos = 0;
    const pieces = text.split(/(?<=\n)/);
    if (pieces.length === 0) pieces.push('');
    for (const piece of pieces) {
      const tokens = tokenizer.count(piece) + (pos === 0 && label ? tokenizer.count(label + ' ') : 0);
      if (tokens <= maxTokens) out.push({ turn: t, start: pos, end: pos + piece.length, tokens });
      else out.push(...splitLong(t, piece, pos, tokenizer, maxTokens));
      pos += piece.length;
    }
  });
  return out;
}

function splitLong(turn: number, text: string, offset: number, tokenizer: TextTokenizer, maxTokens: number): Segment[] {
  // Cut at the last space (or anywhere, for CJK and unbroken runs) before the token budget.
  const out: Segment[] = [];
  let start = 0;
  while (start < text.length) {
    let lo = start + 1;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tokenizer.count(text.slice(start, mid)) <= maxTokens) lo = mid;
      else hi = mid - 1;
    }
    let end = lo;
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start + (end - start) / 2) end = space + 1;
      // never split a surrogate pair
      if (/[\ud800-\udbff]/.test(text[end - 1] ?? '')) end--;
    }
    out.push({ turn, start: offset + start, end: offset + end, tokens: tokenizer.count(text.slice(start, end)) });
    start = end;
  }
  return out;
}

/** Rebuild the turns a run of segments covers; continuation parts carry no label. */
function turnsOf(segments: readonly Segment[], source: readonly RenderTurn[]): { turns: RenderTurn[]; slices: TurnSlice[] } {
  const slices: TurnSlice[] = [];
  for (const s of segments) {
    const last = slices[slices.length - 1];
    if (last && last.turn === s.turn && last.end === s.start) slices[slices.length - 1] = { ...last, end: s.end };
    else slices.push({ turn: s.turn, start: s.start, end: s.end });
  }
  const turns = slices.map((sl) => {
    const src = source[sl.turn]!;
    const content = src.content.slice(sl.start, sl.end).replace(/\n$/, '');
    return { role: src.role, content, label: sl.start === 0 ? labelFor(src) : '' };
  });
  return { turns, slices };
}

/** Plan the pages for `turns` at `options.ratio` under `options.profile`. */
export function planPages(turns: readonly RenderTurn[], options: PlanOptions): PagePlan[] {
  const { ratio, profile, tokenizer } = options;
  if (!(typeof ratio === 'number' && Number.isFinite(ratio) && ratio > 0)) {
    throw new InvalidInputError('ratio', `'ratio' must be a positive number of text tokens per visual token (e.g. 10 for the lossless tier); got ${String(ratio)}.`);
  }
  const font = options.font ?? DEFAULTS.font;
  const minFontSize = options.minFontSize ?? DEFAULTS.minFontSize;
  const maxFontSize = options.maxFontSize ?? DEFAULTS.maxFontSize;
  const maxSide = options.maxSide ?? DEFAULTS.maxSide;
  const maxColumns = options.maxColumns ?? DEFAULTS.maxColumns;
  const sizes = profile
    .sizes()
    .filter((s) => Math.max(s.width, s.height) <= maxSide)
    .map((s) => ({
      size: s,
      tokens: profile.tokensFor(s.width, s.height),
      minFont: options.minGlyphPx ? Math.max(minFontSize, minFontSizeFor(profile, options.minGlyphPx, s.width, s.height)) : minFontSize,
    }))
    .filter((s) => s.minFont <= maxFontSize)
    .sort((a, b) => a.tokens - b.tokens || b.size.width * b.size.height - a.size.width * a.size.height);
  if (sizes.length === 0 && options.minGlyphPx) {
    throw new InvalidInputError('minGlyphPx', `No ${profile.name} canvas with sides <= ${maxSide}px can show ${options.minGlyphPx}px glyphs within 'maxFontSize' (${maxFontSize}px). Lower the legibility floor or raise 'maxFontSize'.`);
  }
  if (sizes.length === 0) {
    throw new InvalidInputError('maxSide', `Profile '${profile.name}' offers no canvas with sides <= ${maxSide}px. Raise 'maxSide'.`);
  }
  const largest = sizes[sizes.length - 1]!.tokens;
  if (ratio * largest < 1) {
    throw new InvalidInputError('ratio', `A ratio of ${ratio} text tokens per visual token puts less than one text token on the largest ${profile.name} canvas (${largest} visual tokens). Use a ratio of at least ${(1 / largest).toPrecision(2)}; 10 is lossless, 20 forgets.`);
  }
  const capacity = Math.max(1, Math.floor(ratio * largest));
  const segments = segmentTurns(turns, tokenizer, capacity);

  const pages: PagePlan[] = [];
  const place = (segs: readonly Segment[]): void => {
    const { turns: pageTurns, slices } = turnsOf(segs, turns);
    const textTokens = tokenizer.count(pageSourceText(pageTurns));
    const needed = textTokens / ratio;
    for (const { size, tokens, minFont } of sizes) {
      if (tokens < needed) continue;
      // Try one to three columns and keep whichever gives the largest glyphs.
      let best: { fontSize: number; columns: number } | undefined;
      for (let columns = 1; columns <= maxColumns; columns++) {
        if (size.width / columns < 160) break;
        const fontSize = fitFontSize(pageTurns, size, font, minFont, maxFontSize, columns);
        if (fontSize !== undefined && (!best || fontSize > best.fontSize)) best = { fontSize, columns };
      }
      if (!best) continue;
      const plan = layoutPlan(size, best.fontSize, font, best.columns);
      pages.push({ ...plan, turns: pageTurns, slices, textTokens, visualTokens: tokens, ratio: textTokens / tokens, profile: profile.name });
      return;
    }
    if (segs.length > 1) {
      // Split where the token mass halves, so both halves land near the target ratio.
      const total = segs.reduce((a, s) => a + s.tokens, 0);
      let acc = 0;
      let cut = 1;
      for (let i = 0; i < segs.length - 1; i++) {
        acc += segs[i]!.tokens;
        if (acc >= total / 2) {
          cut = i + 1;
          break;
        }
        cut = i + 1;
      }
      place(segs.slice(0, cut));
      place(segs.slice(cut));
      return;
    }
    const only = segs[0]!;
    if (only.end - only.start <= 1) {
      throw new RenderError(
        `A single character of turn ${only.turn} does not fit any ${profile.name} canvas at >= ${minFontSize}px. Lower 'minFontSize' or choose a profile with larger canvases.`,
        { field: 'minFontSize' },
      );
    }
    const text = turns[only.turn]!.content;
    let mid = only.start + Math.floor((only.end - only.start) / 2);
    if (/[\ud800-\udbff]/.test(text[mid - 1] ?? '')) mid++;
    const halves = [
      { turn: only.turn, start: only.start, end: mid },
      { turn: only.turn, start: mid, end: only.end },
    ].map((h) => ({ ...h, tokens: tokenizer.count(text.slice(h.start, h.end)) }));
    place([halves[0]!]);
    place([halves[1]!]);
  };

  // `place` splits further where layout (not tokens) is the limit.
  for (const run of spread(segments, capacity)) place(run);
  return pages;
}

/**
 * Runs of segments of at most `capacity` tokens, as few as greedy filling needs, with the
 * tokens spread evenly over them: filling each page to capacity would leave the last one
 * mostly empty, drawn in large glyphs far below the target ratio, while the others carry the
 * smallest glyphs. Each run ends at the segment boundary nearest its even share.
 */
export function spread<T extends { readonly tokens: number }>(segments: readonly T[], capacity: number): T[][] {
  const packed = greedy(segments, capacity);
  const count = packed.length;
  if (count < 2) return packed;
  let left = segments.reduce((a, s) => a + s.tokens, 0);
  const runs: T[][] = [];
  let run: T[] = [];
  let runTokens = 0;
  for (const seg of segments) {
    const share = left / (count - runs.length);
    // Close the run before `seg` when `seg` would not fit, or would overshoot the run's share by more than stopping undershoots it.
    const over = runTokens + seg.tokens - share;
    if (run.length > 0 && runs.length < count - 1 && (runTokens + seg.tokens > capacity || (over > 0 && over > share - runTokens))) {
      runs.push(run);
      left -= runTokens;
      run = [];
      runTokens = 0;
    }
    run.push(seg);
    runTokens += seg.tokens;
  }
  runs.push(run);
  // An uneven cut can leave the last run over capacity; greedy runs never are.
  return runTokens <= capacity || run.length === 1 ? runs : packed;
}

/** Runs filled to `capacity` in order. */
function greedy<T extends { readonly tokens: number }>(segments: readonly T[], capacity: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let runTokens = 0;
  for (const seg of segments) {
    if (run.length > 0 && runTokens + seg.tokens > capacity) {
      runs.push(run);
      run = [];
      runTokens = 0;
    }
    run.push(seg);
    runTokens += seg.tokens;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
