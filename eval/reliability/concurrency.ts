/**
 * Concurrency campaign: four worker processes on one store at once, each adding its own messages
 * one at a time with background compaction while recalling (which writes rehearsals), building
 * contexts and ageing pages (downsample and re-render, 400 days ahead) — all in the same scope,
 * or each in its own. After each run: every message held exactly once (hot or on one page), no
 * page of one scope holding another's turns, `check` clean, and the errors the workers met.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory } from '../../memory/memory.js';
import { packageRoot } from '../../src/internal/package-root.js';

export const WORKERS = 4;
export const MODES = ['same scope', 'distinct scopes'] as const;
export type Mode = (typeof MODES)[number];

export interface ConcurrencyRow {
  readonly mode: Mode;
  readonly runs: number;
  readonly messages: number;
  readonly pages: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Pages holding turns of a scope other than their own. */
  readonly misplaced: number;
  readonly checkProblems: number;
  /** Errors workers met (each call that failed), and workers that exited non-zero. */
  readonly errors: number;
  readonly crashedWorkers: number;
  readonly examples: readonly string[];
}

const message = (w: number, i: number) => ({
  id: `w${w}-m${i}`,
  role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
  content: `Worker ${w} message ${i}: the ferry to island ${i % 7} leaves at ${8 + (i % 10)}:30 from pier ${w}, tickets ${10 + i} euros.`,
});

function runWorker(db: string, job: string): Promise<{ code: number | null; errors: string[]; stderr: string }> {
  const worker = join(packageRoot(), 'eval', 'reliability', 'mix-worker.ts');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, db, job], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      let errors: string[] = [];
      try {
        errors = (JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { errors?: string[] }).errors ?? [];
      } catch {
        // no result line: counted as a crashed worker
      }
      resolve({ code, errors, stderr: err.slice(-1000) });
    });
  });
}

/** Every message once, in the scope it was added to; `check` clean. */
async function audit(db: string, expected: ReadonlyMap<string, string>): Promise<{ lost: number; duplicated: number; misplaced: number; pages: number; checkProblems: number }> {
  const memory = await Memory.open({ path: db, autoCompact: false });
  try {
    const held = new Map<string, number>();
    let misplaced = 0;
    let pages = 0;
    for (const userId of new Set(expected.values())) {
      const listed = await memory.list({ userId });
      pages += listed.pages.length;
      for (const t of listed.turns) held.set(t.id, (held.get(t.id) ?? 0) + 1);
      for (const p of listed.pages) {
        for (const id of p.turnIds) held.set(id, (held.get(id) ?? 0) + 1);
        if (p.turnIds.some((id) => expected.get(id) !== userId)) misplaced++;
      }
    }
    const lost = [...expected.keys()].filter((id) => !held.has(id)).length;
    const duplicated = [...held.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const report = await memory.check();
    return { lost, duplicated, misplaced, pages, checkProblems: report.problems.length };
  } finally {
    await memory.close();
  }
}

export async function concurrencyCampaign(options: { runs: number; messages: number; onRun?: (mode: Mode, run: number, line: string) => void }): Promise<ConcurrencyRow[]> {
  const rows: ConcurrencyRow[] = [];
  for (const mode of MODES) {
    const row = { mode, runs: 0, messages: 0, pages: 0, lost: 0, duplicated: 0, misplaced: 0, checkProblems: 0, errors: 0, crashedWorkers: 0, examples: [] as string[] };
    for (let run = 0; run < options.runs; run++) {
      const root = await mkdtemp(join(tmpdir(), 'opticmem-concurrency-'));
      try {
        const db = join(root, 'store');
        // Create the store's tables once, so the workers race on their content, not their creation.
        await (await Memory.open({ path: db, autoCompact: false })).close();
        const expected = new Map<string, string>();
        const jobs: string[] = [];
        for (let w = 0; w < WORKERS; w++) {
          const userId = mode === 'same scope' ? 'team' : `worker-${w}`;
          const messages = Array.from({ length: options.messages }, (_, i) => message(w, i));
          for (const m of messages) expected.set(m.id, userId);
          const job = join(root, `job-${w}.json`);
          await writeFile(job, JSON.stringify({ userId, worker: w, messages, everyMessages: 8 }));
          jobs.push(job);
        }
        const outs = await Promise.all(jobs.map((job) => runWorker(db, job)));
        const a = await audit(db, expected);
        const errors = outs.flatMap((o) => o.errors);
        const crashed = outs.filter((o) => o.code !== 0);
        row.runs++;
        row.messages += expected.size;
        row.pages += a.pages;
        row.lost += a.lost;
        row.duplicated += a.duplicated;
        row.misplaced += a.misplaced;
        row.checkProblems += a.checkProblems;
        row.errors += errors.length;
        row.crashedWorkers += crashed.length;
        for (const e of [...errors, ...crashed.map((c) => `worker exited ${c.code}: ${c.stderr}`)]) if (row.examples.length < 10) row.examples.push(e);
        options.onRun?.(mode, run, `${a.pages} pages, lost ${a.lost}, duplicated ${a.duplicated}, misplaced ${a.misplaced}, check ${a.checkProblems}, errors ${errors.length}, crashed ${crashed.length}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }
    rows.push(row);
  }
  return rows;
}
