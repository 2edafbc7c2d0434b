/**
 * Page images for the context builder, read so that one damaged page does not fail the rest:
 * a page whose image fails its checksum is skipped by name (or drawn again from its text).
 */
import { OpticMemError } from '../src/errors.js';
import { readGeometry } from '../renderers/png.js';
import type { VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { storedGlyphPx } from './consumer-pages.js';
import { pageFault } from './page-fault.js';
import type { MemoryStore, PageRow, Scope } from './store/store.js';

/** The pages `ids` with their images; one whose image fails its checksum is skipped by name and the rest returned. */
export async function imagesOf(store: MemoryStore, scope: Scope, ids: readonly string[], skip: (pageId: string, error: OpticMemError) => void): Promise<PageRow[]> {
  try {
    return await store.listPages(scope, { ids: [...ids], withPng: true });
  } catch (error) {
    if (!pageFault(error)) throw error;
  }
  const out: PageRow[] = [];
  for (const id of ids) {
    try {
      const page = await store.getPage(scope, id);
      if (page) out.push(page);
    } catch (error) {
      if (!pageFault(error)) throw error;
      skip(id, error);
    }
  }
  return out;
}

/**
 * Without a usable geometry column, the glyph size comes from the PNG's own geometry chunk; the
 * image is read (and checked against its digest).
 */
export async function pngGlyphPx(store: MemoryStore, scope: Scope, id: string, profile: VisionTokenProfile): Promise<number | undefined> {
  let page: PageRow | undefined;
  try {
    page = await store.getPage(scope, id);
  } catch (error) {
    // A damaged image: the page is drawn again from its text, or skipped if that cannot be read either.
    if (!pageFault(error)) throw error;
    return undefined;
  }
  if (!page) return undefined;
  let geometry;
  try {
    geometry = readGeometry(page.png, 'png');
  } catch (error) {
    if (OpticMemError.isInstance(error) && error.code === 'invalid_image') return undefined; // drawn again from its text
    throw error;
  }
  return geometry ? storedGlyphPx(JSON.stringify(geometry), profile) : undefined;
}
