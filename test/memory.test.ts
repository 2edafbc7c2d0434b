import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidInputError, OpticMemError, UnknownProfileError } from '../src/errors.js';
import { Memory } from '../memory/memory.js';
import { ANY, type Scope } from '../memory/store/store.js';
import { spanWithinUser } from '../memory/scope.js';
import { MESSAGE_OVERHEAD_TOKENS, type ContextMessage } from '../memory/context-builder.js';
import { resolveProfile } from '../src/codec/codec.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { expectEachOnce, holdings } from './support/holdings.js';

const decoder = createOnnxDecoder();
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-mem-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const options = { tiers: { hotBudgetTokens: 300 }, profile: 'deepseek-ocr:small', decoder };


describe('Memory on a real LanceDB folder', () => {
  let memory: Memory;
  let path: string;
  beforeAll(async () => {
    path = await tempDir();
    memory = await Memory.open({ path, ...options });
  });
  afterAll(async () => memory.close());

  it('add -> automatic compaction -> recall -> buildContext', async () => {
    expect(memory.curve.name).toBe('fsrs'); // the default forgetting curve
    const scope = { userId: 'maya', sessionId: 'lisbon' };
    const ids: string[] = [];
    let queued = 0;
    for (const m of trip.slice(0, 8)) {
      const r = await memory.add(m, scope);
      ids.push(...r.turnIds);
      if (r.compactionQueued) queued++;
      expect(r.compacted).toBeUndefined(); // compaction runs in the background
    }
    expect(queued).toBeGreaterThan(0);
    const flushed = await memory.flush();
    expect(flushed.errors).toEqual([]);
    expect(flushed.compactions).toBeGreaterThan(0);
    const { hot, pages } = await holdings(memory, scope);
    expect(pages.length).toBeGreaterThan(0);
    expect(flushed.pagesWritten).toBe(pages.length);
    expectEachOnce(ids, hot, pages);
    const paged = new Set(pages.flatMap((p) => p.turnIds));
    const hotTokens = (await memory.list(scope)).turns.reduce((a, t) => a + t.textTokens, 0);
    expect(hotTokens).toBeLessThanOrEqual(300);
    // Automatic compaction leaves half the budget hot, so one page takes several turns rather
    // than each overflowing turn becoming its own small page.
    expect(pages.length).toBeLessThan(paged.size);
    for (const p of pages) {
      expect(p.tier).toBe('lossless');
      expect(p.ratio).toBeLessThanOrEqual(10);
      expect(p.fidelity).toBeGreaterThan(0.9);
      expect(p.decodedText.length).toBeGreaterThan(50);
    }

    // The first message mentions a distinctive word; recall must find the page holding it.
    const word = 'Porto';
    const first = trip.slice(0, 8).findIndex((m) => m.content.includes(word));
    expect(first).toBeGreaterThanOrEqual(0);
    // Scopes are exact: maya's pages are in her session; '*' spans her sessions.
    expect(await memory.recall(word, { scope: { userId: 'maya' }, k: 3 })).toEqual([]);
    const hits = await memory.recall(word, { scope: { userId: 'maya', sessionId: ANY }, k: 3, as: 'both' });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.text).toContain(word);
    expect(hits[0]!.png![0]).toBe(0x89);
    const after = await memory.get(hits[0]!.pageId, scope);
    expect(after!.recallCount).toBe(1);

    const asText = await memory.buildContext({ scope, budgetTokens: 4000 });
    expect(asText.pages.length).toBe(pages.length);
    expect(asText.messages.at(-1)!.content).toBe(trip[7]!.content);
    expect(typeof asText.messages[0]!.content).toBe('string');
    const asImages = await memory.buildContext({ scope, budgetTokens: 4000, consumer: 'deepseek-ocr:small' });
    const parts = asImages.messages[0]!.content as { type: string; image_url?: { url: string } }[];
    expect(parts.filter((p) => p.type === 'image_url').length).toBe(pages.length);
    expect(parts[1]!.image_url!.url.startsWith('data:image/png;base64,iVBOR')).toBe(true);
    expect(asImages.usedTokens).toBeLessThanOrEqual(4000);
    expect(asImages.savedTokens).toBeGreaterThan(0);
    expect(asImages.usedTokens).toBeLessThan(asText.usedTokens);

    // A budget the hot turns would fill before any page fits (hot-first would leave no room):
    // what the query recalls still gets in. These pages hold little text (under 5x), so they are
    // not taken whole for the query:
    const hotTokensNow = (await memory.list(scope)).turns.reduce((a, t) => a + t.textTokens, 0);
    const budgetTokens = Math.max(200, hotTokensNow + 50);
    const tight = await memory.buildContext({ scope, budgetTokens, consumer: 'deepseek-ocr:small', query: word, k: 1 });
    // the matching turns come from the turn index (each one says the word; the turns beside
    // them, such as the reply, are marked as neighbours), or their page is there whole (marked
    // recalled, holding a turn that says it).
    const recalledPages = tight.pages.filter((p) => p.recalled);
    expect(tight.recalledTurns.length + recalledPages.length).toBeGreaterThan(0);
    for (const t of tight.recalledTurns.filter((x) => !x.neighbour)) expect(trip[ids.indexOf(t.turnId)]!.content).toContain(word);
    for (const t of tight.recalledTurns.filter((x) => x.neighbour)) {
      const at = ids.indexOf(t.turnId);
      expect([trip[at - 1]?.content, trip[at + 1]?.content].some((c) => c?.includes(word))).toBe(true);
    }
    const listed = (await memory.list(scope)).pages;
    for (const p of recalledPages) expect(listed.find((x) => x.id === p.id)!.turnIds.some((id) => trip[ids.indexOf(id)]?.content.includes(word))).toBe(true);
    expect(tight.recalledTurnTokens.used).toBeLessThanOrEqual(budgetTokens * 0.7);
    expect(tight.usedTokens).toBeLessThanOrEqual(budgetTokens);
  });

  it('keeps usedTokens within the budget and equal to a recount of the messages it returns', async () => {
    const scope = { userId: 'maya', sessionId: 'lisbon' };
    const tokenizer = memory.tokenizer;
    // An independent recount: text with the tokenizer, images by their PNG header's size.
    const recount = (messages: ContextMessage[], consumer: string) =>
      messages.reduce((sum, m) => {
        let n = MESSAGE_OVERHEAD_TOKENS + (m.name ? tokenizer.count(m.name) : 0);
        if (typeof m.content === 'string') return sum + n + tokenizer.count(m.content);
        for (const part of m.content) {
          if (part.type === 'text') n += tokenizer.count(part.text);
          else {
            const png = Buffer.from(part.image_url.url.slice('data:image/png;base64,'.length), 'base64');
            n += resolveProfile(consumer).tokensFor(png.readUInt32BE(16), png.readUInt32BE(20));
          }
        }
        return sum + n;
      }, 0);
    let sawPages = 0;
    for (const consumer of ['text', 'deepseek-ocr:small', 'gpt-4o']) {
      for (const budgetTokens of [1, 40, 120, 300, 700, 4000]) {
        for (const query of [undefined, 'Porto']) {
          const ctx = await memory.buildContext({ scope, budgetTokens, consumer, ...(query ? { query } : {}) });
          const label = `${consumer} ${budgetTokens} ${query ?? ''}`;
          expect(ctx.usedTokens, label).toBeLessThanOrEqual(budgetTokens);
          expect(ctx.usedTokens, label).toBe(recount(ctx.messages, consumer));
          expect(ctx.savedTokens, label).toBe(ctx.representedTokens - ctx.usedTokens);
          sawPages += ctx.pages.length;
        }
      }
    }
    expect(sawPages).toBeGreaterThan(0);
  });

  it('add() keeps its turns and reports a failed automatic compaction instead of rejecting', async () => {
    // A decoder plug-in that fails: verification during compaction throws.
    const failing: Decoder = {
      specificationVersion: 'v1',
      name: 'failing',
      async decode() {
        throw new Error('decoder out of order');
      },
      async close() {},
    };
    const path = await tempDir();
    const scope = { userId: 'flaky' };
    const flaky = await Memory.open({ path, ...options, decoder: failing, compaction: 'inline' });
    let ids: string[];
    try {
      const r = await flaky.add(trip.slice(0, 8), scope);
      ids = r.turnIds;
      expect(r.compactionError).toBeInstanceOf(OpticMemError);
      expect(r.compactionError!.message).toMatch(/decoder out of order/);
      expect(r.compacted).toBeUndefined();
      const { turns, pages } = await flaky.list(scope);
      expect(turns.map((t) => t.id)).toEqual(ids);
      expect(pages).toEqual([]);
    } finally {
      await flaky.close();
    }
    const healed = await Memory.open({ path, ...options, compaction: 'inline' });
    try {
      const again = await healed.add({ role: 'user', content: 'One more message, with a working decoder.' }, scope);
      expect(again.compactionError).toBeUndefined();
      expect(again.compacted?.pagesWritten).toBeGreaterThan(0);
      const { hot, pages } = await holdings(healed, scope);
      expectEachOnce([...ids, ...again.turnIds], hot, pages);
    } finally {
      await healed.close();
    }
  });

  it('never returns another user\'s pages, whatever the query or ids hold', async () => {
    const alice = { userId: "alice' OR '1'='1" };
    const bob = { userId: 'bob"; DROP TABLE pages; --' };
    await memory.add([{ role: 'user', content: 'My locker code is 4417 and my cat is called Saffron. '.repeat(12) }], alice);
    await memory.compact(alice, { all: true });
    await memory.add([{ role: 'user', content: 'I only talk about gardening and tomatoes. '.repeat(12) }], bob);
    await memory.compact(bob, { all: true });
    for (const q of ['Saffron', 'locker 4417', "' OR 1=1 --", '%', '_', '\\', 'alice', '*']) {
      const hits = await memory.recall(q, { scope: bob, k: 10 });
      for (const h of hits) expect(h.text).not.toMatch(/Saffron|locker/);
    }
    const aliceHits = await memory.recall('Saffron', { scope: alice, k: 5 });
    expect(aliceHits.length).toBeGreaterThan(0);
    for (const q of ['gardening tomatoes', 'tomatoes', "' OR 1=1 --", '*']) {
      for (const h of await memory.recall(q, { scope: alice, k: 10 })) expect(h.text).not.toMatch(/gardening|tomatoes/);
    }
    const alicePage = aliceHits[0]!.pageId;
    expect(await memory.get(alicePage, bob)).toBeUndefined();
    expect((await memory.list(bob)).pages.every((p) => p.userId === bob.userId)).toBe(true);
    const ctx = await memory.buildContext({ scope: bob, budgetTokens: 5000, query: 'Saffron locker' });
    expect(JSON.stringify(ctx.messages)).not.toMatch(/Saffron|locker/);
  });

  it('rejects bad input with typed errors and changes nothing', async () => {
    const scope = { userId: 'careful' };
    await memory.add({ role: 'user', content: 'hello there' }, scope);
    const before = await memory.list(scope);
    const attempts: [() => Promise<unknown>, string][] = [
      [() => memory.add({ role: 'wizard', content: 'x' } as never, scope), 'messages.0.role'],
      [() => memory.add({ role: 'user', content: 'x' }, {}), 'scope'],
      [() => memory.add({ role: 'user', content: 42 } as never, scope), 'messages.0.content'],
      [() => memory.add({ role: 'user', content: 'x' }, { userId: '' }), 'scope.userId'],
      [() => memory.add([], scope), 'messages'],
      [() => memory.buildContext({ scope, budgetTokens: 0 }), 'options.budgetTokens'],
      [() => memory.recall('x', { scope: {} }), 'options.scope'],
      [() => memory.recall('x'.repeat(10_000), { scope }), 'query'],
      [() => memory.recall('x', { scope, k: 0 }), 'options.k'],
      [() => memory.compact(scope, { keepTokens: -1 }), 'options.keepTokens'],
      [() => memory.compact(scope, { keepTokens: 1.5 }), 'options.keepTokens'],
      [() => memory.add({ role: 'user', content: 'y'.repeat(300 * 1024) }, scope), 'messages.0.content'],
      // NUL cannot be written into a filter literal: refused before anything is stored.
      [() => memory.add({ role: 'user', content: 'x' }, { userId: 'care\u0000ful' }), 'scope.userId'],
      [() => memory.add({ role: 'user', content: 'x' }, { userId: 'careful', sessionId: 'line\nbreak' }), 'scope.sessionId'],
      [() => memory.recall('x', { scope: { userId: 'care\u0000ful' } }), 'options.scope.userId'],
      // '*' spans a part when reading; nothing is stored under it, and it alone names no owner.
      [() => memory.add({ role: 'user', content: 'x' }, { userId: 'careful', sessionId: '*' }), 'scope.sessionId'],
      [() => memory.recall('x', { scope: { userId: '*' } }), 'options.scope'],
      [() => memory.delete({ userId: '*', sessionId: '*' }), 'scope'],
      [() => memory.add({ role: 'user', content: null } as never, scope), 'messages.0.content'],
      [() => memory.add({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f' } }] } as never, scope), 'messages.0.tool_calls.0.function.arguments'],
      [() => memory.list(scope, { limit: -1 }), 'options.limit'],
      [() => memory.list(scope, { limit: 'all' } as never), 'options.limit'],
      [() => memory.recall('x', { scope, mode: 'vector' }), 'options.mode'],
      [() => memory.get(42 as never, scope), 'pageId'],
      [() => memory.get("x'\u0000", scope), 'pageId'],
      [() => memory.pin({ id: 'p' } as never, scope), 'pageId'],
      [() => memory.setImportance(7 as never, scope, 2), 'pageId'],
      [() => memory.import({ format: 'opticmem-export', version: 1, turns: [{ id: 't' }], pages: [] } as never), 'data.turns.0.userId'],
    ];
    for (const [attempt, field] of attempts) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe(field);
      expect((err as Error).message).toContain(field);
    }
    const after = await memory.list(scope);
    expect(after.turns.map((t) => t.id)).toEqual(before.turns.map((t) => t.id));
    expect(after.pages.length).toBe(before.pages.length);
    expect((await memory.scopes()).some((s) => /[\u0000-\u001f]/.test(s.scope.userId + s.scope.sessionId))).toBe(false);
  });

  it('exports and imports a scope without duplicating rows', async () => {
    const scope = { userId: 'maya', sessionId: ANY };
    const dump = await memory.export(scope);
    const other = await Memory.open({ path: await tempDir(), ...options });
    try {
      const progress: [number, number][] = [];
      expect(await other.import(dump, { onProgress: (done, total) => progress.push([done, total]) })).toEqual({ turns: dump.turns.length, pages: dump.pages.length });
      expect(progress.at(-1)).toEqual([dump.turns.length + dump.pages.length, dump.turns.length + dump.pages.length]);
      expect(await other.import(dump)).toEqual({ turns: 0, pages: 0 });
      const hits = await other.recall('Porto', { scope, k: 1 });
      expect(hits[0]!.text).toContain('Porto');
    } finally {
      await other.close();
    }
  });

  it('validates a whole import before writing, and writes it in bulk', async () => {
    const dump = await memory.export({ userId: 'maya', sessionId: ANY });
    expect(dump.pages.length).toBeGreaterThan(0);
    const path = await tempDir();
    const other = await Memory.open({ path, ...options, autoCompact: false });
    try {
      const bad = (pages: readonly unknown[], turns: readonly unknown[] = dump.turns) => ({ ...dump, turns, pages }) as never;
      const last = dump.pages.length - 1;
      const cases: [unknown, string][] = [
        [bad(dump.pages.map((p, i) => (i === last ? { ...p, png: 'not base64!' } : p))), `data.pages.${last}.png`],
        [bad(dump.pages.map((p, i) => (i === last ? { ...p, width: -5 } : p))), `data.pages.${last}.width`],
        [bad(dump.pages.map((p, i) => (i === last ? { ...p, sessionId: '*' } : p))), `data.pages.${last}.sessionId`],
        [bad(dump.pages.map((p, i) => (i === last ? { ...p, userId: '', sessionId: '' } : p))), `data.pages.${last}.userId`],
        [bad([...dump.pages, dump.pages[0]]), `data.pages.${dump.pages.length}.id`],
        [bad(dump.pages, [{ ...dump.turns[0], role: 'wizard' }]), 'data.turns.0.role'],
        [bad(dump.pages.map((p, i) => (i === last ? { ...p, extra: 1 } : p))), `data.pages.${last}`],
      ];
      for (const [data, field] of cases) {
        const err = await other.import(data as never).then(() => undefined, (e: unknown) => e);
        expect(err, field).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).field, field).toBe(field);
      }
      expect(await other.store.counts()).toEqual({ turns: 0, pages: 0 });
      expect(await other.import(dump)).toEqual({ turns: dump.turns.length, pages: dump.pages.length });
      expect(await other.import(dump)).toEqual({ turns: 0, pages: 0 });
      expect(await other.store.counts()).toEqual({ turns: dump.turns.length, pages: dump.pages.length });
    } finally {
      await other.close();
    }
  });

  it('stores an OpenAI assistant message that only makes tool calls, as text', async () => {
    const scope = { userId: 'tools' };
    await memory.add(
      [
        { role: 'user', content: 'Weather in Lisbon?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '21°C, sunny' },
      ],
      scope,
    );
    const { turns } = await memory.list(scope);
    expect(turns.map((t) => [t.role, t.content])).toEqual([
      ['user', 'Weather in Lisbon?'],
      ['assistant', '[tool call get_weather {"city":"Lisbon"}]'],
      ['tool', '21°C, sunny'],
    ]);
  });

  it('refuses bad options before creating anything', async () => {
    const path = join(await tempDir(), 'never-created');
    await expect(Memory.open({ path, profile: 'gpt-99' })).rejects.toBeInstanceOf(UnknownProfileError);
    await expect(Memory.open({ path, tiers: { forgetting: { ratio: 20 } } as never })).rejects.toMatchObject({ field: 'tiers.forgetting' });
    await expect(Memory.open({ path, forgetting: { ladder: { steps: [] } } })).rejects.toBeInstanceOf(InvalidInputError);
    expect(existsSync(path)).toBe(false);
  });

  it('compacts automatically on a remote URI too, without a lock file: compaction is idempotent', async () => {
    // memory:// is LanceDB's in-process object store: a URI like s3://, without a shared folder for locks.
    const remote = await Memory.open({ uri: `memory://opticmem-${Date.now()}`, ...options, tiers: { hotBudgetTokens: 60 } });
    try {
      const ids: string[] = [];
      for (const m of trip.slice(0, 6)) ids.push(...(await remote.add(m, { userId: 'u' })).turnIds);
      const flushed = await remote.flush();
      expect(flushed.errors).toEqual([]);
      const { hot, pages } = await holdings(remote, { userId: 'u' });
      expect(pages.length).toBeGreaterThan(0);
      expectEachOnce(ids, hot, pages);
    } finally {
      await remote.close();
    }
  });

  it('messages with their own ids are stored once, hot or paged, however often they are added', async () => {
    const m = await Memory.open({ path: await tempDir(), ...options, compaction: 'inline' });
    const scope = { userId: 'ids' };
    try {
      const withIds = trip.slice(0, 8).map((t, i) => ({ ...t, id: `msg-${i}` }));
      const first = await m.add(withIds.slice(0, 5), scope);
      expect(first.turnIds).toEqual(['msg-0', 'msg-1', 'msg-2', 'msg-3', 'msg-4']);
      expect(first.skipped).toBeUndefined();
      expect((await m.list(scope)).pages.length).toBeGreaterThan(0); // some are on pages now
      const again = await m.add(withIds, scope);
      expect(again.turnIds).toEqual(withIds.map((t) => t.id));
      expect(again.skipped).toBe(5);
      const { hot, pages } = await holdings(m, scope);
      expectEachOnce(withIds.map((t) => t.id), hot, pages);
      const dup = await m.add([{ role: 'user', content: 'a', id: 'x' }, { role: 'user', content: 'b', id: 'x' }], scope).catch((e: unknown) => e);
      expect(dup).toBeInstanceOf(InvalidInputError);
      expect((dup as InvalidInputError).field).toBe('messages.1.id');
      const bad = await m.add([{ role: 'user', content: 'a', id: 'line\nbreak' }], scope).catch((e: unknown) => e);
      expect((bad as InvalidInputError).field).toBe('messages.0.id');
    } finally {
      await m.close();
    }
  });

  it('is closed for business after close()', async () => {
    const m = await Memory.open({ path: await tempDir(), ...options });
    await m.close();
    await m.close();
    await expect(m.add({ role: 'user', content: 'x' }, { userId: 'u' })).rejects.toBeInstanceOf(OpticMemError);
  });
});

describe('scopes are exact unless a part is *', () => {
  it("one owner's reads and deletes never reach another's rows", async () => {
    const memory = await Memory.open({ path: await tempDir(), ...options, autoCompact: false });
    try {
      const scopes = {
        u: { userId: 'u' },
        uS1: { userId: 'u', sessionId: 's1' },
        uS2: { userId: 'u', sessionId: 's2' },
        v: { userId: 'v' },
        vBot: { userId: 'v', agentId: 'bot' },
        bot: { agentId: 'bot' },
        defaultSession: { sessionId: 'default' },
        vDefault: { userId: 'v', sessionId: 'default' },
      } satisfies Record<string, Scope>;
      for (const [name, scope] of Object.entries(scopes)) await memory.add({ role: 'user', content: `A note kept for ${name} about the harbour ferry.` }, scope);
      await memory.compact(scopes.uS1, { all: true });
      await memory.compact(scopes.vBot, { all: true });
      const contents = async (scope: Scope) => (await memory.list(scope)).turns.map((t) => t.content).sort();
      const snapshot = async () => Object.fromEntries(await Promise.all(Object.entries(scopes).map(async ([n, sc]) => [n, { ...(await memory.list(sc)), scope: undefined }])));

      expect(await contents(scopes.u)).toEqual(['A note kept for u about the harbour ferry.']);
      expect((await memory.list(scopes.u)).pages).toEqual([]);
      expect(await memory.recall('harbour ferry', { scope: scopes.u })).toEqual([]);
      // Opt-in spanning: every session (and no session) of u.
      const allOfU = { userId: 'u', sessionId: ANY };
      expect(await contents(allOfU)).toEqual(['A note kept for u about the harbour ferry.', 'A note kept for uS2 about the harbour ferry.']);
      expect((await memory.list(allOfU)).pages.map((p) => p.sessionId)).toEqual(['s1']);
      const s1Pages = (await memory.list(scopes.uS1)).pages.map((p) => p.id);
      expect(s1Pages).toHaveLength(1);
      expect((await memory.recall('harbour ferry', { scope: allOfU })).map((h) => h.pageId)).toEqual(s1Pages);
      const ctx = await memory.buildContext({ scope: scopes.u, budgetTokens: 4000 });
      expect(JSON.stringify(ctx.messages)).not.toMatch(/uS1|uS2|for v|bot/);

      const before = await snapshot();
      // An agent-only scope is that agent's rows without a user, not every user's rows with that agent.
      expect(await memory.delete(scopes.bot)).toEqual({ turns: 1, pages: 0 });
      expect(await memory.delete(scopes.defaultSession)).toEqual({ turns: 1, pages: 0 });
      const after = await snapshot();
      for (const name of ['u', 'uS1', 'uS2', 'v', 'vBot', 'vDefault']) expect(after[name], name).toEqual(before[name]);
      expect(after.bot.turns).toEqual([]);
      expect(after.defaultSession.turns).toEqual([]);

      // A user's delete with '*' takes all of that user and nothing of anyone else.
      expect(await memory.delete(allOfU)).toEqual({ turns: 2, pages: 1 });
      const end = await snapshot();
      for (const name of ['v', 'vBot', 'vDefault']) expect(end[name], name).toEqual(before[name]);
      for (const name of ['u', 'uS1', 'uS2']) expect([end[name].turns, end[name].pages], name).toEqual([[], []]);
    } finally {
      await memory.close();
    }
  });

  it('tools that name an owner span only within that user', () => {
    expect(spanWithinUser({ userId: 'u' })).toEqual({ userId: 'u', agentId: ANY, sessionId: ANY });
    expect(spanWithinUser({ userId: 'u', sessionId: 's' })).toEqual({ userId: 'u', agentId: ANY, sessionId: 's' });
    expect(spanWithinUser({ agentId: 'bot' })).toEqual({ agentId: 'bot' });
    expect(spanWithinUser({ sessionId: 'default' })).toEqual({ sessionId: 'default' });
  });

  it('delete also removes the scope\'s tombstones and ladder history, and only its own', async () => {
    const memory = await Memory.open({ path: await tempDir(), ...options, autoCompact: false });
    try {
      const mine = { userId: 'gone' };
      const theirs = { userId: 'kept' };
      const row = (scope: { userId: string }, id: string) => ({ id, userId: scope.userId, agentId: '', sessionId: '', pageId: `page-${id}` });
      for (const sc of [mine, theirs]) {
        await memory.store.addTombstones([{ ...row(sc, `t-${sc.userId}`), turnCount: 2, startTime: 0, endTime: 1, tier: '30x', reason: 'faded', droppedAt: 5 }]);
        await memory.store.addMoves!([{ ...row(sc, `m-${sc.userId}`), from: 'lossless', to: '15x', retention: 0.5, visualTokensBefore: 100, visualTokensAfter: 64, movedAt: 4 }]);
      }
      await memory.delete(mine);
      expect(await memory.store.listTombstones(mine)).toEqual([]);
      expect(await memory.store.listMoves!(mine)).toEqual([]);
      expect((await memory.store.listTombstones(theirs)).map((t) => t.id)).toEqual(['t-kept']);
      expect((await memory.store.listMoves!(theirs)).map((m) => m.id)).toEqual(['m-kept']);
    } finally {
      await memory.close();
    }
  });
});

function runChild(args: string[], onLine?: (line: string, kill: () => void) => void): Promise<{ lines: string[]; signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'memory-child.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buf = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        onLine?.(line, () => child.kill('SIGKILL'));
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${err}`));
      else resolvePromise({ lines, signal, code });
    });
  });
}

describe('Memory durability across processes', () => {
  it('SIGKILL between writing pages and removing turns: reopened, every turn is there exactly once', async () => {
    const path = await tempDir();
    const { lines, signal } = await runChild(['crash-compact', path, 'crash-user', '16'], (line, kill) => {
      if (line === 'pages-committed') kill();
    });
    expect(signal).toBe('SIGKILL');
    expect(lines).toContain('pages-committed');
    const ids = JSON.parse(lines.find((l) => l.startsWith('ids '))!.slice(4)) as string[];
    const memory = await Memory.open({ path, ...options });
    try {
      const { hot, pages } = await holdings(memory, { userId: 'crash-user' });
      expect(pages.length).toBeGreaterThan(0);
      expectEachOnce(ids, hot, pages);
    } finally {
      await memory.close();
    }
  });

  it('SIGKILL while rendering: nothing is lost and no half batch of pages appears', async () => {
    const path = await tempDir();
    // The child stops after rendering its first page, before any page is committed.
    const { lines, signal } = await runChild(['crash-compact', path, 'early-user', '16', 'rendering'], (line, kill) => {
      if (line.startsWith('rendering')) kill();
    });
    expect(signal).toBe('SIGKILL');
    expect(lines.some((l) => l.startsWith('rendering'))).toBe(true);
    expect(lines).not.toContain('pages-committed');
    const ids = JSON.parse(lines.find((l) => l.startsWith('ids '))!.slice(4)) as string[];
    const memory = await Memory.open({ path, ...options });
    try {
      const { hot, pages } = await holdings(memory, { userId: 'early-user' });
      expect(pages).toEqual([]);
      expect(hot).toEqual(ids);
    } finally {
      await memory.close();
    }
  });

  it('two processes adding to one store at once lose nothing', async () => {
    const path = await tempDir();
    const [a, b] = await Promise.all([runChild(['add', path, 'shared', '14']), runChild(['add', path, 'shared', '14'])]);
    const ids = [...a.lines, ...b.lines].filter((l) => l.startsWith('id ')).map((l) => l.slice(3));
    expect(ids.length).toBe(28);
    const memory = await Memory.open({ path, ...options });
    try {
      const { hot, pages } = await holdings(memory, { userId: 'shared' });
      expect(pages.length).toBeGreaterThan(0);
      expectEachOnce(ids, hot, pages);
    } finally {
      await memory.close();
    }
  });
});
