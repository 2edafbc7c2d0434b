/**
 * Turn-level recall: the turns of a scope's pages that match a query, each with its
 * neighbours on the page and the page it came from. Searches the store's turn-level index;
 * a store without one has its pages searched and their text cut into turns instead.
 */
import { z } from 'zod';
import { parseInput } from '../src/errors.js';
import { pageTurnRows } from './store/page-turns.js';
import type { MemoryStore, PageTurnRow, Scope, TurnSearchHit } from './store/store.js';
import { smoothTurnScores, type RankedTurn } from './turn-ranking.js';

export interface RecallTurnsOptions {
  readonly scope: Scope;
  /** Turns to return. Default 10. */
  readonly k?: number;
  /** Turns either side of each hit, from the same page, to return with it. Default 0. */
  readonly neighbours?: number;
  /** Count hits as rehearsals of their pages. Default true; false only looks. */
  readonly rehearse?: boolean;
}

/** A turn of a page recalled for a query: one that matches it, or one beside strong matches (`matched` false). */
export interface TurnHit {
  readonly pageId: string;
  /** The source turn's id ('' when the page's text could not be cut into turns and `text` is the whole page). */
  readonly turnId: string;
  /** Position of the turn on its page (-1 for the whole page). */
  readonly turn: number;
  /** The turn's decoded text, with its speaker label when the turn starts on the page. */
  readonly text: string;
  readonly score: number;
  /** Whether the turn itself holds the query's words; false for a turn ranked for the matches beside it. */
  readonly matched: boolean;
  /** Orders turns across pages (the page's firstSeq plus the turn's position). */
  readonly seq: number;
  /** Up to `neighbours` turns before and after it on the same page, in order. */
  readonly before: readonly { readonly turnId: string; readonly text: string }[];
  readonly after: readonly { readonly turnId: string; readonly text: string }[];
}

export const RecallTurnsSchema = z
  .object({
    scope: z.unknown(),
    k: z.number({ error: 'k must be a number' }).int('k must be a whole number').min(1, 'k must be >= 1').max(1000, 'k must be <= 1000').optional(),
    neighbours: z.number({ error: 'neighbours must be a number' }).int('neighbours must be a whole number').min(0, 'neighbours must be >= 0').max(20, 'neighbours must be <= 20').optional(),
    rehearse: z.boolean().optional(),
  })
  .strict();

/** Pages searched per candidate turn when a store has no turn-level index (one page per turn wanted, as candidates are four per turn). */
const PAGES_PER_TURN_FALLBACK = 0.25;

/** Full-text hits fetched per turn wanted, so that smoothing can lift a turn beside several weaker hits. */
const CANDIDATES_PER_TURN = 4;
const MIN_CANDIDATES = 40;

/**
 * Turns matching `query` in `scope`, best first: full-text hits re-ranked with their neighbours
 * on the page (see turn-ranking.ts); `matched` tells a turn the search found from one ranked for
 * the turns beside it.
 */
export async function searchTurns(store: MemoryStore, scope: Scope, query: string, k: number): Promise<RankedTurn[]> {
  const hits = await fullTextTurns(store, scope, query, Math.max(k * CANDIDATES_PER_TURN, MIN_CANDIDATES));
  if (hits.length === 0) return [];
  const rows = await turnsOfPages(store, scope, [...new Set(hits.map((h) => h.turn.pageId))]);
  return smoothTurnScores(hits, rows).slice(0, k);
}

async function fullTextTurns(store: MemoryStore, scope: Scope, query: string, k: number): Promise<TurnSearchHit[]> {
  if (store.searchTurns) return store.searchTurns(scope, { text: query, k });
  // Without the index: the best pages, cut into turns, and the turns ranked by their pages' rank.
  const hits = await store.search(scope, { text: query, k: Math.max(1, Math.ceil(k * PAGES_PER_TURN_FALLBACK)) });
  const words = new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const matches = (text: string) => (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => words.has(w)).length;
  return hits
    .flatMap((h) => pageTurnRows(h.page).map((turn) => ({ turn, score: h.score + matches(turn.text) / 1000 })))
    .filter((h) => matches(h.turn.text) > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

/** Every turn of these pages, in order (from the index, or cut from the pages). */
export async function turnsOfPages(store: MemoryStore, scope: Scope, pageIds: readonly string[]): Promise<PageTurnRow[]> {
  if (pageIds.length === 0) return [];
  if (store.listPageTurns) return store.listPageTurns(scope, pageIds);
  const pages = await store.listPages(scope, { ids: pageIds, withPng: false });
  return pages.flatMap(pageTurnRows).sort((a, b) => a.seq - b.seq);
}

/** For each turn, up to `n` turns either side of it on its own page, in page order (none when n is 0). */
export async function neighboursOf(store: MemoryStore, scope: Scope, turns: readonly PageTurnRow[], n: number): Promise<{ before: PageTurnRow[]; after: PageTurnRow[] }[]> {
  const byPage = new Map<string, PageTurnRow[]>();
  if (n > 0) {
    for (const row of await turnsOfPages(store, scope, [...new Set(turns.map((t) => t.pageId))])) byPage.set(row.pageId, [...(byPage.get(row.pageId) ?? []), row]);
    for (const rows of byPage.values()) rows.sort((a, b) => a.turn - b.turn);
  }
  return turns.map((turn) => {
    const onPage = byPage.get(turn.pageId) ?? [];
    const at = onPage.findIndex((r) => r.turn === turn.turn);
    return at < 0 ? { before: [], after: [] } : { before: onPage.slice(Math.max(0, at - n), at), after: onPage.slice(at + 1, at + 1 + n) };
  });
}

/** The hits with their neighbours on the page. */
export async function withNeighbours(store: MemoryStore, scope: Scope, hits: readonly RankedTurn[], neighbours: number): Promise<TurnHit[]> {
  const around = await neighboursOf(store, scope, hits.map((h) => h.turn), neighbours);
  const brief = (r: PageTurnRow) => ({ turnId: r.turnId, text: r.text });
  return hits.map(({ turn, score, matched }, i) => ({
    pageId: turn.pageId,
    turnId: turn.turnId,
    turn: turn.turn,
    text: turn.text,
    score,
    matched,
    seq: turn.seq,
    before: around[i]!.before.map(brief),
    after: around[i]!.after.map(brief),
  }));
}

export function parseRecallTurnsOptions(options: unknown): z.infer<typeof RecallTurnsSchema> {
  return parseInput(RecallTurnsSchema, options, 'options');
}
