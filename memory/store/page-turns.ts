/**
 * A page's turns as the turn-level index holds them: the page's decoded text cut at its
 * turns by the page's geometry (see splitTurnTexts), each with the id of its source turn.
 */
import { splitTurnTexts } from '../../src/codec/turn-text.js';
import { parseStoredGeometry } from './stored-geometry.js';
import type { PageRow, PageTurnRow } from './store.js';

/** What the index needs of a page. */
export type IndexedPage = Pick<PageRow, 'id' | 'userId' | 'agentId' | 'sessionId' | 'turnIds' | 'firstSeq' | 'geometry' | 'decodedText'>;

/** The rows of one page: a row per turn, or one row for the whole page when its text cannot be cut. */
export function pageTurnRows(page: IndexedPage): PageTurnRow[] {
  if (!page.decodedText) return [];
  const base = { userId: page.userId, agentId: page.agentId, sessionId: page.sessionId, pageId: page.id };
  const geometry = parseStoredGeometry(page.geometry);
  const turns = geometry ? splitTurnTexts(page.decodedText, geometry) : undefined;
  if (!turns || turns.some((t) => t.turn < 0 || t.turn >= page.turnIds.length)) {
    return [{ ...base, id: `${page.id}:-1`, turnId: '', turn: -1, seq: page.firstSeq, text: page.decodedText }];
  }
  return turns.map((t) => ({ ...base, id: `${page.id}:${t.turn}`, turnId: page.turnIds[t.turn]!, turn: t.turn, seq: page.firstSeq + t.turn, text: t.text }));
}

