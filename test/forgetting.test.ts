import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, pageRetention } from '../memory/ageing.js';
import { RATIO_LADDER, stepFor } from '../memory/ladder.js';
import { Memory } from '../memory/memory.js';
import { createEbbinghausCurve, createFsrsCurve } from '../memory/retention.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidInputError } from '../src/errors.js';

describe('retention curves', () => {
  it('Ebbinghaus: R = e^(-t/S), S grows by the recall boost, importance multiplies S', () => {
    const c = createEbbinghausCurve();
    expect(c.retention(0, { strength: 1, importance: 1 })).toBe(1);
    expect(c.retention(1, { strength: 1, importance: 1 })).toBeCloseTo(Math.exp(-1), 12);
    expect(c.retention(1, { strength: 2, importance: 1 })).toBeCloseTo(Math.exp(-0.5), 12);
    expect(c.retention(3, { strength: 1.5, importance: 2 })).toBeCloseTo(Math.exp(-1), 12);
    // Not MemoryBank's e^(-t/5*S) = e^(-tS/5): a stronger memory must retain more, not less.
    expect(c.retention(5, { strength: 3, importance: 1 })).toBeGreaterThan(c.retention(5, { strength: 1, importance: 1 }));
    expect(c.strengthen(2, { strength: 1, importance: 1 })).toBe(2);
    expect(() => c.retention(Number.NaN, { strength: 1, importance: 1 })).toThrow(InvalidInputError);
  });

  it('FSRS-style: R(t = S) = 0.9, power-law tail, fading memories gain more from a recall', () => {
    const c = createFsrsCurve();
    expect(c.retention(0, { strength: 4, importance: 1 })).toBe(1);
    expect(c.retention(4, { strength: 4, importance: 1 })).toBeCloseTo(0.9, 12);
    // (1 + 19/81 * 9)^-0.5 by hand at t = 9 S
    expect(c.retention(36, { strength: 4, importance: 1 })).toBeCloseTo(Math.pow(1 + (19 / 81) * 9, -0.5), 12);
    expect(c.retention(365, { strength: 1, importance: 1 })).toBeGreaterThan(createEbbinghausCurve().retention(365, { strength: 1, importance: 1 }));
    const early = c.strengthen(1, { strength: 4, importance: 1 });
    const late = c.strengthen(20, { strength: 4, importance: 1 });
    expect(early).toBeGreaterThan(4);
    expect(late).toBeGreaterThan(early);
  });

  it('maps retention to ladder steps, dropping below the last', () => {
    expect(stepFor(RATIO_LADDER, 0.95)).toBe(0);
    expect(stepFor(RATIO_LADDER, 0.5)).toBe(1);
    expect(stepFor(RATIO_LADDER, 0.3)).toBe(2);
    expect(stepFor(RATIO_LADDER, 0.1)).toBe(3);
    expect(stepFor(RATIO_LADDER, 0.01)).toBe(-1);
  });
});

describe('ageing a real store', () => {
  const decoder = createOnnxDecoder();
  const dirs: string[] = [];
  let clock = Date.UTC(2026, 0, 1);
  let memory: Memory;
  const text = 'On Tuesday we walked the Alfama and ate grilled sardines near the castle; the tram 28 was packed. '.repeat(6);

  beforeEach(async () => {
    clock = Date.UTC(2026, 0, 1);
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-age-'));
    dirs.push(dir);
    memory = await Memory.open({ path: dir, decoder, profile: 'deepseek-ocr:small', autoCompact: false, now: () => clock, forgetting: { curve: 'ebbinghaus' } });
  });
  afterAll(async () => {
    await memory.close();
    await decoder.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function onePage(userId: string) {
    await memory.add({ role: 'user', content: text }, { userId });
    await memory.compact({ userId }, { all: true });
    const [page] = (await memory.list({ userId })).pages;
    return page!;
  }

  it('a recalled page decays more slowly than its untouched twin', async () => {
    await onePage('twin-a');
    await onePage('twin-b');
    clock += 0.5 * DAY_MS;
    expect((await memory.recall('sardines', { scope: { userId: 'twin-a' } })).length).toBe(1);
    clock += 1.5 * DAY_MS;
    const [a] = (await memory.list({ userId: 'twin-a' })).pages;
    const [b] = (await memory.list({ userId: 'twin-b' })).pages;
    expect(a!.strength).toBeGreaterThan(b!.strength);
    expect(pageRetention(a!, clock, memory.curve)).toBeGreaterThan(pageRetention(b!, clock, memory.curve));
    const result = await memory.age();
    const tierIndex = async (userId: string) => {
      const tier = (await memory.list({ userId })).pages[0]!.tier;
      return RATIO_LADDER.steps.findIndex((s) => s.name === tier);
    };
    expect(result.moved.map((m) => m.pageId)).toContain(b!.id);
    expect(await tierIndex('twin-a')).toBeLessThan(await tierIndex('twin-b'));
  });

  it('moves pages down with smaller images, idempotently, never back up, and pinned pages never', async () => {
    const page = await onePage('walker');
    const pinned = await onePage('keeper');
    await memory.pin(pinned.id, { userId: 'keeper' });
    const tiers: number[] = [];
    for (const days of [0.3, 1, 2, 3.5]) {
      clock = Date.UTC(2026, 0, 1) + days * DAY_MS;
      const before = (await memory.list({ userId: 'walker' })).pages[0];
      const r = await memory.age();
      const after = (await memory.list({ userId: 'walker' })).pages[0];
      if (!after) break;
      tiers.push(RATIO_LADDER.steps.findIndex((s) => s.name === after.tier));
      if (r.moved.some((m) => m.pageId === page.id)) {
        expect(after.visualTokens).toBeLessThanOrEqual(before!.visualTokens);
        const full = await memory.get(page.id, { userId: 'walker' });
        expect(full!.png[0]).toBe(0x89);
        expect(full!.decodedText.length).toBeGreaterThan(20);
      }
    }
    expect(tiers.length).toBeGreaterThan(2);
    for (let i = 1; i < tiers.length; i++) expect(tiers[i]!).toBeGreaterThanOrEqual(tiers[i - 1]!);
    expect(tiers.at(-1)!).toBeGreaterThan(0);
    const kept = (await memory.list({ userId: 'keeper' })).pages[0]!;
    expect(kept.tier).toBe('lossless');
    expect(kept.visualTokens).toBe(pinned.visualTokens);
  });

  it('is idempotent for the same now', async () => {
    await onePage('same');
    clock += 1.2 * DAY_MS;
    await memory.age();
    const snapshot = await memory.get((await memory.list({ userId: 'same' })).pages[0]!.id, { userId: 'same' });
    const again = await memory.age();
    expect(again.moved).toEqual([]);
    expect(again.dropped).toEqual([]);
    const after = await memory.get(snapshot!.id, { userId: 'same' });
    expect(Buffer.from(after!.png).equals(Buffer.from(snapshot!.png))).toBe(true);
  });

  it('drops faded pages with a tombstone, or without one when purging', async () => {
    await onePage('fader');
    await onePage('purged');
    clock += 30 * DAY_MS;
    const r = await memory.age({ scope: { userId: 'fader' } });
    expect(r.dropped.length).toBe(1);
    expect((await memory.list({ userId: 'fader' })).pages).toEqual([]);
    const [stone] = await memory.store.listTombstones({ userId: 'fader' });
    expect(stone).toMatchObject({ userId: 'fader', turnCount: 1 });
    expect(stone!.reason).toMatch(/retention/);
    await memory.age({ scope: { userId: 'purged' }, purge: true });
    expect(await memory.store.listTombstones({ userId: 'purged' })).toEqual([]);
  });

  it('re-renders from decoded text as the second strategy', async () => {
    const page = await onePage('rerender');
    clock += 1.2 * DAY_MS;
    const r = await memory.age({ strategy: 'rerender', scope: { userId: 'rerender' } });
    const moved = r.moved.find((m) => m.pageId === page.id)!;
    expect(moved.visualTokensAfter).toBeLessThan(moved.visualTokensBefore);
    const after = (await memory.get(page.id, { userId: 'rerender' }))!;
    expect(after.fidelity).toBeGreaterThan(0.8);
    expect(after.decodedText).toMatch(/sardines/);
  });

  it('refuses bad clocks with typed errors', async () => {
    await onePage('clock');
    for (const now of [Number.NaN, -5, Number.POSITIVE_INFINITY]) {
      const err = await memory.age({ now }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe('now');
    }
    await memory.age({ now: clock + DAY_MS });
    const err = await memory.age({ now: clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/before the last ageing/);
  });
});
