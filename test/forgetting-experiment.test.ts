import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperimentData } from '../eval/forgetting/dated-conversations.js';
import { runForgettingExperiment, type ForgettingResults } from '../eval/forgetting/experiment.js';
import { alignFitting, pageReference } from '../eval/forgetting/page-reference.js';
import { keepMostRecent } from '../eval/forgetting/recency-truncation.js';
import type { CheckpointRow } from '../eval/forgetting/report.js';
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
    const written = results.conversations.reduce((a, c) => a + c.pagesWritten, 0);
    expect(written).toBeGreaterThan(1);
    for (const row of json.checkpoints) {
      expect(row.pagesWritten).toBe(written);
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

  it('never lets forgetting hold more than no forgetting, nor grow without new input', () => {
    const last = results.settings.checkpointDays.at(-1)!;
    const at = (policy: string) => json.checkpoints.find((r) => r.policy === policy && r.days === last)!;
    const curves = results.settings.policies.filter((p) => p.curve);
    expect(curves.length).toBeGreaterThanOrEqual(4);
    for (const p of curves) {
      expect(at(p.id).tokens).toBeLessThanOrEqual(at('none').tokens);
      const after = json.timeline.filter((t) => t.policy === p.id && t.daysAfterLast > 0).sort((a, b) => a.daysAfterLast - b.daysAfterLast);
      expect(after.length).toBe(results.settings.checkpointDays.length);
      for (let i = 1; i < after.length; i++) expect(after[i]!.tokens).toBeLessThanOrEqual(after[i - 1]!.tokens);
    }
    // The one-day Ebbinghaus curve forgets the fixture's weeks-apart sessions; FSRS keeps more.
    expect(at('fsrs-downsample').pagesHeld).toBeGreaterThan(at('ebbinghaus-downsample').pagesHeld);
  });
});
