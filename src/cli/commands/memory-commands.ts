/** `opticmem compress`, `recall` and `stats`: the memory layer from the shell. */
import { createHash } from 'node:crypto';
import { storeLocation } from '../../internal/store-location.js';
import { Memory } from '../../../memory/memory.js';
import { parseMessages } from '../../../memory/messages.js';
import { openLanceStore } from '../../../memory/store/index.js';
import { spanWithinUser } from '../../../memory/scope.js';
import type { Scope } from '../../../memory/store/store.js';
import { InvalidInputError } from '../../errors.js';
import { requireExistingStore } from '../existing-store.js';
import { readInput } from '../read-chat.js';
import { followProgress, pct, printJson, printTable, progressBar } from '../output.js';
import { storedScope } from '../../../memory/scope.js';

export interface ScopeFlags {
  user?: string;
  agent?: string;
  session?: string;
}

const SCOPE_FLAGS = [
  ['user', 'userId'],
  ['agent', 'agentId'],
  ['session', 'sessionId'],
] as const;
const SCOPE_EXAMPLES = { user: 'maya', agent: 'bot', session: 's1' } as const;

/**
 * The scope the flags name (every command with scope flags reads them here). Writing
 * (`stored`), absent flags are absent parts. Reading, absent flags span within the user:
 * `--user maya` is every agent and session of maya, while `--agent bot` alone is the bot's rows
 * without a user (`--user '*' --agent bot` spans users). A flag given empty ('--user=') is
 * refused: it is not a flag left out.
 */
export function scopeOf(flags: ScopeFlags, mode: 'stored' | 'read'): Scope {
  const given: { -readonly [K in keyof Scope]: Scope[K] } = {};
  for (const [flag, part] of SCOPE_FLAGS) {
    const value = flags[flag];
    if (value === undefined) continue;
    // An empty value is not a missing flag: read as one, --user= would reach every user's rows.
    if (value === '') throw new InvalidInputError(flag, `--${flag} is given but empty, so it names no ${flag}. Pass an id (e.g. --${flag}=${SCOPE_EXAMPLES[flag]}), or leave --${flag} out.`);
    given[part] = value;
  }
  return mode === 'stored' ? given : spanWithinUser(given);
}


/** `--db` as Memory.open options: a LanceDB URI (storage options from the environment) or a folder. */
export { storeLocation };

function isJsonArray(text: string): boolean {
  try {
    JSON.parse(text.trim());
    return true;
  } catch {
    return false;
  }
}

/** The 1-based file line of the i-th non-empty JSON Lines row. */
function jsonLineNumber(text: string, i: number): number {
  const lines = text.split('\n');
  let seen = -1;
  for (let n = 0; n < lines.length; n++) if (lines[n]!.trim() && ++seen === i) return n + 1;
  return i + 1;
}

/** Chat messages from JSON (array or { messages }) or JSON Lines, with roles kept for validation. */
function parseMessagesFile(text: string): unknown[] {
  const trimmed = text.trim();
  try {
    const data: unknown = JSON.parse(trimmed);
    if (Array.isArray(data)) return data;
    if (data && typeof data === 'object' && Array.isArray((data as { messages?: unknown }).messages)) return (data as { messages: unknown[] }).messages;
    return [data];
  } catch {
    return trimmed
      .split('\n')
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as unknown;
        } catch (cause) {
          throw new InvalidInputError(`file.line${i + 1}`, `Line ${i + 1} is not JSON. Pass a JSON array of chat messages or JSON Lines with one message per line.`, { cause });
        }
      });
  }
}

export interface CompressOptions extends ScopeFlags {
  db: string;
  profile?: string;
  hotBudget?: number;
  json?: boolean;
}

export async function compressCommand(file: string, options: CompressOptions): Promise<number> {
  const scope = scopeOf(options, 'stored');
  const text = await readInput(file);
  const messages = parseMessagesFile(text);
  // Every message is checked before the store is opened, so a bad row stores nothing.
  let normalized: ReturnType<typeof parseMessages>;
  try {
    normalized = parseMessages(messages);
  } catch (e) {
    const row = InvalidInputError.isInstance(e) ? /^messages\.(\d+)/.exec(e.field ?? '') : null;
    if (!row) throw e;
    const i = Number(row[1]);
    const where = isJsonArray(text) ? `Message ${i + 1} of ${messages.length}` : `Line ${jsonLineNumber(text, i)}`;
    const err = e as InvalidInputError;
    throw new InvalidInputError(err.field!, `${where} of '${file}' is not a valid chat message, so nothing was stored. ${err.message}`, { cause: e });
  }
  const withIds = chainedIds(messages as Record<string, unknown>[], normalized);
  const memory = await Memory.open({
    ...storeLocation(options.db),
    autoCompact: false,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.hotBudget ? { tiers: { hotBudgetTokens: options.hotBudget } } : {}),
  });
  const showBar = !options.json && process.stderr.isTTY === true;
  try {
    const batch = 200;
    const addBar = progressBar('store', messages.length, showBar);
    let skipped = 0;
    for (let i = 0; i < withIds.length; i += batch) {
      skipped += (await memory.add(withIds.slice(i, i + batch) as never, scope)).skipped ?? 0;
      addBar.tick(Math.min(batch, messages.length - i));
    }
    addBar.stop();
    const hot = await memory.list(scope);
    const hotTokens = hot.turns.reduce((a, t) => a + t.textTokens, 0);
    // Estimated page count for the bar: lossless tier, Base-sized pages.
    const estimate = Math.max(1, Math.ceil(Math.max(0, hotTokens - memory.tiers.hotBudgetTokens) / (memory.tiers.lossless.ratio * 256)));
    const bar = progressBar('compress', estimate, showBar);
    const t0 = performance.now();
    const result = await memory.compact(scope, {
      onProgress: (e) => {
        if (e.phase === 'rendering') {
          if (e.pages > estimate) bar.setTotal(e.pages);
          bar.tick();
        }
      },
    });
    bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    const summary = { messages: messages.length, alreadyStored: skipped, ...result, seconds: Number(seconds.toFixed(2)), tokensPerSecond: Math.round(result.textTokens / Math.max(seconds, 1e-3)) };
    if (options.json) printJson(summary);
    else
      printTable(
        ['messages', 'already stored', 'turns compacted', 'pages', 'text tok', 'visual tok', 'ratio', 'mean fidelity', 'seconds'],
        [[summary.messages, skipped, result.turnsCompacted, result.pagesWritten, result.textTokens, result.visualTokens, result.visualTokens ? `${(result.textTokens / result.visualTokens).toFixed(2)}x` : '-', pct(result.meanFidelity, 2), summary.seconds]],
      );
    return 0;
  } finally {
    await memory.close();
  }
}

/**
 * Ids for a chat log's messages that a rerun gives again: each message's id hashes the previous
 * id with its role, name and text (a message's own id is kept). Compressing a log again after a
 * crash, or after it grew, skips what the store already holds; two logs share ids only where
 * they share their beginning, message for message.
 */
function chainedIds(messages: readonly Record<string, unknown>[], normalized: ReturnType<typeof parseMessages>): Record<string, unknown>[] {
  let previous = '';
  return messages.map((m, i) => {
    const n = normalized[i]!;
    previous = n.id ?? `msg-${createHash('sha256').update(JSON.stringify([previous, n.role, n.name, n.content])).digest('hex').slice(0, 32)}`;
    return { ...m, id: previous };
  });
}

export interface RecallCommandOptions extends ScopeFlags {
  db: string;
  k: number;
  /** Count the hits as rehearsals (strengthening their pages), as an agent's recall does. */
  rehearse?: boolean;
  json?: boolean;
}

export async function recallCommand(query: string, options: RecallCommandOptions): Promise<number> {
  // Without scope flags the shell user searches their whole store, scope by scope.
  const given = scopeOf(options, 'read');
  requireExistingStore(options.db);
  const memory = await Memory.open({ ...storeLocation(options.db), autoCompact: false });
  try {
    const scopes = Object.keys(given).length ? [given] : (await memory.store.scopes()).filter((s) => s.pages > 0).map((s) => storedScope(s.scope));
    const all = [];
    // A search from the shell is a look, not a memory being used: it changes nothing unless asked.
    // A page that cannot be read is left out and named; the others are still printed.
    const onSkippedPage = ({ pageId, error }: { pageId: string; error: Error }) => process.stderr.write(`opticmem: skipped page ${pageId}: ${error.message}\n`);
    for (const scope of scopes) all.push(...(await memory.recall(query, { scope, k: options.k, as: 'text', rehearse: options.rehearse === true, onSkippedPage })));
    const seen = new Set<string>();
    const hits = all.sort((a, b) => b.score - a.score).filter((h) => !seen.has(h.pageId) && seen.add(h.pageId)).slice(0, options.k);
    if (options.json) printJson({ query, hits });
    else if (hits.length === 0) process.stdout.write('no matching pages\n');
    else
      for (const h of hits) {
        process.stdout.write(`--- page ${h.pageId}  score ${h.score.toFixed(3)}  tier ${h.tier}  ${new Date(h.startTime).toISOString()} .. ${new Date(h.endTime).toISOString()}\n${h.text}\n`);
      }
    return 0;
  } finally {
    await memory.close();
  }
}

export async function statsCommand(options: { db: string; json?: boolean }): Promise<number> {
  requireExistingStore(options.db);
  const store = await openLanceStore({ ...storeLocation(options.db), uri: options.db, readOnly: true });
  try {
    const scopes = await store.scopes();
    const rows = [];
    for (const s of scopes) {
      const filter = storedScope(s.scope);
      const pages = s.pages ? await store.listPages(filter, { withPng: false }) : [];
      const mine = pages.filter((p) => p.userId === s.scope.userId && p.agentId === s.scope.agentId && p.sessionId === s.scope.sessionId);
      const textTokens = mine.reduce((a, p) => a + p.textTokens, 0);
      const visualTokens = mine.reduce((a, p) => a + p.visualTokens, 0);
      const f = mine.filter((p) => p.fidelity >= 0);
      rows.push({ ...s.scope, turns: s.turns, pages: s.pages, pagedTextTokens: textTokens, visualTokens, ratio: visualTokens ? textTokens / visualTokens : 0, meanFidelity: f.length ? f.reduce((a, p) => a + p.fidelity, 0) / f.length : undefined });
    }
    const totals = await store.counts();
    if (options.json) printJson({ db: options.db, totals, scopes: rows });
    else {
      process.stdout.write(`${options.db}: ${totals.turns} hot turns, ${totals.pages} pages\n\n`);
      printTable(
        ['user', 'agent', 'session', 'turns', 'pages', 'paged text tok', 'visual tok', 'ratio', 'fidelity'],
        rows.map((r) => [r.userId || '-', r.agentId || '-', r.sessionId || '-', r.turns, r.pages, r.pagedTextTokens, r.visualTokens, r.ratio ? `${r.ratio.toFixed(2)}x` : '-', pct(r.meanFidelity, 2)]),
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

export interface AgeCommandOptions extends ScopeFlags {
  db: string;
  now?: string;
  strategy?: 'downsample' | 'rerender';
  curve?: 'ebbinghaus' | 'fsrs';
  ladder?: 'ratio' | 'deepseek-modes';
  purge?: boolean;
  json?: boolean;
}

export async function ageCommand(options: AgeCommandOptions): Promise<number> {
  let now: number | undefined;
  if (options.now !== undefined) {
    now = Date.parse(options.now);
    if (Number.isNaN(now)) throw new InvalidInputError('now', `--now '${options.now}' is not a date. Pass an ISO date such as 2026-12-01T00:00:00Z.`);
  }
  const scope = scopeOf(options, 'read');
  requireExistingStore(options.db);
  // Unset, the curve and ladder are the ones the store recorded (a store keeps one policy).
  const forgetting = { ...(options.curve ? { curve: options.curve } : {}), ...(options.ladder ? { ladder: options.ladder } : {}) };
  const memory = await Memory.open({ ...storeLocation(options.db), forgetting });
  try {
    const bar = progressBar('age', 1, !options.json && process.stderr.isTTY === true);
    const r = await memory
      .age({
        ...(now !== undefined ? { now } : {}),
        ...(Object.keys(scope).length ? { scope } : {}),
        ...(options.strategy ? { strategy: options.strategy } : {}),
        ...(options.purge ? { purge: true } : {}),
        onProgress: followProgress(bar),
      })
      .finally(() => bar.stop());
    // A page that cannot be read is left as it was and named; the others aged.
    for (const k of r.skipped) process.stderr.write(`skipped page ${k.pageId}: ${k.error.message}\n`);
    if (options.json) printJson({ ...r, skipped: r.skipped.map((k) => ({ pageId: k.pageId, error: k.error.message })) });
    else {
      process.stdout.write(
        `aged to ${new Date(r.now).toISOString()} (${memory.curve.name} curve): ${r.examined} pages, ${r.moved.length} moved, ${r.dropped.length} dropped, ${r.pinned} pinned, ${r.unchanged} unchanged` +
          `${r.cannotShrink ? `, ${r.cannotShrink} could not shrink further` : ''}${r.repaired.length ? `, ${r.repaired.length} repaired` : ''}\n`,
      );
      const moves = new Map<string, { n: number; before: number; after: number }>();
      for (const m of r.moved) {
        const key = `${m.from} -> ${m.to}`;
        const e = moves.get(key) ?? { n: 0, before: 0, after: 0 };
        moves.set(key, { n: e.n + 1, before: e.before + m.visualTokensBefore, after: e.after + m.visualTokensAfter });
      }
      for (const d of r.dropped) {
        const key = `${d.tier} -> dropped`;
        const e = moves.get(key) ?? { n: 0, before: 0, after: 0 };
        moves.set(key, { ...e, n: e.n + 1 });
      }
      if (moves.size) printTable(['move', 'pages', 'visual tok before', 'visual tok after'], [...moves].map(([k, v]) => [k, v.n, v.before, v.after]));
    }
    return 0;
  } finally {
    await memory.close();
  }
}
