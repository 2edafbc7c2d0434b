/** A page row's geometry column (a JSON copy of the PNG's geometry chunk), parsed when usable. */
import type { PageGeometry } from '../../renderers/page.js';

/** The geometry, or undefined when the column is not JSON or has no lines (the PNG's own chunk is then the one to read). */
export function parseStoredGeometry(json: string): PageGeometry | undefined {
  try {
    const g = JSON.parse(json) as PageGeometry;
    return g && typeof g === 'object' && Array.isArray(g.lines) ? g : undefined;
  } catch {
    return undefined;
  }
}
