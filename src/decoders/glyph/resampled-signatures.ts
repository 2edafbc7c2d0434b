/**
 * A look-up for full-width glyphs (CJK) on resampled pages. Thousands of ideographs can pass
 * every cheap test in a dense line, so each is keyed instead by the stored values of four pixels
 * near the middle of its em box, computed alone on white paper through ageing's resampler:
 * neighbours' ink does not reach there, so on the page those four pixels hold exactly the right
 * glyph's values. The four values are computed once per glyph and position of the resampling
 * pattern (as resampled-glyphs.ts caches images), and a page position looks its four up.
 */
import type { GlyphMask } from '../../../renderers/glyph-atlas.js';
import { storedByte, verticalSum, type AxisWeights } from '../onnx/resize-kernel.js';
import type { IndexedGlyph } from './glyph-index.js';
import type { ResamplingPattern } from './resampling-pattern.js';

interface Table {
  done: number;
  readonly byKey: Map<number, number[]>;
  /** The pixels, relative to the pattern's repetition the table was made at. */
  readonly spot: SignatureSpot;
}

/** Up to four stored pixels (row, column), relative to the pen cell's whole pixel and baseline row mapped to stored space. */
export type SignatureSpot = readonly (readonly [number, number])[];

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
   * Only the first `count` glyphs are wanted (a line searched without the rare tier): the table
   * is not extended past them, since keying tens of thousands of rare glyphs at every place of
   * the pattern costs seconds, and the indices past `count` it already holds are left out.
   */
  shortlist(owner: object, glyphs: readonly IndexedGlyph[], count: number, whole: number, baseline: number, em: number, page: { readonly width: number; readonly data: Uint8Array }): readonly number[] | undefined {
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
      table = { done: 0, byKey: new Map(), spot: spot.map(([o, c]) => [o - row, c - col] as const) };
      byCell.set(cell, table);
    }
    const pixels = table.spot.map(([o, c]) => [o + row, c + col] as const);
    if (pixels.some(([o, c]) => o < 0 || c < 0 || o >= this.v.first.length || c >= this.h.first.length)) return undefined;
    // Glyphs loaded since the table was made (a later tier) are added to it.
    const wanted = Math.min(count, glyphs.length);
    if (table.done < wanted) {
      for (let i = table.done; i < wanted; i++) {
        const g = glyphs[i]!;
        if (g.advance < em * 0.9) continue;
        const m = g.mask;
        const k = keyOf(this.values(m, whole + m.left, baseline + m.top, pixels));
        const list = table.byKey.get(k);
        if (list) list.push(i);
        else table.byKey.set(k, [i]);
      }
    }
    table.done = Math.max(table.done, wanted);
    const found = table.byKey.get(keyOf(pixels.map(([o, c]) => page.data[o * page.width + c]!))) ?? [];
    return table.done > wanted ? found.filter((i) => i < wanted) : found;
  }

  /**
   * Four stored pixels near the middle of the em box whose taps stay inside it (two columns and
   * two rows; where the em holds one whole column, four rows of it), or undefined.
   */
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
    const centre = (o: number) => v.first[o]! + v.count[o]! / 2;
    const near = (target: number) => rows.reduce((best, o) => (Math.abs(centre(o) - target) < Math.abs(centre(best) - target) ? o : best));
    if (cols.length >= 2 && rows.length > 0) {
      // The two columns furthest apart, and the rows nearest 0.6 and 0.3 em above the baseline.
      const [a, b] = [cols[0]!, cols[cols.length - 1]!];
      const [r, s] = [near(baseline - em * 0.6), near(baseline - em * 0.3)];
      return [[r, a], [r, b], [s, a], [s, b]];
    }
    if (cols.length === 1 && rows.length >= 2) {
      const picked = [...new Set([0.8, 0.6, 0.4, 0.2].map((f) => near(baseline - em * f)))];
      return picked.map((o) => [o, cols[0]!] as const);
    }
    return undefined;
  }

  /**
   * Stored pixels `pixels` (row, column) of mask `m` alone on white paper, its left column at
   * drawn `left` and top row at `top`: `resize`'s two passes for just those pixels, in its order
   * of operations, reading the mask in place (no paper is laid out: thousands of glyphs are keyed
   * at each place of the pattern).
   */
  private values(m: GlyphMask, left: number, top: number, pixels: SignatureSpot): number[] {
    const { h, v } = this;
    const rows = this.rows;
    return pixels.map(([o, c]) => {
      const hb = c * h.taps;
      const hf = h.first[c]!;
      const hn = h.count[c]!;
      const vn = v.count[o]!;
      for (let i = 0; i < vn; i++) {
        const my = v.first[o]! + i - top;
        const inRow = my >= 0 && my < m.height;
        let acc = 0;
        for (let k = 0; k < hn; k++) {
          const mx = hf + k - left;
          acc += h.weights[hb + k]! * (inRow && mx >= 0 && mx < m.width ? m.gray[my * m.width + mx]! : 255);
        }
        rows[i] = Math.fround(acc);
      }
      return storedByte(verticalSum(v, o, rows, -v.first[o]!, 1));
    });
  }

  /** One column's horizontal results over the rows a vertical tap set reads. */
  private readonly rows = new Float64Array(64);
}


/** The values of up to four pixels as one key. */
export function keyOf(values: readonly number[]): number {
  let k = 0;
  for (const v of values) k = k * 256 + v;
  return k;
}
