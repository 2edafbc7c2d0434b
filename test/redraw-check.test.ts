import { beforeAll, describe, expect, it } from 'vitest';
import { createRedrawChecker, type RedrawChecker } from '../src/decoders/onnx/redraw-check.js';
import { decodePngToGray } from '../src/decoders/onnx/png-pixels.js';
import type { GrayImage } from '../src/decoders/onnx/gray-image.js';
import { layoutForPlan, renderPage, type PageLayoutPlan } from '../renderers/page-renderer.js';
import type { PageGeometry } from '../renderers/page.js';
import type { RenderTurn } from '../renderers/text-layout.js';
import { makePage } from './support/make-page.js';

interface Drawn {
  readonly page: GrayImage;
  readonly geometry: PageGeometry;
  /** The text of each geometry line, as laid out. */
  readonly lines: readonly string[];
}

async function draw(turns: readonly RenderTurn[], plan: PageLayoutPlan): Promise<Drawn> {
  const rendered = await renderPage(turns, plan);
  const lines = layoutForPlan(turns, plan)
    .filter((l) => l.runs.length > 0)
    .map((l) => l.text);
  return { page: await decodePngToGray(rendered.png), geometry: rendered.geometry, lines };
}

const plan: PageLayoutPlan = { width: 640, height: 200, fontSize: 13, lineHeight: 16, margin: 8, font: 'auto' };

describe('redraw check', () => {
  let checker: RedrawChecker;
  let code: Drawn;
  let prose: Drawn;
  beforeAll(async () => {
    checker = await createRedrawChecker();
    code = await draw(
      [{ role: 'assistant', label: '', content: '```python\nif entry.first_seen is None:\n    entry.first_seen = stamp\n```' }],
      plan,
    );
    prose = await draw([{ role: 'user', content: 'Lodging in Príncipe Real costs €2 to €4 a night; see `toISOString()` and naïve café prices.' }], { ...plan, font: 'sans' });
  });

  const lineOf = (d: Drawn, needle: string) => {
    const i = d.lines.findIndex((l) => l.includes(needle));
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  };

  const check = (d: Drawn, i: number, reading: string) => {
    const neighbours = [i - 1, i + 1].filter((j) => j >= 0 && j < d.lines.length).map((j) => ({ box: d.geometry.lines[j]!, text: d.lines[j]! }));
    return checker.check(d.page, d.geometry.lines[i]!, d.geometry.lineHeight, reading, neighbours).text;
  };

  it('keeps a reading that redraws to the same pixels', () => {
    for (const d of [code, prose]) d.lines.forEach((text, i) => expect(check(d, i, text)).toBe(text));
  });

  it('restores underscores and backticks that the model reads as spaces and dots', () => {
    const fence = lineOf(code, '```python');
    expect(check(code, fence, '.·.python')).toBe('```python');
    const first = lineOf(code, 'if entry');
    expect(check(code, first, 'if entry.first seen is None:')).toBe('if entry.first_seen is None:');
    // Under the line above, whose underscore reaches down into this line's box.
    const second = lineOf(code, 'entry.first_seen = stamp');
    expect(check(code, second, 'entry.first seen = stamp')).toBe(code.lines[second]);
  });

  it('fixes letter case, dropped symbols and accents in proportional text', () => {
    prose.lines.forEach((truth, i) => {
      const misread = truth.replace('Príncipe', 'Principe').replace('€4', '4').replace('toISOString', 'toIlsostring').replace('naïve', 'naive').replace(/`/g, '^');
      expect(check(prose, i, misread)).toBe(truth);
    });
  });

  it('removes characters the model read past the end of the line', () => {
    const fence = code.lines.lastIndexOf('```');
    expect(check(code, fence, '```.·.')).toBe('```');
  });

  it('leaves a reading it cannot explain as the model gave it', () => {
    // Wrong by a different word entirely: no single look-alike edit redraws it.
    const i = lineOf(prose, 'Príncipe');
    const reading = 'completely different words that are not on the page';
    expect(check(prose, i, reading)).toBe(reading);
  });

  it('does not touch lines drawn by another renderer', () => {
    // makePage draws at its own baseline and fractional widths; the check must not invent edits.
    const foreign = makePage(['Meeting moved to Thursday 14:30, room 4B.'], { fontSize: 12, width: 480 });
    return decodePngToGray(foreign.png).then((page) => {
      const reading = 'Meeting moved to Thursday 14:30, room 48.';
      const out = checker.check(page, foreign.geometry.lines[0]!, foreign.geometry.lineHeight, reading).text;
      // Either proven right by the pixels or left alone; never something else.
      expect([reading, 'Meeting moved to Thursday 14:30, room 4B.']).toContain(out);
    });
  });
});
