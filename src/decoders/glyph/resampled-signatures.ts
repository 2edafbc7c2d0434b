/**
 * A look-up for full-width glyphs (CJK) on resampled pages. Thousands of ideographs can pass
 * every cheap test in a dense line, so each is keyed instead by the stored values of four pixels
 * near the middle of its em box, computed alone on white paper through ageing's resampler:
 * neighbours' ink does not reach there, so on the page those four pixels hold exactly the right
 * glyph's values. The four values are computed once per glyph and position of the resampling
 * pattern (as resampled-glyphs.ts caches images), and a page position looks its four up.
 */
import type { GlyphMask } from '../../../renderers/glyph-atlas.js';
import type { AxisWeights } from '../onnx/gray-image.js';
import type { IndexedGlyph } from './glyph-index.js';
import type { ResamplingPattern } from './resampling-pattern.js';

interface Table {
  done: number;
  readonly byKey: Map<number, number[]>;
  /** The four pixels, relative to the pattern's repetition the table was made at. */
  readonly cols: readonly [number, number];
  readonly rows: readonly [number, number];
}


/** Four stored pixels, relative to the pen cell's whole pixel and baseline row mapped to stored space. */
export interface SignatureSpot {
  readonly cols: readonly [number, number];
  readonly rows: readonly [number, number];
}

export class CenterSignatures {
  private readonly cache = new WeakMap<object, Map<number, Table>>();
  private readonly h: AxisWeights;
  private readonly v: AxisWeights;

  constructor(private readonly pattern: ResamplingPattern) {
    this.h = pattern.h;
    this.v = pattern.v;
  }

  /**
   * Indices (into `glyphs`, the glyphs of `owner`: one phase of one glyph index) of the
   * full-width glyphs whose four centre pixels, with the pen at drawn (`whole`, `baseline`) and
   * an em of `em` px, equal the stored page's there; undefined where no look-up can be made
   * (a resampling with no short repeating pattern, or an em too small for the four pixels).
   */
  shortlist(owner: object, glyphs: readonly IndexedGlyph[], whole: number, baseline: number, em: number, page: { readonly width: number; readonly data: Uint8Array }): readonly number[] | undefined {
    const place = this.pattern.place(whole, baseline);
    if (!place) return undefined;
    const { cell, col, row } = place;
    let byCell = this.cache.get(owner);
    if (!byCell) this.cache.set(owner, (byCell = new Map()));
    let table = byCell.get(cell);
    if (!table) {
      // The four pixels are chosen once per place in the pattern and shifted with it, so a
      // table's values are those of the same pixels wherever the pattern repeats.
      const spot = this.spot(whole, baseline, em);
      if (!spot) return undefined;
      table = { done: 0, byKey: new Map(), cols: [spot.cols[0] - col, spot.cols[1] - col], rows: [spot.rows[0] - row, spot.rows[1] - row] };
      byCell.set(cell, table);
    }
    const cols = [table.cols[0] + col, table.cols[1] + col] as const;
    const rows = [table.rows[0] + row, table.rows[1] + row] as const;
    if (cols[1] >= this.h.first.length || rows[1] >= this.v.first.length || cols[0] < 0 || rows[0] < 0) return undefined;
    // Glyphs loaded since the table was made (a later tier) are added to it.
    for (let i = table.done; i < glyphs.length; i++) {
      const g = glyphs[i]!;
      if (g.advance < em * 0.9) continue;
      const m = g.mask;
      const left = whole + m.left;
      const top = baseline + m.top;
      const k = keyOf(this.pixel(m, left, top, rows[0], cols[0]), this.pixel(m, left, top, rows[0], cols[1]), this.pixel(m, left, top, rows[1], cols[0]), this.pixel(m, left, top, rows[1], cols[1]));
      const list = table.byKey.get(k);
      if (list) list.push(i);
      else table.byKey.set(k, [i]);
    }
    table.done = glyphs.length;
    const at = (o: number, c: number) => page.data[o * page.width + c]!;
    return table.byKey.get(keyOf(at(rows[0], cols[0]), at(rows[0], cols[1]), at(rows[1], cols[0]), at(rows[1], cols[1]))) ?? [];
  }

  /** Four stored pixels near the middle of the em box whose taps stay inside it, or undefined. */
  private spot(whole: number, baseline: number, em: number): SignatureSpot | undefined {
    const { h, v } = this;
    const inside = (w: AxisWeights, size: number, lo: number, hi: number): number[] => {
      const out: number[] = [];
      const n = w.first.length;
      for (let o = Math.max(0, Math.floor((lo * n) / size) - 1); o < n && w.first[o]! < hi; o++) if (w.first[o]! >= lo && w.first[o]! + w.count[o]! <= hi) out.push(o);
      return out;
    };
    const cols = inside(h, this.pattern.drawnWidth, whole + 1, whole + Math.floor(em) - 1);
    const rows = inside(v, this.pattern.drawnHeight, baseline - Math.floor(em), baseline + 1);
    if (cols.length < 2 || rows.length === 0) return undefined;
    // The two columns furthest apart, and the rows nearest 0.6 and 0.3 em above the baseline.
    const centre = (o: number) => v.first[o]! + v.count[o]! / 2;
    const near = (target: number) => rows.reduce((best, o) => (Math.abs(centre(o) - target) < Math.abs(centre(best) - target) ? o : best));
    return { cols: [cols[0]!, cols[cols.length - 1]!], rows: [near(baseline - em * 0.6), near(baseline - em * 0.3)] };
  }

  /** Stored pixel (o, c) of mask `m` alone, its left column at drawn `left` and top row at `top`. */
  private pixel(m: GlyphMask, left: number, top: number, o: number, c: number): number {
    const { h, v } = this;
    const hf = h.first[c]!;
    const hb = c * h.taps;
    const vf = v.first[o]!;
    const vb = o * v.taps;
    let acc = 0;
    for (let i = 0, ni = v.count[o]!; i < ni; i++) {
      const my = vf + i - top;
      let row = 0;
      for (let k = 0, nk = h.count[c]!; k < nk; k++) {
        const mx = hf + k - left;
        const g = my >= 0 && my < m.height && mx >= 0 && mx < m.width ? m.gray[my * m.width + mx]! : 255;
        row += h.weights[hb + k]! * g;
      }
      acc = Math.fround(acc + v.weights[vb + i]! * Math.fround(row));
    }
    return Math.max(0, Math.min(255, Math.round(acc)));
  }
}

export function keyOf(a: number, b: number, c: number, d: number): number {
  return ((a * 256 + b) * 256 + c) * 256 + d;
}
