/**
 * Pages ageing shrank are read by glyph matching through the same resampling: exactly, down
 * the ladder of DeepSeek-OCR canvases, for English, code and Chinese, and again after a second
 * step (which resamples the page's redrawing, not its shrunk pixels). Pixels that are not the
 * resampling the geometry records are left to the OCR model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downsample } from '../memory/page-shrink.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { createGlyphDecoder } from '../src/decoders/glyph/glyph-decoder.js';
import { grayFast } from '../src/decoders/glyph/gray-png.js';
import { redrawPage } from '../src/decoders/glyph/redraw.js';
import { drawnGeometry } from '../src/decoders/glyph/resampled-geometry.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { resize } from '../src/decoders/onnx/gray-image.js';
import { layoutForPlan, renderPage, type PageLayoutPlan } from '../renderers/page-renderer.js';
import { lineHeightFor, marginFor } from '../renderers/page-planner.js';
import { encodeGrayPng, GEOMETRY_KEYWORD } from '../renderers/png.js';
import type { RenderTurn } from '../renderers/text-layout.js';

function plan(fontSize: number, width: number, height: number): PageLayoutPlan {
  return { width, height, fontSize, lineHeight: lineHeightFor(fontSize), margin: marginFor(fontSize), font: 'auto' };
}

function drawnLines(turns: readonly RenderTurn[], p: PageLayoutPlan): string[] {
  return layoutForPlan(turns, p)
    .filter((l) => l.runs.length > 0)
    .map((l) => l.text.trimEnd());
}

const ENGLISH: RenderTurn[] = [
  { role: 'user', label: '', content: 'Our flight lands in Lisbon at 07:40 on 16 May; the hotel is on Rua Augusta, #214.' },
  { role: 'assistant', label: '', content: 'Noted: LIS 07:40, 16 May. Check-in opens at 15:00 (ask for room 3B if it is free).' },
  { role: 'assistant', label: '', content: '```\ndef total(xs):\n    return sum(x * 2 for x in xs if x > 0)\n```' },
  { role: 'user', label: '', content: "Quotes 'single' and \"double\", a {brace}, [bracket] & 100% -- café, naïve." },
];

const CHINESE: RenderTurn[] = [
  { role: 'user', label: '', content: '我们下周三去杭州看西湖，晚上住在湖边的酒店。' },
  { role: 'assistant', label: '', content: '好的，记住了：周三出发，住西湖边。需要我提醒你带伞吗？' },
];

describe('aged pages are read by matching through the resampling', () => {
  let glyph: Decoder;
  beforeAll(() => {
    glyph = createGlyphDecoder();
  });
  afterAll(() => glyph.close());

  for (const [fontSize, canvas] of [
    [10, 640],
    [10, 512],
    [12, 512],
    [8, 640],
  ] as const) {
    it(`English and code drawn at ${fontSize} px on 1024 px, aged to ${canvas} px`, async () => {
      const p = plan(fontSize, 1024, 260);
      const page = await renderPage(ENGLISH, p);
      const aged = await downsample(page.png, page.geometry, { width: canvas, height: Math.round((260 * canvas) / 1024) });
      expect(aged.geometry.resampled).toEqual({ width: 1024, height: 260 });
      const out = await glyph.decode({ png: aged.png });
      expect(out.lines.map((l) => l.text.trimEnd())).toEqual(drawnLines(ENGLISH, p));
      expect(out.lines.every((l) => l.confidence > 0)).toBe(true);
    });
  }

  // At 8 px an em holds one whole stored column at 640 px: the ideograph look-up keys on four rows of it.
  for (const fontSize of [12, 8]) {
    it(`Chinese drawn at ${fontSize} px, aged to 640 px`, async () => {
      const p = plan(fontSize, 1024, 120);
      const page = await renderPage(CHINESE, p);
      const aged = await downsample(page.png, page.geometry, { width: 640, height: 75 });
      const out = await glyph.decode({ png: aged.png });
      expect(out.lines.map((l) => l.text.trimEnd())).toEqual(drawnLines(CHINESE, p));
      expect(out.lines.every((l) => l.confidence > 0)).toBe(true);
    });
  }

  it('a second step resamples the page as redrawn from its pixels, so it stays one resampling of a drawing', async () => {
    const p = plan(10, 1024, 260);
    const page = await renderPage(ENGLISH, p);
    const once = await downsample(page.png, page.geometry, { width: 640, height: 163 });
    const redrawn = await redrawPage(grayFast(once.png)!, once.geometry);
    expect(redrawn?.data).toEqual(grayFast(page.png)!.data);
    const twice = await downsample(once.png, once.geometry, { width: 512, height: 130 });
    expect(twice.geometry.resampled).toEqual({ width: 1024, height: 260 });
    // The same pixels as one step straight from the drawing.
    const direct = await downsample(page.png, page.geometry, { width: 512, height: 130 });
    expect(grayFast(twice.png)!.data).toEqual(grayFast(direct.png)!.data);
    const out = await glyph.decode({ png: twice.png });
    expect(out.lines.map((l) => l.text.trimEnd())).toEqual(drawnLines(ENGLISH, p));
  });

  it('a page whose redrawing does not give its pixels back is shrunk from its pixels and counted as a second pass', async () => {
    const p = plan(10, 1024, 260);
    const page = await renderPage(ENGLISH, p);
    const once = await downsample(page.png, page.geometry, { width: 640, height: 163 });
    const gray = grayFast(once.png)!;
    const smudged = Uint8Array.from(gray.data);
    for (let i = 0; i < smudged.length; i += 7) smudged[i] = Math.max(0, smudged[i]! - 60);
    const png = encodeGrayPng(smudged, gray.width, gray.height, { [GEOMETRY_KEYWORD]: JSON.stringify(once.geometry) });
    expect(await redrawPage(grayFast(png)!, once.geometry)).toBeUndefined();
    const twice = await downsample(png, once.geometry, { width: 512, height: 130 });
    expect(twice.geometry.resampled).toEqual({ width: 1024, height: 260, passes: 2 });
    expect(drawnGeometry(twice.geometry)).toBeUndefined();
  });

  it('recovers the drawn geometry from the scaled one', async () => {
    const p = plan(9.75, 1024, 260);
    const page = await renderPage(ENGLISH, p);
    const aged = await downsample(page.png, page.geometry, { width: 640, height: 163 });
    const drawn = drawnGeometry(aged.geometry)!;
    expect(drawn.lineHeight).toBe(page.geometry.lineHeight);
    expect(drawn.lines.map(({ x, y, width, fontSize }) => ({ x, y, width, fontSize }))).toEqual(page.geometry.lines.map(({ x, y, width, fontSize }) => ({ x, y, width, fontSize })));
  });

  it('pixels resampled another way under the same geometry are not matched, and the OCR model reads them', async () => {
    // Large glyphs, so the OCR model can read them after the shrink.
    const p = plan(20, 1024, 120);
    const turns: RenderTurn[] = [{ role: 'user', label: '', content: 'The storage unit code is 4471-B.' }];
    const page = await renderPage(turns, p);
    const aged = await downsample(page.png, page.geometry, { width: 640, height: 75 });
    // Nearest-neighbour instead of ageing's filter.
    const gray = grayFast(page.png)!;
    const other = new Uint8Array(640 * 75).fill(255);
    for (let y = 0; y < 75; y++) for (let x = 0; x < 640; x++) other[y * 640 + x] = gray.data[Math.floor(y * 1.6) * 1024 + Math.floor(x * 1.6)]!;
    const png = encodeGrayPng(other, 640, 75, { [GEOMETRY_KEYWORD]: JSON.stringify(aged.geometry) });
    const alone = await glyph.decode({ png });
    expect(alone.lines.every((l) => l.text === '' && l.confidence === 0)).toBe(true);
    const local = createLocalDecoder();
    const out = await local.decode({ png });
    await local.close();
    expect(out.text).toMatch(/4471/);
  });

  it('shuffled aged pixels under valid aged geometry do not give the text back', async () => {
    const p = plan(12, 1024, 120);
    const page = await renderPage(ENGLISH.slice(0, 1), p);
    const aged = await downsample(page.png, page.geometry, { width: 640, height: 75 });
    const gray = grayFast(aged.png)!;
    const shuffled = Uint8Array.from(gray.data).reverse();
    const png = encodeGrayPng(shuffled, gray.width, gray.height, { [GEOMETRY_KEYWORD]: JSON.stringify(aged.geometry) });
    const out = await glyph.decode({ png });
    expect(out.text).not.toMatch(/Lisbon/);
  });

  it('the reader repeats the resampler exactly (the drawing, resampled, is the stored page)', async () => {
    const p = plan(10, 1024, 260);
    const page = await renderPage(ENGLISH, p);
    const aged = await downsample(page.png, page.geometry, { width: 512, height: 130 });
    const small = resize(grayFast(page.png)!, 512, 130);
    const stored = grayFast(aged.png)!;
    expect(stored.data.every((v, i) => v === Math.max(0, Math.min(255, Math.round(small.data[i]!))))).toBe(true);
  });
});
