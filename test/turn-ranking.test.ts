import { describe, expect, it } from 'vitest';
import { NEIGHBOUR_WEIGHT, smoothTurnScores } from '../memory/turn-ranking.js';
import type { PageTurnRow } from '../memory/store/store.js';

const row = (pageId: string, turn: number): PageTurnRow => ({
  id: `${pageId}:${turn}`, userId: 'u', agentId: '', sessionId: 's', pageId, turnId: `${pageId}-t${turn}`, turn, seq: (pageId === 'a' ? 0 : 100) + turn, text: `turn ${turn}`,
});

describe('turn ranking', () => {
  const rows = [0, 1, 2, 3, 4].map((i) => row('a', i)).concat([0, 1].map((i) => row('b', i)));

  it('credits each turn beside a match with a share of its score, on the same page only', () => {
    const ranked = smoothTurnScores([{ turn: rows[2]!, score: 4 }], rows);
    expect(ranked.map((r) => [r.turn.id, r.score, r.matched])).toEqual([
      ['a:2', 4, true],
      ['a:1', 4 * NEIGHBOUR_WEIGHT, false],
      ['a:3', 4 * NEIGHBOUR_WEIGHT, false],
    ]);
    // The first turn of page b has no neighbour on page a.
    expect(smoothTurnScores([{ turn: rows[5]!, score: 1 }], rows).map((r) => r.turn.id)).toEqual(['b:0', 'b:1']);
  });

  it('ranks a turn between two matches above a single weaker match', () => {
    // a:2 matched weakly (1) between two matches (2 each); b:0 matched better (1.8) alone.
    const ranked = smoothTurnScores([{ turn: rows[1]!, score: 2 }, { turn: rows[3]!, score: 2 }, { turn: rows[2]!, score: 1 }, { turn: rows[5]!, score: 1.8 }], rows);
    const at = (id: string) => ranked.findIndex((r) => r.turn.id === id);
    expect(ranked.find((r) => r.turn.id === 'a:2')!.score).toBeCloseTo(1 + 4 * NEIGHBOUR_WEIGHT);
    expect(at('a:2')).toBeLessThan(at('b:0'));
    expect(ranked.slice(0, 2).map((r) => r.turn.id).sort()).toEqual(['a:1', 'a:3']);
    // Each turn once.
    expect(new Set(ranked.map((r) => r.turn.id)).size).toBe(ranked.length);
  });
});
