/**
 * The second reading of a resampled line (resampled-line-reader.ts): once one reading explains
 * the line, each of its glyphs is tried against the candidates at its position that were not
 * tried yet (those tried before it led to no reading) and against a space, of the same advance,
 * the rest of the line kept. Where one gives every stored column the reading gave, the line has
 * two readings the pixels cannot tell apart: what forgetting means for the glyph reader. (Two
 * readings that differ in more than one glyph, or in glyphs of other widths, are not looked for.)
 */
import { blendGlyph, glyphCell, type GraySurface } from '../../../renderers/glyph-atlas.js';
import type { AxisWeights } from '../onnx/resize-kernel.js';
import type { GlyphIndex, IndexedGlyph, PhaseIndex } from './glyph-index.js';
import type { ResampledStrip } from './resampled-strip.js';

/** A glyph of a reading (undefined: a space) and its pen, px from the line's start at the drawn size. */
export interface Placement {
  readonly glyph: IndexedGlyph | undefined;
  readonly pen: number;
}

/** The candidates at one position of the search, in the order tried, and which one the reading took. */
export interface Choice {
  readonly fits: readonly { readonly g: IndexedGlyph }[];
  readonly at: number;
}

export interface Reading {
  readonly text: string;
  readonly glyphs: readonly Placement[];
}

const extents = new WeakMap<PhaseIndex, { loaded: number; top: number; bottom: number }>();

/** The lowest and highest rows (from the baseline) the loaded glyphs of `index` reach, kept while no tier is added. */
function rowExtent(index: PhaseIndex): { top: number; bottom: number } {
  let e = extents.get(index);
  if (!e || e.loaded !== index.all.length) {
    let top = 0;
    let bottom = 0;
    for (const { mask } of index.all) {
      top = Math.min(top, mask.top);
      bottom = Math.max(bottom, mask.top + mask.height);
    }
    extents.set(index, (e = { loaded: index.all.length, top, bottom }));
  }
  return e;
}

/** The drawn page's rows a line's glyphs can reach, as they were before the line was searched. */
export class LineSnapshot {
  readonly y0: number;
  readonly y1: number;
  readonly data: Uint8Array;

  constructor(
    readonly drawn: GraySurface,
    index: GlyphIndex,
    readonly baseRow: number,
  ) {
    this.y0 = Math.max(0, baseRow + Math.min(...index.phases.map((p) => rowExtent(p).top)));
    this.y1 = Math.min(drawn.height, baseRow + Math.max(...index.phases.map((p) => rowExtent(p).bottom)));
    this.data = drawn.data.slice(this.y0 * drawn.width, this.y1 * drawn.width);
  }

  /** Drawn columns [from, to) as before, then `glyphs` (in order, at pens from line start `x`) painted over them. */
  repaint(from: number, to: number, x: number, glyphs: readonly Placement[]): void {
    const d = this.drawn;
    from = Math.max(0, from);
    to = Math.min(d.width, to);
    if (to <= from) return;
    for (let y = this.y0; y < this.y1; y++) d.data.set(this.data.subarray((y - this.y0) * d.width + from, (y - this.y0) * d.width + to), y * d.width + from);
    for (const { glyph, pen } of glyphs) {
      if (!glyph) continue;
      const at = glyphCell(x + pen).whole;
      if (at + glyph.mask.left < to && at + glyph.mask.left + glyph.mask.width > from) blendGlyph(d, glyph.mask, at, this.baseRow, from, to);
    }
  }
}

export interface SecondReadingSearch {
  /** The first reading, painted on the snapshot's drawn page, and the choice behind each of its positions. */
  readonly path: readonly Placement[];
  readonly choices: readonly (Choice | undefined)[];
  readonly snapshot: LineSnapshot;
  readonly strip: ResampledStrip;
  readonly h: AxisWeights;
  /** The line's start (drawn px) and a space's advance. */
  readonly x: number;
  readonly space: number;
}

/** A second reading giving the same stored pixels as the first (`s.path`), or undefined. The drawn page is left as found. */
export function findSecondReading(s: SecondReadingSearch): Reading | undefined {
  const { path } = s;
  for (let k = 0; k < path.length; k++) {
    const { glyph, pen } = path[k]!;
    const choice = s.choices[k];
    if (!glyph || !choice) continue;
    const others: (IndexedGlyph | undefined)[] = choice.fits.slice(choice.at + 1).map((f) => f.g);
    // A space is tried after every glyph.
    if (s.space === glyph.advance) others.push(undefined);
    for (const other of others) {
      if (other && other.advance !== glyph.advance) continue;
      const glyphs = path.map((p, j) => (j === k ? { glyph: other, pen } : p));
      if (agrees(s, k, glyphs)) return { text: glyphs.map((p) => p.glyph?.ch ?? ' ').join(''), glyphs };
    }
  }
  return undefined;
}

/** Whether every stored column still agrees with `glyphs` (the path with position `k` replaced) painted. */
function agrees(s: SecondReadingSearch, k: number, glyphs: readonly Placement[]): boolean {
  const { whole } = glyphCell(s.x + s.path[k]!.pen);
  const masks = [s.path[k]!.glyph, glyphs[k]!.glyph].flatMap((g) => (g ? [g.mask] : []));
  const left = whole + Math.min(...masks.map((m) => m.left));
  const right = whole + Math.max(...masks.map((m) => m.left + m.width));
  s.snapshot.repaint(left, right, s.x, glyphs);
  s.strip.touch(left, right);
  let ok = true;
  for (let c = s.strip.cLo; ok && c < s.strip.cHi && s.h.first[c]! < right; c++) if (s.h.first[c]! + s.h.count[c]! > left) ok = s.strip.check(c, true);
  s.snapshot.repaint(left, right, s.x, s.path);
  s.strip.touch(left, right);
  return ok;
}
