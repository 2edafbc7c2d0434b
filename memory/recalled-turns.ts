/**
 * The recalled turns a context may take: the ranked turns in order, each turn the search matched
 * followed by the turn after it on the page (the reply, which often holds the answer: on LoCoMo
 * evidence in a text context at 15% went from 83.3% to 86.0% with it, source text) and by up to
 * `neighbours` turns either side, without repeats and without turns of pages included whole.
 */
import type { ContextSource } from './context-types.js';
import type { PageTurnRow, Scope } from './store/store.js';
import { HOT_PAGE, type RankedTurn } from './turn-ranking.js';
import { neighboursOf } from './turn-recall.js';

export interface PickedTurn {
  readonly pageId: string;
  readonly turnId: string;
  readonly turn: number;
  readonly seq: number;
  readonly text: string;
  readonly tokens: number;
  readonly score: number;
  readonly neighbour: boolean;
}

export async function pickTurns(source: ContextSource, scope: Scope, hits: readonly RankedTurn[], whole: ReadonlyMap<string, unknown>, neighbours: number, hotRows: readonly PageTurnRow[] = []): Promise<PickedTurn[]> {
  const seen = new Set<string>();
  const out: PickedTurn[] = [];
  const n = Math.max(1, neighbours);
  // Turns of pages find their neighbours in the index; hot turns among the hot turns (in order).
  const onPages = await neighboursOf(source.store, scope, hits.filter((h) => h.turn.pageId !== HOT_PAGE).map((h) => h.turn), n);
  let next = 0;
  const around = hits.map((h) => {
    if (h.turn.pageId !== HOT_PAGE) return onPages[next++]!;
    const at = h.turn.turn;
    return { before: hotRows.slice(Math.max(0, at - n), at), after: hotRows.slice(at + 1, at + 1 + n) };
  });
  const add = (t: PageTurnRow, score: number, neighbour: boolean) => {
    const key = `${t.pageId}:${t.turn}`;
    if (seen.has(key) || whole.has(t.pageId)) return;
    seen.add(key);
    out.push({ pageId: t.pageId, turnId: t.turnId, turn: t.turn, seq: t.seq, text: t.text, tokens: source.tokenizer.count(t.text) + 1, score, neighbour });
  };
  hits.forEach(({ turn, score, matched }, i) => {
    const { before, after } = around[i]!;
    // A turn ranked only for the matches beside it counts as a neighbour.
    add(turn, score, !matched);
    if (matched && after[0]) add(after[0], score, true);
    if (neighbours > 0) for (const r of [...before.slice(-neighbours), ...after.slice(0, neighbours)]) add(r, score, true);
  });
  return out;
}
