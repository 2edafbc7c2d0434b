import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RenderError } from '../src/errors.js';
import { baselineOffset, layoutForPlan, renderPage, type PageLayoutPlan } from '../renderers/page-renderer.js';
import { loadFontSet, registerShippedFonts } from '../renderers/fonts.js';
import { readGeometry, readPngInfo } from '../renderers/png.js';

const turns = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')).slice(0, 4);
const plan: PageLayoutPlan = { width: 1024, height: 1024, fontSize: 12, lineHeight: 15, margin: 7, font: 'auto' };

async function pixels(png: Uint8Array) {
  const { loadImage, createCanvas } = await import('@napi-rs/canvas');
  const img = await loadImage(Buffer.from(png));
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  return ctx.getImageData(0, 0, img.width, img.height).data;
}

describe('page renderer', () => {
  it('is deterministic: same turns and plan give the same bytes', async () => {
    const a = await renderPage(turns, plan);
    const b = await renderPage(turns, plan);
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    const c = await renderPage(turns, { ...plan, fontSize: 11 });
    expect(Buffer.from(a.png).equals(Buffer.from(c.png))).toBe(false);
  });

  it('writes a grayscale PNG whose embedded geometry matches the returned geometry', async () => {
    const page = await renderPage(turns, plan);
    const info = readPngInfo(page.png);
    expect([info.width, info.height]).toEqual([1024, 1024]);
    expect(page.png[25]).toBe(0); // IHDR colour type: grayscale
    expect(readGeometry(page.png)).toEqual(page.geometry);
    expect(page.geometry.lines.length).toBeGreaterThan(10);
    expect(new Set(page.geometry.lines.map((l) => l.turn))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('draws ink inside the line boxes and nowhere else', async () => {
    const page = await renderPage(turns, plan);
    const rgba = await pixels(page.png);
    const inBox = new Uint8Array(1024 * 1024);
    for (const l of page.geometry.lines) {
      for (let y = l.y; y < l.y + l.height; y++) for (let x = Math.floor(l.x); x < Math.min(1024, l.x + l.width + 1); x++) inBox[y * 1024 + x] = 1;
    }
    let inkOutside = 0;
    let inkInside = 0;
    for (let p = 0; p < inBox.length; p++) {
      if (rgba[p * 4]! < 200) inBox[p] ? inkInside++ : inkOutside++;
    }
    expect(inkInside).toBeGreaterThan(5000);
    expect(inkOutside).toBe(0);
  });

  it('draws CJK, code and escaped emoji visibly', async () => {
    const page = await renderPage(
      [{ role: 'user', content: '京都的春天很美 🌸\n```\n  indented()\n```' }],
      { ...plan, width: 512, height: 512 },
    );
    expect(page.text).toContain('[U+1F338]');
    const code = page.geometry.lines.find((l) => l.font === 'mono' && l.x > plan.margin);
    expect(code).toBeDefined();
  });

  it('paints from its glyph atlas what the canvas draws for the same lines', async () => {
    const { createCanvas } = await import('@napi-rs/canvas');
    await registerShippedFonts();
    const mixed = [{ role: 'user', content: 'AVA Type office `toISOString()` naïve €4 — 京都的春天，樱花。\n```\n  if (a_b) { x += 1; }\n```' }];
    const page = await renderPage(mixed, { ...plan, width: 640, height: 200 });
    const fonts = loadFontSet();
    const canvas = createCanvas(640, 200);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, 640, 200);
    ctx.fillStyle = '#000000';
    ctx.fontKerning = 'none';
    ctx.textRendering = 'optimizeSpeed';
    const lines = layoutForPlan(mixed, { ...plan, width: 640, height: 200 }).filter((l) => l.runs.length > 0);
    lines.forEach((line, i) => {
      const box = page.geometry.lines[i]!;
      for (const run of line.runs) {
        ctx.font = `${plan.fontSize}px ${fonts.fonts[run.font].family}`;
        ctx.fillText(run.text, box.x + run.dx, box.y + baselineOffset(plan.fontSize, plan.lineHeight, fonts));
      }
    });
    const drawn = ctx.getImageData(0, 0, 640, 200).data;
    const painted = await pixels(page.png);
    let worst = 0;
    let differing = 0;
    for (let p = 0; p < 640 * 200; p++) {
      const d = Math.abs(drawn[p * 4]! - painted[p * 4]!);
      worst = Math.max(worst, d);
      if (d > 0) differing++;
    }
    // Where glyphs of neighbouring lines overlap, 8-bit rounding may differ by one level.
    expect(worst).toBeLessThanOrEqual(1);
    expect(differing).toBeLessThan(50);
  });

  it('refuses a plan the text cannot fit, naming the field', async () => {
    const err = await renderPage(turns, { ...plan, width: 200, height: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderError);
    expect((err as RenderError).field).toBe('plan.fontSize');
  });
});
