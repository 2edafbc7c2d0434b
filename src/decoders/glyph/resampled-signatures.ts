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

/** Four stored pixels, relative to the pen cell's whole pixel and baseline row mapped to stored space. */
export interface SignatureSpot {
  readonly cols: readonly [number, number];
  readonly rows: readonly [number, number];
}

export class CenterSignatures {
  private readonly cache = new WeakMap<object, Map<number, { done: number; byKey: Map<number, number[]> }>>();

  constructor(
    private readonly h: AxisWeights,
    private readonly v: AxisWeights,
    private readonly drawnWidth: number,
    private readonly drawnHeight: number,
  ) {}

  /**
   * The stored pixels sampled for a pen at drawn (`whole`, `baseline`) and an em of `em` px, or
   * undefined where their taps would reach outside the em box (too small a size) or the page.
   */
  spot(whole: number, baseline: number, em: number): SignatureSpot | undefined {
    const { h, v } = this;
    const inside = (w: AxisWeights, o: number, lo: number, hi: number) => o >= 0 && o < w.first.length && w.first[o]! >= lo && w.first[o]! + w.count[o]! <= hi;
    const nearest = (w: AxisWeights, drawn: number, size: number) => Math.floor((drawn * w.first.length) / size);
    const c0 = nearest(h, whole + em * 0.38, this.drawnWidth);
    const c1 = nearest(h, whole + em * 0.62, this.drawnWidth);
    const r0 = nearest(v, baseline - em * 0.6, this.drawnHeight);
    const r1 = nearest(v, baseline - em * 0.3, this.drawnHeight);
    const lo = whole + 1;
    const hi = whole + Math.floor(em) - 1;
    if (c0 === c1 || r0 === r1) return undefined;
    if (![c0, c1].every((c) => inside(h, c, lo, hi)) || ![r0, r1].every((r) => inside(v, r, baseline - Math.floor(em), baseline + 1))) return undefined;
    return { cols: [c0, c1], rows: [r0, r1] };
  }

  /**
   * Indices (into `glyphs`) of the full-width glyphs whose four values at `spot` are `key`
   * (see keyOf). `owner` and `cell` name the cache entry: one phase of one glyph index, and the
   * pen's position in the resampling pattern (the spot relative to the pen is the same there).
   */
  candidates(owner: object, cell: number, glyphs: readonly IndexedGlyph[], whole: number, baseline: number, em: number, spot: SignatureSpot, key: number): readonly number[] {
    let byCell = this.cache.get(owner);
    if (!byCell) this.cache.set(owner, (byCell = new Map()));
    let table = byCell.get(cell);
    if (!table) byCell.set(cell, (table = { done: 0, byKey: new Map() }));
    // Glyphs loaded since the table was made (a later tier) are added to it.
    for (let i = table.done; i < glyphs.length; i++) {
      const g = glyphs[i]!;
      if (g.advance < em * 0.9) continue;
      const m = g.mask;
      const left = whole + m.left;
      const top = baseline + m.top;
      const k = keyOf(this.pixel(m, left, top, spot.rows[0], spot.cols[0]), this.pixel(m, left, top, spot.rows[0], spot.cols[1]), this.pixel(m, left, top, spot.rows[1], spot.cols[0]), this.pixel(m, left, top, spot.rows[1], spot.cols[1]));
      const list = table.byKey.get(k);
      if (list) list.push(i);
      else table.byKey.set(k, [i]);
    }
    table.done = glyphs.length;
    return table.byKey.get(key) ?? [];
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
