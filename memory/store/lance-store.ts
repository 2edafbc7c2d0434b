/**
 * The LanceDB store: a thin typed facade over an embedded LanceDB database (a local folder, or
 * any LanceDB URI). Rows are camelCase in, snake_case in the tables; every query is
 * scope-filtered with escaped literals only.
 */
import type { Connection, Table } from '@lancedb/lancedb';
import { StoreError } from '../../src/errors.js';
import { loadLanceDb } from '../../src/internal/lazy.js';
import { DIGEST_COLUMN, verifiedPng } from './page-digest.js';
import { searchableText } from './search-text.js';
import { and, idInList, scopeFilter, sqlLiteral, sqlString, valuesById } from './sql.js';
import { keepOneCopy, newWriteId, uniqueById } from './page-dedupe.js';
import { LanceTurnIndex, type IndexedPage } from './lance-turn-index.js';
import { deleteWhere, ignoreConflict, retry } from './lance-retry.js';
import { FTS_COLUMN, PAGE_META_COLUMNS, pageToRow, rowsToPages, rowToPage, rowToTurn, splitUpdate, stateRow, toColumns, turnIdsOf, turnToRow } from './lance-rows.js';
import type { ListOptions, MemoryStore, PageHit, PageMoveRow, PageRow, PageTurnRow, PageUpdate, Scope, SearchOptions, TombstoneRow, TurnRow, TurnSearchHit } from './store.js';

const RRF_K = 60;
/** Pages per batched UPDATE (each adds two literal arrays of this length to the statement). */
export const UPDATE_BATCH = 200;
/**
 * New rows are folded into the FTS index once they reach a quarter of the table. Until then
 * they are searched flatly, with scores that do not rank well against indexed rows, so small
 * stores reindex on nearly every write (cheap); folding in also compacts data files, which
 * rewrites the table, so the growing threshold keeps bulk ingestion O(n log n), not O(n²).
 */
/** Old table versions kept for readers still on them (another process may read a version for a while). */
const VERSION_RETENTION_MS = 60 * 60 * 1000;
/** page_state rows before an id index pays for itself (a flat lookup of 100k rows takes ~5 ms). */
const STATE_INDEX_ROWS = 5000;
/** Small fragments of the turns table that make deleteTurns fold them into one. */
const TURN_FRAGMENTS_TO_FOLD = 32;
const REINDEX_SHARE = 0.25;

export class LanceStore implements MemoryStore {
  readonly specificationVersion = 'v1' as const;
  #closed = false;
  /** Name of the full-text index once it exists. */
  #ftsIndex: string | undefined;
  constructor(
    readonly uri: string,
    private readonly db: Connection,
    private readonly turns: Table,
    private readonly pages: Table,
    private readonly tombstones: Table,
    private readonly meta: Table,
    private readonly dimension: number | undefined,
    private readonly moves: Table | undefined,
    /** Recall state of the pages (see pageStateSchema); it overrides the pages' own columns. */
    private readonly state: Table,
    /** Opened read-only: searches never build a missing index (LanceDB searches flat without one). */
    private readonly readOnly = false,
    /** The turn-level index (absent on a read-only store from before it). */
    private readonly pageTurns?: LanceTurnIndex,
  ) {}

  /** Rewrite the turn rows of these pages from their current text, each under its own scope. */
  async #indexTurns(pages: readonly IndexedPage[]): Promise<void> {
    if (!this.pageTurns) return;
    const byScope = new Map<string, IndexedPage[]>();
    for (const p of pages) {
      const key = JSON.stringify([p.userId, p.agentId, p.sessionId]);
      byScope.set(key, [...(byScope.get(key) ?? []), p]);
    }
    for (const group of byScope.values()) {
      const { userId, agentId, sessionId } = group[0]!;
      await this.pageTurns.replace({ userId, agentId, sessionId }, group);
    }
  }

  async searchTurns(scope: Scope, options: { readonly text: string; readonly k: number }): Promise<TurnSearchHit[]> {
    this.#open();
    if (!this.pageTurns) return [];
    return this.pageTurns.search(scope, options.text, Math.max(1, Math.floor(options.k)));
  }

  async listPageTurns(scope: Scope, pageIds: readonly string[]): Promise<PageTurnRow[]> {
    this.#open();
    if (!this.pageTurns || pageIds.length === 0) return [];
    return this.pageTurns.list(scope, pageIds);
  }

  /** The pages with their recall state from page_state (a page without a row there keeps its own). */
  async #withState(scope: Scope, rows: PageRow[]): Promise<PageRow[]> {
    if (rows.length === 0) return rows;
    const latest = new Map<string, Record<string, unknown>>();
    const ids = [...new Set(rows.map((r) => r.id))];
    for (let i = 0; i < ids.length; i += 500) {
      const where = and(scopeFilter(scope), idInList('id', ids.slice(i, i + 500)));
      const found = await retry('reading page state', () => this.state.query().where(where).toArray());
      for (const r of found) {
        const prev = latest.get(String(r.id));
        if (!prev || Number(r.updated_at) >= Number(prev.updated_at)) latest.set(String(r.id), r);
      }
    }
    return rows.map((p) => {
      const r = latest.get(p.id);
      if (!r) return p;
      return {
        ...p, strength: Number(r.strength), recallCount: Number(r.recall_count), lastRecalledAt: Number(r.last_recalled_at), pinned: Boolean(r.pinned),
        importance: Number(r.importance), updatedAt: Number(r.updated_at),
      };
    });
  }

  /** A lookup index on page_state ids once the table is big enough to want one, kept current like the pages' index. */
  async #maintainState(): Promise<void> {
    if (this.readOnly) return;
    const indices = await retry('listing state indices', () => this.state.listIndices());
    const name = indices.find((i) => i.columns.includes('id'))?.name;
    if (!name) {
      if ((await retry('counting page state', () => this.state.countRows())) < STATE_INDEX_ROWS) return;
      const lancedb = await loadLanceDb();
      await retry('indexing page state', () => this.state.createIndex('id', { config: lancedb.Index.btree(), replace: true }));
      return;
    }
    const stats = await retry('reading state index statistics', () => this.state.indexStats(name));
    if ((stats?.numUnindexedRows ?? 0) >= Math.max(1, (stats?.numIndexedRows ?? 0) * REINDEX_SHARE)) {
      const cleanupOlderThan = new Date(Date.now() - VERSION_RETENTION_MS);
      await retry('optimizing page state', () => this.state.optimize({ cleanupOlderThan }), this.state);
    }
  }

  async addMoves(rows: readonly PageMoveRow[]): Promise<void> {
    this.#open();
    if (rows.length === 0 || !this.moves) return;
    const moves = this.moves;
    await retry('adding moves', () =>
      moves.add(
        rows.map((m) => ({
          id: m.id, user_id: m.userId, agent_id: m.agentId, session_id: m.sessionId, page_id: m.pageId, from_tier: m.from, to_tier: m.to,
          retention: m.retention, visual_tokens_before: m.visualTokensBefore, visual_tokens_after: m.visualTokensAfter, moved_at: m.movedAt,
        })),
      ),
      moves,
    );
  }

  async listMoves(scope: Scope): Promise<PageMoveRow[]> {
    this.#open();
    const moves = this.moves;
    if (!moves) return [];
    const where = scopeFilter(scope);
    const rows = await retry('listing moves', () => moves.query().where(where).toArray());
    return rows
      .map((r) => ({
        id: String(r.id), userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id), pageId: String(r.page_id),
        from: String(r.from_tier), to: String(r.to_tier), retention: Number(r.retention), visualTokensBefore: Number(r.visual_tokens_before),
        visualTokensAfter: Number(r.visual_tokens_after), movedAt: Number(r.moved_at),
      }))
      .sort((a, b) => a.movedAt - b.movedAt || a.id.localeCompare(b.id));
  }

  async deleteMoves(scope: Scope): Promise<number> {
    this.#open();
    return this.moves ? deleteWhere(this.moves, scopeFilter(scope), 'moves') : 0;
  }

  async deleteTombstones(scope: Scope): Promise<number> {
    this.#open();
    return deleteWhere(this.tombstones, scopeFilter(scope), 'tombstones');
  }

  async addTombstones(rows: readonly TombstoneRow[]): Promise<void> {
    this.#open();
    if (rows.length === 0) return;
    await retry('adding tombstones', () =>
      this.tombstones.add(
        rows.map((t) => ({
          id: t.id, user_id: t.userId, agent_id: t.agentId, session_id: t.sessionId, page_id: t.pageId, turn_count: t.turnCount,
          start_time: t.startTime, end_time: t.endTime, tier: t.tier, reason: t.reason, dropped_at: t.droppedAt,
        })),
      ),
      this.tombstones,
    );
  }

  async listTombstones(scope: Scope): Promise<TombstoneRow[]> {
    this.#open();
    const where = scopeFilter(scope);
    const rows = await retry('listing tombstones', () => this.tombstones.query().where(where).toArray());
    return rows
      .map((r) => ({
        id: String(r.id), userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id), pageId: String(r.page_id),
        turnCount: Number(r.turn_count), startTime: Number(r.start_time), endTime: Number(r.end_time), tier: String(r.tier),
        reason: String(r.reason), droppedAt: Number(r.dropped_at),
      }))
      .sort((a, b) => a.startTime - b.startTime);
  }

  async getMeta(key: string): Promise<string | undefined> {
    this.#open();
    const where = `key = ${sqlString(key)}`;
    const rows = await retry('reading meta', () => this.meta.query().where(where).toArray());
    return rows[0] ? String(rows[0].value) : undefined;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#open();
    await retry('writing meta', () => this.meta.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{ key, value }]), this.meta);
  }

  #open(): void {
    if (this.#closed) throw new StoreError('The store is closed. Open the memory again.');
  }

  async addTurns(rows: readonly TurnRow[]): Promise<void> {
    this.#open();
    if (rows.length === 0) return;
    await retry('adding turns', () => this.turns.add(rows.map(turnToRow)), this.turns);
  }

  async listTurns(scope: Scope, options: { limit?: number } = {}): Promise<TurnRow[]> {
    this.#open();
    const where = scopeFilter(scope);
    const rows = await retry('listing turns', () => this.turns.query().where(where).toArray());
    const sorted = rows.map(rowToTurn).sort((a, b) => a.seq - b.seq || a.id.localeCompare(b.id));
    return options.limit ? sorted.slice(-options.limit) : sorted;
  }

  async pageCopies(): Promise<{ id: string; copies: number }[]> {
    this.#open();
    const n = new Map<string, number>();
    for (const r of await retry('listing page ids', () => this.pages.query().select(['id']).toArray())) n.set(String(r.id), (n.get(String(r.id)) ?? 0) + 1);
    return [...n].filter(([, c]) => c > 1).map(([id, copies]) => ({ id, copies }));
  }

  async removePageCopies(ids: readonly string[]): Promise<void> {
    this.#open();
    await keepOneCopy(this.pages, ids, '', retry);
  }

  async hotTokens(scope: Scope): Promise<number> {
    this.#open();
    const rows = await retry('counting hot tokens', () => this.turns.query().where(scopeFilter(scope)).select(['text_tokens']).toArray());
    return rows.reduce((a, r) => a + Number(r.text_tokens), 0);
  }

  async deleteTurns(scope: Scope, ids: readonly string[]): Promise<void> {
    this.#open();
    for (let i = 0; i < ids.length; i += 500) {
      const where = and(scopeFilter(scope), idInList('id', ids.slice(i, i + 500)));
      await retry('deleting turns', () => this.turns.delete(where), this.turns);
    }
    // Every add commits a small fragment and compaction deletes rows from them: fold them
    // together now and then, so reading the hot turns stays a scan of a few files.
    const stats = await retry('reading turn statistics', () => this.turns.stats());
    if (stats.fragmentStats.numSmallFragments >= TURN_FRAGMENTS_TO_FOLD) {
      const cleanupOlderThan = new Date(Date.now() - VERSION_RETENTION_MS);
      await retry('optimizing turns', () => this.turns.optimize({ cleanupOlderThan }), this.turns);
    }
  }

  async addPages(input: readonly PageRow[]): Promise<void> {
    this.#open();
    if (input.length === 0) return;
    // A page already stored (another worker compacted the same turns, maybe aged it since) is left alone.
    await this.pages.checkoutLatest().catch(() => undefined);
    const present = new Set<string>();
    for (let i = 0; i < input.length; i += 500) {
      const where = idInList('id', input.slice(i, i + 500).map((r) => r.id));
      for (const r of await retry('reading page ids', () => this.pages.query().where(where).select(['id']).toArray())) present.add(String(r.id));
    }
    const rows = input.filter((r) => !present.has(r.id));
    if (rows.length === 0) return;
    // A worker committing the same pages at the same moment: one copy of each stays (page-dedupe.ts).
    let writeId = '';
    await retry('adding pages', () => {
      writeId = newWriteId(); // per attempt: an add that committed but reported failure is told apart
      return this.pages.add(rows.map((r) => pageToRow(r, this.dimension, writeId)));
    }, this.pages);
    const kept = await keepOneCopy(this.pages, rows.map((r) => r.id), writeId, retry);
    const added = rows.filter((r) => kept.has(r.id));
    if (added.length === 0) return;
    // After the pages: a crash in between leaves pages whose own columns hold their state.
    await retry('adding page state', () => this.state.add(added.map(stateRow)), this.state);
    await this.#indexTurns(added);
    // Upkeep, not the write: another worker rewriting the table at the same moment can outlast
    // the retries, and the pages are committed already; the next write tries again.
    await this.#maintainIndex().catch(ignoreConflict);
    await this.#maintainState().catch(ignoreConflict);
  }

  /** The full-text index, built if the table has none yet. */
  async #ensureFtsIndex(): Promise<string | undefined> {
    if (this.#ftsIndex) return this.#ftsIndex;
    const find = async () => (await retry('listing indices', () => this.pages.listIndices())).find((i) => i.columns.includes(FTS_COLUMN))?.name;
    let name = await find();
    // A read-only store never builds one: LanceDB searches flat without it.
    if (!name && this.readOnly) return undefined;
    if (!name) {
      const lancedb = await loadLanceDb();
      await retry('building the full-text index', () => this.pages.createIndex(FTS_COLUMN, { config: lancedb.Index.fts(), replace: true }));
      name = await find();
      if (!name) throw new StoreError('LanceDB built the full-text index on pages but does not list it. Check the store location.');
    }
    this.#ftsIndex = name;
    return name;
  }

  /** Rows of the pages table the full-text index does not cover yet (added or rewritten since it was built). */
  async #unindexedRows(): Promise<{ indexed: number; unindexed: number }> {
    const name = await this.#ensureFtsIndex();
    if (name === undefined) return { indexed: 0, unindexed: await retry('counting pages', () => this.pages.countRows()) };
    const stats = await retry('reading index statistics', () => this.pages.indexStats(name));
    return { indexed: stats?.numIndexedRows ?? 0, unindexed: stats?.numUnindexedRows ?? 0 };
  }

  /**
   * Writers fold new and rewritten rows into the index once they reach a share of the indexed
   * ones. The counts come from the index itself, so writes by other processes, and rows left
   * unindexed before this store was opened, count too, and a freshly opened store does not
   * rewrite a large table on its first small write.
   */
  async #maintainIndex(): Promise<void> {
    const { indexed, unindexed } = await this.#unindexedRows();
    if (unindexed >= Math.max(1, indexed * REINDEX_SHARE)) await this.optimize();
  }

  /**
   * Fold new pages into the full-text index and compact data files. Runs on its own after
   * enough pages were added; call it after a bulk import so every page is indexed.
   */
  async optimize(): Promise<void> {
    this.#open();
    await this.#ensureFtsIndex();
    // Every rehearsal and ladder move rewrites rows; versions older than an hour would otherwise
    // keep their data files for LanceDB's default week (a 100k-page store grew to 18 GB).
    const cleanupOlderThan = new Date(Date.now() - VERSION_RETENTION_MS);
    await retry('optimizing pages', () => this.pages.optimize({ cleanupOlderThan }), this.pages);
    await retry('optimizing page state', () => this.state.optimize({ cleanupOlderThan }), this.state);
    await this.pageTurns?.optimize();
  }

  async getPage(scope: Scope, id: string): Promise<PageRow | undefined> {
    this.#open();
    const where = and(scopeFilter(scope), idInList('id', [id]));
    const rows = await retry('reading a page', () => this.pages.query().where(where).limit(1).toArray());
    return rows[0] ? (await this.#withState(scope, [rowToPage(rows[0])]))[0] : undefined;
  }

  async listPages(scope: Scope, options: ListOptions = {}): Promise<PageRow[]> {
    this.#open();
    if (options.ids?.length === 0) return [];
    const where = and(scopeFilter(scope), options.tier ? `tier = ${sqlString(options.tier)}` : undefined, options.ids ? idInList('id', options.ids) : undefined);
    let q = this.pages.query().where(where);
    if (options.withPng === false) q = q.select(PAGE_META_COLUMNS);
    const rows = await retry('listing pages', () => q.toArray());
    const sorted = uniqueById(rowsToPages(rows, rowToPage, options.onDamaged)).sort((a, b) => a.firstSeq - b.firstSeq);
    return this.#withState(scope, options.limit ? sorted.slice(-options.limit) : sorted);
  }

  async updatePage(scope: Scope, id: string, update: PageUpdate): Promise<void> {
    this.#open();
    const { state, page } = splitUpdate(update);
    const pageValues = toColumns(page);
    const stateValues = toColumns(state);
    const where = and(scopeFilter(scope), idInList('id', [id]));
    if (Object.keys(pageValues).length > 0) {
      // LanceDB turns these JS values into escaped SQL literals (strings quoted, buffers as X'..').
      await retry('updating a page', () => this.pages.update({ where, values: pageValues as Record<string, import('@lancedb/lancedb').IntoSql> }), this.pages);
      if (page.decodedText !== undefined || page.geometry !== undefined || page.turnIds !== undefined || page.firstSeq !== undefined) {
        await this.#indexTurns(await this.listPages(scope, { ids: [id], withPng: false }));
      }
      // A rewritten row leaves the full-text index, and LanceDB ranks unindexed rows poorly, so
      // ladder moves would degrade later searches; rewrites count towards reindexing.
      await this.#maintainIndex();
    }
    if (Object.keys(stateValues).length > 0) {
      const done = await retry('updating page state', () => this.state.update({ where, values: stateValues as Record<string, import('@lancedb/lancedb').IntoSql> }), this.state);
      if (done.rowsUpdated === 0) await this.#addMissingState(scope, [{ id, update: state }]);
      await this.#maintainState();
    }
  }

  /** State rows for pages whose add was cut short before their state was written: their own columns, then the update. */
  async #addMissingState(scope: Scope, updates: readonly { id: string; update: PageUpdate }[]): Promise<void> {
    const pages = await this.listPages(scope, { ids: updates.map((u) => u.id), withPng: false });
    const byId = new Map(updates.map((u) => [u.id, u.update]));
    const rows = pages.map((p) => stateRow({ ...p, ...byId.get(p.id) }));
    if (rows.length) await retry('adding page state', () => this.state.add(rows), this.state);
  }

  /**
   * One `UPDATE` (see valuesById) for every page's recall state: an atomic commit that rewrites
   * only the named rows of this scope, in the small page_state table (a rehearsal never touches
   * a page row). Other fields go page by page.
   */
  async updatePages(scope: Scope, updates: readonly { id: string; update: PageUpdate }[]): Promise<void> {
    this.#open();
    const split = updates.map(({ id, update }) => ({ id, ...splitUpdate(update) }));
    for (const { id, page } of split) if (Object.keys(page).length > 0) await this.updatePage(scope, id, page);
    const latest = new Map(split.map((u) => [u.id, { columns: toColumns(u.state), update: u.state }] as const).filter(([, v]) => Object.keys(v.columns).length > 0));
    if (latest.size === 0) return;
    const columns = [...new Set([...latest.values()].flatMap((v) => Object.keys(v.columns)))];
    const batchable = [...latest.values()].every((v) => columns.every((c) => c in v.columns && sqlLiteral(v.columns[c]) !== undefined));
    if (!batchable) {
      for (const [id, { update }] of latest) await this.updatePage(scope, id, update);
      return;
    }
    const entries = [...latest];
    for (let i = 0; i < entries.length; i += UPDATE_BATCH) {
      const chunk = entries.slice(i, i + UPDATE_BATCH);
      const where = and(scopeFilter(scope), idInList('id', chunk.map(([id]) => id)));
      const valuesSql = valuesById(chunk.map(([id, v]) => [id, v.columns] as const), columns);
      const done = await retry('updating page state', () => this.state.update({ where, valuesSql }), this.state);
      if (done.rowsUpdated < chunk.length) {
        const have = new Set((await retry('reading page state', () => this.state.query().where(where).select(['id']).toArray())).map((r) => String(r.id)));
        await this.#addMissingState(scope, chunk.filter(([id]) => !have.has(id)).map(([id, v]) => ({ id, update: v.update })));
      }
    }
    await this.#maintainState();
  }

  async deletePages(scope: Scope, ids?: readonly string[]): Promise<number> {
    this.#open();
    const where = ids ? and(scopeFilter(scope), idInList('id', ids)) : scopeFilter(scope);
    const n = await deleteWhere(this.pages, where, 'pages');
    // After the pages: a crash in between leaves state and turn rows no page reads.
    await deleteWhere(this.state, where, 'page state');
    await this.pageTurns?.remove(scope, ids);
    return n;
  }

  async search(scope: Scope, options: SearchOptions): Promise<PageHit[]> {
    this.#open();
    const k = Math.max(1, Math.floor(options.k));
    const text = options.text?.trim() ? options.text : undefined;
    const vector = options.vector?.length && this.dimension ? options.vector : undefined;
    const mode = options.mode ?? (text && vector ? 'hybrid' : vector ? 'vector' : 'fts');
    const filter = scopeFilter(scope);
    const wanted = mode === 'hybrid' ? k * 4 : k;
    // Searches read page metadata only; image bytes are fetched for the hits alone, on request.
    const ftsHits = async (): Promise<PageHit[]> => {
      if (!text) return [];
      // Reads only build a missing index; folding in new pages is left to writers.
      const { unindexed } = await this.#unindexedRows();
      // LanceDB merges indexed and not-yet-indexed rows out of score order, so while any row is
      // unindexed fetch more than wanted, sort by score, and cut.
      const limit = unindexed > 0 ? Math.max(wanted * 4, 20) : wanted;
      const rows = await retry('searching pages', () =>
        this.pages.query().fullTextSearch(searchableText(text), { columns: [FTS_COLUMN] }).where(filter).select([...PAGE_META_COLUMNS, '_score']).limit(limit).toArray(),
      );
      const sorted = rowsToPages(rows, (r) => ({ id: String(r.id), page: rowToPage(r), score: Number(r._score ?? 0) }), options.onDamaged).sort((a, b) => b.score - a.score);
      return uniqueById(sorted).slice(0, wanted);
    };
    const vectorHits = async (): Promise<PageHit[]> => {
      if (!vector) return [];
      const rows = await retry('searching vectors', () =>
        this.pages.query().nearestTo([...vector]).column('vector').where(filter).select([...PAGE_META_COLUMNS, '_distance']).limit(wanted).toArray(),
      );
      return uniqueById(rowsToPages(rows, (r) => ({ id: String(r.id), page: rowToPage(r), score: 1 / (1 + Number(r._distance ?? 0)) }), options.onDamaged).sort((a, b) => b.score - a.score));
    };
    const hits = await (async () => {
      if (mode === 'fts') return ftsHits();
      if (mode === 'vector') return vectorHits();
      const [a, b] = await Promise.all([ftsHits(), vectorHits()]);
      const fused = new Map<string, PageHit>();
      for (const list of [a, b]) {
        list.forEach((h, rank) => {
          const prev = fused.get(h.page.id);
          fused.set(h.page.id, { page: h.page, score: (prev?.score ?? 0) + 1 / (RRF_K + rank + 1) });
        });
      }
      return [...fused.values()].sort((x, y) => y.score - x.score).slice(0, k);
    })();
    if (hits.length === 0) return hits;
    const withState = await this.#withState(scope, hits.map((h) => h.page));
    const pngs = options.withPng ? await this.#pngsOf(scope, hits.map((h) => h.page.id)) : undefined;
    return hits.map((h, i) => ({ ...h, page: { ...withState[i]!, png: pngs?.get(h.page.id) ?? h.page.png } }));
  }

  /** Image bytes of the given pages of a scope, in one query. */
  async #pngsOf(scope: Scope, ids: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (let i = 0; i < ids.length; i += 500) {
      const where = and(scopeFilter(scope), idInList('id', ids.slice(i, i + 500)));
      const rows = await retry('reading page images', () => this.pages.query().where(where).select(['id', 'png', DIGEST_COLUMN]).toArray());
      for (const r of rows) out.set(String(r.id), verifiedPng(String(r.id), new Uint8Array(r.png as Uint8Array), r[DIGEST_COLUMN]));
    }
    return out;
  }

  async scopes(): Promise<{ scope: Required<Scope>; turns: number; pages: number }[]> {
    this.#open();
    const cols = ['user_id', 'agent_id', 'session_id'];
    const [t, p] = await Promise.all([
      retry('listing scopes', () => this.turns.query().select(cols).toArray()),
      retry('listing scopes', () => this.pages.query().select(cols).toArray()),
    ]);
    const out = new Map<string, { scope: Required<Scope>; turns: number; pages: number }>();
    const bump = (r: Record<string, unknown>, key: 'turns' | 'pages') => {
      const scope = { userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id) };
      const id = JSON.stringify(scope);
      const e = out.get(id) ?? { scope, turns: 0, pages: 0 };
      e[key]++;
      out.set(id, e);
    };
    t.forEach((r) => bump(r, 'turns'));
    p.forEach((r) => bump(r, 'pages'));
    return [...out.values()];
  }

  async pagesCoveringTurns(scope: Scope, turnIds: readonly string[]): Promise<string[]> {
    this.#open();
    if (turnIds.length === 0) return [];
    const wanted = new Set(turnIds);
    const where = scopeFilter(scope);
    const rows = await retry('finding pages of turns', () => this.pages.query().where(where).select(['id', 'turn_ids']).toArray());
    return rows.filter((r) => turnIdsOf(r).some((t) => wanted.has(t))).map((r) => String(r.id));
  }

  async counts(): Promise<{ turns: number; pages: number }> {
    this.#open();
    const [turns, pages] = await Promise.all([this.turns.countRows(), this.pages.countRows()]);
    return { turns, pages };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.turns.close();
    this.pages.close();
    this.tombstones.close();
    this.moves?.close();
    this.state.close();
    this.pageTurns?.close();
    this.meta.close();
    this.db.close();
  }
}

/** Every page's indexed columns, a batch at a time (for building the turn-level index). */
export async function* indexedPages(pages: Table): AsyncIterable<IndexedPage[]> {
  const total = await retry('counting pages', () => pages.countRows());
  const columns = ['id', 'user_id', 'agent_id', 'session_id', 'turn_ids', 'first_seq', 'geometry', 'decoded_text'];
  for (let offset = 0; offset < total; offset += 1000) {
    const rows = await retry('reading pages', () => pages.query().select(columns).offset(offset).limit(1000).toArray());
    yield rows.map((r) => ({
      id: String(r.id), userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id),
      turnIds: turnIdsOf(r), firstSeq: Number(r.first_seq), geometry: String(r.geometry), decodedText: String(r.decoded_text),
    }));
  }
}
