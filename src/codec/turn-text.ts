/**
 * A page's decoded text cut back into its turns. `assembleText` joins the turns of a page
 * with one newline each and puts newlines inside a turn only where its geometry says so (a
 * line that is not a soft wrap, plus one per blank line), so the geometry alone tells how many
 * newlines each turn holds, and the text can be cut without the stored source.
 */
import type { PageGeometry } from '../../renderers/page.js';

export interface TurnText {
  /** Index of the turn on the page (the position of its id in the page's `turnIds`). */
  readonly turn: number;
  readonly text: string;
}

/** Newlines `assembleText` puts inside each turn of the page, in page order. */
function newlinesPerTurn(geometry: PageGeometry): { turn: number; newlines: number }[] {
  const out: { turn: number; newlines: number }[] = [];
  let prev: PageGeometry['lines'][number] | undefined;
  for (const box of geometry.lines) {
    const current = out[out.length - 1];
    if (!current || current.turn !== box.turn) {
      out.push({ turn: box.turn, newlines: 0 });
    } else if (prev && prev.wrapped !== true) {
      current.newlines += 1 + Math.max(0, Math.round((box.y - prev.y) / geometry.lineHeight) - 1);
    }
    prev = box;
  }
  return out;
}

/**
 * The text of each turn of a page, from the page's decoded text and geometry; undefined when
 * the text does not have the shape the geometry gives it (a reader that returns its own line
 * breaks, or text from elsewhere), so a caller can fall back to the page as one piece.
 */
export function splitTurnTexts(text: string, geometry: PageGeometry): TurnText[] | undefined {
  if (!geometry || !Array.isArray(geometry.lines) || geometry.lines.length === 0) return undefined;
  const counts = newlinesPerTurn(geometry);
  const pieces = text.split('\n');
  const expected = counts.reduce((a, c) => a + c.newlines + 1, 0);
  if (pieces.length !== expected) return undefined;
  const out: TurnText[] = [];
  let at = 0;
  for (const { turn, newlines } of counts) {
    out.push({ turn, text: pieces.slice(at, at + newlines + 1).join('\n') });
    at += newlines + 1;
  }
  return out;
}
