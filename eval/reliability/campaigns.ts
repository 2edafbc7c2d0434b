/**
 * Reliability campaigns, each bounded and repeatable with a seed:
 *   crash      SIGKILL `opticmem compress` at random moments, run it again to the end, and audit:
 *              every message held exactly once, the store reopens, `check` finds nothing;
 *   fuzz       generated inputs (fast-check) through the public Memory API: every call succeeds
 *              or throws a typed OpticMemError naming a field; a refused call changes nothing;
 *   isolation  randomized adds, recalls, contexts, exports and deletes over scopes with hostile
 *              ids: no call returns or touches a row of another scope.
 * Used by `npm run eval:reliability` (full sizes) and by the test suite (quick sizes).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Memory } from '../../memory/memory.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { OpticMemError } from '../../src/errors.js';
import { packageRoot } from '../../src/internal/package-root.js';
import { seededRandom } from '../../src/internal/random.js';

/** A small deterministic random source (mulberry32). */
export const random = seededRandom;

export interface CrashResult {
  readonly kills: number;
  /** Kills that landed before compress finished (the others found it done). */
  readonly landed: number;
  readonly messages: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly failedReopens: number;
  readonly checkProblems: number;
}

const bin = () => join(packageRoot(), 'bin', 'opticmem.js');

function runCompress(args: string[], killAfterMs?: number): Promise<{ code: number | null; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin(), ...args], { stdio: 'ignore' });
    let killed = false;
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => ((killed = child.kill('SIGKILL')), undefined), killAfterMs);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, killed: killed && code === null });
    });
  });
}

/** Kill `opticmem compress` at random moments, resume it, and audit the store each time. */
export async function crashCampaign(options: { kills: number; seed: number; messages?: number; onKill?: (i: number, r: CrashResult) => void }): Promise<CrashResult> {
  const rand = random(options.seed);
  const n = options.messages ?? 60;
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-crash-'));
  const log = join(dir, 'chat.jsonl');
  await writeFile(log, Array.from({ length: n }, (_, i) => JSON.stringify({ role: i % 2 ? 'assistant' : 'user', content: `Message ${i}: the ferry to island ${i % 7} leaves at ${8 + (i % 10)}:30 and the ticket costs ${10 + i} euros.` })).join('\n'));
  let totals = { kills: 0, landed: 0, messages: 0, lost: 0, duplicated: 0, failedReopens: 0, checkProblems: 0 };
  try {
    // One undisturbed run gives the time window kills are drawn from.
    const t0 = performance.now();
    await runCompress(['compress', log, '--db', join(dir, 'timing'), '--user', 'u', '--hot-budget', '300']);
    const window = performance.now() - t0;
    for (let i = 0; i < options.kills; i++) {
      const db = join(dir, `db${i}`);
      const { killed } = await runCompress(['compress', log, '--db', db, '--user', 'u', '--hot-budget', '300'], Math.floor(rand() * window));
      // Resume: the same command to the end.
      const resumed = await runCompress(['compress', log, '--db', db, '--user', 'u', '--hot-budget', '300']);
      let audit = { lost: n, duplicated: 0, failedReopen: 1, problems: 0 };
      if (resumed.code === 0) audit = await auditStore(db, n).catch(() => audit);
      totals = {
        kills: totals.kills + 1, landed: totals.landed + (killed ? 1 : 0), messages: totals.messages + n, lost: totals.lost + audit.lost, duplicated: totals.duplicated + audit.duplicated,
        failedReopens: totals.failedReopens + audit.failedReopen, checkProblems: totals.checkProblems + audit.problems,
      };
      options.onKill?.(i, totals);
      await rm(db, { recursive: true, force: true });
    }
    return totals;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function auditStore(db: string, n: number): Promise<{ lost: number; duplicated: number; failedReopen: number; problems: number }> {
  const memory = await Memory.open({ path: db, autoCompact: false });
  try {
    const { turns, pages } = await memory.list({ userId: 'u' });
    const contents = new Map<string, number>();
    const bump = (c: string) => contents.set(c, (contents.get(c) ?? 0) + 1);
    for (const t of turns) bump(t.content.slice(0, 12));
    const byBatch = new Map<string, Set<number>>();
    for (const p of pages) for (const t of p.turnIds) byBatch.set(t, (byBatch.get(t) ?? new Set()).add(p.createdAt));
    for (const [, batches] of byBatch) for (let k = 0; k < batches.size; k++) bump('paged');
    const hotIds = new Set(turns.map((t) => t.id));
    const pagedIds = new Set(byBatch.keys());
    const held = hotIds.size + pagedIds.size;
    const duplicated = [...hotIds].filter((id) => pagedIds.has(id)).length + [...byBatch.values()].filter((b) => b.size > 1).length + [...contents].filter(([k, v]) => k !== 'paged' && v > 1).length;
    const report = await memory.check();
    return { lost: Math.max(0, n - held), duplicated, failedReopen: 0, problems: report.problems.length };
  } finally {
    await memory.close();
  }
}

export interface FuzzResult {
  readonly inputs: number;
  readonly accepted: number;
  readonly refused: number;
  /** Thrown values that were not OpticMemError, or refusals that named no field / changed the store. */
  readonly untyped: number;
  readonly changedOnRefusal: number;
  readonly examples: readonly string[];
}

const anyValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.anything(), { maxKeys: 3 }),
);
const scopeValue = fc.oneof(anyValue, fc.record({ userId: anyValue, agentId: anyValue, sessionId: anyValue }, { requiredKeys: [] }), fc.record({ userId: fc.string({ minLength: 1 }) }));
const messageValue = fc.oneof(
  anyValue,
  fc.record({ role: fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool', 'wizard'), anyValue), content: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), anyValue), name: anyValue, id: anyValue, createdAt: anyValue }, { requiredKeys: ['role'] }),
);
const call = fc.oneof(
  fc.tuple(fc.constant('add'), fc.oneof(messageValue, fc.array(messageValue, { maxLength: 4 })), scopeValue),
  fc.tuple(fc.constant('recall'), anyValue, fc.oneof(anyValue, fc.record({ scope: scopeValue, k: anyValue, as: anyValue, mode: anyValue }, { requiredKeys: ['scope'] }))),
  fc.tuple(fc.constant('buildContext'), fc.oneof(anyValue, fc.record({ scope: scopeValue, budgetTokens: anyValue, consumer: anyValue, query: anyValue }, { requiredKeys: ['scope'] })), fc.constant(undefined)),
  fc.tuple(fc.constant('list'), scopeValue, fc.oneof(anyValue, fc.record({ limit: anyValue }))),
  fc.tuple(fc.constant('export'), scopeValue, fc.constant(undefined)),
  fc.tuple(fc.constant('import'), fc.oneof(anyValue, fc.record({ version: anyValue, turns: anyValue, pages: anyValue })), fc.constant(undefined)),
  fc.tuple(fc.constant('compact'), scopeValue, fc.oneof(anyValue, fc.record({ keepTokens: anyValue, all: anyValue }))),
);

/** Generated calls through the Memory API: success or a typed error naming a field, and a refused call changes nothing. */
export async function fuzzCampaign(options: { inputs: number; seed: number; decoder?: Decoder }): Promise<FuzzResult> {
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-fuzz-'));
  const memory = await Memory.open({ path: dir, autoCompact: false, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 200 }, ...(options.decoder ? { decoder: options.decoder } : {}) });
  let accepted = 0;
  let refused = 0;
  let untyped = 0;
  let changed = 0;
  const examples: string[] = [];
  try {
    const samples = fc.sample(call, { numRuns: options.inputs, seed: options.seed });
    for (const [name, a, b] of samples) {
      const before = await memory.store.counts();
      try {
        const m = memory as unknown as Record<string, (x: unknown, y: unknown) => Promise<unknown>>;
        await m[name]!.call(memory, a, b);
        accepted++;
      } catch (error) {
        refused++;
        const typed = OpticMemError.isInstance(error) && (error.field !== undefined || error.code !== 'invalid_input');
        if (!typed) {
          untyped++;
          if (examples.length < 10) examples.push(`${name}(${safeJson(a)}, ${safeJson(b)}): ${String((error as Error)?.stack ?? error).slice(0, 300)}`);
        }
        const after = await memory.store.counts();
        if (after.turns !== before.turns || after.pages !== before.pages) changed++;
      }
    }
    return { inputs: samples.length, accepted, refused, untyped, changedOnRefusal: changed, examples };
  } finally {
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function safeJson(v: unknown): string {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 120);
  } catch {
    return String(v).slice(0, 120);
  }
}

export interface IsolationResult {
  readonly calls: number;
  readonly scopes: number;
  /** Rows of another scope returned, or rows of another scope gone after a call. */
  readonly leaks: number;
}

const HOSTILE = ["o'brien", 'x" OR 1=1 --', '%', '_', '*?', 'a\\b', 'ü-ñ-日本', '🙂', "'; DROP TABLE turns; --", 'u1', 'U1', 'u1 ', ' u1', 'null', 'undefined', '0', 'a/b', 'a.b', "it's", '[]'];

/** Random calls over scopes with hostile ids; every returned row is the caller's, and no call touches another scope's rows. */
export async function isolationCampaign(options: { calls: number; seed: number; decoder?: Decoder }): Promise<IsolationResult> {
  const rand = random(options.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-isolation-'));
  const memory = await Memory.open({ path: dir, autoCompact: false, profile: 'deepseek-ocr:small', ...(options.decoder ? { decoder: options.decoder } : {}) });
  const scopes = HOSTILE.map((userId, i) => (i % 3 === 0 ? { userId } : i % 3 === 1 ? { userId, sessionId: pick(HOSTILE) } : { userId, agentId: pick(HOSTILE) }));
  const key = (s: { userId?: string; agentId?: string; sessionId?: string }) => JSON.stringify([s.userId ?? '', s.agentId ?? '', s.sessionId ?? '']);
  const owned = new Map<string, Set<string>>(); // scope -> turn ids it should hold
  let leaks = 0;
  try {
    for (let i = 0; i < options.calls; i++) {
      const s = pick(scopes);
      const k = key(s);
      const mine = (row: { userId: string; agentId: string; sessionId: string }) => key(row) === k;
      const op = rand();
      if (op < 0.35) {
        const r = await memory.add({ role: 'user', content: `note ${i} for ${s.userId}: ${pick(HOSTILE)}` }, s);
        owned.set(k, new Set([...(owned.get(k) ?? []), ...r.turnIds]));
      } else if (op < 0.55) {
        const { turns, pages } = await memory.list(s);
        leaks += turns.filter((t) => !mine(t)).length + pages.filter((p) => !mine(p)).length;
      } else if (op < 0.7) {
        const doc = await memory.export(s);
        leaks += doc.turns.filter((t) => !mine(t)).length + doc.pages.filter((p) => !mine(p)).length;
      } else if (op < 0.85) {
        const ctx = await memory.buildContext({ scope: s, budgetTokens: 4000, consumer: 'text' });
        const text = ctx.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
        for (const other of scopes) if (key(other) !== k && text.includes(`for ${other.userId}:`) && other.userId !== s.userId) leaks++;
      } else if (op < 0.95) {
        await memory.recall(pick(HOSTILE), { scope: s, k: 3, rehearse: false });
      } else {
        await memory.delete(s);
        owned.delete(k);
      }
      // Every other scope still holds exactly what it was given.
      if (i % 25 === 0 || op >= 0.95) {
        for (const other of scopes) {
          const ok = key(other);
          if (ok === k) continue;
          const held = new Set((await memory.list(other)).turns.map((t) => t.id));
          for (const id of owned.get(ok) ?? []) if (!held.has(id)) leaks++;
        }
      }
    }
    return { calls: options.calls, scopes: scopes.length, leaks };
  } finally {
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
}
