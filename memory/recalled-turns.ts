/**
 * The recalled turns a context may take: the turn index's hits in rank order, each followed by
 * its neighbours on the page, without repeats and without turns of pages included whole.
 */
import type { ContextSource } from './context-types.js';
import type { PageTurnRow, Scope, TurnSearchHit } from './store/store.js';
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

export async function pickTurns(source: ContextSource, scope: Scope, hits: readonly TurnSearchHit[], whole: ReadonlyMap<string, unknown>, neighbours: number): Promise<PickedTurn[]> {
  const seen = new Set<string>();
  const out: PickedTurn[] = [];
  const around = await neighboursOf(source.store, scope, hits.map((h) => h.turn), neighbours);
  const add = (t: PageTurnRow, score: number, neighbour: boolean) => {
    const key = `${t.pageId}:${t.turn}`;
    if (seen.has(key) || whole.has(t.pageId)) return;
    seen.add(key);
    out.push({ pageId: t.pageId, turnId: t.turnId, turn: t.turn, seq: t.seq, text: t.text, tokens: source.tokenizer.count(t.text) + 1, score, neighbour });
  };
  hits.forEach(({ turn, score }, i) => {
    add(turn, score, false);
    for (const r of [...around[i]!.before, ...around[i]!.after]) add(r, score, true);
  });
  return out;
}
