/**
 * Crash campaign: processes that write a store are SIGKILLed inside each phase that writes, then
 * the same work is run again to the end and the store audited. The phases are traced
 * (OPTICMEM_PHASE_TRACE, src/internal/phase-trace.ts): a kill is aimed at a phase (it lands a
 * few milliseconds after one of the phase's first three entries, counted in an uninterrupted
 * run) and the phase it landed in is read from the trace. Workloads:
 *   compress   `opticmem compress` of a chat log (adding turns, rendering, verifying, committing
 *              pages, removing replaced turns); audit: every message held exactly once;
 *   background adds one message at a time through the Memory API with background compaction;
 *              audit as compress;
 *   age        `opticmem age` 400 days ahead on a compacted store (ageing, committing pages);
 *   rerender   the same with `--strategy rerender` (pages drawn again from their text);
 *   forget     the same 4000 days ahead (dropping pages); audit for all three: the same pages,
 *              tiers and sizes as an uninterrupted run;
 *   import     `opticmem import` of an export (import); audit: every turn and page once.
 * After every run: the store reopens and `check` finds no problem.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory } from '../../memory/memory.js';
import { packageRoot } from '../../src/internal/package-root.js';
import type { Phase } from '../../src/internal/phase-trace.js';
import { seededRandom } from '../../src/internal/random.js';

export type Workload = 'compress' | 'background' | 'age' | 'rerender' | 'forget' | 'import';

/** Each workload and the phases a kill is aimed at in it. */
export const TARGETS: readonly { readonly workload: Workload; readonly phase: Phase }[] = [
  { workload: 'compress', phase: 'adding turns' },
  { workload: 'compress', phase: 'rendering' },
  { workload: 'compress', phase: 'verifying' },
  { workload: 'compress', phase: 'committing pages' },
  { workload: 'compress', phase: 'removing replaced turns' },
  { workload: 'background', phase: 'background compaction' },
  { workload: 'age', phase: 'ageing' },
  { workload: 'age', phase: 'committing pages' },
  { workload: 'rerender', phase: 'ageing' },
  { workload: 'rerender', phase: 'committing pages' },
  { workload: 'forget', phase: 'dropping pages' },
  { workload: 'import', phase: 'import' },
];

export interface PhaseRow {
  readonly workload: Workload;
  /** The phase the kill landed in ('finished' when the work ended before the kill). */
  readonly phase: string;
  kills: number;
  lost: number;
  duplicated: number;
  failedReopens: number;
  checkProblems: number;
}

export interface CrashResult {
  readonly kills: number;
  /** Kills that landed before the work finished. */
  readonly landed: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly failedReopens: number;
  readonly checkProblems: number;
  readonly byPhase: readonly PhaseRow[];
}

const MESSAGES = 48;
const USER = 'u';

function message(i: number): { id: string; role: 'user' | 'assistant'; content: string } {
  return { id: `m${i}`, role: i % 2 ? 'assistant' : 'user', content: `Message ${i}: the ferry to island ${i % 7} leaves at ${8 + (i % 10)}:30 and the ticket costs ${10 + i} euros.` };
}

/** Run a command; with `aim`, SIGKILL it a few ms after the trace shows the phase for the `nth` time. Returns the phase the kill landed in. */
function runKilled(command: string[], trace: string, aim?: { phase: Phase; nth: number; delayMs: number }): Promise<{ code: number | null; landed?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, command, { stdio: 'ignore', env: { ...process.env, OPTICMEM_PHASE_TRACE: trace } });
    let landed: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (aim) {
      timer = setInterval(() => {
        void readFile(trace, 'utf8')
          .then((text) => {
            const lines = text.split('\n').filter(Boolean);
            if (landed !== undefined || lines.filter((l) => l === aim.phase).length < aim.nth) return;
            landed = aim.phase;
            clearInterval(timer);
            setTimeout(() => {
              void readFile(trace, 'utf8').then((t) => {
                const all = t.split('\n').filter(Boolean);
                landed = all[all.length - 1] ?? aim.phase;
                child.kill('SIGKILL');
              });
            }, aim.delayMs);
          })
          .catch(() => undefined);
      }, 2);
    }
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, ...(signal === 'SIGKILL' && landed ? { landed } : {}) });
    });
  });
}

interface Audit {
  lost: number;
  duplicated: number;
  failedReopen: number;
  problems: number;
}

/** Every message held exactly once (hot or on one page), and `check` clean. */
async function auditMessages(db: string): Promise<Audit> {
  const memory = await Memory.open({ path: db, autoCompact: false });
  try {
    const { turns, pages } = await memory.list({ userId: USER });
    const held = new Map<string, number>();
    for (const t of turns) held.set(t.content, (held.get(t.content) ?? 0) + 1);
    const paged = new Map<string, number>();
    for (const p of pages) for (const id of p.turnIds) paged.set(id, (paged.get(id) ?? 0) + 1);
    const hotIds = new Set(turns.map((t) => t.id));
    let duplicated = [...held.values()].filter((n) => n > 1).length + [...paged.values()].filter((n) => n > 1).length + [...hotIds].filter((id) => paged.has(id)).length;
    const count = hotIds.size + paged.size;
    if (count > MESSAGES) duplicated += count - MESSAGES;
    const report = await memory.check();
    return { lost: Math.max(0, MESSAGES - count), duplicated, failedReopen: 0, problems: report.problems.length };
  } finally {
    await memory.close();
  }
}

/** The pages of the store as (id, tier, visual tokens), sorted: ageing's outcome. */
async function pageState(db: string): Promise<string[]> {
  const memory = await Memory.open({ path: db, autoCompact: false, readOnly: true });
  try {
    return (await memory.list({ userId: USER })).pages.map((p) => `${p.id}|${p.tier}|${p.visualTokens}`).sort();
  } finally {
    await memory.close();
  }
}

export async function crashCampaign(options: { kills: number; seed: number; targets?: readonly (typeof TARGETS)[number][]; onKill?: (i: number, target: string, landed: string) => void }): Promise<CrashResult> {
  const targets = options.targets ?? TARGETS;
  const rand = seededRandom(options.seed);
  const root = await mkdtemp(join(tmpdir(), 'opticmem-crash-'));
  const bin = join(packageRoot(), 'bin', 'opticmem.js');
  const worker = join(packageRoot(), 'eval', 'reliability', 'add-worker.ts');
  const log = join(root, 'chat.jsonl');
  await writeFile(log, Array.from({ length: MESSAGES }, (_, i) => JSON.stringify(message(i))).join('\n'));
  const compressAt = (profile: string) => (db: string) => [bin, 'compress', log, '--db', db, '--user', USER, '--hot-budget', '300', '--profile', profile];
  const compress = compressAt('deepseek-ocr:tiny');
  const background = (db: string) => ['--import', 'tsx', worker, db, log];
  const ageBy = (days: number, strategy: 'downsample' | 'rerender' = 'downsample') => {
    const now = new Date(Date.now() + days * 86_400_000).toISOString();
    return (db: string) => [bin, 'age', '--db', db, '--now', now, '--strategy', strategy];
  };
  const age = ageBy(400);
  const rerender = ageBy(400, 'rerender');
  const forget = ageBy(4000);
  // Templates: a compacted store for ageing (Base pages, which ageing can shrink) and its
  // uninterrupted outcome, an export for import; and how often each phase occurs in each
  // workload run to the end, so a kill can be aimed at any occurrence.
  const compacted = join(root, 'compacted');
  await runKilled(compressAt('deepseek-ocr:base')(compacted), join(root, 'trace-setup'));
  const agedStates = new Map<Workload, string[]>();
  // Only the workloads aimed at are prepared (a reference run each costs as much as a kill).
  const used = new Set(targets.map((t) => t.workload));
  for (const [workload, command] of [['age', age], ['rerender', rerender], ['forget', forget]] as const) {
    if (!used.has(workload)) continue;
    const reference = join(root, `reference-${workload}`);
    await cp(compacted, reference, { recursive: true });
    await runKilled(command(reference), join(root, `trace-count-${workload}`));
    agedStates.set(workload, await pageState(reference));
  }
  const doc = join(root, 'export.json');
  const m = await Memory.open({ path: compacted, autoCompact: false, readOnly: true });
  await writeFile(doc, JSON.stringify(await m.export({ userId: USER })));
  const docCounts = await m.list({ userId: USER });
  await m.close();
  const importCmd = (db: string) => [bin, 'import', doc, '--db', db];
  const commands = { compress, background, age, rerender, forget, import: importCmd };
  const occurrences = new Map<Workload, Map<string, number>>();
  for (const workload of ['compress', 'background', 'age', 'rerender', 'forget', 'import'] as const) {
    if (!used.has(workload)) continue;
    const trace = join(root, `trace-count-${workload}`);
    if (!agedStates.has(workload)) await runKilled(commands[workload](join(root, `count-${workload}`)), trace);
    const counts = new Map<string, number>();
    for (const line of (await readFile(trace, 'utf8').catch(() => '')).split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
    occurrences.set(workload, counts);
  }

  const rows = new Map<string, PhaseRow>();
  let landedKills = 0;
  try {
    for (let i = 0; i < options.kills; i++) {
      const target = targets[i % targets.length]!;
      const db = join(root, `db${i}`);
      const trace = join(root, `trace${i}`);
      if (agedStates.has(target.workload)) await cp(compacted, db, { recursive: true });
      const command = commands[target.workload](db);
      const times = occurrences.get(target.workload)?.get(target.phase) ?? 1;
      const killed = await runKilled(command, trace, { phase: target.phase, nth: 1 + Math.floor(rand() * Math.min(3, times)), delayMs: Math.floor(rand() * 25) });
      const landed = killed.landed ?? 'finished';
      if (killed.landed) landedKills++;
      // The same work again, to the end.
      const resumed = await runKilled(command, `${trace}-resume`);
      let audit: Audit = { lost: 0, duplicated: 0, failedReopen: 1, problems: 0 };
      if (resumed.code === 0) {
        audit = await (async (): Promise<Audit> => {
          if (target.workload === 'compress' || target.workload === 'background') return auditMessages(db);
          const memory = await Memory.open({ path: db, autoCompact: false });
          try {
            const problems = (await memory.check()).problems.length;
            const { turns, pages } = await memory.list({ userId: USER });
            if (target.workload === 'import') {
              const dup = turns.length - new Set(turns.map((t) => t.id)).size + pages.length - new Set(pages.map((p) => p.id)).size;
              return { lost: Math.max(0, docCounts.turns.length - new Set(turns.map((t) => t.id)).size) + Math.max(0, docCounts.pages.length - new Set(pages.map((p) => p.id)).size), duplicated: dup, failedReopen: 0, problems };
            }
            // Ageing: the same outcome as an uninterrupted run.
            const state = pages.map((p) => `${p.id}|${p.tier}|${p.visualTokens}`).sort();
            const expected = agedStates.get(target.workload)!;
            const missing = expected.filter((s) => !state.includes(s)).length;
            const extra = state.filter((s) => !expected.includes(s)).length;
            return { lost: missing, duplicated: extra, failedReopen: 0, problems };
          } finally {
            await memory.close();
          }
        })().catch(() => ({ lost: 0, duplicated: 0, failedReopen: 1, problems: 0 }));
      }
      const key = `${target.workload}|${landed}`;
      const row = rows.get(key) ?? { workload: target.workload, phase: landed, kills: 0, lost: 0, duplicated: 0, failedReopens: 0, checkProblems: 0 };
      rows.set(key, row);
      row.kills++;
      row.lost += audit.lost;
      row.duplicated += audit.duplicated;
      row.failedReopens += audit.failedReopen;
      row.checkProblems += audit.problems;
      options.onKill?.(i, `${target.workload}: ${target.phase}`, landed);
      await rm(db, { recursive: true, force: true });
    }
    const byPhase = [...rows.values()].sort((a, b) => a.workload.localeCompare(b.workload) || a.phase.localeCompare(b.phase));
    const sum = (f: (r: PhaseRow) => number) => byPhase.reduce((a, r) => a + f(r), 0);
    return { kills: options.kills, landed: landedKills, lost: sum((r) => r.lost), duplicated: sum((r) => r.duplicated), failedReopens: sum((r) => r.failedReopens), checkProblems: sum((r) => r.checkProblems), byPhase };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
