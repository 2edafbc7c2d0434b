/**
 * Reliability campaigns, each bounded and repeatable with a seed (crash.ts, cli-fuzz.ts and
 * corruption.ts hold the others):
 *   fuzz       generated inputs (fast-check) through the public Memory API: every call succeeds
 *              or throws a typed OpticMemError naming a field; a refused call changes nothing;
 *   isolation  randomized adds, recalls, contexts, exports and deletes over scopes with hostile
 *              ids: no call returns or touches a row of another scope.
 * Used by `npm run eval:reliability` (full sizes) and by the test suite (quick sizes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Memory } from '../../memory/memory.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { OpticMemError } from '../../src/errors.js';
import { seededRandom } from '../../src/internal/random.js';


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
      const r = await tryCall(memory, name, a, b);
      if (r.outcome === 'accepted') accepted++;
      else refused++;
      if (r.outcome === 'untyped') {
        untyped++;
        // In the corpus's form (test/fixtures/fuzz-corpus.json), ready to keep as a regression test.
        if (examples.length < 10) examples.push(`${JSON.stringify({ note: r.error.slice(0, 200), call: [name, a, b] })}`);
      }
      if (r.changed) changed++;
    }
    return { inputs: samples.length, accepted, refused, untyped, changedOnRefusal: changed, examples };
  } finally {
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export type CallOutcome = { outcome: 'accepted'; changed: false } | { outcome: 'refused'; field: string | undefined; changed: boolean } | { outcome: 'untyped'; error: string; changed: boolean };

/**
 * One call through the Memory API, judged as the fuzz campaign judges it: accepted, refused with
 * a typed error (an OpticMemError naming a field, or of a kind other than invalid input), or
 * anything else; and whether a refused call changed the store's counts.
 */
export async function tryCall(memory: Memory, name: string, a: unknown, b: unknown): Promise<CallOutcome> {
  const before = await memory.store.counts();
  try {
    const m = memory as unknown as Record<string, (x: unknown, y: unknown) => Promise<unknown>>;
    if (typeof m[name] !== 'function') throw new TypeError(`no method ${name}`);
    await m[name]!.call(memory, a, b);
    return { outcome: 'accepted', changed: false };
  } catch (error) {
    const after = await memory.store.counts();
    const changed = after.turns !== before.turns || after.pages !== before.pages;
    const typed = OpticMemError.isInstance(error) && (error.field !== undefined || error.code !== 'invalid_input');
    if (typed) return { outcome: 'refused', field: (error as OpticMemError).field, changed };
    return { outcome: 'untyped', error: `${name}(${safeJson(a)}, ${safeJson(b)}): ${String((error as Error)?.stack ?? error).slice(0, 300)}`, changed };
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
  const rand = seededRandom(options.seed);
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
