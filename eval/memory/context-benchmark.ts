/**
 * Context every consumer can read (`npm run eval:context`, or `npm run eval:memory -- --context`):
 *
 * 1. Evidence in context at a budget of 15% of each LoCoMo conversation's text tokens, for every
 *    question with evidence, per consumer: text-only, DeepSeek-OCR, GPT-4o, Claude and Gemini.
 *    Every image handed out is checked against the consumer's legibility floor from its own PNG
 *    geometry chunk (not from what buildContext reports), and the real ratio each consumer gets
 *    is reported.
 * 2. Turn-level recall@k beside page-level recall@k, pooled over all conversations, with
 *    plain-text BM25 over the same turns as the baseline.
 * 3. Floors on every source in the data folder: contexts for each consumer over pages of each
 *    source, counting images below the floor (must be 0).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGeometry } from '../../renderers/png.js';
import { loadLanceDb } from '../../src/internal/lazy.js';
import { getProfile } from '../../src/tokens/profiles/index.js';
import { seenGlyphPx } from '../../src/tokens/legibility.js';
import { Memory } from '../../memory/memory.js';
import type { BuiltContext, ContextMessage } from '../../memory/context-builder.js';
import { searchableText } from '../../memory/store/search-text.js';
import { ANY, type Scope } from '../../memory/store/store.js';
import { availableDatasets, loadDataset, loadLoCoMo, type Conversation, type DatasetName } from '../lib/datasets.js';

export const PAGE_PROFILES = ['deepseek-ocr:base', 'deepseek-ocr:small'] as const;
export type PageProfile = (typeof PAGE_PROFILES)[number];
export const CONSUMERS: Record<PageProfile, readonly string[]> = {
  'deepseek-ocr:base': ['text', 'deepseek-ocr:base', 'gpt-4o', 'claude', 'gemini'],
  'deepseek-ocr:small': ['text', 'deepseek-ocr:small'],
};
/** Consumers whose floors are checked on every source. */
export const FLOOR_CONSUMERS = ['deepseek-ocr:base', 'deepseek-ocr:small', 'gpt-4o', 'claude', 'gemini', 'qwen2.5-vl'] as const;
export const BUDGET_SHARE = 0.15;
export const HOT_BUDGET = 2000;
const USER_ID = 'locomo';
const K_VALUES = [1, 5, 10] as const;

export interface ContextSample {
  readonly profile: PageProfile;
  readonly consumer: string;
  readonly conversation: string;
  readonly budgetTokens: number;
  readonly usedTokens: number;
  readonly fullTokens: number;
  readonly evidenceInContext: boolean;
  /** Evidence among the recalled turns (the turn-level index's contribution). */
  readonly evidenceInRecalledTurns: boolean;
  readonly images: number;
  /** Images whose smallest glyph, read from the PNG's own geometry, is below the floor. */
  readonly imagesBelowFloor: number;
  readonly minGlyphPx: number | undefined;
  /** Text tokens the images stand for, and what they cost. */
  readonly imageText: number;
  readonly imageTokens: number;
  readonly buildMs: number;
}

export interface RecallSample {
  readonly method: 'turns' | 'pages' | 'bm25-turns';
  /** 0-based rank of the first hit holding evidence; undefined when none in the top 10. */
  readonly rank: number | undefined;
}

/** Where each stored turn and page came from: its conversation and LoCoMo dialogue ids. */
export interface Origins {
  readonly turnDia: Map<string, string>;
  readonly pageDia: Map<string, readonly string[]>;
  readonly turnConv: Map<string, string>;
  readonly pageConv: Map<string, string>;
}

/** The images of a context with the glyph size the consumer sees, from each PNG's own geometry. */
export function imagesOf(messages: readonly ContextMessage[], consumer: string): { seen: number }[] {
  const profile = getProfile(consumer);
  const out: { seen: number }[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') continue;
    for (const part of m.content) {
      if (part.type !== 'image_url') continue;
      const png = new Uint8Array(Buffer.from(part.image_url.url.slice(part.image_url.url.indexOf(',') + 1), 'base64'));
      const g = readGeometry(png, 'png');
      if (!g) {
        out.push({ seen: 0 });
        continue;
      }
      const shrink = g.resampled ? Math.min(g.width / g.resampled.width, g.height / g.resampled.height) : 1;
      out.push({ seen: seenGlyphPx(profile, Math.min(g.fontSize, ...g.lines.map((l) => l.fontSize)) * shrink, g.width, g.height) });
    }
  }
  return out;
}

export interface Ingested {
  readonly conv: Conversation;
  readonly scope: Scope;
  readonly fullTokens: number;
  readonly hotDia: readonly string[];
}

/** One conversation into the memory: added with speakers and times, then compacted. */
export async function ingest(memory: Memory, conv: Conversation, origins: Origins, userId = USER_ID): Promise<Ingested> {
  const scope: Scope = { userId, sessionId: conv.id };
  const base = Date.UTC(2024, 0, 1);
  const added = await memory.add(
    conv.turns.map((t, i) => ({
      role: t.role === 'assistant' ? ('assistant' as const) : ('user' as const),
      content: t.content,
      ...(t.speaker ? { name: t.speaker } : {}),
      createdAt: base + i * 60_000,
    })),
    scope,
  );
  added.turnIds.forEach((id, i) => {
    origins.turnDia.set(id, conv.turns[i]!.id ?? `T${i + 1}`);
    origins.turnConv.set(id, conv.id);
  });
  const fullTokens = (await memory.store.listTurns(scope)).reduce((a, t) => a + t.textTokens, 0);
  await memory.compact(scope);
  for (const p of (await memory.list(scope)).pages) {
    origins.pageDia.set(p.id, p.turnIds.map((t) => origins.turnDia.get(t) ?? t));
    origins.pageConv.set(p.id, conv.id);
  }
  const hot = await memory.store.listTurns(scope);
  return { conv, scope, fullTokens, hotDia: hot.map((t) => origins.turnDia.get(t.id) ?? t.id) };
}

/** Questions with known evidence (LoCoMo category 5 is adversarial and has none). */
export function questionsOf(conv: Conversation): { question: string; evidence: readonly string[] }[] {
  const known = new Set(conv.turns.map((t) => t.id ?? ''));
  return (conv.qa ?? [])
    .filter((q) => String(q.category) !== '5')
    .map((q) => ({ question: q.question, evidence: q.evidence.filter((e) => known.has(e)) }))
    .filter((q) => q.evidence.length > 0);
}

/** Whether the context holds an evidence turn: on an included page, among recalled turns, or among the kept recent turns. */
export function evidenceIn(ctx: BuiltContext, ing: Ingested, evidence: readonly string[], origins: Origins): { any: boolean; turns: boolean } {
  const wanted = new Set(evidence);
  const onPages = ctx.pages.some((p) => (origins.pageDia.get(p.id) ?? []).some((d) => wanted.has(d)));
  const inTurns = ctx.recalledTurns.some((t) => (t.turnId ? wanted.has(origins.turnDia.get(t.turnId) ?? '') : (origins.pageDia.get(t.pageId) ?? []).some((d) => wanted.has(d))));
  const hot = ctx.turns > 0 && ing.hotDia.slice(-ctx.turns).some((d) => wanted.has(d));
  return { any: onPages || inTurns || hot, turns: inTurns };
}

export async function contextSample(memory: Memory, profile: PageProfile, consumer: string, ing: Ingested, q: { question: string; evidence: readonly string[] }, origins: Origins): Promise<ContextSample> {
  const budgetTokens = Math.floor(ing.fullTokens * BUDGET_SHARE);
  const t0 = performance.now();
  const ctx = await memory.buildContext({ scope: ing.scope, budgetTokens, consumer, query: q.question });
  const buildMs = performance.now() - t0;
  const images = consumer === 'text' ? [] : imagesOf(ctx.messages, consumer);
  const floor = consumer === 'text' ? 0 : memory.legibilityOf(consumer).minGlyphPx;
  const pageImages = ctx.pages.filter((p) => p.as === 'image');
  const turnImages = ctx.recalledTurnsAs === 'image';
  const found = evidenceIn(ctx, ing, q.evidence, origins);
  return {
    profile,
    consumer,
    conversation: ing.conv.id,
    budgetTokens,
    usedTokens: ctx.usedTokens,
    fullTokens: ing.fullTokens,
    evidenceInContext: found.any,
    evidenceInRecalledTurns: found.turns,
    images: images.length,
    imagesBelowFloor: images.filter((i) => i.seen < floor - 1e-9).length,
    minGlyphPx: images.length ? Math.min(...images.map((i) => i.seen)) : undefined,
    imageText: pageImages.reduce((a, p) => a + p.textTokens, 0) + (turnImages ? (ctx.recalledTurnTokens.drawn?.text ?? 0) : 0),
    imageTokens: pageImages.reduce((a, p) => a + p.tokens, 0) + (turnImages ? (ctx.recalledTurnTokens.drawn?.tokens ?? 0) : 0),
    buildMs,
  };
}

/** Plain-text BM25 over the source text of the same paged turns, pooled, in LanceDB (same index settings). */
export async function turnBaseline(dir: string, rows: readonly { turnId: string; conv: string; text: string }[]): Promise<{ search(q: string): Promise<string[]>; close(): void }> {
  const lancedb = await loadLanceDb();
  const db = await lancedb.connect(dir);
  const table = await db.createTable('bm25_turns', rows.map((r) => ({ id: r.turnId, conv: r.conv, text: searchableText(r.text) })), { mode: 'overwrite' });
  await table.createIndex('text', { config: lancedb.Index.fts(), replace: true });
  return {
    async search(q) {
      const hits = await table.query().fullTextSearch(searchableText(q), { columns: ['text'] }).limit(10).toArray();
      return hits.map((h) => String((h as { id: unknown }).id));
    },
    close() {
      table.close();
      db.close();
    },
  };
}

/** Turn-level, page-level and BM25 ranks of the first evidence hit for one question, pooled. */
export async function recallSamples(memory: Memory, q: { question: string; evidence: readonly string[] }, conv: string, origins: Origins, baseline: { search(q: string): Promise<string[]> }): Promise<RecallSample[]> {
  const pooled: Scope = { userId: USER_ID, sessionId: ANY };
  const wanted = new Set(q.evidence);
  const turnHit = (turnId: string) => origins.turnConv.get(turnId) === conv && wanted.has(origins.turnDia.get(turnId) ?? '');
  const pageHit = (pageId: string) => origins.pageConv.get(pageId) === conv && (origins.pageDia.get(pageId) ?? []).some((d) => wanted.has(d));
  const turns = await memory.recallTurns(q.question, { scope: pooled, k: 10, rehearse: false });
  const pages = await memory.recall(q.question, { scope: pooled, k: 10, as: 'text', rehearse: false });
  const bm25 = await baseline.search(q.question);
  const rank = (hits: readonly boolean[]) => {
    const i = hits.indexOf(true);
    return i < 0 ? undefined : i;
  };
  return [
    { method: 'turns', rank: rank(turns.map((t) => (t.turnId ? turnHit(t.turnId) : pageHit(t.pageId)))) },
    { method: 'pages', rank: rank(pages.map((p) => pageHit(p.pageId))) },
    { method: 'bm25-turns', rank: rank(bm25.map(turnHit)) },
  ];
}

export function recallAt(samples: readonly RecallSample[], method: RecallSample['method'], k: number): number {
  const list = samples.filter((s) => s.method === method);
  return list.filter((s) => s.rank !== undefined && s.rank < k).length / Math.max(1, list.length);
}

export { K_VALUES };

/** A source's conversations, in order. */
export async function sourceConversations(name: DatasetName): Promise<Conversation[]> {
  return loadDataset(name);
}

export function sourcesAvailable(): DatasetName[] {
  return availableDatasets().filter((n) => n !== 'mtbench');
}

export async function tempStore(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'opticmem-context-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export { loadLoCoMo };
