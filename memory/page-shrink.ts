/**
 * How ageing makes a page's image smaller: downsampling (blur-like forgetting, geometry scaled
 * with it) or re-rendering the decoded text at the lower resolution.
 *
 * Downsampling is ageing's `resize` from the page as drawn, recorded in the geometry
 * (`resampled`), so the glyph reader can repeat it and read the page by matching. A page that
 * was already shrunk is first redrawn from its own pixels (read by matching, kept only if the
 * drawing gives the pixels back exactly); only when that fails are shrunk pixels shrunk again,
 * counted in `resampled.passes`, and such a page is read by the OCR model.
 */
import type { PageGeometry } from '../renderers/page.js';
import { fitFontSize, lineHeightFor, marginFor } from '../renderers/page-planner.js';
import { renderPage } from '../renderers/page-renderer.js';
import { encodeGrayPng, GEOMETRY_KEYWORD } from '../renderers/png.js';
import { redrawPage } from '../src/decoders/glyph/redraw.js';
import { resampledSize } from '../src/decoders/glyph/resampled-geometry.js';
import { resize, type GrayImage } from '../src/decoders/onnx/gray-image.js';
import { storedByte } from '../src/decoders/onnx/resize-kernel.js';
import { decodePngToGray } from '../src/decoders/onnx/png-pixels.js';
import type { CanvasSize } from '../src/tokens/vision-token-profile.js';

export interface ShrunkPage {
  readonly png: Uint8Array;
  readonly geometry: PageGeometry;
}

export async function downsample(png: Uint8Array, geometry: PageGeometry, size: CanvasSize): Promise<ShrunkPage> {
  const gray = await decodePngToGray(png);
  const origin = geometry.resampled ?? { width: gray.width, height: gray.height };
  // The scale the stored pixels already have, relative to the drawing.
  const current = geometry.resampled ? resampledSize(origin, geometry).factor : 1;
  const target = resampledSize(origin, size);
  // Never enlarge: a canvas with more pixels (Gundam's 640x1280 into Large's 1280²) pads instead.
  const shrinks = target.factor < current;
  const drawn = !shrinks ? undefined : geometry.resampled ? await redrawPage(gray, geometry) : gray;
  let content: GrayImage = gray;
  let passes = 0;
  if (drawn) {
    content = rounded(resize(drawn, target.width, target.height));
    passes = 1;
  } else if (shrinks) {
    const f = target.factor / current;
    content = rounded(resize(gray, Math.max(1, Math.round(gray.width * f)), Math.max(1, Math.round(gray.height * f))));
    passes = (geometry.resampled ? (geometry.resampled.passes ?? 1) : 0) + 1;
  }
  const out = new Uint8Array(size.width * size.height).fill(255);
  const w = Math.min(content.width, size.width);
  for (let y = 0; y < Math.min(content.height, size.height); y++) out.set(content.data.subarray(y * content.width, y * content.width + w), y * size.width);
  const f = shrinks ? target.factor / current : 1;
  const scale = (v: number) => Math.round(v * f * 100) / 100;
  const scaled: PageGeometry = {
    ...geometry,
    width: size.width,
    height: size.height,
    fontSize: scale(geometry.fontSize),
    lineHeight: scale(geometry.lineHeight),
    margin: scale(geometry.margin),
    ...(geometry.gutter !== undefined ? { gutter: scale(geometry.gutter) } : {}),
    ...(passes > 0 ? { resampled: { width: origin.width, height: origin.height, ...(passes > 1 ? { passes } : {}) } } : {}),
    lines: geometry.lines.map((l) => ({ ...l, x: scale(l.x), y: scale(l.y), width: scale(l.width), height: scale(l.height), fontSize: scale(l.fontSize) })),
  };
  return { png: encodeGrayPng(out, size.width, size.height, { [GEOMETRY_KEYWORD]: JSON.stringify(scaled) }), geometry: scaled };
}

function rounded(image: { width: number; height: number; data: Float32Array }): GrayImage {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = storedByte(image.data[i]!);
  return { width: image.width, height: image.height, data };
}

export async function rerender(text: string, size: CanvasSize): Promise<ShrunkPage | undefined> {
  const turns = [{ role: 'text', content: text, label: '' }];
  let best: { fontSize: number; columns: number } | undefined;
  for (let columns = 1; columns <= 3 && size.width / columns >= 160; columns++) {
    const fontSize = fitFontSize(turns, size, 'auto', 3, 28, columns);
    if (fontSize !== undefined && (!best || fontSize > best.fontSize)) best = { fontSize, columns };
  }
  if (!best) return undefined;
  const page = await renderPage(turns, { ...size, fontSize: best.fontSize, lineHeight: lineHeightFor(best.fontSize), margin: marginFor(best.fontSize), font: 'auto', columns: best.columns });
  return { png: page.png, geometry: page.geometry };
}
