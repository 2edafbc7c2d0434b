import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleText } from '../src/codec/assemble-text.js';
import { decode, encode } from '../src/codec/codec.js';
import { splitTurnTexts } from '../src/codec/turn-text.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { loadLanceDb } from '../src/internal/lazy.js';
import { Memory } from '../memory/memory.js';
import { ANY } from '../memory/store/store.js';

const decoder = createLocalDecoder({ reader: 'glyph' });
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-turns-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];

describe('a page cut into its turns', () => {
  it('gives back each turn as assembleText read it, blank lines and wraps included', async () => {
    const turns = [
      { role: 'user', content: 'First line\n\n\nafter two blank lines\n  indented' },
      { role: 'assistant', content: 'A long reply that wraps. '.repeat(30) },
      { role: 'user', content: '' + 'x'.repeat(300) },
      { role: 'assistant', content: 'last' },
    ];
    const [page] = await encode(turns, { ratio: 4, profile: 'deepseek-ocr:base' });
    const read = await decode(page!.png, { decoder, geometry: page!.geometry });
    const cut = splitTurnTexts(read.text, page!.geometry);
    expect(cut).toEqual(read.turns.map((t) => ({ turn: t.turn, text: t.text })));
    expect(cut!.map((t) => t.turn)).toEqual([0, 1, 2, 3]);
    expect(assembleText(read.raw.lines, page!.geometry).text).toBe(read.text);
    // Text that does not have the page's shape is not cut.
    expect(splitTurnTexts(read.text + '\nextra', page!.geometry)).toBeUndefined();
  });
});

describe('turn-level recall', () => {
  let memory: Memory;
  let path: string;
  const maya = { userId: 'maya', sessionId: 'trip' };
  const other = { userId: 'rui', sessionId: 'trip' };
  beforeAll(async () => {
    path = await tempDir();
    memory = await Memory.open({ path, decoder, autoCompact: false, tiers: { hotBudgetTokens: 100 } });
    for (const scope of [maya, other]) {
      await memory.add(trip, scope);
      await memory.compact(scope);
    }
  });
  afterAll(async () => memory.close());

  it('returns the matching turn of a page with its neighbours and page, never another scope', async () => {
    const hits = await memory.recallTurns('Porto', { scope: maya, k: 3, neighbours: 1, rehearse: false });
    expect(hits.length).toBeGreaterThan(0);
    const top = hits[0]!;
    expect(top.text).toContain('Porto');
    const mayaPages = new Set((await memory.list(maya)).pages.map((p) => p.id));
    for (const h of hits) expect(mayaPages.has(h.pageId)).toBe(true);
    const page = (await memory.list(maya)).pages.find((p) => p.id === top.pageId)!;
    expect(page.turnIds[top.turn]).toBe(top.turnId);
    expect(top.before.length + top.after.length).toBeGreaterThan(0);
    // The turn's text is the source turn's, as read from the page.
    const source = trip.find((m) => top.text.includes(m.content.slice(0, 40)));
    expect(source).toBeDefined();

    // rui's identical conversation holds the same words: none of his turns reach maya, and
    // a user-wide scope reaches only that user's sessions.
    const ruiPages = new Set((await memory.list(other)).pages.map((p) => p.id));
    const spanning = await memory.recallTurns('Porto', { scope: { userId: 'maya', sessionId: ANY }, k: 50, rehearse: false });
    expect(spanning.length).toBeGreaterThan(0);
    for (const h of spanning) expect(ruiPages.has(h.pageId)).toBe(false);
    expect(await memory.recallTurns('Porto', { scope: { userId: 'maya' }, k: 5 })).toEqual([]);
    const ctx = await memory.buildContext({ scope: maya, budgetTokens: 300, query: 'Porto' });
    expect(ctx.recalledTurns.length).toBeGreaterThan(0);
    for (const t of ctx.recalledTurns) expect(ruiPages.has(t.pageId)).toBe(false);
  });

  it('counts a turn hit as a rehearsal of its page unless told not to', async () => {
    const [hit] = await memory.recallTurns('Porto', { scope: maya, k: 1, rehearse: false });
    const before = await memory.get(hit!.pageId, maya);
    await memory.recallTurns('Porto', { scope: maya, k: 1 });
    expect((await memory.get(hit!.pageId, maya))!.recallCount).toBe(before!.recallCount + 1);
  });

  it('follows a page whose text changes, and drops the turns of deleted pages', async () => {
    const { pages } = await memory.list(other);
    const page = pages[0]!;
    const changed = page.decodedText.replace(/^(\S+:)/, '$1 zanzibarquokka');
    expect(changed).not.toBe(page.decodedText);
    await memory.store.updatePage(other, page.id, { decodedText: changed });
    const hits = await memory.recallTurns('zanzibarquokka', { scope: other, k: 3, rehearse: false });
    // The matching turn first; the turn beside it may follow (ranked for its neighbour), from the same page.
    expect([...new Set(hits.map((h) => h.pageId))]).toEqual([page.id]);
    expect(hits[0]!.turn).toBe(0);
    expect(hits[0]!.matched).toBe(true);
    expect(hits.slice(1).every((h) => !h.matched && h.turn === 1)).toBe(true);
    await memory.delete(other);
    expect(await memory.recallTurns('zanzibarquokka', { scope: other, k: 3, rehearse: false })).toEqual([]);
    expect(await memory.recallTurns('Porto', { scope: { userId: 'rui', sessionId: ANY }, k: 3, rehearse: false })).toEqual([]);
  });

  it('a text consumer gets the matching turns within its budget instead of whole pages', async () => {
    const { pages, turns } = await memory.list(maya);
    const full = pages.reduce((a, p) => a + p.textTokens, 0) + turns.reduce((a, t) => a + t.textTokens, 0);
    const budgetTokens = Math.round(full * 0.15);
    const ctx = await memory.buildContext({ scope: maya, budgetTokens, query: 'Porto' });
    expect(ctx.usedTokens).toBeLessThanOrEqual(budgetTokens);
    expect(ctx.recalledTurnsAs).toBe('text');
    const text = ctx.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
    expect(text).toContain('Porto');
    expect(ctx.pages.filter((p) => p.as === 'text').length).toBe(0);
  });

  it('rejects bad options with typed errors naming the field', async () => {
    await expect(memory.recallTurns('x', { scope: maya, k: 0 })).rejects.toMatchObject({ field: 'options.k' });
    await expect(memory.recallTurns('x', { scope: maya, neighbours: 99 })).rejects.toMatchObject({ field: 'options.neighbours' });
    await expect(memory.recallTurns(42 as never, { scope: maya })).rejects.toMatchObject({ field: 'query' });
    await expect(memory.recallTurns('x', { scope: {} })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('a store from before the turn index gets one, built from its pages, when opened', async () => {
    const dir = await tempDir();
    const first = await Memory.open({ path: dir, decoder, autoCompact: false, tiers: { hotBudgetTokens: 100 } });
    await first.add(trip, maya);
    await first.compact(maya);
    const expected = await first.recallTurns('Porto', { scope: maya, k: 5, rehearse: false });
    await first.close();
    // Take the index away as an older opticmem would have left the store.
    const lancedb = await loadLanceDb();
    const db = await lancedb.connect(dir);
    await db.dropTable('page_turns');
    const meta = await db.openTable('meta');
    await meta.delete("key = 'turn_index'");
    db.close();
    const reopened = await Memory.open({ path: dir, decoder, readOnly: false });
    try {
      const again = await reopened.recallTurns('Porto', { scope: maya, k: 5, rehearse: false });
      expect(again.map((h) => [h.pageId, h.turn, h.text])).toEqual(expected.map((h) => [h.pageId, h.turn, h.text]));
    } finally {
      await reopened.close();
    }
  });
});
