/**
 * Redraws a page opticmem drew from its own pixels: read every line by glyph matching, paint the
 * readings at the size the page was drawn, and keep the drawing only if it gives back the
 * stored pixels exactly (after ageing's resampler, for an aged page). Exact pages only: a
 * noisy page's readings match within a tolerance, so they never redraw it exactly. Ageing uses it to shrink a
 * page again from its drawing instead of from already-shrunk pixels, so a page aged twice is
 * still one resampling of a drawing, which the glyph reader can repeat.
 */
import type { PageGeometry } from '../../../renderers/page.js';
import { resize, type GrayImage } from '../onnx/gray-image.js';
import { drawnGeometry } from './resampled-geometry.js';
import { PageReader } from './page-reader.js';

let shared: Promise<PageReader> | undefined;

/**
 * The page as drawn, or undefined when some line cannot be read or the drawing does not give
 * the pixels back. A line read one of two ways that give the same pixels is drawn the way it was
 * read: the page cannot tell them apart any more, and neither can a smaller copy of it.
 */
export async function redrawPage(page: GrayImage, geometry: PageGeometry): Promise<GrayImage | undefined> {
  const reader = await (shared ??= PageReader.create());
  const { lines, drawn } = reader.readAndDraw(page, geometry);
  if (lines.some((l) => !l)) return undefined;
  return reproduces(drawn, page, geometry) ? drawn : undefined;
}

function reproduces(drawn: GrayImage, page: GrayImage, geometry: PageGeometry): boolean {
  if (!geometry.resampled) return drawn.width === page.width && drawn.height === page.height && drawn.data.every((v, i) => v === page.data[i]);
  const plan = drawnGeometry(geometry);
  if (!plan || drawn.width !== plan.width || drawn.height !== plan.height) return false;
  const small = resize(drawn, plan.contentWidth, plan.contentHeight);
  for (let y = 0; y < page.height; y++) {
    for (let x = 0; x < page.width; x++) {
      const inside = x < plan.contentWidth && y < plan.contentHeight;
      const want = inside ? Math.max(0, Math.min(255, Math.round(small.data[y * plan.contentWidth + x]!))) : 255;
      if (page.data[y * page.width + x] !== want) return false;
    }
  }
  return true;
}
