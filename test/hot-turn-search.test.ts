import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { searchHotTurns, searchTerms } from '../memory/hot-turn-search.js';
import { Memory } from '../memory/memory.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('full-text ranking of hot turns', () => {
  it('stems English words, drops stop words and cuts CJK runs into bigrams, as the index does', () => {
    expect(searchTerms('The paintings of the lake')).toEqual(['paint', 'lake']);
    expect(searchTerms('我喜欢咖啡')).toEqual(['我喜', '喜欢', '欢咖', '咖啡']);
    expect(searchHotTurns(['Anna: I painted a sunset.', 'Ben: lunch was late.', 'Anna: painting again, a lake this time'], 'What did Anna paint?').map((h) => h.index)).toEqual([0, 2]);
    // A rarer word outweighs a common one.
    const hits = searchHotTurns(['ferry ferry', 'ferry to Porto', 'ferry', 'ferry'], 'ferry Porto');
    expect(hits[0]!.index).toBe(1);
    expect(searchHotTurns(['anything'], 'the of and')).toEqual([]);
  });

  it('a context finds a matching turn still held as text but older than its recent turns, and gives no turn twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-hot-'));
    dirs.push(dir);
    const memory = await Memory.open({ path: dir, autoCompact: false });
    try {
      const scope = { userId: 'hot' };
      const filler = (i: number) => `Turn ${i}: we talked about the weather, the traffic and what to cook for dinner this week.`;
      const turns = Array.from({ length: 60 }, (_, i) => ({ role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant', content: i === 6 ? 'Where did we park? On level four, next to the zanzibarquokka mural.' : filler(i) }));
      const { turnIds } = await memory.add(turns, scope);
      const ctx = await memory.buildContext({ scope, budgetTokens: 400, query: 'zanzibarquokka mural parking' });
      const hit = ctx.recalledTurns.find((t) => t.turnId === turnIds[6]);
      expect(hit, 'the old hot turn is recalled').toBeDefined();
      expect(hit!.pageId).toBe('');
      expect(hit!.neighbour).toBe(false);
      // Its reply comes with it, marked as a neighbour.
      expect(ctx.recalledTurns.find((t) => t.turnId === turnIds[7])?.neighbour).toBe(true);
      expect(ctx.turns).toBeGreaterThan(0);
      expect(ctx.turns).toBeLessThan(53);
      const recent = new Set(turnIds.slice(-ctx.turns));
      expect(ctx.recalledTurns.filter((t) => recent.has(t.turnId))).toEqual([]);
      const text = ctx.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
      expect(text.split('zanzibarquokka').length - 1).toBe(1);
      expect(ctx.usedTokens).toBeLessThanOrEqual(400);
      // Without a query nothing is recalled.
      expect((await memory.buildContext({ scope, budgetTokens: 400 })).recalledTurns).toEqual([]);
    } finally {
      await memory.close();
    }
  });
});
