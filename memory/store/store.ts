/**
 * The storage spec the memory layer is written against. One implementation today (LanceDB,
 * `lance-store.ts`); plain rows in and out so another store can slot in.
 */
import type { CorruptPageError } from '../../src/errors.js';

/**
 * Who a memory belongs to. Rows store absent parts as ''. As a filter a scope is exact: it
 * matches rows stored under exactly that scope, an absent part matching only rows without it,
 * so `{ userId: 'u1' }` never reaches `{ userId: 'u1', sessionId: 's1' }` and no agent-only
 * scope reaches a user's rows. A part given as ANY ('*') opts in to spanning it: reads and
 * deletes with `{ userId: 'u1', sessionId: '*' }` cover every session of u1 (and u1's rows
 * without a session). Rows are never stored under '*'.
 */
export interface Scope {
  readonly userId?: string;
  readonly agentId?: string;
  readonly sessionId?: string;
}

/** The scope part that matches any value, e.g. `{ userId: 'u1', sessionId: ANY }`. */
export const ANY = '*';

/** A recent turn kept as text (the hot tier). */
export interface TurnRow {
  readonly id: string;
  readonly userId: string;
  readonly agentId: string;
  readonly sessionId: string;
  /** Monotonic order within the store (ms timestamp * 1000 + counter); sorts turns. */
  readonly seq: number;
  readonly role: string;
  /** Speaker name where the chat format carries one ('' otherwise). */
  readonly name: string;
  readonly content: string;
  readonly textTokens: number;
  /** When the turn was said, ms since epoch. */
  readonly createdAt: number;
}

/** A rendered page holding older turns (the optical tiers). */
export interface PageRow {
  readonly id: string;
  readonly userId: string;
  readonly agentId: string;
  readonly sessionId: string;
  /** Ids of the source turns, in order (a turn split over pages appears on each). */
  readonly turnIds: readonly string[];
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Time range of the source turns, ms since epoch. */
  readonly startTime: number;
  readonly endTime: number;
  /** 'lossless' | 'forgetting' | a ladder step name. */
  readonly tier: string;
  readonly profile: string;
  readonly png: Uint8Array;
  /** PageGeometry as JSON. */
  readonly geometry: string;
  readonly width: number;
  readonly height: number;
  readonly textTokens: number;
  readonly visualTokens: number;
  readonly ratio: number;
  readonly targetRatio: number;
  /** Measured fidelity of decodedText against the source at write time; -1 when not measured. */
  readonly fidelity: number;
  /** Decoder output cached on the page; '' until decoded. Indexed for full-text search. */
  readonly decodedText: string;
  /** Embedding of decodedText when an Embedder is configured; empty otherwise. */
  readonly vector: readonly number[];
  /** Memory strength (days) for the forgetting curve; starts at 1. */
  readonly strength: number;
  readonly recallCount: number;
  /** ms since epoch; 0 = never recalled. */
  readonly lastRecalledAt: number;
  readonly pinned: boolean;
  readonly importance: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type PageUpdate = Partial<Omit<PageRow, 'id' | 'userId' | 'agentId' | 'sessionId'>>;

export interface SearchOptions {
  /** Full-text query over decodedText. */
  readonly text?: string;
  /** Query embedding (same dimension as the store's vectors). */
  readonly vector?: readonly number[];
  readonly k: number;
  /** 'hybrid' fuses text and vector ranks with reciprocal-rank fusion. Default: what the inputs allow. */
  readonly mode?: 'fts' | 'vector' | 'hybrid';
  /** Include the hits' image bytes. Default false: `page.png` is empty and `page.vector` too. */
  readonly withPng?: boolean;
  /** Called for each page whose row is damaged (e.g. an unreadable turn list), which is then left out; without it such a page fails the call. */
  readonly onDamaged?: (pageId: string, error: CorruptPageError) => void;
}

export interface PageHit {
  /** The page's columns; `png` only with `withPng`, never the vector. */
  readonly page: PageRow;
  /** Higher is better; RRF score for hybrid, BM25 for fts, 1/(1+distance) for vector. */
  readonly score: number;
}

export interface ListOptions {
  /** The most recent `limit` pages (by firstSeq). */
  readonly limit?: number;
  /** Only these pages. */
  readonly ids?: readonly string[];
  /** Leave image bytes out (listing many pages). */
  readonly withPng?: boolean;
  readonly tier?: string;
  /** As in SearchOptions: damaged pages reported and left out instead of failing the listing. */
  readonly onDamaged?: (pageId: string, error: CorruptPageError) => void;
}

/** What is left of a page the forgetting curve dropped: when, whose, and why. */
export interface TombstoneRow {
  readonly id: string;
  readonly userId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly pageId: string;
  readonly turnCount: number;
  readonly startTime: number;
  readonly endTime: number;
  readonly tier: string;
  readonly reason: string;
  readonly droppedAt: number;
}

/** One step a page took down the forgetting ladder, kept as its history. */
export interface PageMoveRow {
  readonly id: string;
  readonly userId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly pageId: string;
  /** Tier names (ladder steps) before and after. */
  readonly from: string;
  readonly to: string;
  readonly retention: number;
  readonly visualTokensBefore: number;
  readonly visualTokensAfter: number;
  readonly movedAt: number;
}

/** One turn of a page, as the turn-level index holds it: the turn's decoded text and where it is. */
export interface PageTurnRow {
  /** `${pageId}:${turn}`. */
  readonly id: string;
  readonly userId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly pageId: string;
  /** The source turn's id ('' for a page that could not be cut into turns). */
  readonly turnId: string;
  /** Position of the turn on the page (its index in the page's turnIds); -1 for the whole page. */
  readonly turn: number;
  /** Orders turns: the page's firstSeq plus the turn's position. */
  readonly seq: number;
  /** The turn's decoded text, with its speaker label when the turn starts on the page. */
  readonly text: string;
}

export interface TurnSearchHit {
  readonly turn: PageTurnRow;
  /** BM25; higher is better. */
  readonly score: number;
}

export interface MemoryStoreV1 {
  readonly specificationVersion: 'v1';
  readonly uri: string;
  addTurns(rows: readonly TurnRow[]): Promise<void>;
  /** Turns in this scope, oldest first. */
  listTurns(scope: Scope, options?: { limit?: number }): Promise<TurnRow[]>;
  deleteTurns(scope: Scope, ids: readonly string[]): Promise<void>;
  /** Sum of the hot turns' text tokens in this scope (optional: callers sum `listTurns` without it). */
  hotTokens?(scope: Scope): Promise<number>;
  /** Insert pages whose id is not stored yet; a page whose id is stored is left as it is (idempotent compaction). */
  addPages(rows: readonly PageRow[]): Promise<void>;
  getPage(scope: Scope, id: string): Promise<PageRow | undefined>;
  listPages(scope: Scope, options?: ListOptions): Promise<PageRow[]>;
  updatePage(scope: Scope, id: string, update: PageUpdate): Promise<void>;
  /**
   * Update several pages in one commit (the same columns on each, different values). Optional:
   * callers fall back to `updatePage` one by one.
   */
  updatePages?(scope: Scope, updates: readonly { id: string; update: PageUpdate }[]): Promise<void>;
  deletePages(scope: Scope, ids?: readonly string[]): Promise<number>;
  search(scope: Scope, options: SearchOptions): Promise<PageHit[]>;
  /** Every distinct scope with counts. */
  scopes(): Promise<{ scope: Required<Scope>; turns: number; pages: number }[]>;
  /** Page ids whose turnIds include any of `turnIds` (to make compaction idempotent). */
  pagesCoveringTurns(scope: Scope, turnIds: readonly string[]): Promise<string[]>;
  counts(): Promise<{ turns: number; pages: number }>;
  /** Page ids stored in more than one row (workers that committed one page at once), with their row count. Optional. */
  pageCopies?(): Promise<{ id: string; copies: number }[]>;
  /** Keep one row of each of these pages (the same one every writer keeps). Optional. */
  removePageCopies?(ids: readonly string[]): Promise<void>;
  addTombstones(rows: readonly TombstoneRow[]): Promise<void>;
  listTombstones(scope: Scope): Promise<TombstoneRow[]>;
  /** Remove a scope's tombstones (when the scope itself is deleted); returns how many. Optional. */
  deleteTombstones?(scope: Scope): Promise<number>;
  /** Ladder moves, kept for the timeline. Optional: a store without them shows compactions and drops only. */
  addMoves?(rows: readonly PageMoveRow[]): Promise<void>;
  /** Moves in this scope, oldest first. */
  listMoves?(scope: Scope): Promise<PageMoveRow[]>;
  /** Remove a scope's ladder moves (when the scope itself is deleted); returns how many. Optional. */
  deleteMoves?(scope: Scope): Promise<number>;
  /**
   * Full-text search over the turns of the scope's pages (the turn-level index, kept from each
   * page's decoded text). Optional: without it, turns are cut from the pages a page search finds.
   */
  searchTurns?(scope: Scope, options: { readonly text: string; readonly k: number }): Promise<TurnSearchHit[]>;
  /** Every turn of the given pages, in page order. Optional, like searchTurns. */
  listPageTurns?(scope: Scope, pageIds: readonly string[]): Promise<PageTurnRow[]>;
  /** Small key/value settings kept with the store (e.g. the last ageing time). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** Bring search indices up to date (e.g. after a bulk import). Optional: stores that index on write omit it. */
  optimize?(): Promise<void>;
  close(): Promise<void>;
}

export type MemoryStore = MemoryStoreV1;
