import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidInputError, OpticMemError } from '../src/errors.js';
import { Memory } from '../memory/memory.js';

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

/** Every turn id exactly once: as a hot turn or on a page (split turns span pages of one batch). */
async function holdings(memory: Memory, scope: { userId: string }) {
  const { turns, pages } = await memory.list(scope);
  const onPages = new Set(pages.flatMap((p) => p.turnIds));
  return { hot: turns.map((t) => t.id), paged: [...onPages], pages };
}

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
    for (const m of trip.slice(0, 8)) ids.push(...(await memory.add(m, scope)).turnIds);
    const { hot, paged, pages } = await holdings(memory, { userId: 'maya' });
    expect(pages.length).toBeGreaterThan(0);
    expect(new Set([...hot, ...paged])).toEqual(new Set(ids));
    expect(hot.filter((id) => paged.includes(id))).toEqual([]);
    const hotTokens = (await memory.list(scope)).turns.reduce((a, t) => a + t.textTokens, 0);
    expect(hotTokens).toBeLessThanOrEqual(300);
    // Automatic compaction leaves half the budget hot, so one page takes several turns rather
    // than each overflowing turn becoming its own small page.
    expect(pages.length).toBeLessThan(paged.length);
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
    const hits = await memory.recall(word, { scope: { userId: 'maya' }, k: 3, as: 'both' });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.text).toContain(word);
    expect(hits[0]!.png![0]).toBe(0x89);
    const after = await memory.get(hits[0]!.pageId, { userId: 'maya' });
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
    // the page recalled for the query still gets in, on at most half the budget.
    const hotTokensNow = (await memory.list(scope)).turns.reduce((a, t) => a + t.textTokens, 0);
    const budgetTokens = Math.max(200, hotTokensNow + 50);
    const tight = await memory.buildContext({ scope, budgetTokens, consumer: 'deepseek-ocr:small', query: word, k: 1 });
    const recalledPage = tight.pages.find((p) => p.id === hits[0]!.pageId);
    expect(recalledPage?.recalled).toBe(true);
    expect(recalledPage!.tokens).toBeLessThanOrEqual(budgetTokens / 2);
    expect(tight.usedTokens).toBeLessThanOrEqual(budgetTokens);
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
    const scope = { userId: 'maya' };
    const dump = await memory.export(scope);
    const other = await Memory.open({ path: await tempDir(), ...options });
    try {
      expect(await other.import(dump)).toEqual({ turns: dump.turns.length, pages: dump.pages.length });
      expect(await other.import(dump)).toEqual({ turns: 0, pages: 0 });
      const hits = await other.recall('Porto', { scope, k: 1 });
      expect(hits[0]!.text).toContain('Porto');
    } finally {
      await other.close();
    }
  });

  it('is closed for business after close()', async () => {
    const m = await Memory.open({ path: await tempDir(), ...options });
    await m.close();
    await m.close();
    await expect(m.add({ role: 'user', content: 'x' }, { userId: 'u' })).rejects.toBeInstanceOf(OpticMemError);
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
      const { hot, paged } = await holdings(memory, { userId: 'crash-user' });
      expect(hot.filter((id) => paged.includes(id))).toEqual([]);
      expect(new Set([...hot, ...paged])).toEqual(new Set(ids));
      expect(hot.length + new Set(paged).size).toBe(ids.length);
    } finally {
      await memory.close();
    }
  });

  it('SIGKILL while rendering: nothing is lost and no half batch of pages appears', async () => {
    const path = await tempDir();
    const { lines } = await runChild(['crash-compact', path, 'early-user', '16'], (line, kill) => {
      if (line.startsWith('ids ')) setTimeout(kill, 150);
    });
    const ids = JSON.parse(lines.find((l) => l.startsWith('ids '))!.slice(4)) as string[];
    const memory = await Memory.open({ path, ...options });
    try {
      const { hot, paged } = await holdings(memory, { userId: 'early-user' });
      expect(new Set([...hot, ...paged])).toEqual(new Set(ids));
      expect(hot.filter((id) => paged.includes(id))).toEqual([]);
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
      const { hot, paged } = await holdings(memory, { userId: 'shared' });
      expect(hot.filter((id) => paged.includes(id))).toEqual([]);
      expect(new Set([...hot, ...paged])).toEqual(new Set(ids));
    } finally {
      await memory.close();
    }
  });
});
