/**
 * Opening a LanceDB store: connecting to a folder or URI, creating and migrating its tables under
 * a lock, checking that an object store keeps concurrent commits, and the read-only variant that
 * creates and migrates nothing. The store itself is lance-store.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Connection, Table } from '@lancedb/lancedb';
import { InvalidInputError, StoreError } from '../../src/errors.js';
import { loadLanceDb } from '../../src/internal/lazy.js';
import { ensureDir } from './ensure-dir.js';
import { withFileLock } from './file-lock.js';
import { readOnlyStore } from './read-only-store.js';
import { addMissingDigests } from './page-digest.js';
import { hasCjk, searchableText } from './search-text.js';
import { idInList, valuesById } from './sql.js';
import { probeConcurrentCommits, type CommitProbe } from './commit-probe.js';
import { DataType, type FixedSizeList } from 'apache-arrow';
import { LanceTurnIndex, TURN_INDEX_META } from './lance-turn-index.js';
import { metaSchema, MIGRATIONS, movesSchema, pageStateSchema, pagesSchema, pageTurnsSchema, PNG_TYPE_MIGRATION, SCHEMA_VERSION, tombstonesSchema, turnsSchema, vectorSchemaField } from './schema.js';
import { cjsArrow, isUri, retry } from './lance-retry.js';
import { STATE_TABLE_COLUMNS } from './lance-rows.js';
import type { MemoryStore } from './store.js';
import { indexedPages, LanceStore, UPDATE_BATCH } from './lance-store.js';

export interface LanceStoreOptions {
  /** Folder path or LanceDB URI (s3://, gs://, az://, db://). */
  readonly uri: string;
  /** Dimension of page vectors when an Embedder is configured. */
  readonly vectorDimension?: number;
  readonly storageOptions?: Record<string, string>;
  /**
   * Seconds between checks for writes by other processes. Default: 0 (every read sees them) for
   * a local folder; 5 for object storage, where each check is a request.
   */
  readonly readConsistencyInterval?: number;
  /**
   * On object storage, check once per store that concurrent commits are safe (the store honours
   * conditional writes) and warn when they are not. Default true.
   */
  readonly probeCommits?: boolean;
  /**
   * Only read: nothing is created, migrated or written, and writes throw a ReadOnlyError. A
   * location without a store is an error, and so is one with an older schema (open it once
   * writable to migrate it).
   */
  readonly readOnly?: boolean;
}

/** Seconds between checks for other processes' writes on object storage (each check is a request). */
const REMOTE_CONSISTENCY_S = 5;

async function connect(options: LanceStoreOptions): Promise<Connection> {
  const lancedb = await loadLanceDb();
  try {
    const remote = isUri(options.uri);
    const readConsistencyInterval = options.readConsistencyInterval ?? (remote ? REMOTE_CONSISTENCY_S : 0);
    // A folder goes to LanceDB as an absolute path: it takes a relative one beginning with 'db'
    // (`--db db2`) for a LanceDB Cloud name and asks for an API key.
    return await lancedb.connect(remote ? options.uri : resolve(options.uri), {
      ...(options.storageOptions ? { storageOptions: options.storageOptions } : {}),
      ...(readConsistencyInterval !== undefined ? { readConsistencyInterval } : {}),
    });
  } catch (cause) {
    throw new StoreError(`Cannot open the LanceDB store at '${options.uri}'. Check the path or URI and its credentials ('storageOptions').`, { cause });
  }
}

export async function openLanceStore(options: LanceStoreOptions): Promise<MemoryStore> {
  if (options.readOnly) return openReadOnly(options);
  if (!isUri(options.uri)) {
    // A folder inside a LanceDB table (`store/turns.lance`) would put a store within a store.
    const table = resolve(options.uri).split(sep).find((part) => part.endsWith('.lance'));
    if (table) throw new InvalidInputError('path', `'${options.uri}' is inside the LanceDB table folder '${table}'. Pass the store folder that holds it instead.`);
    await ensureDir(options.uri).catch((cause: NodeJS.ErrnoException) => {
      throw new StoreError(`Cannot use '${options.uri}' as a store folder (${cause.code ?? cause.message}). Pass a folder path that is not a file and is writable.`, { cause });
    });
  }
  const db = await connect(options);
  // Creating tables, migrating and writing the schema version happen under a lock so two
  // processes opening a new store at once cannot overwrite each other's tables.
  return withFileLock(isUri(options.uri) ? undefined : options.uri, 'setup', async () => {
    const existing = new Set(await retry('listing tables', () => db.tableNames()));
    const open = async (name: string, schema: import('apache-arrow').Schema) => {
      if (existing.has(name)) return db.openTable(name);
      try {
        return await db.createEmptyTable(name, schema, { mode: 'create', existOk: true });
      } catch {
        return db.openTable(name); // another process created it first
      }
    };
    const meta = await retry('opening meta', () => open('meta', metaSchema()));
    const metaRows = (await retry('reading meta', () => meta.query().toArray())) as { key: string; value: string }[];
    const metaOf = (key: string) => metaRows.find((r) => r.key === key)?.value;
    let version = metaOf('schema_version') === undefined ? undefined : Number(metaOf('schema_version'));
    if (version !== undefined && version > SCHEMA_VERSION) {
      throw new StoreError(`The store at '${options.uri}' was written by a newer opticmem (schema ${version}; this one reads up to ${SCHEMA_VERSION}). Upgrade opticmem.`);
    }
    const turns = await retry('opening turns', () => open('turns', turnsSchema()));
    const pages = await retry('opening pages', () => open('pages', pagesSchema(options.vectorDimension)));
    const tombstones = await retry('opening tombstones', () => open('tombstones', tombstonesSchema()));
    const moves = await retry('opening moves', () => open('moves', movesSchema()));
    const state = await retry('opening page state', () => open('page_state', pageStateSchema()));
    const pageTurns = new LanceTurnIndex(await retry('opening page turns', () => open('page_turns', pageTurnsSchema())), retry, false);
    // Every step checks the table itself, so a migration a crash interrupted (columns added,
    // version not yet written) is finished on the next open instead of failing on its columns.
    const columns = async () => new Map((await retry('reading the pages schema', () => pages.schema())).fields.map((f) => [f.name, f]));
    let have = await columns();
    const missing = MIGRATIONS.flatMap((m) => m.pages).filter((c) => !have.has(c.name));
    if (missing.length) {
      await retry('migrating pages', () => pages.addColumns(missing.map((c) => ({ name: c.name, valueSql: c.valueSql }))), pages);
      have = await columns();
    }
    if (have.get('png') && !DataType.isLargeBinary(have.get('png')!.type)) {
      await retry('widening the png column', () => pages.alterColumns([{ ...PNG_TYPE_MIGRATION }]), pages);
      have = await columns();
    }
    // The vector column's length is the store's vector dimension; meta repeats it for readers.
    const vectorField = have.get('vector');
    const storedDim = vectorField ? (vectorField.type as FixedSizeList).listSize : metaOf('vector_dimension') ? Number(metaOf('vector_dimension')) : undefined;
    if (storedDim && options.vectorDimension && storedDim !== options.vectorDimension) {
      throw new StoreError(`The store at '${options.uri}' holds vectors of length ${storedDim}, but the embedder returns ${options.vectorDimension}. Use the embedder the store was created with.`);
    }
    const dimension = storedDim || options.vectorDimension || undefined;
    if (dimension && !vectorField) {
      // An embedder added to a store created without one: pages written so far get null vectors.
      await retry('adding the vector column', () => pages.addColumns(vectorSchemaField(dimension, cjsArrow())), pages);
    }
    const upsertMeta = (key: string, value: string) =>
      retry('writing meta', () => meta.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{ key, value }]), meta);
    // Written only after the tables match them, so meta never promises a column that is not there.
    if (dimension && metaOf('vector_dimension') !== String(dimension)) await upsertMeta('vector_dimension', String(dimension));
    if (version === undefined || version < 3) {
      // Version 3 keeps recall state apart: copy it from the pages that have none yet, so a
      // copy a crash cut short is finished, never doubled.
      const have = new Set((await retry('reading page state', () => state.query().select(['id']).toArray())).map((r) => String(r.id)));
      const rows = (await retry('reading pages', () => pages.query().select(STATE_TABLE_COLUMNS).toArray())).filter((r) => !have.has(String(r.id)));
      for (let i = 0; i < rows.length; i += 5000) {
        const chunk = rows.slice(i, i + 5000).map((r) => Object.fromEntries(STATE_TABLE_COLUMNS.map((c) => [c, c === 'pinned' ? Boolean(r[c]) : typeof r[c] === 'string' ? r[c] : Number(r[c])])));
        await retry('copying page state', () => state.add(chunk), state);
      }
    }
    if (version === undefined || version < 4) {
      // Version 4 searches search_text: rows in CJK scripts get their searchable form (the added
      // column copied decoded_text), and the index on decoded_text gives way to one on it.
      // Both are redone whole until the version is written, so a crash between them is repaired.
      const rows = (await retry('reading pages', () => pages.query().select(['id', 'decoded_text']).toArray())).filter((r) => hasCjk(String(r.decoded_text)));
      for (let i = 0; i < rows.length; i += UPDATE_BATCH) {
        const chunk = rows.slice(i, i + UPDATE_BATCH).map((r) => [String(r.id), { search_text: searchableText(String(r.decoded_text)) }] as const);
        const where = idInList('id', chunk.map(([id]) => id));
        await retry('indexing page text', () => pages.update({ where, valuesSql: valuesById(chunk, ['search_text']) }), pages);
      }
      for (const index of await retry('listing indices', () => pages.listIndices())) {
        if (index.columns.includes('decoded_text')) await retry('dropping the old full-text index', () => pages.dropIndex(index.name), pages);
      }
    }
    // Version 5 checks page images against their digest: pages written before get theirs.
    if (version === undefined || version < 5) await addMissingDigests(pages, retry, UPDATE_BATCH);
    if (version !== SCHEMA_VERSION) {
      await upsertMeta('schema_version', String(SCHEMA_VERSION));
      version = SCHEMA_VERSION;
    }
    // The turn-level index is rebuilt whole from the pages until it is recorded as built, so
    // a store from before it, or a build a crash cut short, gets every page's turns.
    if (metaOf(TURN_INDEX_META) !== 'built') {
      await pageTurns.rebuild(indexedPages(pages));
      await upsertMeta(TURN_INDEX_META, 'built');
    }
    const store = new LanceStore(options.uri, db, turns, pages, tombstones, meta, dimension, moves, state, false, pageTurns);
    if (isUri(options.uri) && !options.uri.startsWith('memory://') && options.probeCommits !== false) await checkCommits(store, metaOf(COMMIT_PROBE_META), () => connect(options));
    return store;
  });
}

/** Meta key holding the commit probe's verdict: 'ok' or 'unsafe'. */
const COMMIT_PROBE_META = 'commit_probe';

/** Probe a remote store's commits once (the verdict is kept in meta) and warn while it is unsafe. */
async function checkCommits(store: MemoryStore, verdict: string | undefined, reconnect: () => Promise<Connection>): Promise<void> {
  if (verdict === undefined) {
    // A racing write can fail for a moment on a busy store (the probe's writers all commit at
    // once): try again before giving up. A store that refuses the probe (permissions) refuses
    // every time: say nothing rather than guess.
    let probe: CommitProbe | undefined;
    for (let attempt = 0; attempt < 3 && !probe; attempt++) probe = await probeConcurrentCommits(reconnect).catch(() => undefined);
    if (!probe) return;
    verdict = probe.safe ? 'ok' : 'unsafe';
    await store.setMeta(COMMIT_PROBE_META, verdict);
  }
  if (verdict === 'unsafe') {
    process.emitWarning(
      `The object store at '${store.uri}' lost commits made at the same moment (it ignores conditional writes). Two processes writing this store at once can lose turns or pages: use one writer process, or a store with conditional writes (AWS S3, MinIO, Cloudflare R2, GCS, Azure) or LanceDB's DynamoDB commit store.`,
      { code: 'OPTICMEM_UNSAFE_COMMITS' },
    );
  }
}

/** Open an existing store without writing anything: no folder, table, lock file or meta row is made. */
async function openReadOnly(options: LanceStoreOptions): Promise<MemoryStore> {
  const field = isUri(options.uri) ? 'uri' : 'path';
  const missingStore = (detail: string) =>
    new InvalidInputError(field, `No opticmem store at '${options.uri}' (${detail}). Pass the location given to Memory.open(), or open it without 'readOnly' to create a store there.`);
  if (!isUri(options.uri) && !existsSync(options.uri)) throw missingStore('nothing is there');
  if (!isUri(options.uri) && !statSync(options.uri).isDirectory()) {
    throw new StoreError(`Cannot use '${options.uri}' as a store folder (ENOTDIR). Pass the folder given to Memory.open({ path }).`);
  }
  const db = await connect(options);
  try {
    // Each table is opened rather than listed: some object stores (and narrow credentials) do not list.
    const opened = new Map<string, Table>();
    for (const name of ['meta', 'turns', 'pages', 'tombstones', 'moves', 'page_state', 'page_turns']) {
      const table = await db.openTable(name).catch(() => undefined);
      if (table) opened.set(name, table);
    }
    const names = new Set(opened.keys());
    const missing = ['meta', 'turns', 'pages', 'tombstones'].filter((n) => !names.has(n));
    if (missing.length) throw missingStore(`it has no ${missing.join(', ')} table${missing.length > 1 ? 's' : ''}`);
    const meta = opened.get('meta')!;
    const metaRows = (await retry('reading meta', () => meta.query().toArray())) as { key: string; value: string }[];
    const metaOf = (key: string) => metaRows.find((r) => r.key === key)?.value;
    const version = metaOf('schema_version') === undefined ? undefined : Number(metaOf('schema_version'));
    if (version === undefined || version > SCHEMA_VERSION) {
      throw new StoreError(
        version === undefined
          ? `The store at '${options.uri}' has no schema version. Open it once without 'readOnly' so opticmem can check and record it.`
          : `The store at '${options.uri}' was written by a newer opticmem (schema ${version}; this one reads up to ${SCHEMA_VERSION}). Upgrade opticmem.`,
      );
    }
    if (version < SCHEMA_VERSION) {
      // Older pages lack columns the reader needs (pinned, importance); only a writer may add them.
      throw new StoreError(`The store at '${options.uri}' uses schema ${version}; this opticmem reads schema ${SCHEMA_VERSION}. Open it once without 'readOnly' to migrate it.`);
    }
    const dimension = metaOf('vector_dimension') ? Number(metaOf('vector_dimension')) : undefined;
    if (dimension && options.vectorDimension && dimension !== options.vectorDimension) {
      throw new StoreError(`The store at '${options.uri}' holds vectors of length ${dimension}, but the embedder returns ${options.vectorDimension}. Use the embedder the store was created with.`);
    }
    const [turns, pages, tombstones] = ['turns', 'pages', 'tombstones'].map((n) => opened.get(n)!);
    // Stores from before ladder history have no moves table; they show a partial timeline.
    const moves = opened.get('moves');
    const state = opened.get('page_state') ?? (await retry('opening page state', () => db.openTable('page_state')));
    // Stores from before the turn-level index have none until opened writable; turns are then cut from pages.
    const pageTurns = opened.has('page_turns') && metaOf(TURN_INDEX_META) === 'built' ? new LanceTurnIndex(opened.get('page_turns')!, retry, true) : undefined;
    const store = new LanceStore(options.uri, db, turns!, pages!, tombstones!, meta, dimension, moves, state, true, pageTurns);
    return readOnlyStore(store, { withoutMoves: moves === undefined });
  } catch (error) {
    db.close();
    throw error;
  }
}
