import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planPages } from '../renderers/page-planner.js';
import { readGeometry } from '../renderers/png.js';
import { decode, encode } from '../src/codec/codec.js';
import { fidelity } from '../src/codec/fidelity.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { InvalidInputError, UnknownProfileError } from '../src/errors.js';
import { legibilityOf, parseLegibility, seenGlyphPx, type LegibilityPreset } from '../src/tokens/legibility.js';
import { getProfile, listProfiles } from '../src/tokens/profiles/index.js';
import { createO200kTokenizer } from '../src/tokens/text-tokenizer.js';
import { Memory } from '../memory/memory.js';
import type { ContextMessage } from '../memory/context-builder.js';

const tokenizer = createO200kTokenizer();
const decoder = createLocalDecoder({ reader: 'glyph' });
const dirs: string[] = [];
afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];

/** Every image of a context with the glyph size its consumer sees, read from the image's own geometry chunk. */
function imagesSeen(messages: readonly ContextMessage[], consumer: string): { png: Uint8Array; seen: number }[] {
  const profile = getProfile(consumer);
  return messages.flatMap((m) =>
    typeof m.content === 'string'
      ? []
      : m.content.flatMap((p) => {
          if (p.type !== 'image_url') return [];
          const png = new Uint8Array(Buffer.from(p.image_url.url.split(',')[1]!, 'base64'));
          const g = readGeometry(png, 'png')!;
          const shrink = g.resampled ? Math.min(g.width / g.resampled.width, g.height / g.resampled.height) : 1;
          return [{ png, seen: seenGlyphPx(profile, Math.min(...g.lines.map((l) => l.fontSize)) * shrink, g.width, g.height) }];
        }),
  );
}

describe('legibility floors', () => {
  it('every built-in profile has a floor with its source', () => {
    for (const name of listProfiles()) {
      const l = legibilityOf(getProfile(name));
      expect(l.minGlyphPx, name).toBeGreaterThan(0);
      expect(l.source.length, name).toBeGreaterThan(20);
    }
  });

  it('planned pages meet the floor for every profile, canvas limit, ratio and text (property)', () => {
    const words = fc.stringMatching(/^[A-Za-z]{1,12}$/);
    const turn = fc.record({ role: fc.constantFrom('user', 'assistant'), content: fc.array(words, { minLength: 1, maxLength: 80 }).map((w) => w.join(' ')) });
    fc.assert(
      fc.property(fc.constantFrom(...listProfiles()), fc.array(turn, { minLength: 1, maxLength: 12 }), fc.double({ min: 1, max: 20, noNaN: true }), fc.integer({ min: 0, max: 3 }), (name, turns, ratio, sizeIndex) => {
        const profile = getProfile(name);
        const floor = legibilityOf(profile).minGlyphPx;
        const sides = profile.sizes().map((s) => Math.max(s.width, s.height)).sort((a, b) => a - b);
        const maxSide = Math.max(sides.at(-1)!, 64) >= 2048 ? 2048 : sides.at(-1)!;
        const limit = Math.max(sides[Math.min(sizeIndex, sides.length - 1)]!, sides.find((s) => s >= 512) ?? sides.at(-1)!);
        let plans;
        try {
          plans = planPages(turns, { ratio, profile, tokenizer, minGlyphPx: floor, maxSide: Math.min(maxSide, limit) });
        } catch (error) {
          // The only refusal allowed: no canvas within the limit can show the floor at all.
          expect(InvalidInputError.isInstance(error) && error.field === 'minGlyphPx', String(error)).toBe(true);
          return;
        }
        for (const p of plans) expect(seenGlyphPx(profile, p.fontSize, p.width, p.height), `${name} ${p.width}x${p.height}`).toBeGreaterThanOrEqual(floor - 1e-9);
      }),
      { numRuns: 60, seed: 20261206 },
    );
  });

  it('presets and overrides are checked, name their field, and change what compaction plans', async () => {
    expect(() => parseLegibility([{ profile: 'gpt-4o', minGlyphPx: -1 }])).toThrow(/minGlyphPx/);
    try {
      parseLegibility([{ format: 'opticmem-legibility', version: 2 }]);
      expect.unreachable();
    } catch (error) {
      expect(InvalidInputError.isInstance(error)).toBe(true);
      expect((error as InvalidInputError).field).toMatch(/^legibility\.0/);
    }
    const path = await mkdtemp(join(tmpdir(), 'opticmem-leg-'));
    dirs.push(path);
    await expect(Memory.open({ path, legibility: [{ profile: 'gpt-99', minGlyphPx: 10 }] })).rejects.toBeInstanceOf(UnknownProfileError);
    await expect(Memory.open({ path, legibility: 'gpt-4o=10' as never })).rejects.toMatchObject({ field: 'legibility' });

    const preset: LegibilityPreset = {
      format: 'opticmem-legibility', version: 1, profile: 'gpt-4o', model: 'gpt-4o', minGlyphPx: 18, minFidelity: 0.95, measuredAt: '2026-12-06', source: 'test', rows: [],
    };
    const fonts = async (legibility: readonly LegibilityPreset[]) => {
      const dir = await mkdtemp(join(tmpdir(), 'opticmem-leg-'));
      dirs.push(dir);
      const memory = await Memory.open({ path: dir, profile: 'gpt-4o', decoder, autoCompact: false, legibility });
      try {
        expect(memory.legibilityOf('gpt-4o').minGlyphPx).toBe(legibility[0]?.minGlyphPx ?? 13);
        await memory.add(trip, { userId: 'u' });
        await memory.compact({ userId: 'u' }, { all: true });
        const pages = (await memory.list({ userId: 'u' })).pages;
        return pages.map((p) => seenGlyphPx(getProfile('gpt-4o'), JSON.parse(p.geometry).fontSize, p.width, p.height));
      } finally {
        await memory.close();
      }
    };
    const byDefault = await fonts([]);
    const calibrated = await fonts([preset]);
    expect(Math.min(...byDefault)).toBeGreaterThanOrEqual(13);
    expect(Math.min(...calibrated)).toBeGreaterThanOrEqual(18);
    expect(calibrated.length).toBeGreaterThan(byDefault.length);
  });
});

describe('buildContext hands each consumer pages it can read', () => {
  let memory: Memory;
  let turnIds: string[] = [];
  const scope = { userId: 'maya', sessionId: 'trip' };
  beforeAll(async () => {
    const path = await mkdtemp(join(tmpdir(), 'opticmem-leg-'));
    dirs.push(path);
    // Base pages at 10x: 10 px glyphs, which GPT-4o (768x768) and DeepSeek-OCR Small (640x640) see smaller.
    memory = await Memory.open({ path, decoder, autoCompact: false, tiers: { hotBudgetTokens: 200 } });
    turnIds = (await memory.add(trip, scope)).turnIds;
    await memory.compact(scope);
  });
  afterAll(async () => memory.close());

  it('every image meets the consumer floor, for every profile', async () => {
    const full = (await memory.list(scope)).pages.reduce((a, p) => a + p.textTokens, 0);
    for (const consumer of listProfiles()) {
      const floor = memory.legibilityOf(consumer).minGlyphPx;
      for (const query of [undefined, 'Porto hotel']) {
        const ctx = await memory.buildContext({ scope, budgetTokens: Math.max(400, Math.round(full * 0.6)), consumer, ...(query ? { query } : {}) });
        expect(ctx.usedTokens, consumer).toBeLessThanOrEqual(Math.max(400, Math.round(full * 0.6)));
        for (const { seen } of imagesSeen(ctx.messages, consumer)) expect(seen, consumer).toBeGreaterThanOrEqual(floor - 1e-9);
        for (const p of ctx.pages.filter((x) => x.as === 'image')) {
          expect(p.glyphPx!, consumer).toBeGreaterThanOrEqual(floor - 1e-9);
          expect(p.ratio).toBeCloseTo(p.textTokens / p.tokens, 6);
        }
      }
    }
  }, 120_000);

  it('a page drawn again for a consumer reads back at or above the stored page', async () => {
    const { pages } = await memory.list(scope);
    const ctx = await memory.buildContext({ scope, budgetTokens: 20_000, consumer: 'gpt-4o' });
    const redrawn = ctx.pages.filter((p) => p.redrawn);
    expect(redrawn.length).toBe(pages.length); // 10 px Base glyphs are 7.5 px to GPT-4o
    // The source of the paged turns, labelled as pages label them.
    const paged = new Set(pages.flatMap((p) => p.turnIds));
    const reference = trip.filter((_, i) => paged.has(turnIds[i]!)).map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}`).join('\n');
    let read = '';
    for (const { png } of imagesSeen(ctx.messages, 'gpt-4o')) read += (await decode(png, { decoder })).text + '\n';
    const stored = fidelity(pages.map((p) => p.decodedText).join('\n'), reference);
    expect(stored).toBeGreaterThan(0.9);
    expect(fidelity(read.trim(), reference)).toBeGreaterThanOrEqual(stored - 1e-9);
  });

  it('refuses zero budgets and unknown consumers with typed errors', async () => {
    await expect(memory.buildContext({ scope, budgetTokens: 0 })).rejects.toMatchObject({ field: 'options.budgetTokens' });
    await expect(memory.buildContext({ scope, budgetTokens: 100, consumer: 'gpt-99' })).rejects.toBeInstanceOf(UnknownProfileError);
    await expect(memory.buildContext({ scope, budgetTokens: 100, consumer: 'gpt-99' })).rejects.toMatchObject({ field: 'consumer', message: expect.stringMatching(/'gpt-99' in 'consumer'\. Use 'text' or one of: .*gpt-4o/) });
    await expect(memory.buildContext({ scope, budgetTokens: 100, neighbours: -1 })).rejects.toMatchObject({ field: 'options.neighbours' });
  });

  it('encode refuses a floor no canvas can show', async () => {
    await expect(encode([{ role: 'user', content: 'hello' }], { ratio: 10, profile: 'deepseek-ocr:tiny', minGlyphPx: 200 })).rejects.toMatchObject({ field: 'minGlyphPx' });
  });
});
