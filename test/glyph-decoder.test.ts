/**
 * The glyph-matching reader: exact on the renderer's own pages at every glyph size the planner
 * can choose, within a tolerance on noisy pages, falling back to the OCR model for what it
 * cannot explain, and reading only a page's pixels and geometry.
 */
import { seededRandom } from '../src/internal/random.js';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '../src/codec/codec.js';
import { fidelity } from '../src/codec/fidelity.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { createGlyphDecoder, GLYPH_DECODER_NAME } from '../src/decoders/glyph/glyph-decoder.js';
import { tierChars } from '../src/decoders/glyph/glyph-set.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { DecodeError, InvalidInputError, MissingGeometryError } from '../src/errors.js';
import { layoutForPlan, renderPage, type PageLayoutPlan } from '../renderers/page-renderer.js';
import { lineHeightFor, marginFor } from '../renderers/page-planner.js';
import { encodeGrayPng, GEOMETRY_KEYWORD, readGeometry } from '../renderers/png.js';
import type { RenderTurn } from '../renderers/text-layout.js';
import { grayFast } from '../src/decoders/glyph/gray-png.js';
import { describeDecoderConformance } from './support/decoder-conformance.js';
import { baselineOffset } from '../renderers/page-renderer.js';
import { loadFontSet, registerShippedFonts } from '../renderers/fonts.js';
import { loadGlyphAtlas } from '../renderers/glyph-atlas.js';
import { loadCanvas } from '../src/internal/lazy.js';
import { GlyphIndex } from '../src/decoders/glyph/glyph-index.js';
import { readLine } from '../src/decoders/glyph/line-reader.js';
import { PageReader } from '../src/decoders/glyph/page-reader.js';

describeDecoderConformance(GLYPH_DECODER_NAME, () => createGlyphDecoder(), {
  pathWithGeometry: 'geometry',
  afterClose: 'reopens',
  readsText: { skip: "the suite's page is drawn by the canvas with kerning, not by opticmem's renderer; glyph matching reads only opticmem's pages (exactly, below), and createLocalDecoder reads this one" },
});
describeDecoderConformance(`${GLYPH_DECODER_NAME} with the OCR model (createLocalDecoder)`, () => createLocalDecoder(), { pathWithGeometry: 'geometry', afterClose: 'reopens', readsText: true });

/** Seeded, so every run draws the same lines. */
const random = seededRandom;

const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const CODE = ['const x = await f(y);', 'if (a[i] !== b) { return {...o}; }', "print('%d' % n)", 'for k, v in d.items():', '#include <stdio.h>', 'x => x * 2 || y && z'];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function asciiLine(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ASCII[Math.floor(rnd() * ASCII.length)];
  return s.trim() || 'x';
}

function chineseLine(rnd: () => number, n: number): string {
  const cjk = tierChars('sans', 'cjk');
  let s = '';
  for (let i = 0; i < n; i++) s += pick(rnd, cjk).ch;
  return s;
}

function plan(fontSize: number, width: number, height: number, font: PageLayoutPlan['font'] = 'auto'): PageLayoutPlan {
  return { width, height, fontSize, lineHeight: lineHeightFor(fontSize), margin: marginFor(fontSize), font };
}

/** Render `turns`, read the page back, and return the drawn and the read lines. */
async function roundTrip(decoder: Decoder, turns: readonly RenderTurn[], p: PageLayoutPlan): Promise<{ drawn: string[]; read: string[] }> {
  const page = await renderPage(turns, p);
  const drawn = layoutForPlan(turns, p)
    .filter((l) => l.runs.length > 0)
    .map((l) => l.text.trimEnd());
  const out = await decoder.decode({ png: page.png });
  return { drawn, read: out.lines.map((l) => l.text.trimEnd()) };
}

describe('glyph matching reads the renderer exactly', () => {
  let decoder: Decoder;
  beforeAll(() => {
    decoder = createGlyphDecoder();
  });
  afterAll(() => decoder.close());

  // Every quarter-pixel size from the planner's smallest to its largest (5..28 px).
  const sizes = Array.from({ length: (28 - 5) * 4 + 1 }, (_, i) => 5 + i / 4);

  it('random ASCII, code with indentation and escapes at every glyph size the planner can choose', async () => {
    const rnd = random(11);
    let lines = 0;
    for (const fontSize of sizes) {
      const turns: RenderTurn[] = [
        { role: 'user', label: '', content: asciiLine(rnd, 12 + Math.floor(rnd() * 40)) },
        { role: 'assistant', label: '', content: '```\n' + `${' '.repeat(Math.floor(rnd() * 8))}${pick(rnd, CODE)}\n` + '```' },
        { role: 'user', label: '', content: `emoji 😀 and ${asciiLine(rnd, 6)} ✓ café` },
      ];
      const { drawn, read } = await roundTrip(decoder, turns, plan(fontSize, 640, 40 * Math.ceil(fontSize * 1.2) + 60));
      expect(read, `font size ${fontSize}`).toEqual(drawn);
      lines += drawn.length;
    }
    expect(lines).toBeGreaterThanOrEqual(sizes.length * 5);
  });

  it('Chinese and mixed-script lines at sizes across the range', async () => {
    const rnd = random(7);
    for (const fontSize of [5, 6.25, 7.5, 9, 10.75, 13.25, 17, 24]) {
      const turns: RenderTurn[] = [
        { role: 'user', label: '', content: chineseLine(rnd, 20) },
        { role: 'assistant', label: '', content: `${chineseLine(rnd, 5)} GPT-4o ${asciiLine(rnd, 5)}，${chineseLine(rnd, 6)}。` },
      ];
      const { drawn, read } = await roundTrip(decoder, turns, plan(fontSize, 520, 20 * Math.ceil(fontSize * 1.2) + 60));
      expect(read, `font size ${fontSize}`).toEqual(drawn);
    }
  });

  it('reads a planned 20x page of the shipped conversation exactly', async () => {
    const turns = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as RenderTurn[];
    const [page] = await encode(Array.from({ length: 6 }, () => turns).flat(), { ratio: 20, profile: 'deepseek-ocr:base' });
    const out = await decoder.decode({ png: page!.png });
    const drawn = layoutForPlan(page!.turns, { ...page!.geometry, font: 'auto' })
      .filter((l) => l.runs.length > 0)
      .map((l) => l.text.trimEnd());
    expect(out.lines.map((l) => l.text.trimEnd())).toEqual(drawn);
    expect(fidelity((await decode(page!.png, { decoder })).text, page!.sourceText)).toBe(1);
  });
});

describe('glyph matching on pages that are not pixel-exact', () => {
  it('reads a 10x page with ±4 levels of noise on every pixel at >= 99.9%', async () => {
    const turns = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as RenderTurn[];
    const [page] = await encode(Array.from({ length: 4 }, () => turns).flat(), { ratio: 10, profile: 'deepseek-ocr:base' });
    const gray = grayFast(page!.png)!;
    const rnd = random(3);
    const noisy = gray.data.map((v) => Math.max(0, Math.min(255, v + Math.round(rnd() * 8) - 4)));
    const png = encodeGrayPng(noisy, gray.width, gray.height, { [GEOMETRY_KEYWORD]: JSON.stringify(page!.geometry) });
    const decoder = createGlyphDecoder();
    const out = await decode(png, { decoder });
    await decoder.close();
    expect(fidelity(out.text, page!.sourceText)).toBeGreaterThanOrEqual(0.999);
  });
});

describe('looking glyphs up on noisy pages', () => {
  it('finds each ideograph of a noisy line among a few candidates picked by its dark pixels, not by trying thousands', async () => {
    // Ideographs only: a few other characters of the tier are drawn exactly like another (a halfwidth Hangul letter like its full-width twin).
    const pickFrom = random(5);
    const ideographs = tierChars('sans', 'cjk').filter((c) => /^\p{Script=Han}$/u.test(c.ch));
    const text = Array.from({ length: 30 }, () => pick(pickFrom, ideographs).ch).join('');
    const p = plan(13.25, 520, 80);
    const page = await renderPage([{ role: 'user', label: '', content: text }], p);
    const geometry = readGeometry(page.png)!;
    const box = geometry.lines.find((l) => l.width > 0)!;
    const gray = grayFast(page.png)!;
    const rnd = random(9);
    const noisy = { ...gray, data: gray.data.map((v) => Math.max(0, Math.min(255, v + Math.round(rnd() * 8) - 4))) };
    await registerShippedFonts();
    const fonts = loadFontSet();
    const atlas = await loadGlyphAtlas(loadCanvas, fonts);
    const baseline = baselineOffset(box.fontSize, geometry.lineHeight, fonts);
    const index = new GlyphIndex(atlas, fonts, 'sans', box.fontSize, -baseline, geometry.lineHeight - baseline);
    index.loadNext(); // the CJK tier: thousands of ideographs
    const task = { page: noisy, painted: new Uint8Array(gray.data.length).fill(255), x: box.x, y: box.y, width: box.width, lineHeight: geometry.lineHeight, baseline, index, space: fonts.fonts.sans.metrics.advance(32)! * box.fontSize, tolerance: 4 };
    // A budget of a few placements a character allows 50 candidates a placement: enough for a
    // look-up that keeps a few, far too few for trying every ideograph at each position.
    const chars = [...text].length;
    expect(readLine({ ...task, budget: 2 * chars + 10 })?.text).toBe(text);
  });
});

describe('glyph tiers loaded for one page do not slow the next', () => {
  it('after a page that needed every tier, English lines at the same size are searched with the common glyphs first', async () => {
    // Small glyphs (as ageing re-renders them): thousands of ideographs and rare glyphs fit almost anywhere.
    const rnd = random(21);
    const rare = tierChars('sans', 'rest').filter((c) => c.role === 'sans');
    const odd: RenderTurn[] = [{ role: 'user', label: '', content: `note ${pick(rnd, rare).ch}${pick(rnd, rare).ch} ${chineseLine(rnd, 4)} end` }];
    // ']' is left out: at 3 px it is drawn exactly like '[' (one glyph of the index reads both).
    const english: RenderTurn[] = Array.from({ length: 12 }, () => ({ role: 'user', label: '', content: asciiLine(rnd, 90).replaceAll(']', '[') }));
    const p = plan(3, 640, 200);
    const first = await renderPage(odd, p);
    const second = await renderPage(english, p);
    // A budget of 2 placements a px of line width: plenty for a search that takes columns as
    // final as soon as the common glyphs allow, too little when a rare glyph's far left bearing
    // holds every column open.
    const reader = await PageReader.create({ budgetPerColumn: 2 });
    const read = (png: Uint8Array) => reader.read(grayFast(png)!, readGeometry(png)!);
    read(first.png);
    const drawn = layoutForPlan(english, p).filter((l) => l.runs.length > 0).map((l) => l.text.trimEnd());
    expect(read(second.png).map((l) => l?.text.trimEnd())).toEqual(drawn);
  });
});

describe('what glyph matching leaves to the OCR model', () => {
  const turns: RenderTurn[] = [{ role: 'user', content: 'Our flight lands in Lisbon at 07:40 on 16 May.' }];

  it('a PNG without geometry goes to detection with the local decoder, and is refused by glyph matching alone', async () => {
    const page = await renderPage(turns, plan(14, 480, 80));
    const gray = grayFast(page.png)!;
    const bare = encodeGrayPng(gray.data, gray.width, gray.height);
    const local = createLocalDecoder();
    const out = await local.decode({ png: bare });
    await local.close();
    expect(out.path).toBe('detection');
    expect(out.text).toMatch(/Lisbon/);
    const glyph = createGlyphDecoder();
    await expect(glyph.decode({ png: bare })).rejects.toSatisfy((e) => MissingGeometryError.isInstance(e));
    await glyph.close();
  });

  it('a page resampled more than once is read by the OCR model; glyph matching alone says why it cannot', async () => {
    const page = await renderPage(turns, plan(14, 480, 80));
    const geometry = { ...page.geometry, resampled: { width: 960, height: 160, passes: 2 } };
    const glyph = createGlyphDecoder();
    const error = await glyph.decode({ png: page.png, geometry }).catch((e: unknown) => e);
    await glyph.close();
    expect(DecodeError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/resampled more than once/);
    const local = createLocalDecoder();
    const out = await local.decode({ png: page.png, geometry });
    await local.close();
    expect(out.text).toMatch(/Lisbon/);
  });

  it('pixels that are not the resampling the geometry records are left to the OCR model, line by line', async () => {
    // Geometry says "drawn at twice the size, then resampled", but these pixels were drawn at this size.
    const page = await renderPage(turns, plan(14, 480, 80));
    const geometry = { ...page.geometry, resampled: { width: 960, height: 160 } };
    const glyph = createGlyphDecoder();
    const alone = await glyph.decode({ png: page.png, geometry });
    await glyph.close();
    expect(alone.lines.every((l) => l.text === '' && l.confidence === 0)).toBe(true);
    const local = createLocalDecoder();
    const out = await local.decode({ png: page.png, geometry });
    await local.close();
    expect(out.text).toMatch(/Lisbon/);
  });

  it('lines drawn by another program are read by the model, line by line', async () => {
    // The same text drawn 1 px lower than its geometry says: no reading redraws those pixels.
    const page = await renderPage(turns, plan(14, 480, 80));
    const gray = grayFast(page.png)!;
    const shifted = new Uint8Array(gray.data.length).fill(255);
    shifted.set(gray.data.subarray(0, gray.data.length - gray.width), gray.width);
    const png = encodeGrayPng(shifted, gray.width, gray.height, { [GEOMETRY_KEYWORD]: JSON.stringify(page.geometry) });
    const glyph = createGlyphDecoder({ tolerance: 0 });
    const alone = await glyph.decode({ png });
    await glyph.close();
    expect(alone.lines.every((l) => l.text === '' && l.confidence === 0)).toBe(true);
    const local = createLocalDecoder({ tolerance: 0 });
    const out = await local.decode({ png });
    await local.close();
    expect(out.text).toMatch(/Lisbon/);
  });

  it('refuses a bad reader choice with a typed error naming the field', () => {
    expect(() => createLocalDecoder({ reader: 'fast' as never })).toThrow(InvalidInputError);
    expect(() => createGlyphDecoder({ tolerance: -1 })).toThrow(/tolerance/);
  });
});

describe('glyph matching reads only pixels and geometry', () => {
  const turns: RenderTurn[] = [
    { role: 'user', content: 'The storage unit code is 4471-B, and the spare key is under the blue pot.' },
    { role: 'assistant', content: 'Noted: unit 4471-B, spare key under the blue pot by the door.' },
  ];

  it('pixels shuffled under valid geometry do not give the text back', async () => {
    const page = await renderPage(turns, plan(12, 520, 120));
    const gray = grayFast(page.png)!;
    const rnd = random(5);
    const shuffled = Uint8Array.from(gray.data);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const png = encodeGrayPng(shuffled, gray.width, gray.height, { [GEOMETRY_KEYWORD]: JSON.stringify(readGeometry(page.png)) });
    const decoder = createGlyphDecoder();
    const out = await decode(png, { decoder });
    await decoder.close();
    expect(fidelity(out.text, page.text)).toBeLessThan(0.2);
  });

  it('the same pixels give the same text whatever else is known about the page', async () => {
    const page = await renderPage(turns, plan(12, 520, 120));
    const decoder = createGlyphDecoder();
    const first = await decoder.decode({ png: page.png });
    // A copy of the bytes, read by a fresh decoder: nothing but the PNG reaches it.
    const fresh = createGlyphDecoder();
    const second = await fresh.decode({ png: Uint8Array.from(page.png) });
    await Promise.all([decoder.close(), fresh.close()]);
    expect(second.text).toBe(first.text);
    expect(first.lines.map((l) => l.text)).toEqual(layoutForPlan(turns, plan(12, 520, 120)).filter((l) => l.runs.length).map((l) => l.text));
  });
});
