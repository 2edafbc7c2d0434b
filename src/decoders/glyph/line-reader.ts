/**
 * Reads one line of an opticmem page by finding the text whose rendering gives its pixels.
 *
 * The renderer draws a line as glyph masks from the atlas at pen positions that are running sums
 * of advance widths (no kerning, no ligatures, whole-pixel line start), blended black over white
 * with the canvas's 8-bit arithmetic. So a reading is proven by painting it: this reader paints
 * candidate glyphs left to right, depth first, and keeps a glyph only while the painted line
 * agrees with the page: exactly (within `tolerance`) in the columns no later glyph can reach,
 * and never darker than the page where later glyphs may still add ink. The glyph to try next is
 * looked up by the gray levels of the first page column not yet explained, so almost every
 * position costs one hash look-up and one check (Document Image Decoding, Kopec & Chou 1994,
 * with the template-skipping heuristics of Minka, Bloomberg & Popat 2001).
 *
 * Rows of the line's own band must agree exactly; rows above and below it, where neighbouring
 * lines may also have ink, are only required not to be darker than the page.
 */
import { blendGlyph, blendPixel, glyphCell, type GlyphMask, type GraySurface } from '../../../renderers/glyph-atlas.js';
import { columnSeed, INK_LEVEL, mix, type GlyphIndex, type IndexedGlyph, type PhaseIndex } from './glyph-index.js';

export interface LineTask {
  /** Page pixels, row-major gray. */
  readonly page: { readonly width: number; readonly height: number; readonly data: Uint8Array };
  /** What is already known to be painted on the page (other lines' readings), same size. */
  readonly painted: Uint8Array;
  /** Whole-pixel line start, top row of the line box, box width (the text's advance, ceil + 1). */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly lineHeight: number;
  /** Baseline row below the box's top. */
  readonly baseline: number;
  readonly index: GlyphIndex;
  /** Advance of a space in the base font, px. */
  readonly space: number;
  /** Largest per-pixel difference still taken as a match (0: exact). */
  readonly tolerance: number;
  /** Glyph comparisons tried before the line is given up. */
  readonly budget: number;
  /** Only glyphs of the first `tiers` tiers (GLYPH_TIERS); all loaded ones when absent. */
  readonly tiers?: number;
}

export interface LineReading {
  readonly text: string;
  /** Pen positions of each character, px from the line start (for painting it onto `painted`). */
  readonly glyphs: readonly { readonly glyph: IndexedGlyph | undefined; readonly pen: number }[];
}

const NO_INK = -1;
/** Glyph comparisons allowed per placement of the budget: a CJK position may compare thousands. */
const COMPARES_PER_STEP = 50;
/** Rows of a noisy column whose darkness is in doubt that inkCandidates tries both ways (2^n look-ups). */
const MAX_UNSURE_ROWS = 6;

export function readLine(task: LineTask): LineReading | undefined {
  return new LineSearch(task).run();
}

const scratchBuffers: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

/** Buffer `i` (0 or 1), at least `n` bytes, its first `n` returned; contents are overwritten by the caller. */
function scratch(i: number, n: number): Uint8Array {
  if (scratchBuffers[i]!.length < n) scratchBuffers[i] = new Uint8Array(Math.max(n, 2 * scratchBuffers[i]!.length));
  return scratchBuffers[i]!.subarray(0, n);
}

class LineSearch {
  private readonly x0: number;
  private readonly y0: number;
  private readonly w: number;
  private readonly h: number;
  /** Window rows of the line's own band. */
  private readonly bandTop: number;
  private readonly bandBottom: number;
  /** Baseline row in the window. */
  private readonly base: number;
  private readonly comp: Uint8Array;
  /** `comp` as a surface to paint glyphs on. */
  private readonly surface: GraySurface;
  /** The leftmost ink column of any glyph the index holds, relative to its origin's whole pixel. */
  private readonly minLeft: number;
  private readonly target: Uint8Array;
  private readonly clipped: boolean;
  private readonly path: { glyph: IndexedGlyph | undefined; pen: number }[] = [];
  private readonly saves: Uint8Array[] = [];
  private readonly trieds: Set<IndexedGlyph>[] = [];
  private steps = 0;
  private compares = 0;

  constructor(private readonly t: LineTask) {
    const fs = t.index.fontSize;
    const pad = Math.ceil(fs) + 2;
    const { page } = t;
    this.x0 = Math.max(0, t.x - pad);
    const x1 = Math.min(page.width, t.x + t.width + pad);
    const baseRow = t.y + t.baseline;
    this.y0 = Math.max(0, baseRow - Math.ceil(fs * 1.3) - 2);
    const y1 = Math.min(page.height, baseRow + Math.ceil(fs * 0.6) + 2);
    this.w = Math.max(0, x1 - this.x0);
    this.h = Math.max(0, y1 - this.y0);
    this.base = baseRow - this.y0;
    this.bandTop = Math.max(0, t.y - this.y0);
    this.bandBottom = Math.min(this.h, t.y + t.lineHeight - this.y0);
    this.clipped = t.x + t.width >= page.width - 1;
    // One line is searched at a time, so its two windows live in buffers reused across lines.
    this.comp = scratch(0, this.w * this.h);
    this.surface = { width: this.w, height: this.h, data: this.comp };
    this.minLeft = Math.min(0, ...t.index.phases.map((p) => p.minLeftOf(t.tiers ?? Infinity)));
    this.target = scratch(1, this.w * this.h);
    for (let y = 0; y < this.h; y++) {
      const src = (this.y0 + y) * page.width + this.x0;
      this.comp.set(t.painted.subarray(src, src + this.w), y * this.w);
      this.target.set(page.data.subarray(src, src + this.w), y * this.w);
    }
  }

  run(): LineReading | undefined {
    if (this.w === 0 || this.h === 0 || this.bandBottom <= this.bandTop) return undefined;
    const ok = this.search(0, 0);
    if (!ok) return undefined;
    return { text: this.path.map((p) => (p.glyph ? p.glyph.ch : ' ')).join(''), glyphs: this.path.slice() };
  }

  private search(pen: number, finalFrom: number): boolean {
    if (++this.steps > this.t.budget) return false;
    const { t } = this;
    if (!this.clipped) {
      const end = Math.ceil(pen) + 1;
      if (end > t.width) return false;
      if (end === t.width && pen > 0 && this.exact(finalFrom, this.w)) return true;
    }
    const next = this.firstUnexplained(finalFrom);
    if (next === NO_INK && this.clipped && pen > 0 && this.exact(finalFrom, this.w)) return true;
    const { whole, phase } = glyphCell(t.x + pen);
    const phaseIndex = t.index.phases[phase]!;
    const originCol = whole - this.x0;
    if (next !== NO_INK) {
      const depth = this.path.length;
      const tried = (this.trieds[depth] ??= new Set<IndexedGlyph>());
      tried.clear();
      const tiers = t.tiers ?? Infinity;
      const hashed = t.tolerance === 0 ? this.hashCandidates(phaseIndex, next, originCol) : this.inkCandidates(phaseIndex, next, originCol);
      if (hashed) {
        for (const g of hashed) {
          if (g.tier >= tiers) continue;
          tried.add(g);
          if (this.tryGlyph(g, pen, finalFrom, originCol)) return true;
          if (this.steps > t.budget) return false;
        }
      }
      const slack = t.tolerance === 0 ? 0 : 1;
      for (let left = next - originCol - 2; left <= next - originCol + slack; left++) {
        // Each list holds its glyphs in loading order, so tier by tier.
        for (const g of phaseIndex.byLeft.get(left) ?? []) {
          if (g.tier >= tiers) break;
          if (tried.has(g)) continue;
          tried.add(g);
          if (this.tryGlyph(g, pen, finalFrom, originCol)) return true;
          if (this.steps > t.budget) return false;
        }
      }
    }
    // A space: nothing drawn, so only if the next ink lies past what the space makes final.
    const after = pen + t.space;
    const finalTo = Math.min(this.w, Math.max(finalFrom, glyphCell(t.x + after).whole - this.x0 + this.minLeft));
    if (next !== NO_INK && next < finalTo) return false;
    if (!this.exact(finalFrom, finalTo)) return false;
    this.path.push({ glyph: undefined, pen });
    if (this.search(after, finalTo)) return true;
    this.path.pop();
    return false;
  }

  /** Glyphs whose column at the first fully unpainted column from `next` matches the page's. */
  private hashCandidates(index: PhaseIndex, next: number, originCol: number): readonly IndexedGlyph[] | undefined {
    const { w, target } = this;
    for (let col = next; col < Math.min(this.w, next + 3); col++) {
      if (!this.unpainted(col)) continue;
      let h = columnSeed(col - originCol);
      let ink = false;
      for (let y = this.bandTop; y < this.bandBottom; y++) {
        const v = target[y * w + col]!;
        if (v !== 255) {
          h = mix(h, y - this.base, v);
          ink = true;
        }
      }
      if (!ink) return undefined;
      return index.byHash.get(h);
    }
    return undefined;
  }

  /** No glyph read so far has ink in column `col` of the line's band. */
  private unpainted(col: number): boolean {
    for (let y = this.bandTop; y < this.bandBottom; y++) if (this.comp[y * this.w + col] !== 255) return false;
    return true;
  }

  /**
   * On a page matched within a tolerance: glyphs whose column at the first fully unpainted
   * column from `next` with certain ink is dark (below INK_LEVEL) in the same band rows. A page
   * pixel within the tolerance of that level could be either: each such row is tried both ways,
   * up to MAX_UNSURE_ROWS of them (else undefined: every glyph is tried by its left edge).
   */
  private inkCandidates(index: PhaseIndex, next: number, originCol: number): IndexedGlyph[] | undefined {
    const { w, target } = this;
    const tol = this.t.tolerance;
    for (let col = next; col < Math.min(this.w, next + 3); col++) {
      if (!this.unpainted(col)) continue;
      const rows: number[] = [];
      const unsure: boolean[] = [];
      let sure = false;
      for (let y = this.bandTop; y < this.bandBottom; y++) {
        const v = target[y * w + col]!;
        if (v + tol < INK_LEVEL) {
          rows.push(y - this.base);
          unsure.push(false);
          sure = true;
        } else if (v - tol < INK_LEVEL) {
          rows.push(y - this.base);
          unsure.push(true);
        }
      }
      // A column with no pixel surely dark says little about the glyph: look at the next one.
      if (!sure) continue;
      if (unsure.filter(Boolean).length > MAX_UNSURE_ROWS) return undefined;
      const found: IndexedGlyph[] = [];
      const walk = (k: number, h: number): void => {
        if (k === rows.length) {
          for (const g of index.byInk.get(h) ?? []) found.push(g);
          return;
        }
        walk(k + 1, mix(h, rows[k]!, 0));
        if (unsure[k]) walk(k + 1, h);
      };
      walk(0, columnSeed(col - originCol));
      return found;
    }
    return undefined;
  }

  private tryGlyph(g: IndexedGlyph, pen: number, finalFrom: number, originCol: number): boolean {
    // Every candidate counts against a cap, so a line nothing explains ends soon however many glyphs are loaded.
    if (++this.compares > COMPARES_PER_STEP * this.t.budget) return false;
    const m = g.mask;
    const left = originCol + m.left;
    const right = left + m.width;
    if (left < 0 || right > this.w) return false;
    const after = pen + g.advance;
    const finalTo = Math.min(this.w, Math.max(finalFrom, glyphCell(this.t.x + after).whole - this.x0 + this.minLeft));
    if (!this.fits(m, left, Math.min(left, finalFrom), finalTo)) return false;
    const y0 = Math.max(0, this.base + m.top);
    const y1 = Math.min(this.h, this.base + m.top + m.height);
    const saved = this.save(left, right, y0, y1);
    blendGlyph(this.surface, m, originCol, this.base);
    this.path.push({ glyph: g, pen });
    if (this.search(after, finalTo)) return true;
    this.path.pop();
    this.restore(saved, left, right, y0, y1);
    return false;
  }

  /**
   * Whether the line with `m` painted at column `left` agrees with the page: within tolerance
   * in the band (and not darker elsewhere) over columns from..finalTo, which no later glyph can
   * change, and not darker than the page where the glyph reaches beyond them. Computed without
   * painting, glyph columns first, so a wrong glyph costs a column or two.
   */
  private fits(m: GlyphMask, left: number, from: number, finalTo: number): boolean {
    const { w, h, comp, target } = this;
    const tol = this.t.tolerance;
    const right = left + m.width;
    const top = this.base + m.top;
    const gray = m.gray;
    for (let x = left; x < right; x++) {
      const exact = x < finalTo;
      for (let y = 0; y < h; y++) {
        const i = y * w + x;
        const my = y - top;
        let v = comp[i]!;
        if (my >= 0 && my < m.height) {
          const g = gray[my * m.width + x - left]!;
          if (g !== 255) v = blendPixel(v, g);
        }
        const d = v - target[i]!;
        if (d < -tol || (exact && d > tol && y >= this.bandTop && y < this.bandBottom)) return false;
      }
    }
    // Final columns the glyph does not touch.
    return this.exact(from, Math.min(left, finalTo)) && this.exact(Math.max(from, right), finalTo);
  }

  /** First column from `from` where the page has ink the painted line does not explain. */
  private firstUnexplained(from: number): number {
    const { w, comp, target } = this;
    const tol = this.t.tolerance;
    for (let x = from; x < w; x++) {
      for (let y = this.bandTop; y < this.bandBottom; y++) {
        const i = y * w + x;
        if (target[i]! < comp[i]! - tol) return x;
      }
    }
    return NO_INK;
  }

  /** Columns from..to agree with the page: within tolerance in the band, not darker elsewhere. */
  private exact(from: number, to: number): boolean {
    const { w, h, comp, target } = this;
    const tol = this.t.tolerance;
    for (let y = 0; y < h; y++) {
      const inBand = y >= this.bandTop && y < this.bandBottom;
      const row = y * w;
      for (let x = from; x < to; x++) {
        const d = comp[row + x]! - target[row + x]!;
        if (d < -tol || (inBand && d > tol)) return false;
      }
    }
    return true;
  }

  /**
   * Copy columns from..to of rows y0..y1 (what painting a glyph changes) into the buffer of the
   * current search depth, reused: a line's search tries thousands of glyphs.
   */
  private save(from: number, to: number, y0: number, y1: number): Uint8Array {
    const { w, comp } = this;
    const n = to - from;
    const depth = this.path.length;
    let out = this.saves[depth];
    if (!out || out.length < n * (y1 - y0)) out = this.saves[depth] = new Uint8Array(Math.max(n * (y1 - y0), 64 * this.h));
    let k = 0;
    for (let y = y0; y < y1; y++) for (let i = y * w + from, end = y * w + to; i < end; i++) out[k++] = comp[i]!;
    return out;
  }

  private restore(saved: Uint8Array, from: number, to: number, y0: number, y1: number): void {
    const { w, comp } = this;
    let k = 0;
    for (let y = y0; y < y1; y++) for (let i = y * w + from, end = y * w + to; i < end; i++) comp[i] = saved[k++]!;
  }

}
