/**
 * The geometry a resampled page was drawn with, recovered from its stored geometry: ageing
 * scales every box by the same factor and rounds to 0.01 px, while the renderer starts lines on
 * whole pixels and sizes glyphs in quarter pixels, so dividing and rounding gives the drawn
 * values back exactly.
 */
import type { LineBox, PageGeometry } from '../../../renderers/page.js';

export interface DrawnGeometry {
  /** Size the page was drawn at. */
  readonly width: number;
  readonly height: number;
  /** Size of the resampled image at the stored canvas's top left. */
  readonly contentWidth: number;
  readonly contentHeight: number;
  readonly lineHeight: number;
  readonly lines: readonly LineBox[];
}

/** How ageing sizes a page for a canvas: never enlarged, aspect kept. */
export function resampledSize(drawn: { width: number; height: number }, canvas: { width: number; height: number }): { factor: number; width: number; height: number } {
  const factor = Math.min(1, canvas.width / drawn.width, canvas.height / drawn.height);
  return { factor, width: Math.max(1, Math.round(drawn.width * factor)), height: Math.max(1, Math.round(drawn.height * factor)) };
}

/** Whether a drawn line box can be searched (it has a size and a width). */
export function readableBox(box: LineBox | undefined): box is LineBox {
  return box !== undefined && box.fontSize > 0 && box.width > 0;
}

/** Undefined for a page resampled more than once (its pixels are not one resize of a drawing) or without a drawn size. */
export function drawnGeometry(geometry: PageGeometry): DrawnGeometry | undefined {
  const r = geometry.resampled;
  if (!r || (r.passes ?? 1) !== 1 || !(r.width > 0 && r.height > 0)) return undefined;
  const { factor: f, width: contentWidth, height: contentHeight } = resampledSize(r, geometry);
  if (!(f > 0 && f < 1)) return undefined;
  const px = (v: number) => Math.round(v / f);
  const quarter = (v: number) => Math.round((v * 4) / f) / 4;
  const lineHeight = px(geometry.lineHeight);
  return {
    width: r.width,
    height: r.height,
    contentWidth,
    contentHeight,
    lineHeight,
    lines: geometry.lines.map((l) => ({ ...l, x: px(l.x), y: px(l.y), width: px(l.width), height: lineHeight, fontSize: quarter(l.fontSize) })),
  };
}
