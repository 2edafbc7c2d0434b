import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperimentData } from '../eval/forgetting/dated-conversations.js';
import { runForgettingExperiment } from '../eval/forgetting/experiment.js';
import type { ForgettingResults } from '../eval/forgetting/results.js';
import { alignFitting, pageReference } from '../eval/forgetting/page-reference.js';
import { keepMostRecent } from '../eval/forgetting/recency-truncation.js';
import type { CheckpointRow } from '../eval/forgetting/report-rows.js';
import { readPngInfo } from '../renderers/png.js';

describe('page reference alignment', () => {
  it('finds where a page cut inside its first and last turns', () => {
    const turns = [
      { role: 'user', name: 'Ines', content: 'alpha beta gamma delta' },
      { role: 'assistant', content: 'middle turn stays whole' },
      { role: 'user', name: 'Ines', content: 'epsilon zeta eta theta' },
    ];
    // The page holds the end of the first turn and the start of the last, as the planner cuts them.
    const read = 'gamma delta\nAssistant: middle turn stays whole\nInes: epsilon zeta';
    expect(pageReference(read, turns)).toBe('gamma delta Assistant: middle turn stays whole Ines: epsilon zeta');
    // Outside the free zones every source character must be matched or paid for.
    expect(alignFitting('abc', 'xxabcyy', 7, 0)).toEqual({ start: 2, end: 5, distance: 0 });
    expect(alignFitting('abc', 'xxabcyy', 1, 6).distance).toBe(2);
  });

  it('keeps whole most-recent turns within the budget', () => {
    const turns = [
      { id: 'a', tokens: 5, time: 1 },
      { id: 'b', tokens: 4, time: 2 },
      { id: 'c', tokens: 3, time: 3 },
    ];
    expect([...keepMostRecent(turns, 8).kept]).toEqual(['c', 'b']);
    expect(keepMostRecent(turns, 2).tokens).toBe(0);
    expect(keepMostRecent(turns, 100).tokens).toBe(12);
  });

  it('falls back to the repo fixture when the data folder is missing, and says so', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'opticmem-nodata-'));
    try {
      const data = await loadExperimentData({ locomoConversations: 1, memoryBankUsers: { en: 1, zh: 1 } }, { dir: empty });
      expect(data.fixture).toBe(true);
      expect(data.description).toMatch(/holds neither LoCoMo nor MemoryBank/);
      expect(data.conversations[0]!.sessions.length).toBeGreaterThan(3);
      for (const q of data.conversations[0]!.questions) expect(q.evidence.length).toBeGreaterThan(0);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('forgetting experiment on the repo fixture (real LanceDB, renderer and ONNX decoder)', () => {
  let out: string;
  let results: ForgettingResults;
  let json: { checkpoints: CheckpointRow[]; timeline: ForgettingResults['timeline']; samples: ForgettingResults['samples']; summary: string };

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'opticmem-forgetting-eval-'));
    results = await runForgettingExperiment({ quick: true, fixture: true, outDir: out, progress: false, print: false, log: () => {} });
    json = JSON.parse(await readFile(join(out, 'forgetting-quick.json'), 'utf8'));
  }, 150_000);
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('writes the report, the JSON and three charts', async () => {
    const md = await readFile(join(out, 'forgetting-quick.md'), 'utf8');
    expect(md).toMatch(/^# Forgetting-curve experiment \(quick\)/);
    expect(md).toMatch(/Fixture run/);
    for (const heading of ['## Summary', '## At each checkpoint', '## Recency truncation at matched budgets', '## By page age', '## Ladder and rehearsal activity']) {
      expect(md).toContain(heading);
    }
    expect(json.summary.length).toBeGreaterThan(100);
    for (const chart of ['retention', 'tokens', 'recall-vs-tokens']) {
      const info = readPngInfo(new Uint8Array(await readFile(join(out, `forgetting-quick-${chart}.png`))));
      expect(info.width).toBeGreaterThanOrEqual(800);
      expect(info.height).toBeGreaterThanOrEqual(500);
    }
  });

  it('measures every policy at every checkpoint with sane values', () => {
    const { policies, checkpointDays } = results.settings;
    expect(json.checkpoints.length).toBe(policies.length * checkpointDays.length);
    // Each ladder has its own compaction: the policies on it all age the pages it wrote.
    const writtenOn = (ladder: string) => results.conversations.reduce((a, c) => a + c.compactions.find((x) => x.ladder === ladder)!.pagesWritten, 0);
    const written = writtenOn('ratio');
    expect(written).toBeGreaterThan(1);
    for (const row of json.checkpoints) {
      expect(row.pagesWritten).toBe(writtenOn(row.ladder));
      expect(row.pagesHeld).toBeLessThanOrEqual(row.pagesWritten);
      expect(Object.values(row.tiers).reduce((a, b) => a + b, 0)).toBe(written);
      expect(row.retained).toBeGreaterThanOrEqual(0);
      expect(row.retained).toBeLessThanOrEqual(1);
      expect(row.questions).toBeGreaterThan(0);
      // Evidence found by search is evidence still held.
      expect(row.evidenceRecall).toBeLessThanOrEqual(row.evidenceHeld + 1e-9);
    }
    // Pages that are never aged read back as they were written (closed loop to 98%).
    for (const row of json.checkpoints.filter((r) => r.policy === 'none')) {
      expect(row.pagesHeld).toBe(written);
      expect(row.fidelityHeld).toBeGreaterThan(0.95);
    }
    // A fresh decode of a page gives the read stored on it.
    expect(json.samples.length).toBeGreaterThan(0);
    for (const s of json.samples) expect(s.agrees).toBe(true);
  });

  it('writes Base pages for the ratio ladder and Gundam pages for the mode ladder, and reports the ratio each tier holds', () => {
    expect(results.settings.profile).toBe('deepseek-ocr:base');
    expect(results.settings.policies.some((p) => p.ladder === 'deepseek-modes')).toBe(true);
    for (const c of results.conversations) {
      const ratio = c.compactions.find((x) => x.ladder === 'ratio')!;
      const modes = c.compactions.find((x) => x.ladder === 'deepseek-modes')!;
      expect(Object.keys(ratio.profiles)).toEqual(['deepseek-ocr:base']);
      expect(Object.keys(modes.profiles)).toEqual(['deepseek-ocr:gundam']);
      // Gundam pages start with at least two tiles: more tokens than Large, so its first step shrinks.
      expect(modes.pageVisualTokens / modes.pagesWritten).toBeGreaterThan(400);
    }
    for (const row of json.checkpoints) {
      for (const [tier, n] of Object.entries(row.tiers)) {
        if (tier === 'dropped') continue;
        expect(n).toBeGreaterThan(0);
        expect(row.tierRatios[tier]).toBeGreaterThan(0);
        expect(Number.isFinite(row.tierRatios[tier])).toBe(true);
      }
    }
  });

  it('counts a move as a re-encoding only when the image got smaller, on a canvas of the ladder', () => {
    const ratioCanvases = new Set(['deepseek-ocr:base', 'deepseek-ocr:small', 'deepseek-ocr:tiny']);
    const tokens: Record<string, number> = { 'deepseek-ocr:large': 400, 'deepseek-ocr:base': 256, 'deepseek-ocr:small': 100, 'deepseek-ocr:tiny': 64 };
    let shrinks = 0;
    for (const a of results.activity) {
      const policy = results.settings.policies.find((p) => p.id === a.policy)!;
      expect(a.steps.reduce((x, t) => x + t.moves, 0)).toBe(a.moves);
      expect(a.steps.filter((t) => t.strategy !== 'kept').reduce((x, t) => x + t.moves, 0)).toBe(a.shrinks);
      for (const t of a.steps) {
        if (t.strategy === 'kept') {
          expect(t.profileAfter).toBe(t.profileBefore);
          continue;
        }
        expect(t.profileAfter).not.toBe(t.profileBefore);
        if (policy.ladder === 'deepseek-modes') expect(t.profileAfter).toBe(`deepseek-ocr:${t.to}`);
        else expect(ratioCanvases.has(t.profileAfter)).toBe(true);
        if (t.profileBefore !== 'deepseek-ocr:gundam') expect(tokens[t.profileAfter]!).toBeLessThan(tokens[t.profileBefore]!);
      }
      shrinks += a.shrinks;
    }
    expect(shrinks).toBeGreaterThan(0);
    // A held page smaller than written was re-encoded by its policy.
    for (const snap of results.snapshots) {
      const a = results.activity.find((x) => x.policy === snap.policy)!;
      if (snap.pages.some((p) => p.held && p.visualTokens < p.writtenVisualTokens)) expect(a.shrinks).toBeGreaterThan(0);
    }
  });

  it('never lets forgetting hold more than no forgetting, nor grow without new input', () => {
    const last = results.settings.checkpointDays.at(-1)!;
    const at = (policy: string) => json.checkpoints.find((r) => r.policy === policy && r.days === last)!;
    const curves = results.settings.policies.filter((p) => p.curve);
    expect(curves.filter((p) => !p.ladder).length).toBeGreaterThanOrEqual(4);
    for (const p of curves) {
      // No forgetting holds the ratio ladder's pages; a mode-ladder policy is held to its own (Gundam) pages unaged.
      if (!p.ladder) expect(at(p.id).tokens).toBeLessThanOrEqual(at('none').tokens);
      expect(at(p.id).vsUnaged).toBeLessThanOrEqual(1);
      const after = json.timeline.filter((t) => t.policy === p.id && t.daysAfterLast > 0).sort((a, b) => a.daysAfterLast - b.daysAfterLast);
      expect(after.length).toBe(results.settings.checkpointDays.length);
      for (let i = 1; i < after.length; i++) expect(after[i]!.tokens).toBeLessThanOrEqual(after[i - 1]!.tokens);
    }
    // The one-day Ebbinghaus curve forgets the fixture's weeks-apart sessions; FSRS keeps more.
    expect(at('fsrs-downsample').pagesHeld).toBeGreaterThan(at('ebbinghaus-downsample').pagesHeld);
  });
});
