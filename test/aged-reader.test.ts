/**
 * What the aged-page reader says about a line, and how it spreads a page over threads: a line
 * that two readings give the same stored pixels comes back at confidence 0.5 (the pair is drawn
 * and shrunk here, so the test knows the pixels are the same), one that only one reading explains
 * at 1; a page read on two worker threads gives what one thread gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downsample } from '../memory/page-shrink.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { createGlyphDecoder } from '../src/decoders/glyph/glyph-decoder.js';
import { readGrayPixels } from '../src/decoders/glyph/gray-png.js';
import { splitByWidth } from '../src/decoders/glyph/reader-threads.js';
import { InvalidInputError } from '../src/errors.js';
import { renderPage, type PageLayoutPlan } from '../renderers/page-renderer.js';
import { lineHeightFor, marginFor } from '../renderers/page-planner.js';
import type { RenderTurn } from '../renderers/text-layout.js';

function plan(fontSize: number, height: number): PageLayoutPlan {
  return { width: 1024, height, fontSize, lineHeight: lineHeightFor(fontSize), margin: marginFor(fontSize), font: 'auto' };
}

/** `text` drawn alone at `fontSize` on 1024 x `height`, shrunk to 640 wide as ageing shrinks it. */
async function aged(text: string, fontSize: number, height = 120) {
  const page = await renderPage([{ role: 'user', label: '', content: text }], plan(fontSize, height));
  return downsample(page.png, page.geometry, { width: 640, height: Math.round((height * 640) / 1024) });
}

describe('an aged line says whether another reading gives the same pixels', () => {
  let glyph: Decoder;
  beforeAll(() => {
    glyph = createGlyphDecoder({ threads: 1 });
  });
  afterAll(() => glyph.close());

  it('two readings that give the same stored pixels come back at confidence 0.5, the commoner first', async () => {
    // At 5 px shrunk to 640 px the second comma and U+201A (a low single quote) leave the same pixels.
    const line = 'Wow, Mel, glad you had fun, and so on.';
    const [a, b] = await Promise.all([aged(line, 5), aged('Wow, Mel\u201a glad you had fun, and so on.', 5)]);
    expect((await readGrayPixels(a.png)).data).toEqual((await readGrayPixels(b.png)).data);
    const out = await glyph.decode({ png: a.png });
    expect(out.lines.map((l) => l.text.trimEnd())).toEqual([line]);
    expect(out.lines[0]!.confidence).toBe(0.5);
  });

  it('a line no other reading explains comes back at confidence 1', async () => {
    const line = 'Nice job, just enjoy the major joke.';
    const [a, b] = await Promise.all([aged(line, 5), aged('Nice iob, just enjoy the major joke.', 5)]);
    // 'j' and 'i' still differ here, so the reading is the only one.
    expect((await readGrayPixels(a.png)).data).not.toEqual((await readGrayPixels(b.png)).data);
    const out = await glyph.decode({ png: a.png });
    expect(out.lines.map((l) => `${l.text.trimEnd()}|${l.confidence}`)).toEqual([`${line}|1`]);
  });
});

describe('aged pages are read on worker threads', () => {
  const turns: RenderTurn[] = [
    { role: 'user', label: '', content: 'Our flight lands in Lisbon at 07:40 on 16 May; the hotel is on Rua Augusta, #214. Can you keep that in mind for the trip?' },
    { role: 'assistant', label: '', content: 'Noted: LIS 07:40, 16 May. Check-in opens at 15:00 (ask for room 3B if it is free). I will remind you the evening before.' },
    { role: 'assistant', label: '', content: '```\ndef total(xs):\n    return sum(x * 2 for x in xs if x > 0)\n```' },
    { role: 'user', label: '', content: '我们下周三去杭州看西湖，晚上住在湖边的酒店。Then Porto on Friday, by train at 09:05.' },
  ];

  it('two threads read a page as one does, and start again after close', async () => {
    const page = await renderPage(turns, plan(7, 320));
    const shrunk = await downsample(page.png, page.geometry, { width: 640, height: 200 });
    const one = createGlyphDecoder({ threads: 1 });
    const two = createGlyphDecoder({ threads: 2 });
    try {
      const a = await one.decode({ png: shrunk.png });
      const b = await two.decode({ png: shrunk.png });
      expect(a.lines.length).toBeGreaterThan(4);
      expect(a.lines.filter((l) => l.text.trim() !== '').length).toBeGreaterThan(4);
      expect(b.lines.map((l) => [l.text, l.confidence])).toEqual(a.lines.map((l) => [l.text, l.confidence]));
      await two.close();
      const again = await two.decode({ png: shrunk.png });
      expect(again.text).toBe(a.text);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('a page is cut into runs of about equal width, in order, none empty', () => {
    const widths = [10, 10, 10, 10, 40, 10, 10];
    expect(splitByWidth([0, 1, 2, 3, 4, 5, 6], (i) => widths[i]!, 2)).toEqual([[0, 1, 2, 3, 4], [5, 6]]);
    expect(splitByWidth([0, 1], (i) => widths[i]!, 4)).toEqual([[0], [1]]);
    expect(splitByWidth([], () => 1, 2)).toEqual([]);
  });

  it('refuses a bad thread count with a typed error naming the field', () => {
    expect(() => createGlyphDecoder({ threads: 0 })).toThrow(InvalidInputError);
    expect(() => createGlyphDecoder({ threads: 1.5 })).toThrow(/threads/);
  });
});
