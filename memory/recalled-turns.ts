/**
 * The recalled turns a context may take: the turn index's hits in rank order, each followed by
 * its neighbours on the page, without repeats and without turns of pages included whole.
 */
import type { ContextSource } from './context-types.js';
import type { Scope, TurnSearchHit } from './store/store.js';
import { turnsOfPages } from './turn-recall.js';

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

export async function pickTurns(source: ContextSource, scope: Scope, hits: readonly TurnSearchHit[], whole: ReadonlyMap<string, unknown>, neighbours: number): Promise<PickedTurn[]> {
  const seen = new Set<string>();
  const out: PickedTurn[] = [];
  const onPage = new Map<string, { turn: number; turnId: string; text: string; seq: number }[]>();
  if (neighbours > 0) {
    for (const row of await turnsOfPages(source.store, scope, [...new Set(hits.map((h) => h.turn.pageId))])) {
      onPage.set(row.pageId, [...(onPage.get(row.pageId) ?? []), row]);
    }
  }
  const add = (t: { pageId: string; turnId: string; turn: number; seq: number; text: string }, score: number, neighbour: boolean) => {
    const key = `${t.pageId}:${t.turn}`;
    if (seen.has(key) || whole.has(t.pageId)) return;
    seen.add(key);
    out.push({ ...t, tokens: source.tokenizer.count(t.text) + 1, score, neighbour });
  };
  for (const { turn, score } of hits) {
    add(turn, score, false);
    if (neighbours === 0) continue;
    const rows = (onPage.get(turn.pageId) ?? []).sort((a, b) => a.turn - b.turn);
    const at = rows.findIndex((r) => r.turn === turn.turn);
    if (at < 0) continue;
    for (const r of [...rows.slice(Math.max(0, at - neighbours), at), ...rows.slice(at + 1, at + 1 + neighbours)]) add({ ...r, pageId: turn.pageId }, score, true);
  }
  return out;
}
