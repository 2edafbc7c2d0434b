/**
 * Full-text ranking of the turns still held as text (the hot tier), so a query finds them as it
 * finds the turns of pages. They are not in the turn-level index (it is derived from pages), and
 * a context keeps only the newest of them as recent turns: without this, a matching turn held
 * hot but older than the recent window was neither recent nor recallable. On LoCoMo, with the
 * recent window at 30% of a 15% budget, evidence in a text context rose by about four points.
 *
 * BM25 (k1 1.2, b 0.75) over the hot turns, with the index's treatment of text: CJK runs as
 * character bigrams (search-text.ts), lower case, English stop words dropped, words stemmed
 * (Porter). Scores come from a smaller collection than the index's, so they are of the same
 * kind, not the same scale; merged by score they rank a little low, never ahead by construction.
 */
import { stemmer } from 'stemmer';
import { labelFor } from '../renderers/text-layout.js';
import type { PageTurnRow, TurnRow } from './store/store.js';
import { HOT_PAGE } from './turn-ranking.js';
import { searchableText } from './store/search-text.js';

const K1 = 1.2;
const B = 0.75;
/** Lucene's English stop words, as full-text indexes commonly drop them. */
const STOP_WORDS = new Set('a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with'.split(' '));

export function searchTerms(text: string): string[] {
  const words = searchableText(text).toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return words.filter((w) => w && !STOP_WORDS.has(w)).map((w) => (/^[a-z]+$/.test(w) ? stemmer(w) : w));
}

export interface HotTurnHit {
  /** Position in the texts given. */
  readonly index: number;
  readonly score: number;
}

/** The texts (the hot turns, each with its speaker label) holding any of the query's terms, best first. */
export function searchHotTurns(texts: readonly string[], query: string): HotTurnHit[] {
  const q = [...new Set(searchTerms(query))];
  if (q.length === 0 || texts.length === 0) return [];
  const docs = texts.map((text) => {
    const terms = searchTerms(text);
    const tf = new Map<string, number>();
    for (const w of terms) tf.set(w, (tf.get(w) ?? 0) + 1);
    return { tf, length: terms.length };
  });
  const avg = docs.reduce((a, d) => a + d.length, 0) / docs.length || 1;
  const idf = new Map(q.map((w) => {
    const n = docs.filter((d) => d.tf.has(w)).length;
    return [w, Math.log(1 + (docs.length - n + 0.5) / (n + 0.5))];
  }));
  const hits: HotTurnHit[] = [];
  docs.forEach((d, index) => {
    let score = 0;
    for (const w of q) {
      const f = d.tf.get(w);
      if (f) score += idf.get(w)! * ((f * (K1 + 1)) / (f + K1 * (1 - B + (B * d.length) / avg)));
    }
    if (score > 0) hits.push({ index, score });
  });
  return hits.sort((a, b) => b.score - a.score || a.index - b.index);
}

/** Index of the oldest of the newest turns that fit `budget`, stopping before a turn `stop` names (turns.length when none fits). */
export function recentFrom(turns: readonly TurnRow[], budget: number, cost: (t: TurnRow) => number, stop: (t: TurnRow) => boolean = () => false): number {
  let from = turns.length;
  for (let i = turns.length - 1; i >= 0 && cost(turns[i]!) <= budget && !stop(turns[i]!); i--) {
    budget -= cost(turns[i]!);
    from = i;
  }
  return from;
}

/** A hot turn in the form of a page's turn row, labelled as a page labels it. */
export function hotRow(t: TurnRow, index: number): PageTurnRow {
  const label = labelFor({ role: t.role, content: t.content, ...(t.name ? { label: `${t.name}:` } : {}) });
  return {
    id: `hot:${t.id}`, userId: t.userId, agentId: t.agentId, sessionId: t.sessionId, pageId: HOT_PAGE, turnId: t.id, turn: index, seq: t.seq,
    text: label ? `${label} ${t.content}` : t.content,
  };
}
