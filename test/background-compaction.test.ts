/**
 * Compaction off the request path and idempotent across workers, on real LanceDB folders with
 * the real reader: `add` queues, `flush` waits, `close` drains, `delete` is not undone by a
 * compaction in flight, and workers compacting one scope at once (no lock file) leave each turn
 * on exactly one page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { compactionChunks, pageIdFor } from '../memory/compaction.js';
import type { TurnRow } from '../memory/store/store.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { openLanceStore } from '../memory/store/index.js';
import { pageRow } from './support/page-row.js';
import { expectEachOnce, holdings } from './support/holdings.js';

const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const decoder = createLocalDecoder();
const options = { tiers: { hotBudgetTokens: 200 }, profile: 'deepseek-ocr:small', decoder } as const;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-bg-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function turn(i: number, tokens: number): TurnRow {
  return { id: `t${i}`, userId: 'u', agentId: '', sessionId: '', seq: i, role: 'user', name: '', content: 'x', textTokens: tokens, createdAt: i };
}

describe('compaction chunks and page ids', () => {
  it('a whole chunk does not depend on the turns that came after it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 20 }), fc.integer({ min: 1, max: 1000 }), (a, b, size) => {
        const seen = a.map((t, i) => turn(i, t));
        const more = [...seen, ...b.map((t, i) => turn(a.length + i, t))];
        const whole = (turns: TurnRow[]) => compactionChunks(turns, size).filter((c) => c.complete).map((c) => c.turns.map((t) => t.id).join());
        const early = whole(seen);
        expect(whole(more).slice(0, early.length)).toEqual(early);
        // Every turn lands in exactly one chunk, in order.
        expect(compactionChunks(more, size).flatMap((c) => c.turns.map((t) => t.id))).toEqual(more.map((t) => t.id));
      }),
      { numRuns: 300 },
    );
  });

  it('a page id is a function of scope, tier and turns', () => {
    const s = { userId: 'u', agentId: '', sessionId: '' };
    expect(pageIdFor(s, 'lossless', ['a', 'b'])).toBe(pageIdFor({ ...s }, 'lossless', ['a', 'b']));
    expect(pageIdFor(s, 'lossless', ['a', 'b'])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const others = [pageIdFor(s, 'lossless', ['a']), pageIdFor(s, 'forgetting', ['a', 'b']), pageIdFor({ ...s, sessionId: 'x' }, 'lossless', ['a', 'b']), pageIdFor(s, 'lossless', ['b', 'a'])];
    expect(new Set([pageIdFor(s, 'lossless', ['a', 'b']), ...others]).size).toBe(5);
  });
});

describe('background compaction', () => {
  it('add returns before compaction; flush waits for it; each turn is held once', async () => {
    const memory = await Memory.open({ path: await tempDir(), ...options });
    const scope = { userId: 'maya' };
    try {
      const ids: string[] = [];
      const events: string[] = [];
      memory.onCompaction((e) => events.push(e.type));
      for (const m of trip.slice(0, 10)) ids.push(...(await memory.add(m, scope)).turnIds);
      const flushed = await memory.flush();
      expect(flushed.errors).toEqual([]);
      expect(events.length).toBe(flushed.compactions);
      expect(events.every((e) => e === 'compacted')).toBe(true);
      const { hot, pages } = await holdings(memory, scope);
      expect(pages.length).toBeGreaterThan(0);
      expect(flushed.pagesWritten).toBe(pages.length);
      expectEachOnce(ids, hot, pages);
      expect((await memory.flush()).compactions).toBe(0); // nothing new since the last flush
    } finally {
      await memory.close();
    }
  });

  it('close() drains the queue: reopened, the pages are there', async () => {
    const path = await tempDir();
    const scope = { userId: 'ines' };
    const memory = await Memory.open({ path, ...options });
    const r = await memory.add(trip.slice(0, 10), scope);
    expect(r.compactionQueued).toBe(true);
    await memory.close();
    const again = await Memory.open({ path, ...options, autoCompact: false });
    try {
      const { hot, pages } = await holdings(again, scope);
      expect(pages.length).toBeGreaterThan(0);
      expectEachOnce(r.turnIds, hot, pages);
    } finally {
      await again.close();
    }
  });

  it('delete() waits for a compaction in flight, which then writes no page for deleted turns', async () => {
    const memory = await Memory.open({ path: await tempDir(), ...options });
    const scope = { userId: 'rui' };
    try {
      expect((await memory.add(trip.slice(0, 10), scope)).compactionQueued).toBe(true);
      await memory.delete(scope);
      await memory.flush();
      expect(await memory.list(scope)).toEqual({ turns: [], pages: [] });
    } finally {
      await memory.close();
    }
  });
});

describe('workers compacting one scope at once, without the lock file', () => {
  it('the same pages committed by three stores at the same instant leave one row each', async () => {
    const path = await tempDir();
    const stores = await Promise.all([0, 1, 2].map(() => openLanceStore({ uri: path })));
    try {
      for (let round = 0; round < 8; round++) {
        const rows = [pageRow(`p${round}a`, 'u', `page a of round ${round}`), pageRow(`p${round}b`, 'u', `page b of round ${round}`)];
        await Promise.all(stores.map((s) => s.addPages(rows)));
      }
      expect((await stores[0]!.counts()).pages).toBe(16);
      const listed = await stores[1]!.listPages({ userId: 'u' }, { withPng: false });
      expect(listed.map((p) => p.id).sort()).toEqual(Array.from({ length: 8 }, (_, r) => [`p${r}a`, `p${r}b`]).flat().sort());
      // Each page's turn rows come back once, however many writers indexed the page.
      expect((await stores[2]!.listPageTurns!({ userId: 'u' }, listed.map((p) => p.id))).length).toBe(16);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('explicit compactions of the same turns leave one page per set of turns', async () => {
    const path = await tempDir();
    const scope = { userId: 'team' };
    const writer = await Memory.open({ path, ...options, autoCompact: false });
    const ids = (await writer.add(trip.slice(0, 12), scope)).turnIds;
    const workers = await Promise.all([0, 1, 2].map(() => Memory.open({ path, ...options, autoCompact: false, compactionLock: false })));
    try {
      const results = await Promise.all(workers.map((w) => w.compact(scope, { keepTokens: 100 })));
      const { hot, pages } = await holdings(writer, scope);
      expect(pages.length).toBeGreaterThan(0);
      // Every worker drew the same pages; the store kept one of each.
      for (const r of results) expect(r.pagesWritten).toBe(pages.length);
      expect(new Set(pages.map((p) => p.id)).size).toBe(pages.length);
      expect((await writer.store.counts()).pages, 'page rows in the table').toBe(pages.length);
      expectEachOnce(ids, hot, pages);
    } finally {
      await Promise.all([writer, ...workers].map((m) => m.close()));
    }
  });

  it('workers adding and compacting automatically in the background lose and duplicate nothing', async () => {
    const path = await tempDir();
    const scope = { userId: 'team', sessionId: 'shared' };
    const workers = await Promise.all([0, 1].map(() => Memory.open({ path, ...options, compactionLock: false })));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 16; i++) ids.push(...(await workers[i % 2]!.add(trip[i % trip.length]!, scope)).turnIds);
      const flushed = await Promise.all(workers.map((w) => w.flush()));
      expect(flushed.flatMap((f) => f.errors)).toEqual([]);
      const { hot, pages } = await holdings(workers[0]!, scope);
      expect(pages.length).toBeGreaterThan(0);
      expectEachOnce(ids, hot, pages);
    } finally {
      await Promise.all(workers.map((m) => m.close()));
    }
  });
});
