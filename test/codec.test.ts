import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, encode } from '../src/codec/codec.js';
import { fidelity } from '../src/codec/fidelity.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidImageError, InvalidInputError, MissingGeometryError, OpticMemError, UnknownProfileError } from '../src/errors.js';
import { encodeGrayPng } from '../renderers/png.js';
import type { RenderTurn } from '../renderers/text-layout.js';

const fixture = (name: string): RenderTurn[] => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));

describe('optical codec (real renderer and ONNX decoder)', () => {
  const decoder = createOnnxDecoder();
  afterAll(() => decoder.close());

  /** All pages of `turns` at `ratio`, decoded and scored against their source text. */
  async function roundTrip(turns: readonly RenderTurn[], ratio: number) {
    const pages = await encode(turns, { ratio, profile: 'deepseek-ocr:base' });
    let source = '';
    let read = '';
    for (const page of pages) {
      source += page.sourceText + '\n';
      read += (await decode(page.png, { decoder })).text + '\n';
    }
    return { pages, fidelity: fidelity(read, source) };
  }

  it.each(['conversation-en', 'conversation-zh', 'code-sample'])('reads %s back at 5x with at least 99.5 percent fidelity', async (name) => {
    const { pages, fidelity: f } = await roundTrip(fixture(name), 5);
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) expect(page.ratio).toBeLessThanOrEqual(5);
    expect(f).toBeGreaterThanOrEqual(0.995);
  });

  it('proves readings by redrawing them: the model alone misreads code the check puts right', async () => {
    const pages = await encode(fixture('code-sample'), { ratio: 5, profile: 'deepseek-ocr:base' });
    const alone = createOnnxDecoder({ redrawCheck: false });
    try {
      let source = '';
      let checked = '';
      let raw = '';
      for (const page of pages) {
        source += page.sourceText + '\n';
        checked += (await decode(page.png, { decoder })).text + '\n';
        raw += (await decode(page.png, { decoder: alone })).text + '\n';
      }
      // Underscores, backticks and spaces in code are what the Chinese-trained model gets wrong.
      expect(fidelity(raw, source)).toBeLessThan(0.99);
      expect(fidelity(checked, source)).toBeGreaterThan(fidelity(raw, source));
    } finally {
      await alone.close();
    }
  });

  it('restores turns, indentation and blank lines of code from the page', async () => {
    const turns = fixture('code-sample').slice(0, 2);
    const pages = await encode(turns, { ratio: 3, profile: 'deepseek-ocr:base' });
    expect(pages).toHaveLength(1);
    const out = await decode(pages[0]!.png, { decoder });
    expect(out.turns).toHaveLength(2);
    const code = out.turns[1]!.text;
    expect(code).toContain('```python');
    expect(code).toContain('\n    first_seen: datetime | None = None\n\n\ndef summarize_log(');
  });

  it('closes the loop: every page is verified, records its fidelity, and re-plans below target', async () => {
    const turns = fixture('conversation-en').slice(0, 10);
    // All ten turns on one Tiny page need 6.75 px glyphs, which read just short of the target.
    const options = { ratio: 60, profile: 'deepseek-ocr:tiny', minFontSize: 3 } as const;
    const minFidelity = 0.9999;
    const unverified = await encode(turns, options);
    const pages = await encode(turns, { ...options, verify: { decoder, minFidelity } });
    expect(Math.max(...pages.map((p) => p.ratio))).toBeLessThan(Math.max(...unverified.map((p) => p.ratio)));
    for (const page of pages) {
      expect(page.fidelity).toBeGreaterThanOrEqual(minFidelity);
      expect(page.decodedText).toBeDefined();
      expect(fidelity(page.decodedText!, page.sourceText)).toBeCloseTo(page.fidelity!, 10);
      expect(page.targetRatio).toBe(60);
    }
    // Every character of the source is on exactly one page.
    const covered = pages.flatMap((p) => p.slices);
    turns.forEach((t, i) => {
      const spans = covered.filter((s) => s.turn === i).sort((a, b) => a.start - b.start);
      expect(spans[0]!.start).toBe(0);
      for (let k = 1; k < spans.length; k++) expect(spans[k]!.start).toBe(spans[k - 1]!.end);
      expect(spans.at(-1)!.end).toBe(t.content.length);
    });
  });

  describe('bad input', () => {
    const turns = [{ role: 'user', content: 'hello there' }];
    const rejects = async (run: () => Promise<unknown>, type: { isInstance(e: unknown): boolean }, field: string, fix: RegExp) => {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(type.isInstance(error)).toBe(true);
      expect((error as OpticMemError).field).toBe(field);
      expect((error as Error).message).toMatch(fix);
    };

    it('refuses empty text', async () => {
      await rejects(() => encode([], { ratio: 10 }), InvalidInputError, 'turns', /at least one turn/);
      await rejects(() => encode([{ role: 'user', content: '  \n ' }], { ratio: 10 }), InvalidInputError, 'turns', /at least one turn/);
    });

    it('refuses a 1 MB turn, naming the turn and the option to raise', async () => {
      const huge = [{ role: 'user', content: 'a'.repeat(1024 * 1024) }];
      await rejects(() => encode(huge, { ratio: 10 }), InvalidInputError, 'turns.0.content', /maxTurnChars/);
    });

    it.each([0, -3, Number.NaN, Number.POSITIVE_INFINITY])('refuses ratio %s', async (ratio) => {
      await rejects(() => encode(turns, { ratio }), InvalidInputError, 'options.ratio', /ratio/);
    });

    it('refuses an unknown profile, listing the known ones', async () => {
      await rejects(() => encode(turns, { ratio: 10, profile: 'deepseek-ocr:huge' }), UnknownProfileError, 'profile', /deepseek-ocr:base/);
    });

    it('refuses non-string content and unknown options', async () => {
      await rejects(() => encode([{ role: 'user', content: 42 }] as unknown as RenderTurn[], { ratio: 10 }), InvalidInputError, 'turns.0.content', /string/);
      await rejects(() => encode(turns, { ratio: 10, dpi: 300 } as never), InvalidInputError, 'options', /dpi/);
    });

    it('refuses bytes that are not a PNG, and a corrupt PNG', async () => {
      await rejects(() => decode(new TextEncoder().encode('GIF89a not a png at all, sorry'), { decoder }), InvalidImageError, 'png', /not a PNG/);
      const [page] = await encode(turns, { ratio: 10 });
      const corrupt = Uint8Array.from(page!.png);
      corrupt[40] = corrupt[40]! ^ 0xff;
      await rejects(() => decode(corrupt, { decoder }), InvalidImageError, 'png', /corrupt/);
    });

    it('reads a PNG without geometry by detection, and refuses it when geometry is required', async () => {
      const gray = new Uint8Array(64 * 32).fill(255);
      const bare = encodeGrayPng(gray, 64, 32);
      const out = await decode(bare, { decoder });
      expect(out.raw.path).toBe('detection');
      await rejects(() => decoder.decode({ png: bare }, { useGeometry: true }), MissingGeometryError, 'png', /useGeometry: false/);
    });

    it('refuses decode options without a decoder', async () => {
      const [page] = await encode(turns, { ratio: 10 });
      await rejects(() => decode(page!.png, {} as never), InvalidInputError, 'options.decoder', /createOnnxDecoder/);
    });
  });
});
