/**
 * How a consuming vision model charges for an image. One profile per model family (and
 * mode); plain data in and out so profiles can be tested against their documentation.
 */
export interface CanvasSize {
  readonly width: number;
  readonly height: number;
}

/** How small a glyph a model reads reliably (see legibility.ts). */
export interface Legibility {
  /** Smallest font size (em, px) the model reads reliably, in its own input pixels. */
  readonly minGlyphPx: number;
  /** Where the figure comes from (a paper, a benchmark, a calibration run). */
  readonly source: string;
}

export interface VisionTokenProfileV1 {
  readonly specificationVersion: 'v1';
  /** Registry name, e.g. `deepseek-ocr:base`, `qwen2-vl`, `gpt-4o`. */
  readonly name: string;
  /** Human description with the source of the counting rule. */
  readonly description: string;
  /**
   * Visual tokens the model charges for an image of `width` x `height` pixels, after any
   * resize the model applies.
   */
  tokensFor(width: number, height: number): number;
  /**
   * The size the model actually looks at for an input image (after its own resize or
   * padding), so a page rendered at that size is not resampled again.
   */
  effectiveSize(width: number, height: number): CanvasSize;
  /**
   * Of the tokens `tokensFor` charges, how many carry page content when the model pads a
   * non-square page onto its square canvas (DeepSeek-OCR's N_valid). Absent when every charged
   * token carries content.
   */
  validTokensFor?(width: number, height: number): number;
  /**
   * Canvases a renderer may choose from, smallest first. Fixed-resolution models list their
   * modes; dynamic-resolution models list a useful ladder of sizes on their grid.
   */
  sizes(): readonly CanvasSize[];
  /**
   * The smallest glyph (font size in the model's own input pixels) the model reads reliably,
   * and where that figure comes from. Optional: built-in profiles have defaults (see
   * `legibilityOf`), and a calibration preset overrides either.
   */
  readonly legibility?: Legibility;
}

export type VisionTokenProfile = VisionTokenProfileV1;
