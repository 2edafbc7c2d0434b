/**
 * A rendered page: grayscale PNG bytes plus the geometry of every text line. The geometry
 * (never the text) is also embedded in the PNG as an `iTXt` chunk keyed `opticmem`, so a
 * page file is self-describing and the decoder can skip text detection.
 */
export interface LineBox {
  /** Left edge of the ink box, px. */
  readonly x: number;
  /** Top edge of the line box, px. */
  readonly y: number;
  /** Width of the laid-out text run, px. */
  readonly width: number;
  /** Height of the line box (line height), px. */
  readonly height: number;
  /** Font size the line was drawn at, px. */
  readonly fontSize: number;
  /** Base font of the line, 'sans' or 'mono' (CJK runs inside it use the CJK face). */
  readonly font: string;
  /** Index of the turn (in this page) the line belongs to. */
  readonly turn: number;
  /** The source line continues on the next line (soft wrap), so a reader joins them. */
  readonly wrapped?: boolean;
  /** The wrap cuts a word, so the reader joins this line to the next without a space. */
  readonly cut?: boolean;
}

export interface PageGeometry {
  readonly version: 1;
  readonly width: number;
  readonly height: number;
  readonly fontSize: number;
  readonly lineHeight: number;
  readonly margin: number;
  /** Base font of the page: 'sans', 'mono' or 'auto' (code fences in mono). */
  readonly font: string;
  /** Present when the page has more than one column; lines are listed column by column. */
  readonly columns?: number;
  readonly gutter?: number;
  /**
   * Set when the pixels were resampled after drawing (ageing's downsampling): the page's size
   * when drawn, so a reader knows the glyphs are no longer the renderer's own. `passes` counts
   * the resamplings (1 when absent): one pass is `resize` from the drawn size to the largest
   * size with the drawn aspect that fits the canvas, at its top left, which a reader can repeat.
   */
  readonly resampled?: { readonly width: number; readonly height: number; readonly passes?: number };
  readonly lines: readonly LineBox[];
}

export interface RenderedPage {
  /** Grayscale 8-bit PNG with the geometry chunk. */
  readonly png: Uint8Array;
  readonly geometry: PageGeometry;
  /** The exact text laid out on the page (after escaping of unsupported glyphs). */
  readonly text: string;
}
