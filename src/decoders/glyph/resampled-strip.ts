/**
 * The stored pixels one line of a resampled page covers, and ageing's resampler run on the drawn
 * page for one stored column at a time (resampled-line-reader.ts): which stored rows and columns
 * the line's glyphs can reach, which rows must agree exactly (those averaging only the line's own
 * band), and the arithmetic of `resize` repeated to the bit.
 */
import type { GraySurface } from '../../../renderers/glyph-atlas.js';
import { horizontalColumn, storedByte, verticalSum, type AxisWeights } from '../onnx/resize-kernel.js';

export interface StripPage {
  /** What is known of the drawn page (the lines read so far, painted), at the drawn size. */
  readonly drawn: GraySurface;
  /** The stored page's pixels. */
  readonly page: { readonly width: number; readonly height: number; readonly data: Uint8Array };
  /** Weights from drawn width to content width, and drawn height to content height. */
  readonly h: AxisWeights;
  readonly v: AxisWeights;
  readonly contentWidth: number;
  readonly contentHeight: number;
}

export class ResampledStrip {
  /** Stored rows of the strip, and which of them must agree exactly (averaging band rows only). */
  readonly oTop: number;
  readonly oBot: number;
  readonly exactRow: Uint8Array;
  /** Drawn rows the strip averages. */
  readonly rTop: number;
  readonly rBot: number;
  /** Stored columns of the strip, and drawn columns a glyph of this line may touch. */
  readonly cLo: number;
  readonly cHi: number;
  readonly dx0: number;
  readonly dx1: number;
  /** The column being resampled, over the strip's drawn rows. */
  private readonly col: Float64Array;
  /**
   * Resampled stored values per strip column (`values`), kept until a drawn column they average
   * is painted or restored (`touch`): a search checks the same columns again and again while
   * the glyphs under them stay put.
   */
  private readonly cache: Uint8Array;
  private readonly cachedAt: Uint32Array;
  private readonly touched: Uint32Array;
  private clock = 1;
  /** Per strip row, the stored values of the column firstUnexplained stopped at. */
  readonly known: Int16Array;
  private readonly d: GraySurface;

  /** The line box at the drawn size (whole-pixel start, top row, width), its baseline row and font size. */
  constructor(
    private readonly r: StripPage,
    box: { readonly x: number; readonly y: number; readonly width: number; readonly lineHeight: number },
    baseRow: number,
    fontSize: number,
    private readonly tolerance: number,
  ) {
    this.d = r.drawn;
    const pad = Math.ceil(fontSize) + 2;
    const gTop = Math.max(0, baseRow - Math.ceil(fontSize * 1.3) - 2);
    const gBot = Math.min(this.d.height, baseRow + Math.ceil(fontSize * 0.6) + 2);
    this.dx0 = Math.max(0, box.x - pad);
    this.dx1 = Math.min(this.d.width, box.x + box.width + pad);
    const reaches = (w: AxisWeights, o: number, lo: number, hi: number) => w.first[o]! + w.count[o]! > lo && w.first[o]! < hi;
    let oTop = 0;
    while (oTop < r.contentHeight && !reaches(r.v, oTop, gTop, gBot)) oTop++;
    let oBot = oTop;
    while (oBot < r.contentHeight && reaches(r.v, oBot, gTop, gBot)) oBot++;
    this.oTop = oTop;
    this.oBot = oBot;
    this.exactRow = new Uint8Array(oBot - oTop);
    let rTop = Infinity;
    let rBot = -Infinity;
    for (let o = oTop; o < oBot; o++) {
      const f = r.v.first[o]!;
      const n = r.v.count[o]!;
      rTop = Math.min(rTop, f);
      rBot = Math.max(rBot, f + n);
      this.exactRow[o - oTop] = f >= box.y && f + n <= box.y + box.lineHeight ? 1 : 0;
    }
    this.rTop = Number.isFinite(rTop) ? rTop : 0;
    this.rBot = Number.isFinite(rBot) ? rBot : 0;
    let cLo = 0;
    while (cLo < r.contentWidth && !reaches(r.h, cLo, this.dx0, this.dx1)) cLo++;
    let cHi = cLo;
    while (cHi < r.contentWidth && reaches(r.h, cHi, this.dx0, this.dx1)) cHi++;
    this.cLo = cLo;
    this.cHi = cHi;
    this.col = new Float64Array(Math.max(0, this.rBot - this.rTop));
    this.known = new Int16Array(Math.max(0, oBot - oTop));
    this.cache = new Uint8Array(Math.max(0, cHi - cLo) * Math.max(0, oBot - oTop));
    this.cachedAt = new Uint32Array(Math.max(0, cHi - cLo));
    this.touched = new Uint32Array(this.d.width);
  }

  /** Drawn columns [left, right) were painted or restored: values resampled from them are stale. */
  touch(left: number, right: number): void {
    const t = ++this.clock;
    this.touched.fill(t, Math.max(0, left), Math.min(this.d.width, right));
  }

  /** Offset in `cache` of stored column `c`'s values over the strip's rows, resampled if stale. */
  private values(c: number): number {
    const rows = this.oBot - this.oTop;
    const at = (c - this.cLo) * rows;
    const { h } = this.r;
    const stamp = this.cachedAt[c - this.cLo]!;
    let fresh = stamp !== 0;
    for (let x = h.first[c]!, end = x + h.count[c]!; fresh && x < end; x++) fresh = this.touched[x]! <= stamp;
    if (!fresh) {
      this.resample(c);
      for (let o = this.oTop; o < this.oBot; o++) this.cache[at + o - this.oTop] = this.pixel(o);
      this.cachedAt[c - this.cLo] = this.clock;
    }
    return at;
  }

  /** Whether the strip has rows to match exactly. */
  get usable(): boolean {
    return this.oBot > this.oTop && this.cHi > this.cLo && this.exactRow.includes(1);
  }

  /** The first stored column from the final ones with ink the drawn page does not yet explain, or -1. */
  firstUnexplained(from: number): number {
    const { page } = this.r;
    const { oTop, oBot, cache, exactRow } = this;
    for (let c = from; c < this.cHi; c++) {
      const at = this.values(c) - oTop;
      let found = false;
      for (let o = oTop; o < oBot; o++) {
        const v = cache[at + o]!;
        this.known[o - oTop] = v;
        if (exactRow[o - oTop] && page.data[o * page.width + c]! < v - this.tolerance) found = true;
      }
      if (found) return c;
    }
    return -1;
  }

  /**
   * Column `c` of the drawn page as resampled, against the stored page: never darker (beyond the
   * tolerance); when `final`, also not lighter in the exact rows.
   */
  check(c: number, final: boolean): boolean {
    const at = this.values(c) - this.oTop;
    const { page } = this.r;
    const tol = this.tolerance;
    for (let o = this.oTop; o < this.oBot; o++) {
      const d = this.cache[at + o]! - page.data[o * page.width + c]!;
      if (d < -tol || (final && d > tol && this.exactRow[o - this.oTop])) return false;
    }
    return true;
  }

  /** The horizontal pass of `resize` for column `c` over the strip's drawn rows, into `col`. */
  private resample(c: number): void {
    horizontalColumn(this.r.h, c, this.d.data, this.rTop * this.d.width, this.d.width, this.rBot - this.rTop, this.col, 0);
  }

  /** The vertical pass for stored row `o` of the column in `col`, rounded to 8 bits as ageing stores it. */
  private pixel(o: number): number {
    return storedByte(verticalSum(this.r.v, o, this.col, -this.rTop, 1));
  }

  /**
   * The ink of the stored page's exact rows, in columns from `from` to drawn column `drawnTo`,
   * the drawn page would leave unexplained were a glyph added whose image alone is `img`
   * (resampled, its top left at stored `col`, `row`): its darkness taken from the drawn page's
   * resampled values. An estimate (blending and rounding do not add up exactly) that orders
   * candidates without painting them.
   */
  unexplainedWith(from: number, drawnTo: number, img: { readonly width: number; readonly height: number; readonly gray: Uint8Array }, col: number, row: number): number {
    const { page, h } = this.r;
    const { oTop, oBot, exactRow, cache } = this;
    let sum = 0;
    for (let c = from; c < this.cHi && h.first[c]! < drawnTo; c++) {
      const at = this.values(c) - oTop;
      const x = c - col;
      const inside = x >= 0 && x < img.width;
      for (let o = oTop; o < oBot; o++) {
        if (!exactRow[o - oTop]) continue;
        const y = o - row;
        const own = inside && y >= 0 && y < img.height ? 255 - img.gray[y * img.width + x]! : 0;
        const d = cache[at + o]! - own - page.data[o * page.width + c]!;
        if (d > 0) sum += d;
      }
    }
    return sum;
  }
}
