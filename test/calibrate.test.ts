import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Memory } from '../memory/memory.js';
import { calibrate } from '../src/calibrate/calibrate.js';
import { CalibrationBudgetError } from '../src/calibrate/estimate.js';
import { createOpenAINeedleAsker, needleFor, needleTurn } from '../src/calibrate/needles.js';
import { defaultCanvas } from '../src/calibrate/options.js';
import { planCalibrationPage, renderCalibrationPage, type CalibrationPagePlan } from '../src/calibrate/pages.js';
import { STATE_FILE } from '../src/calibrate/state.js';
import { main } from '../src/cli/main.js';
import { parseChat } from '../src/cli/read-chat.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { createOpenAIDecoder, OPENAI_OCR_PROMPTS } from '../src/decoders/openai-decoder.js';
import { InvalidInputError, UnknownProfileError } from '../src/errors.js';
import { LegibilityPresetSchema, parseLegibility, type LegibilityPreset } from '../src/tokens/legibility.js';
import { getProfile } from '../src/tokens/profiles/index.js';
import { createO200kTokenizer } from '../src/tokens/text-tokenizer.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from './support/fake-openai-server.js';

// The fake endpoint stands in for a remote vision model that reads glyphs of FLOOR px and up and
// garbles smaller ones. It answers in the order requests arrive, so each test queues one reply per
// page in the order calibrate() reads them (sizes ascending, pages ascending), from pages it plans
// and draws itself; it checks afterwards that every request carried exactly that page.
const PROFILE = 'deepseek-ocr:tiny';
const SIZES = [6, 8, 10, 12, 14];
const FLOOR = 12;
const fixture = join(import.meta.dirname, 'fixtures', 'conversation-en.json');
const turns = parseChat(readFileSync(fixture, 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'opticmem-calibrate-'));
let server: FakeOpenAIServer;

beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function plans(pages: readonly number[], sizes = SIZES, needles = false): CalibrationPagePlan[] {
  const profile = getProfile(PROFILE);
  const input = { profile, canvas: defaultCanvas(profile), font: 'auto' as const, tokenizer: createO200kTokenizer(), turns, ...(needles ? { plant: (g: number, p: number) => needleTurn(needleFor(g, p)) } : {}) };
  return sizes.flatMap((g) => pages.map((p) => planCalibrationPage(input, g, p)));
}

/** Every third character dropped: far below 95% fidelity. */
const garble = (text: string) => [...text].filter((_, i) => i % 3 !== 2).join('');

function queueReplies(expected: readonly CalibrationPagePlan[]): void {
  server.replyOnce(...expected.map((p) => ({ text: p.glyphPx >= FLOOR ? p.sourceText : garble(p.sourceText) })));
}

/** The PNG (base64) each chat request carried. */
function sentImages(from: number): string[] {
  return server.requests.slice(from).map((r) => {
    const content = (r.body as { messages: { content: { type: string; image_url?: { url: string } }[] }[] }).messages[0]!.content;
    return content.find((c) => c.type === 'image_url')!.image_url!.url.replace(/^data:image\/png;base64,/, '');
  });
}

async function expectSentPages(from: number, expected: readonly CalibrationPagePlan[]): Promise<void> {
  const images = sentImages(from);
  expect(images).toHaveLength(expected.length);
  for (const [i, plan] of expected.entries()) {
    expect(images[i], `request ${i}: ${plan.glyphPx}px page ${plan.page}`).toBe(Buffer.from((await renderCalibrationPage(plan)).png).toString('base64'));
  }
}

function decoder() {
  return createOpenAIDecoder({ baseURL: server.baseURL, model: 'fake-vlm', apiKey: 'none', prompt: OPENAI_OCR_PROMPTS.generic, maxRetries: 0 });
}

async function compactFonts(path: string, legibility: unknown[]): Promise<{ fontSizes: number[]; ratio: number }> {
  const memory = await Memory.open({ path, profile: PROFILE, legibility: legibility as never, decoder: createLocalDecoder({ reader: 'glyph' }), autoCompact: false });
  try {
    const scope = { userId: 'maya' };
    await memory.add(turns.map((t) => ({ role: t.role as 'user' | 'assistant', content: t.content })), scope);
    await memory.compact(scope, { all: true });
    const { pages } = await memory.list(scope);
    expect(pages.length).toBeGreaterThan(0);
    const text = pages.reduce((a, p) => a + p.textTokens, 0);
    const visual = pages.reduce((a, p) => a + p.visualTokens, 0);
    return { fontSizes: pages.map((p) => (JSON.parse(p.geometry) as { fontSize: number }).fontSize), ratio: text / visual };
  } finally {
    await memory.close();
  }
}

describe('calibrate()', () => {
  const out = join(dir, 'fn');
  let preset: LegibilityPreset;

  it('measures the floor through an OpenAI-compatible endpoint and writes a valid preset, table and chart', async () => {
    const expected = plans([0, 1]);
    queueReplies(expected);
    const from = server.requests.length;
    const estimates: unknown[] = [];
    const d = decoder();
    const result = await calibrate({ profile: PROFILE, decoder: d, turns, textSource: 'conversation-en.json', sizes: SIZES, pages: 2, outDir: out, yes: true, onEstimate: (e) => estimates.push(e) });
    await d.close();
    await expectSentPages(from, expected);
    expect(estimates).toHaveLength(1);
    expect(estimates[0]).toMatchObject({ requests: 10, visualTokensPerPage: 64, billed: true });
    expect(result.read).toBe(10);
    expect(result.floor).toBe(FLOOR);
    expect(result.rows.map((r) => r.legible)).toEqual([false, false, false, true, true]);
    // Ratio falls as glyphs grow: a full 6 px page holds far more text than a 14 px one.
    expect(result.rows[0]!.ratio).toBeGreaterThan(2 * result.rows[4]!.ratio);
    preset = LegibilityPresetSchema.parse(JSON.parse(readFileSync(join(out, 'legibility.json'), 'utf8')));
    expect(preset).toMatchObject({ format: 'opticmem-legibility', version: 1, profile: PROFILE, model: 'fake-vlm', minGlyphPx: FLOOR, minFidelity: 0.95 });
    expect(preset.rows.map((r) => r.glyphPx)).toEqual(SIZES);
    expect(preset).toEqual(result.preset);
    expect(readFileSync(join(out, 'calibration.md'), 'utf8')).toMatch(/\| +12 \| +12 \|.*\| +100\.0% \|.*yes/);
    expect(readFileSync(join(out, 'calibration.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(existsSync(join(out, STATE_FILE))).toBe(true);
  });

  it('resumes from its state file: a rerun makes no request, a larger page count reads only the new pages', async () => {
    const from = server.requests.length;
    const d = decoder();
    const again = await calibrate({ profile: PROFILE, decoder: d, turns, textSource: 'conversation-en.json', sizes: SIZES, pages: 2, outDir: out, yes: true });
    expect(server.requests.length).toBe(from);
    expect(again).toMatchObject({ read: 0, resumed: 10, floor: FLOOR });
    expect(again.estimate.requests).toBe(0);

    const third = plans([2]);
    queueReplies(third);
    const more = await calibrate({ profile: PROFILE, decoder: d, turns, textSource: 'conversation-en.json', sizes: SIZES, pages: 3, outDir: out, yes: true });
    await d.close();
    await expectSentPages(from, third);
    expect(more).toMatchObject({ read: 5, resumed: 10, floor: FLOOR });
    expect(more.rows.every((r) => r.pages === 3)).toBe(true);

    // Another model's calibration in the same folder is refused, naming the folder and the fix.
    const other = createOpenAIDecoder({ baseURL: server.baseURL, model: 'other-vlm', apiKey: 'none' });
    await expect(calibrate({ profile: PROFILE, decoder: other, turns, sizes: SIZES, pages: 2, outDir: out, yes: true })).rejects.toThrow(/another run \(decoder openai:fake-vlm, not openai:other-vlm\)\. Pass another output folder/);
  });

  it('Memory.open loads the preset, and compaction then draws larger glyphs at a lower ratio than under a lower floor', async () => {
    const memory = await Memory.open({ path: join(dir, 'probe'), profile: PROFILE, legibility: [preset] });
    expect(memory.legibilityOf(PROFILE)).toMatchObject({ minGlyphPx: FLOOR });
    expect(memory.legibilityOf(PROFILE).source).toMatch(/^Calibrated for fake-vlm/);
    await memory.close();

    const calibrated = await compactFonts(join(dir, 'mem-calibrated'), [preset]);
    const low = await compactFonts(join(dir, 'mem-low'), [{ profile: PROFILE, minGlyphPx: 6 }]);
    expect(Math.min(...calibrated.fontSizes)).toBeGreaterThanOrEqual(FLOOR);
    expect(Math.min(...low.fontSizes)).toBeLessThan(FLOOR);
    expect(calibrated.ratio).toBeLessThan(low.ratio);
  });

  it('refuses bad presets and bad options with typed errors naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ ...preset, format: 'something-else' }, 'legibility.0.format'],
      [{ ...preset, minGlyphPx: -3 }, 'legibility.0.minGlyphPx'],
      [{ ...preset, rows: [{ glyphPx: 9, ratio: 10, pages: 2, fidelity: 1.5 }] }, 'legibility.0.rows.0.fidelity'],
    ];
    for (const [bad, field] of cases) {
      const error = await Memory.open({ path: join(dir, 'bad'), legibility: [bad as LegibilityPreset] }).catch((e: unknown) => e);
      expect(InvalidInputError.isInstance(error), field).toBe(true);
      expect((error as InvalidInputError).field).toBe(field);
      expect((error as Error).message).toContain(`'${field}'`);
    }
    const unknown = await Memory.open({ path: join(dir, 'bad'), legibility: [{ ...preset, profile: 'gpt-99' }] }).catch((e: unknown) => e);
    expect(UnknownProfileError.isInstance(unknown)).toBe(true);
    expect((unknown as Error).message).toMatch(/Unknown vision-token profile 'gpt-99'.*Use one of/);
    expect(() => parseLegibility(preset)).toThrow(/must be an array of calibration presets/);

    const d = decoder();
    const refusals: [Parameters<typeof calibrate>[0], string, RegExp][] = [
      [{ profile: PROFILE, decoder: d, turns, sizes: [2, 8] }, 'options.sizes.0', />= 3 px/],
      [{ profile: PROFILE, decoder: d, turns, pages: 0 }, 'options.pages', /pages must be >= 1/],
      [{ profile: PROFILE, decoder: d, turns, minFidelity: 95 }, 'options.minFidelity', /a fraction, e\.g\. 0\.95/],
      [{ profile: PROFILE, decoder: d, turns, canvas: { width: 1024, height: 1024 } }, 'canvas', /not a deepseek-ocr:tiny canvas\. Use one of: 512x512/],
      [{ profile: PROFILE, decoder: d, turns: [] }, 'turns', /holds no text/],
    ];
    for (const [options, field, message] of refusals) {
      const error = await calibrate(options).catch((e: unknown) => e);
      expect(InvalidInputError.isInstance(error), field).toBe(true);
      expect((error as InvalidInputError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
    await expect(calibrate({ profile: 'gpt-99', decoder: d, turns })).rejects.toSatisfy((e) => UnknownProfileError.isInstance(e));
    // An output folder that is a file is refused before any page is read.
    const from = server.requests.length;
    const unwritable = await calibrate({ profile: PROFILE, decoder: d, turns, outDir: fixture, yes: true }).catch((e: unknown) => e);
    expect((unwritable as InvalidInputError).field).toBe('outDir');
    expect((unwritable as Error).message).toMatch(/conversation-en\.json\/calibration-state\.json: ENOTDIR\. Pass a folder you can write to \(--out\)/);
    expect(server.requests.length).toBe(from);
  });

  it('plants a needle on every page and asks it back in a second request', async () => {
    const expected = plans([0], [8, 12], true);
    const needles = expected.map((p) => needleFor(p.glyphPx, p.page));
    expected.forEach((p, i) => expect(p.sourceText).toContain(needles[i]!.fact));
    // Per page: the transcription, then the answer (wrong below the floor, right from it).
    server.replyOnce(
      { text: garble(expected[0]!.sourceText) },
      { text: 'unknown' },
      { text: expected[1]!.sourceText },
      { text: needles[1]!.answer.split('').join(' ') },
    );
    const from = server.requests.length;
    const d = decoder();
    const asker = createOpenAINeedleAsker({ baseURL: server.baseURL, model: 'fake-vlm', apiKey: 'none', maxRetries: 0 });
    let estimate: { pages: number; requests: number } | undefined;
    const result = await calibrate({ profile: PROFILE, decoder: d, needles: asker, turns, sizes: [8, 12], pages: 1, outDir: join(dir, 'needles'), yes: true, onEstimate: (e) => (estimate = e) });
    await d.close();
    expect(estimate).toMatchObject({ pages: 2, requests: 4 });
    const images = sentImages(from);
    expect(images).toHaveLength(4);
    expect(images[1]).toBe(images[0]);
    expect(JSON.stringify(server.requests[from + 1]!.body)).toContain(needles[0]!.question.slice(0, 60));
    expect(result.rows.map((r) => [r.glyphPx, r.legible, r.needles])).toEqual([
      [8, false, 0],
      [12, true, 1],
    ]);
    expect(result.markdown).toMatch(/\| needle \|/);
    expect(result.pages[1]!.needle).toMatchObject({ found: true });
  });

  it('estimates the cost first and refuses a billed run without confirmation, before any request', async () => {
    const from = server.requests.length;
    const d = decoder();
    const seen: string[] = [];
    const base = { profile: PROFILE, decoder: d, turns, sizes: SIZES, pages: 2, outDir: join(dir, 'unconfirmed'), onEstimate: () => seen.push('estimate') };
    const quiet = await calibrate(base).catch((e: unknown) => e);
    expect(CalibrationBudgetError.isInstance(quiet)).toBe(true);
    expect((quiet as CalibrationBudgetError).field).toBe('yes');
    expect((quiet as Error).message).toMatch(/nobody at a terminal saw the estimate\. Pass --yes/);
    const over = await calibrate({ ...base, interactive: true, maxTokens: 1000, prices: { inputPerMTok: 2.5, outputPerMTok: 10 } }).catch((e: unknown) => e);
    expect((over as Error).message).toMatch(/~[\d,]+ tokens \(~\$\d+\.\d\d\), over the limit of 1,000\. Pass --yes/);
    expect((over as CalibrationBudgetError).estimate.usd).toBeGreaterThan(0);
    // At a terminal, within the limit, the run asks; a no reads nothing.
    const declined = await calibrate({ ...base, interactive: true, confirm: () => false }).catch((e: unknown) => e);
    expect((declined as Error).message).toMatch(/not confirmed, so no page was read/);
    expect(seen).toEqual(['estimate', 'estimate', 'estimate']);
    expect(server.requests.length).toBe(from);
    await d.close();
    // A local reader costs nothing: it needs no confirmation.
    const local = createLocalDecoder({ reader: 'glyph' });
    const free = await calibrate({ profile: PROFILE, decoder: local, turns, sizes: [6, 14], pages: 1 });
    await local.close();
    expect(free).toMatchObject({ read: 2, floor: 6 });
    expect(free.estimate.billed).toBe(false);
  });
});

/** The CLI in this process, with what it writes to stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('opticmem calibrate', () => {
  const out = join(dir, 'cli');
  const args = () => ['calibrate', '--decoder', 'openai', '--base-url', server.baseURL, '--model', 'fake-vlm', '--prompt', 'generic', '--profile', PROFILE, '--out', out, '--pages', '2', '--sizes', SIZES.join(','), '--text', fixture];

  it('prints the estimate first and refuses to spend without --yes when not at a terminal', async () => {
    const from = server.requests.length;
    const r = await cli(args());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Estimate: 10 pages to read on deepseek-ocr:tiny 512x512 \(64 visual tokens a page\)/);
    expect(r.stderr).toMatch(/CalibrationBudgetError: .*nobody at a terminal saw the estimate\. Pass --yes/);
    const over = await cli([...args(), '--max-tokens', '100', '--price-in', '2.5', '--price-out', '10']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/cost +~\$0\.\d\d at the prices given/);
    expect(over.stderr).toMatch(/over the limit of 100\. Pass --yes/);
    expect(server.requests.length).toBe(from);
  });

  it('calibrates with --yes, writes the preset, and a rerun reads nothing', async () => {
    const expected = plans([0, 1]);
    queueReplies(expected);
    const from = server.requests.length;
    const r = await cli([...args(), '--yes']);
    expect(r.code, r.stderr).toBe(0);
    await expectSentPages(from, expected);
    expect(r.stderr).toMatch(/^Estimate: /);
    expect(r.stderr).toContain('  12 px: 2 pages, mean fidelity 100.0%');
    expect(r.stdout).toContain(`Floor: **${FLOOR} px**`);
    const preset = LegibilityPresetSchema.parse(JSON.parse(readFileSync(join(out, 'legibility.json'), 'utf8')));
    expect(preset).toMatchObject({ profile: PROFILE, model: 'fake-vlm', minGlyphPx: FLOOR });
    expect(preset.source).toContain(`chat text from ${fixture}`);

    const again = await cli([...args(), '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(server.requests.length).toBe(from + expected.length);
    expect(JSON.parse(again.stdout)).toMatchObject({ floor: FLOOR, read: 0, resumed: 10 });
    expect(again.stderr).toMatch(/^Estimate: 0 pages to read .*10 already read by an earlier run/);
  });

  it('exits 3 when no size is legible, and 2 on bad flags naming the flag', async () => {
    const expected = plans([0], [6, 8]);
    queueReplies(expected);
    const none = await cli(['calibrate', '--decoder', 'openai', '--base-url', server.baseURL, '--model', 'fake-vlm', '--profile', PROFILE, '--out', join(dir, 'cli-none'), '--pages', '1', '--sizes', '6,8', '--text', fixture, '--yes']);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no glyph size up to 8 px reached a mean fidelity of 95\.0%, so no preset was written\. Add larger sizes/);
    expect(existsSync(join(dir, 'cli-none', 'legibility.json'))).toBe(false);

    const cases: [string[], RegExp][] = [
      [['--sizes', '6,x'], /--sizes must be a comma-separated list .* 'x' is not one/],
      [['--pages', '0'], /--pages must be a whole number >= 1; got '0'/],
      [['--canvas', '100x100'], /'canvas' 100x100 is not a deepseek-ocr:tiny canvas\. Use one of: 512x512/],
      [['--min-fidelity', '95'], /--min-fidelity must be a fraction in \(0, 1\]/],
      [['--text', join(dir, 'missing.txt')], /Cannot read .*missing\.txt/],
    ];
    for (const [extra, message] of cases) {
      const r = await cli([...args(), ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr, extra.join(' ')).toMatch(message);
    }
    const noProfile = await cli(['calibrate', '--out', join(dir, 'x')]);
    expect(noProfile.code).toBe(2);
  });
});
