import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/errors.js';
import { getProfile } from '../src/tokens/profiles/index.js';
import { createO200kTokenizer } from '../src/tokens/text-tokenizer.js';
import { layoutForPlan, linesThatFit } from '../renderers/page-renderer.js';
import { pageSourceText, planPages, spread } from '../renderers/page-planner.js';
import type { RenderTurn } from '../renderers/text-layout.js';

const fixture = (name: string): RenderTurn[] => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const tokenizer = createO200kTokenizer();
const en = fixture('conversation-en.json');
const zh = fixture('conversation-zh.json');
const code = fixture('code-sample.json');
// Long enough to need several pages even at the largest canvas.
const long = [...en, ...en, ...en, ...en].map((t, i) => ({ ...t, content: `${i}. ${t.content}` }));

describe('page planner', () => {
  const cases = [
    ['deepseek-ocr:base', 10],
    ['deepseek-ocr:base', 20],
    ['deepseek-ocr:small', 10],
    ['deepseek-ocr:tiny', 5],
    ['deepseek-ocr:gundam', 10],
    ['qwen2-vl', 10],
    ['gpt-4o', 15],
    ['internvl2', 12],
  ] as const;

  for (const [profileName, ratio] of cases) {
    it(`never exceeds the target: ${profileName} at ${ratio}x`, () => {
      const profile = getProfile(profileName);
      for (const turns of [long, zh, code]) {
        const pages = planPages(turns, { ratio, profile, tokenizer });
        expect(pages.length).toBeGreaterThan(0);
        for (const p of pages) {
          // the counts on the plan are the real counts of what the page holds
          expect(p.textTokens).toBe(tokenizer.count(pageSourceText(p.turns)));
          expect(p.visualTokens).toBe(profile.tokensFor(p.width, p.height));
          expect(p.textTokens / p.visualTokens).toBeLessThanOrEqual(ratio);
          expect(layoutForPlan(p.turns, p).length).toBeLessThanOrEqual(linesThatFit(p));
        }
        // every character of every turn lands on exactly one page, in order
        const rebuilt = turns.map(() => '');
        for (const p of pages) for (const s of p.slices) rebuilt[s.turn] += turns[s.turn]!.content.slice(s.start, s.end);
        expect(rebuilt).toEqual(turns.map((t) => t.content));
      }
    });
  }

  it('keeps glyphs as large as the canvas allows: one size up no longer fits', () => {
    const profile = getProfile('deepseek-ocr:base');
    const [page] = planPages(en.slice(0, 3), { ratio: 10, profile, tokenizer, maxFontSize: 40 });
    const bigger = { ...page!, fontSize: page!.fontSize + 0.25 };
    const lh = Math.max(Math.ceil(bigger.fontSize * 1.2), Math.ceil(bigger.fontSize) + 2);
    const plan = { ...bigger, lineHeight: lh, margin: Math.max(2, Math.round(bigger.fontSize * 0.6)) };
    expect(page!.fontSize).toBeLessThan(40);
    expect(layoutForPlan(page!.turns, plan).length).toBeGreaterThan(linesThatFit(plan));
  });

  it('fills pages close to the target when text is plentiful', () => {
    const profile = getProfile('deepseek-ocr:base');
    const pages = planPages(long, { ratio: 10, profile, tokenizer });
    const full = pages.slice(0, -1);
    expect(full.length).toBeGreaterThan(0);
    for (const p of full) expect(p.ratio).toBeGreaterThan(6);
  });

  it('spreads text over as many pages as filling them needs, so the last page is not left mostly empty', () => {
    const profile = getProfile('deepseek-ocr:base');
    // About three and a half pages at 10x: filled greedily, the last would hold half a page in large glyphs.
    const tokens = tokenizer.count(pageSourceText(long));
    const ratio = tokens / (3.5 * profile.tokensFor(1024, 1024));
    const pages = planPages(long, { ratio, profile, tokenizer });
    expect(pages).toHaveLength(4);
    const ratios = pages.map((p) => p.ratio);
    expect(Math.min(...ratios)).toBeGreaterThan(0.75 * Math.max(...ratios));
    const fonts = pages.map((p) => p.fontSize);
    expect(Math.max(...fonts) - Math.min(...fonts)).toBeLessThanOrEqual(1.5);
  });

  it('spread keeps the order, the greedy page count and the capacity, and never leaves a smaller last run than greedy filling', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 60, max: 400 }), (sizes, capacity) => {
        const segments = sizes.map((tokens, i) => ({ i, tokens }));
        const runs = spread(segments, capacity);
        expect(runs.flat()).toEqual(segments);
        let greedy = 0;
        let fill = 0;
        let greedyLast = 0;
        for (const t of sizes) {
          if (fill > 0 && fill + t > capacity) {
            greedy++;
            fill = 0;
          }
          fill += t;
        }
        greedyLast = fill;
        expect(runs).toHaveLength(greedy + 1);
        const sums = runs.map((r) => r.reduce((a, s) => a + s.tokens, 0));
        for (const sum of sums) expect(sum).toBeLessThanOrEqual(capacity);
        expect(sums[sums.length - 1]!).toBeGreaterThanOrEqual(greedyLast);
      }),
      { numRuns: 500, seed: 20261206 },
    );
  });

  it('rejects a ratio <= 0 or not a number with InvalidInputError on ratio', () => {
    const profile = getProfile('deepseek-ocr:base');
    for (const ratio of [0, -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = (() => {
        try {
          planPages(en, { ratio, profile, tokenizer });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe('ratio');
    }
  });
});
