import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { startInspector, type Inspector } from '../src/inspector/server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** From scripts/ensure-chromium.mjs (globalSetup): where Chromium is, or why there is none. */
    chromium: { path?: string; reason?: string };
  }
}

/** The fields of an <img> the checks read (tests compile without the DOM library). */
interface Img {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}

/** True when at least one element matches and every match is a decoded image. */
function imagesLoaded(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).evaluateAll((els) => els.length > 0 && (els as unknown as Img[]).every((i) => i.complete && i.naturalWidth > 0));
}

const root = join(import.meta.dirname, '..');
const artifacts = join(root, 'test-artifacts');
const trip = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'conversation-en.json'), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
// Undefined only when vitest runs without this project's config (and so without its globalSetup).
const browserFound = inject('chromium') ?? { reason: 'scripts/ensure-chromium.mjs did not run; use the vitest.config.ts of this project' };

describe.skipIf(!browserFound.path)(`inspector page in headless Chromium${browserFound.path ? '' : ` (skipped: ${browserFound.reason})`}`, () => {
  const decoder = createOnnxDecoder();
  const dirs: string[] = [];
  let memory: Memory;
  let inspector: Inspector;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    const assetsDir = await mkdtemp(join(tmpdir(), 'opticmem-e2e-assets-'));
    const dbPath = await mkdtemp(join(tmpdir(), 'opticmem-e2e-db-'));
    dirs.push(assetsDir, dbPath);
    const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-inspector-assets.mjs'), '--out', assetsDir], { encoding: 'utf8' });
    expect(built.status, built.stderr + built.stdout).toBe(0);
    // Two scopes with real pages: rendered, verified and stored by the real pipeline.
    memory = await Memory.open({ path: dbPath, decoder, profile: 'deepseek-ocr:tiny', autoCompact: false, tiers: { hotBudgetTokens: 120 } });
    await memory.add(trip.slice(0, 5), { userId: 'maya', sessionId: 'lisbon' });
    await memory.add(trip.slice(5, 8), { userId: 'li', agentId: 'chef' });
    await memory.compact({ userId: 'maya', sessionId: 'lisbon' });
    await memory.compact({ userId: 'li', agentId: 'chef' });
    inspector = await startInspector({ memory, port: 0, assetsDir });
    browser = await chromium.launch({ executablePath: browserFound.path! });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await inspector?.close();
    await memory?.close();
    await decoder.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('shows a scope: page images load, decoded text sits beside them, totals and timeline appear', async () => {
    await page.goto(inspector.url);
    await expect.poll(() => page.locator('.scope-button').count()).toBe(2);
    await expect.poll(() => page.locator('#mode').textContent()).toBe('read-only');
    await page.locator('.scope-button', { hasText: 'session lisbon' }).click();

    const stored = (await memory.list({ userId: 'maya', sessionId: 'lisbon' })).pages;
    expect(stored.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#pages img').count()).toBe(stored.length);
    // Every page image decoded by the browser, at the stored size.
    await expect.poll(() => imagesLoaded(page, '#pages img')).toBe(true);
    const sizes = await page.locator('#pages img').evaluateAll((imgs) => (imgs as unknown as Img[]).map((i) => [i.naturalWidth, i.naturalHeight]));
    expect(sizes).toEqual(stored.map((p) => [p.width, p.height]));

    const firstText = page.locator(`#page-${stored[0]!.id} pre.text`);
    await expect.poll(() => firstText.textContent()).toBe(stored[0]!.decodedText);
    await expect.poll(() => page.locator('#totals').textContent()).toContain('tokens held now');
    await expect.poll(() => page.locator('#timeline li.compacted').count()).toBe(stored.length);
    expect(await page.locator('#scope-title').textContent()).toBe('user maya · session lisbon');
  });

  it('runs a search and highlights the hits', async () => {
    await page.fill('#search-input', 'Porto');
    await page.click('#search-form button[type=submit]');
    const marks = page.locator('#search-results mark');
    await expect.poll(() => marks.count()).toBeGreaterThan(0);
    expect((await marks.allTextContents()).every((t) => t.toLowerCase() === 'porto')).toBe(true);
    expect(await page.locator('#search-status').textContent()).toMatch(/^\d+ pages? match(es)? “Porto”\.$/);
    // The decoded text beside the page image is highlighted too.
    await expect.poll(() => page.locator('#pages pre.text mark').count()).toBeGreaterThan(0);

    await page.fill('#search-input', 'zeppelin');
    await page.click('#search-form button[type=submit]');
    await expect.poll(() => page.locator('#search-status').textContent()).toBe('No page matches “zeppelin”.');
    expect(await page.locator('#search-results li').count()).toBe(0);

    await page.fill('#search-input', 'Porto');
    await page.click('#search-form button[type=submit]');
    await expect.poll(() => marks.count()).toBeGreaterThan(0);
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, 'inspector.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  });

  it('enlarges a page on click and zooms with the wheel', async () => {
    await page.locator('#pages img').first().click();
    await expect.poll(() => page.locator('#viewer').isVisible()).toBe(true);
    await expect.poll(() => imagesLoaded(page, '#viewer-image')).toBe(true);
    const before = Number((await page.locator('#viewer-scale').textContent())!.replace('%', ''));
    const stage = (await page.locator('#viewer-stage').boundingBox())!;
    await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2);
    await page.mouse.wheel(0, -300);
    await expect.poll(async () => Number((await page.locator('#viewer-scale').textContent())!.replace('%', ''))).toBeGreaterThan(before);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#viewer').isVisible()).toBe(false);
  });

  it('switches scopes without mixing their pages', async () => {
    await page.locator('.scope-button', { hasText: 'agent chef' }).click();
    const stored = (await memory.list({ userId: 'li', agentId: 'chef' })).pages;
    await expect.poll(() => page.locator('#scope-title').textContent()).toBe('user li · agent chef');
    await expect.poll(() => page.locator('#pages article').evaluateAll((els) => els.map((e) => e.getAttribute('data-page')))).toEqual(stored.map((p) => p.id));
    await expect.poll(() => imagesLoaded(page, '#pages img')).toBe(true);
    expect(await page.locator('#search-results li').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
