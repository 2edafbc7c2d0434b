/**
 * What the inspector's JSON API answers, as plain functions of a Memory and the request's
 * parameters. A scope here is exact: the (user, agent, session) triple a row was stored under,
 * so picking `user=maya` never shows maya's per-session rows, and nothing crosses scopes.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DAY_MS, pageRetention } from '../../memory/ageing.js';
import type { Memory } from '../../memory/memory.js';
import type { PageMoveRow, PageRow, Scope, TombstoneRow, TurnRow } from '../../memory/store/store.js';
import { InvalidInputError, parseInput } from '../errors.js';
import { InspectorRequestError } from './http-errors.js';

/** Longest search query, in UTF-8 bytes. */
export const MAX_SEARCH_QUERY_BYTES = 2048;
/** Hits a search returns at most. */
export const MAX_SEARCH_HITS = 50;

export type Params = Readonly<Record<string, string>>;

/** What the inspector may change: with `allowWrite` false it only looks (decoded text is not cached either). */
export interface Access {
  readonly allowWrite: boolean;
}

const Id = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((v) => !v.includes('\u0000'), 'must not contain the NUL character');

const count = (max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`));

const scopeParams = { user: Id.optional(), agent: Id.optional(), session: Id.optional() };
const ScopeQuery = z.object({ ...scopeParams, limit: count(5000).optional() }).strict();
const PageQuery = z.object({ ...scopeParams, id: Id }).strict();
const TimelineQuery = z.object(scopeParams).strict();
const SearchQuery = z.object({ ...scopeParams, q: z.string().refine((q) => q.trim().length > 0, 'is empty; type something to search for'), k: count(MAX_SEARCH_HITS).optional() }).strict();
const PinBody = z.object({ pinned: z.boolean({ error: "must be true or false, e.g. { \"pinned\": true }" }) }).strict();

/** A stored scope: every part present, '' where the rows have none. */
export interface ExactScope {
  readonly userId: string;
  readonly agentId: string;
  readonly sessionId: string;
}

export interface ScopeSummary extends ExactScope {
  readonly turns: number;
  readonly pages: number;
}

export interface PageSummary {
  readonly id: string;
  readonly tier: string;
  readonly profile: string;
  readonly width: number;
  readonly height: number;
  readonly ratio: number;
  readonly targetRatio: number;
  readonly textTokens: number;
  readonly visualTokens: number;
  /** Measured at write time; null when it was not measured. */
  readonly fidelity: number | null;
  readonly turnCount: number;
  readonly startTime: number;
  readonly endTime: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Days since the page's turns were said or it was last recalled, whichever is later. */
  readonly ageDays: number;
  /** Retention under the memory's curve now. */
  readonly retention: number;
  readonly strength: number;
  readonly importance: number;
  readonly recallCount: number;
  readonly lastRecalledAt: number | null;
  readonly pinned: boolean;
  /** Whether decoded text is cached on the page (otherwise reading it runs the decoder). */
  readonly decoded: boolean;
}

export interface TurnSummary {
  readonly id: string;
  readonly role: string;
  readonly name: string;
  readonly content: string;
  readonly textTokens: number;
  readonly createdAt: number;
}

export interface Totals {
  readonly hotTurns: number;
  readonly hotTextTokens: number;
  readonly pages: number;
  readonly pinnedPages: number;
  /** Text tokens of the turns the pages hold (what they would cost as text). */
  readonly pageTextTokens: number;
  readonly pageVisualTokens: number;
  /** What the scope costs now: hot text + page images. */
  readonly heldTokens: number;
  /** What it would cost as plain text. */
  readonly originalTokens: number;
  readonly savedTokens: number;
  /** pageTextTokens / pageVisualTokens; null without pages. */
  readonly ratio: number | null;
  readonly meanFidelity: number | null;
  readonly droppedPages: number;
  readonly droppedTurns: number;
}

export interface ScopeView {
  readonly scope: ExactScope;
  readonly now: number;
  readonly totals: Totals;
  readonly turns: readonly TurnSummary[];
  readonly pages: readonly PageSummary[];
  /** True when `limit` cut the lists (totals always cover the whole scope). */
  readonly truncated: boolean;
}

export interface SearchHit {
  readonly pageId: string;
  readonly score: number;
  readonly tier: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly text: string;
}

export interface TimelineEvent {
  readonly at: number;
  readonly kind: 'compacted' | 'moved' | 'dropped';
  readonly pageId: string;
  readonly from: string;
  readonly to: string;
  readonly retention?: number;
  readonly visualTokensBefore?: number;
  readonly visualTokensAfter?: number;
  readonly turnCount?: number;
  readonly reason?: string;
}

export interface Timeline {
  /** 'full' when the store records ladder moves; 'partial' shows compactions and drops only. */
  readonly history: 'full' | 'partial';
  readonly events: readonly TimelineEvent[];
}

function exactScope(p: { user?: string | undefined; agent?: string | undefined; session?: string | undefined }): ExactScope {
  if (!p.user && !p.agent && !p.session) {
    throw new InvalidInputError('query.user', "Name a scope with at least one of 'user', 'agent' or 'session', e.g. ?user=maya&session=trip. GET /api/scopes lists them.");
  }
  return { userId: p.user ?? '', agentId: p.agent ?? '', sessionId: p.session ?? '' };
}

/** The store filter for an exact scope; it may also match narrower scopes, so rows are checked with `inScope`. */
function filterOf(s: ExactScope): Scope {
  return { ...(s.userId ? { userId: s.userId } : {}), ...(s.agentId ? { agentId: s.agentId } : {}), ...(s.sessionId ? { sessionId: s.sessionId } : {}) };
}

function inScope(row: ExactScope, s: ExactScope): boolean {
  return row.userId === s.userId && row.agentId === s.agentId && row.sessionId === s.sessionId;
}

function describeScope(s: ExactScope): string {
  return [s.userId && `user '${s.userId}'`, s.agentId && `agent '${s.agentId}'`, s.sessionId && `session '${s.sessionId}'`].filter(Boolean).join(', ');
}

async function knownScope(memory: Memory, params: Params, schema: z.ZodType<{ user?: string; agent?: string; session?: string }>): Promise<ExactScope> {
  const s = exactScope(parseInput(schema, params, 'query'));
  const all = await memory.scopes();
  if (!all.some((x) => inScope(x.scope, s))) {
    throw new InspectorRequestError(404, 'scope_not_found', `No scope with ${describeScope(s)} and nothing else in this store. GET /api/scopes lists the scopes it holds.`);
  }
  return s;
}

/**
 * The page, with its image only on request: its text, pinning and deleting need none, so a page
 * whose image fails its checksum can still be read as text and deleted.
 */
async function pageIn(memory: Memory, scope: ExactScope, id: string, options: { withPng?: boolean } = {}): Promise<PageRow> {
  const page = options.withPng ? await memory.get(id, filterOf(scope)) : (await memory.store.listPages(filterOf(scope), { ids: [id], withPng: false }))[0];
  if (!page || !inScope(page, scope)) {
    throw new InspectorRequestError(404, 'page_not_found', `No page '${id}' in the scope with ${describeScope(scope)}. GET /api/scope lists its pages.`, { field: 'query.id' });
  }
  return page;
}

export async function listScopes(memory: Memory): Promise<{ scopes: ScopeSummary[] }> {
  const scopes = (await memory.scopes())
    .map((s) => ({ ...s.scope, turns: s.turns, pages: s.pages }))
    .sort((a, b) => a.userId.localeCompare(b.userId) || a.agentId.localeCompare(b.agentId) || a.sessionId.localeCompare(b.sessionId));
  return { scopes };
}

function pageSummary(p: Omit<PageRow, 'png'>, now: number, memory: Memory): PageSummary {
  return {
    id: p.id,
    tier: p.tier,
    profile: p.profile,
    width: p.width,
    height: p.height,
    ratio: p.ratio,
    targetRatio: p.targetRatio,
    textTokens: p.textTokens,
    visualTokens: p.visualTokens,
    fidelity: p.fidelity >= 0 ? p.fidelity : null,
    turnCount: p.turnIds.length,
    startTime: p.startTime,
    endTime: p.endTime,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    ageDays: Math.max(0, now - Math.max(p.lastRecalledAt, p.endTime)) / DAY_MS,
    retention: pageRetention(p, now, memory.curve),
    strength: p.strength,
    importance: p.importance,
    recallCount: p.recallCount,
    lastRecalledAt: p.lastRecalledAt > 0 ? p.lastRecalledAt : null,
    pinned: p.pinned,
    decoded: p.decodedText.length > 0,
  };
}

function totalsOf(turns: readonly TurnRow[], pages: readonly Omit<PageRow, 'png'>[], tombstones: readonly TombstoneRow[]): Totals {
  const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
  const hotTextTokens = sum(turns, (t) => t.textTokens);
  const pageTextTokens = sum(pages, (p) => p.textTokens);
  const pageVisualTokens = sum(pages, (p) => p.visualTokens);
  const measured = pages.filter((p) => p.fidelity >= 0);
  const heldTokens = hotTextTokens + pageVisualTokens;
  const originalTokens = hotTextTokens + pageTextTokens;
  return {
    hotTurns: turns.length,
    hotTextTokens,
    pages: pages.length,
    pinnedPages: pages.filter((p) => p.pinned).length,
    pageTextTokens,
    pageVisualTokens,
    heldTokens,
    originalTokens,
    savedTokens: originalTokens - heldTokens,
    ratio: pageVisualTokens > 0 ? pageTextTokens / pageVisualTokens : null,
    meanFidelity: measured.length ? sum(measured, (p) => p.fidelity) / measured.length : null,
    droppedPages: tombstones.length,
    droppedTurns: sum(tombstones, (t) => t.turnCount),
  };
}

export async function scopeView(memory: Memory, params: Params): Promise<ScopeView> {
  const { limit } = parseInput(ScopeQuery, params, 'query');
  const scope = await knownScope(memory, params, ScopeQuery);
  const filter = filterOf(scope);
  const [listed, tombstones] = await Promise.all([memory.list(filter), memory.store.listTombstones(filter)]);
  const turns = listed.turns.filter((t) => inScope(t, scope));
  const pages = listed.pages.filter((p) => inScope(p, scope));
  const now = memory.now();
  const cap = limit ?? 1000;
  return {
    scope,
    now,
    totals: totalsOf(turns, pages, tombstones.filter((t) => inScope(t, scope))),
    // The most recent rows when a scope holds more than the limit.
    turns: turns.slice(-cap).map((t) => ({ id: t.id, role: t.role, name: t.name, content: t.content, textTokens: t.textTokens, createdAt: t.createdAt })),
    pages: pages.slice(-cap).map((p) => pageSummary(p, now, memory)),
    truncated: turns.length > cap || pages.length > cap,
  };
}

export async function pagePng(memory: Memory, params: Params): Promise<Uint8Array> {
  const { id } = parseInput(PageQuery, params, 'query');
  const scope = await knownScope(memory, params, PageQuery);
  return (await pageIn(memory, scope, id, { withPng: true })).png;
}

/** The page's text: cached on the page, or decoded now by the memory's decoder (and cached only when writes are allowed). */
export async function pageText(memory: Memory, params: Params, access: Access = { allowWrite: false }): Promise<{ id: string; text: string }> {
  const { id } = parseInput(PageQuery, params, 'query');
  const scope = await knownScope(memory, params, PageQuery);
  const page = await pageIn(memory, scope, id);
  return { id, text: await memory.textOf(page, filterOf(scope), { cache: access.allowWrite }) };
}

/** Words of the query the page highlights: letters and digits, lower-cased, unique. */
export function searchTerms(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  // One ASCII letter would light up half the page; one CJK character is a word.
  return [...new Set(words.filter((w) => w.length >= 2 || /[^\u0000-\u007f]/.test(w)))];
}

export async function search(memory: Memory, params: Params, access: Access = { allowWrite: false }): Promise<{ query: string; terms: string[]; hits: SearchHit[] }> {
  if (params.q !== undefined && Buffer.byteLength(params.q, 'utf8') > MAX_SEARCH_QUERY_BYTES) {
    throw new InspectorRequestError(413, 'query_too_large', `'q' is ${Buffer.byteLength(params.q, 'utf8')} bytes; the limit is ${MAX_SEARCH_QUERY_BYTES}. Search for a few words.`, { field: 'query.q' });
  }
  const { q, k = 10 } = parseInput(SearchQuery, params, 'query');
  const scope = await knownScope(memory, params, SearchQuery);
  const filter = filterOf(scope);
  // Hits of narrower scopes share the filter and are dropped, so ask for more than k.
  const narrowerPossible = !scope.userId || !scope.agentId || !scope.sessionId;
  // 'image' leaves decoding to us, so a page without cached text is read without caching it.
  const found = await memory.recall(q, { scope: filter, k: narrowerPossible ? Math.min(1000, k * 4) : k, as: 'image', rehearse: false });
  const hits: SearchHit[] = [];
  for (const h of found) {
    if (hits.length === k) break;
    const page = await memory.get(h.pageId, filter);
    if (!page || !inScope(page, scope)) continue;
    const text = await memory.textOf(page, filter, { cache: access.allowWrite });
    hits.push({ pageId: h.pageId, score: h.score, tier: h.tier, startTime: h.startTime, endTime: h.endTime, text });
  }
  return { query: q, terms: searchTerms(q), hits };
}

export async function timeline(memory: Memory, params: Params): Promise<Timeline> {
  const scope = await knownScope(memory, params, TimelineQuery);
  const filter = filterOf(scope);
  const store = memory.store;
  const [listed, tombstones, moves] = await Promise.all([
    memory.list(filter),
    store.listTombstones(filter),
    store.listMoves ? store.listMoves(filter) : Promise.resolve(undefined),
  ]);
  const mine = (moves ?? []).filter((m) => inScope(m, scope));
  const firstMove = new Map<string, PageMoveRow>();
  for (const m of [...mine].sort((a, b) => a.movedAt - b.movedAt)) if (!firstMove.has(m.pageId)) firstMove.set(m.pageId, m);
  const events: TimelineEvent[] = [
    ...listed.pages
      .filter((p) => inScope(p, scope))
      .map((p): TimelineEvent => ({ at: p.createdAt, kind: 'compacted', pageId: p.id, from: 'text', to: firstMove.get(p.id)?.from ?? p.tier, turnCount: p.turnIds.length })),
    ...mine.map((m): TimelineEvent => ({
      at: m.movedAt, kind: 'moved', pageId: m.pageId, from: m.from, to: m.to, retention: m.retention, visualTokensBefore: m.visualTokensBefore, visualTokensAfter: m.visualTokensAfter,
    })),
    ...tombstones
      .filter((t) => inScope(t, scope))
      .map((t): TimelineEvent => ({ at: t.droppedAt, kind: 'dropped', pageId: t.pageId, from: t.tier, to: 'dropped', turnCount: t.turnCount, reason: t.reason })),
  ];
  const order = { compacted: 0, moved: 1, dropped: 2 } as const;
  events.sort((a, b) => a.at - b.at || order[a.kind] - order[b.kind] || a.pageId.localeCompare(b.pageId));
  return { history: moves ? 'full' : 'partial', events };
}

export async function pinPage(memory: Memory, params: Params, body: unknown): Promise<{ id: string; pinned: boolean }> {
  const { id } = parseInput(PageQuery, params, 'query');
  const { pinned } = parseInput(PinBody, body, 'body');
  const scope = await knownScope(memory, params, PageQuery);
  await pageIn(memory, scope, id);
  await memory.pin(id, filterOf(scope), pinned);
  return { id, pinned };
}

/** Delete one page; like a page the curve drops, it leaves a tombstone in the timeline. */
export async function deletePage(memory: Memory, params: Params): Promise<{ id: string; deleted: true }> {
  const { id } = parseInput(PageQuery, params, 'query');
  const scope = await knownScope(memory, params, PageQuery);
  const page = await pageIn(memory, scope, id);
  // The tombstone first: a failure in between leaves a tombstone and the page, never neither.
  await memory.store.addTombstones([
    { id: randomUUID(), ...scope, pageId: id, turnCount: page.turnIds.length, startTime: page.startTime, endTime: page.endTime, tier: page.tier, reason: 'deleted in the inspector', droppedAt: memory.now() },
  ]);
  await memory.store.deletePages(filterOf(scope), [id]);
  return { id, deleted: true };
}

/** Delete every hot turn and page of exactly this scope (narrower scopes are kept). */
export async function deleteScope(memory: Memory, params: Params): Promise<{ turns: number; pages: number }> {
  const scope = await knownScope(memory, params, TimelineQuery);
  const filter = filterOf(scope);
  const listed = await memory.list(filter);
  const turnIds = listed.turns.filter((t) => inScope(t, scope)).map((t) => t.id);
  const pageIds = listed.pages.filter((p) => inScope(p, scope)).map((p) => p.id);
  if (turnIds.length) await memory.store.deleteTurns(filter, turnIds);
  const pages = pageIds.length ? await memory.store.deletePages(filter, pageIds) : 0;
  return { turns: turnIds.length, pages };
}
