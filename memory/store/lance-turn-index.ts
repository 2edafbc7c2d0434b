/**
 * The turn-level index of a LanceDB store: one row per turn of each page, holding that turn's
 * decoded text, with its own full-text index. The rows are derived from the pages (their
 * decoded text and geometry), so the store rewrites a page's rows whenever the page's text
 * changes and drops them with the page; every query is scope-filtered with escaped literals.
 */
import type { Table } from '@lancedb/lancedb';
import { loadLanceDb } from '../../src/internal/lazy.js';
import { StoreError } from '../../src/errors.js';
import { searchableText } from './search-text.js';
import { and, idInList, scopeFilter } from './sql.js';
import { pageTurnRows, type IndexedPage } from './page-turns.js';
import { uniqueById } from './page-dedupe.js';
import type { PageTurnRow, Scope, TurnSearchHit } from './store.js';

export type { IndexedPage };

/** Meta key written once every page of the store has its turn rows. */
export const TURN_INDEX_META = 'turn_index';
const REINDEX_SHARE = 0.25;
const BATCH = 500;

type Retry = <T>(what: string, fn: () => Promise<T>, table?: Table) => Promise<T>;

function toRow(r: PageTurnRow): Record<string, unknown> {
  return {
    id: r.id, user_id: r.userId, agent_id: r.agentId, session_id: r.sessionId, page_id: r.pageId, turn_id: r.turnId, turn: r.turn, seq: r.seq,
    text: r.text, search_text: searchableText(r.text),
  };
}

function fromRow(r: Record<string, unknown>): PageTurnRow {
  return {
    id: String(r.id), userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id), pageId: String(r.page_id),
    turnId: String(r.turn_id), turn: Number(r.turn), seq: Number(r.seq), text: String(r.text),
  };
}

const COLUMNS = ['id', 'user_id', 'agent_id', 'session_id', 'page_id', 'turn_id', 'turn', 'seq', 'text'];

export class LanceTurnIndex {
  #ftsIndex: string | undefined;
  constructor(
    private readonly table: Table,
    private readonly retry: Retry,
    private readonly readOnly: boolean,
  ) {}

  /** Replace the rows of these pages with rows cut from their current text. */
  async replace(scope: Scope, pages: readonly IndexedPage[]): Promise<void> {
    if (pages.length === 0) return;
    await this.remove(scope, pages.map((p) => p.id));
    const rows = pages.flatMap(pageTurnRows).map(toRow);
    // An upsert on the row id (page id and turn), so two workers indexing one page leave one set of rows.
    for (let i = 0; i < rows.length; i += BATCH) {
      await this.retry('indexing page turns', () => this.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows.slice(i, i + BATCH)), this.table);
    }
    await this.#maintain();
  }

  /** Drop the rows of these pages (every page of the scope when `pageIds` is absent). */
  async remove(scope: Scope, pageIds?: readonly string[]): Promise<void> {
    for (let i = 0; i < (pageIds?.length ?? 1); i += BATCH) {
      const where = pageIds ? and(scopeFilter(scope), idInList('page_id', pageIds.slice(i, i + BATCH))) : scopeFilter(scope);
      const n = await this.retry('counting page turns', () => this.table.countRows(where));
      if (n > 0) await this.retry('removing page turns', () => this.table.delete(where), this.table);
    }
  }

  /** Every row of the index rewritten from `pages` (a store that had none, or a rebuild). */
  async rebuild(pages: AsyncIterable<IndexedPage[]>): Promise<void> {
    const n = await this.retry('counting page turns', () => this.table.countRows());
    if (n > 0) await this.retry('clearing page turns', () => this.table.delete('true'), this.table);
    for await (const batch of pages) {
      const rows = batch.flatMap(pageTurnRows).map(toRow);
      if (rows.length) await this.retry('indexing page turns', () => this.table.add(rows), this.table);
    }
    if ((await this.retry('counting page turns', () => this.table.countRows())) > 0) await this.optimize();
  }

  async list(scope: Scope, pageIds: readonly string[]): Promise<PageTurnRow[]> {
    const out: PageTurnRow[] = [];
    for (let i = 0; i < pageIds.length; i += BATCH) {
      const where = and(scopeFilter(scope), idInList('page_id', pageIds.slice(i, i + BATCH)));
      const rows = await this.retry('listing page turns', () => this.table.query().where(where).select(COLUMNS).toArray());
      out.push(...rows.map(fromRow));
    }
    // Two writers indexing one page at the same instant can both insert its rows: each row once.
    return uniqueById(out).sort((a, b) => a.seq - b.seq || a.pageId.localeCompare(b.pageId));
  }

  async search(scope: Scope, text: string, k: number): Promise<TurnSearchHit[]> {
    if (!text.trim()) return [];
    const { unindexed } = await this.#counts();
    // As for pages: while rows are unindexed LanceDB merges out of score order, so fetch more and sort.
    const limit = unindexed > 0 ? Math.max(k * 4, 20) : k;
    const rows = await this.retry('searching page turns', () =>
      this.table.query().fullTextSearch(searchableText(text), { columns: ['search_text'] }).where(scopeFilter(scope)).select([...COLUMNS, '_score']).limit(limit).toArray(),
    );
    const hits = rows.map((r) => ({ id: String(r.id), turn: fromRow(r), score: Number(r._score ?? 0) })).sort((a, b) => b.score - a.score);
    return uniqueById(hits)
      .slice(0, k)
      .map(({ turn, score }) => ({ turn, score }));
  }

  async optimize(): Promise<void> {
    await this.#ensureIndex();
    await this.retry('optimizing page turns', () => this.table.optimize({ cleanupOlderThan: new Date(Date.now() - 60 * 60 * 1000) }), this.table);
  }

  async #ensureIndex(): Promise<string | undefined> {
    if (this.#ftsIndex) return this.#ftsIndex;
    const find = async () => (await this.retry('listing turn indices', () => this.table.listIndices())).find((i) => i.columns.includes('search_text'))?.name;
    let name = await find();
    if (!name && this.readOnly) return undefined;
    if (!name) {
      const lancedb = await loadLanceDb();
      await this.retry('building the turn full-text index', () => this.table.createIndex('search_text', { config: lancedb.Index.fts(), replace: true }));
      name = await find();
      if (!name) throw new StoreError('LanceDB built the full-text index on page turns but does not list it. Check the store location.');
    }
    this.#ftsIndex = name;
    return name;
  }

  async #counts(): Promise<{ indexed: number; unindexed: number }> {
    const name = await this.#ensureIndex();
    if (name === undefined) return { indexed: 0, unindexed: await this.retry('counting page turns', () => this.table.countRows()) };
    const stats = await this.retry('reading turn index statistics', () => this.table.indexStats(name));
    return { indexed: stats?.numIndexedRows ?? 0, unindexed: stats?.numUnindexedRows ?? 0 };
  }

  async #maintain(): Promise<void> {
    if (this.readOnly) return;
    const { indexed, unindexed } = await this.#counts();
    if (unindexed >= Math.max(1, indexed * REINDEX_SHARE)) await this.optimize();
  }

  close(): void {
    this.table.close();
  }
}
