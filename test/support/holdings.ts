/** What a scope holds after compaction, and the check that every turn is held exactly once. */
import { expect } from 'vitest';
import type { Memory } from '../../memory/memory.js';
import type { Scope } from '../../memory/store/store.js';

type ListedPage = Awaited<ReturnType<Memory['list']>>['pages'][number];

export async function holdings(memory: Memory, scope: Scope) {
  const { turns, pages } = await memory.list(scope);
  return { hot: turns.map((t) => t.id), paged: pages, pages };
}

/**
 * Every id is held exactly once and nothing else is: as one hot turn, or by the pages of one
 * compaction batch (pages written together share createdAt). Inside a batch a turn split over
 * pages sits on consecutive pages, as the last turn of one and the first of the next; a turn
 * compacted twice would show up in two batches or twice on a page.
 */
export function expectEachOnce(ids: readonly string[], hot: readonly string[], pages: readonly ListedPage[]): void {
  const held = new Map<string, number>();
  const bump = (id: string) => held.set(id, (held.get(id) ?? 0) + 1);
  hot.forEach(bump);
  const batches = new Map<number, ListedPage[]>();
  for (const p of pages) batches.set(p.createdAt, [...(batches.get(p.createdAt) ?? []), p]);
  for (const batch of batches.values()) {
    batch.sort((a, b) => a.firstSeq - b.firstSeq);
    const at = new Map<string, number[]>();
    batch.forEach((p, i) => {
      expect(new Set(p.turnIds).size, `page ${p.id} lists a turn twice`).toBe(p.turnIds.length);
      for (const t of p.turnIds) at.set(t, [...(at.get(t) ?? []), i]);
    });
    for (const [turn, where] of at) {
      for (let j = 1; j < where.length; j++) {
        expect(where[j], `turn ${turn} on non-adjacent pages of a batch`).toBe(where[j - 1]! + 1);
        expect(batch[where[j - 1]!]!.turnIds.at(-1), `turn ${turn} continues but is not last on its page`).toBe(turn);
        expect(batch[where[j]!]!.turnIds[0], `turn ${turn} continues but is not first on the next page`).toBe(turn);
      }
      bump(turn);
    }
  }
  expect(new Set(held.keys())).toEqual(new Set(ids));
  for (const [id, n] of held) expect(n, `turn ${id} is held ${n} times`).toBe(1);
}
