/**
 * Each glyph alone on white paper, drawn at a drawn-page position and resampled as ageing
 * resamples: what one glyph can do to the stored pixels. Blending only darkens and the
 * resampler's weights are not negative, so a stored pixel is never lighter than a glyph's own
 * contribution allows: a candidate whose resampled image is darker than the page anywhere is
 * wrong whatever its neighbours are. The resampling pattern repeats every few drawn pixels
 * (1024 px to 640 px: 5 stored columns every 8 drawn ones), so each glyph is resampled once per
 * phase of that pattern and looked up after.
 */
import type { GlyphMask } from '../../../renderers/glyph-atlas.js';
import type { AxisWeights } from '../onnx/gray-image.js';
import type { ResamplingPattern } from './resampling-pattern.js';

export interface AloneImage {
  /** First stored column and row the glyph reaches, relative to the pen cell's (`AloneCell`). */
  readonly col: number;
  readonly row: number;
  readonly width: number;
  readonly height: number;
  /** Resampled gray, rounded as ageing rounds. */
  readonly gray: Uint8Array;
  /** Index in `gray` of the darkest pixel, tested first. */
  readonly darkest: number;
}

/** The images of one phase's glyphs at one pen cell (whole pixel and baseline row). */
export interface AloneCell {
  /** Add to an image's `col` and `row` for stored coordinates. */
  readonly col: number;
  readonly row: number;
  image(i: number, m: GlyphMask): AloneImage;
}

export class AloneGlyphs {
  private readonly cache = new WeakMap<object, Map<number, AloneImage[]>>();
  private readonly h: AxisWeights;
  private readonly v: AxisWeights;

  constructor(private readonly pattern: ResamplingPattern) {
    this.h = pattern.h;
    this.v = pattern.v;
  }

  /**
   * The images of the glyphs of `owner` (one phase of one glyph index; glyph `i` is its i-th)
   * with the pen at drawn column `whole` and the baseline at drawn row `baseline`.
   */
  cell(owner: object, whole: number, baseline: number): AloneCell {
    const place = this.pattern.place(whole, baseline);
    if (!place) return { col: 0, row: 0, image: (_i, m) => this.make(m, whole, baseline, 0, 0) };
    const { cell, col, row } = place;
    let byKey = this.cache.get(owner);
    if (!byKey) this.cache.set(owner, (byKey = new Map()));
    let slots = byKey.get(cell);
    if (!slots) byKey.set(cell, (slots = []));
    const list = slots;
    const { h, v } = this.safe;
    return {
      col,
      row,
      image: (i, m) => {
        const left = whole + m.left;
        const top = baseline + m.top;
        // Near the page's edges the filter is cut short and the pattern does not repeat.
        if (left < h[0] || left + m.width > h[1] || top < v[0] || top + m.height > v[1]) return this.make(m, whole, baseline, col, row);
        return (list[i] ??= this.make(m, whole, baseline, col, row));
      },
    };
  }

  /** Drawn px ranges whose stored columns and rows all have whole (uncut) filters. */
  private get safe(): { h: [number, number]; v: [number, number] } {
    return (this.safeRanges ??= { h: uncut(this.h, this.pattern.drawnWidth), v: uncut(this.v, this.pattern.drawnHeight) });
  }

  private safeRanges: { h: [number, number]; v: [number, number] } | undefined;

  private make(m: GlyphMask, whole: number, baseline: number, col: number, row: number): AloneImage {
    const { h, v } = this;
    const left = whole + m.left;
    const top = baseline + m.top;
    const [c0, c1] = reach(h, left, left + m.width);
    const [o0, o1] = reach(v, top, top + m.height);
    const width = Math.max(0, c1 - c0);
    const height = Math.max(0, o1 - o0);
    const gray = new Uint8Array(width * height);
    const r0 = height > 0 ? v.first[o0]! : 0;
    const r1 = height > 0 ? v.first[o1 - 1]! + v.count[o1 - 1]! : 0;
    const sums = new Float64Array(Math.max(0, r1 - r0));
    for (let c = c0; c < c1; c++) {
      const f = h.first[c]!;
      const base = c * h.taps;
      for (let r = r0; r < r1; r++) {
        const my = r - top;
        let acc = 0;
        for (let k = 0, n = h.count[c]!; k < n; k++) {
          const mx = f + k - left;
          const g = my >= 0 && my < m.height && mx >= 0 && mx < m.width ? m.gray[my * m.width + mx]! : 255;
          acc += h.weights[base + k]! * g;
        }
        sums[r - r0] = Math.fround(acc);
      }
      for (let o = o0; o < o1; o++) {
        const vf = v.first[o]! - r0;
        const vb = o * v.taps;
        let acc = 0;
        for (let k = 0, n = v.count[o]!; k < n; k++) acc = Math.fround(acc + v.weights[vb + k]! * sums[vf + k]!);
        gray[(o - o0) * width + (c - c0)] = Math.max(0, Math.min(255, Math.round(acc)));
      }
    }
    let darkest = 0;
    for (let i = 1; i < gray.length; i++) if (gray[i]! < gray[darkest]!) darkest = i;
    return { col: c0 - col, row: o0 - row, width, height, gray, darkest };
  }
}

/** Drawn px [lo, hi) reached only by stored indices whose taps are not cut by the edges (or by the tap limit). */
function uncut(w: AxisWeights, inSize: number): [number, number] {
  const n = w.first.length;
  const full = (o: number) => w.first[o]! > 0 && w.first[o]! + w.count[o]! < inSize && w.count[o]! < w.taps;
  let a = 0;
  while (a < n && !full(a)) a++;
  let b = n - 1;
  while (b >= 0 && !full(b)) b--;
  if (a > b) return [0, 0];
  // A pixel at or past the last cut index's reach touches only whole ones.
  const lo = a > 0 ? w.first[a - 1]! + w.count[a - 1]! : 0;
  const hi = b < n - 1 ? w.first[b + 1]! : inSize;
  return [lo, hi];
}

/** Stored indices [from, to) whose taps reach drawn pixels [lo, hi). */
export function reach(w: AxisWeights, lo: number, hi: number): [number, number] {
  const n = w.first.length;
  let a = 0;
  let b = n;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (w.first[mid]! + w.count[mid]! > lo) b = mid;
    else a = mid + 1;
  }
  let end = a;
  while (end < n && w.first[end]! < hi) end++;
  return [a, end];
}

/**
 * For each drawn pixel, the most darkness (255 - gray) it can have given the stored page: a
 * stored pixel is a weighted mean of the drawn ones, so a drawn pixel with weight w in a stored
 * pixel of darkness s (plus the tolerance and rounding) is at most that over w dark. A glyph
 * whose mask is darker than this anywhere cannot be there, whatever else is drawn, since
 * blending only darkens.
 */
export function darknessBound(page: { width: number; data: Uint8Array }, h: AxisWeights, v: AxisWeights, drawnWidth: number, drawnHeight: number, tolerance: number): Float32Array {
  const bound = new Float32Array(drawnWidth * drawnHeight).fill(Infinity);
  const contentWidth = h.first.length;
  const contentHeight = v.first.length;
  for (let o = 0; o < contentHeight; o++) {
    const vf = v.first[o]!;
    const vb = o * v.taps;
    for (let c = 0; c < contentWidth; c++) {
      const slack = 255 - page.data[o * page.width + c]! + tolerance + 1;
      const hf = h.first[c]!;
      const hb = c * h.taps;
      for (let i = 0, ni = v.count[o]!; i < ni; i++) {
        const wv = v.weights[vb + i]!;
        if (wv <= 0) continue;
        const row = (vf + i) * drawnWidth + hf;
        for (let k = 0, nk = h.count[c]!; k < nk; k++) {
          const w = wv * h.weights[hb + k]!;
          if (w <= 0) continue;
          const b = slack / w;
          if (b < bound[row + k]!) bound[row + k] = b;
        }
      }
    }
  }
  return bound;
}

const inkOrders = new WeakMap<GlyphMask, Int32Array>();

/** The mask's inked pixels, darkest first: the order a bound check tries them in. */
export function inkOrder(m: GlyphMask): Int32Array {
  let order = inkOrders.get(m);
  if (!order) {
    const idx: number[] = [];
    for (let i = 0; i < m.gray.length; i++) if (m.gray[i]! < 255) idx.push(i);
    idx.sort((a, b) => m.gray[a]! - m.gray[b]!);
    inkOrders.set(m, (order = Int32Array.from(idx)));
  }
  return order;
}
