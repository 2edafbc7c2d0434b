import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Binary, DataType, Field, Schema, Utf8 } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError, StoreError } from '../src/errors.js';
import { openLanceStore } from '../memory/store/lance-open.js';
import { pageStateSchema, pagesSchema, SCHEMA_VERSION } from '../memory/store/schema.js';
import { scopeFilter, sqlString } from '../memory/store/sql.js';
import type { PageRow } from '../memory/store/store.js';

const dirs: string[] = [];
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-store-'));
  dirs.push(d);
  return d;
}
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function page(id: string, userId: string, text: string): PageRow {
  return {
    id, userId, agentId: '', sessionId: '', turnIds: [`${id}-t`], firstSeq: 1, lastSeq: 2, startTime: 0, endTime: 1, tier: 'lossless',
    profile: 'deepseek-ocr:base', png: Uint8Array.from([0x89, 1, 2, 3]), geometry: '{}', width: 1024, height: 1024, textTokens: 100,
    visualTokens: 256, ratio: 0.4, targetRatio: 10, fidelity: 1, decodedText: text, vector: [], strength: 1, recallCount: 0,
    lastRecalledAt: 0, pinned: false, importance: 1, createdAt: 0, updatedAt: 0,
  };
}

/** The pages schema before version 4 (no search_text, nor png_sha256), without `drop`. */
function legacyPagesSchema(drop: readonly string[] = []): Schema {
  return new Schema(pagesSchema(undefined).fields.filter((f) => f.name !== 'search_text' && f.name !== 'png_sha256' && !drop.includes(f.name)));
}

/** An old page as a table row written by an earlier schema: snake_case columns, without `drop`. */
function legacyRow(drop: readonly string[]): Record<string, unknown> {
  const row = Object.fromEntries(Object.entries({ ...page('old', 'u', 'an old page about ferries') }).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
  for (const k of [...drop, 'vector']) delete row[k];
  row.turn_ids = JSON.stringify(row.turn_ids);
  row.png = Buffer.from(row.png as Uint8Array);
  return row;
}

describe('SQL literals for LanceDB filters', () => {
  it('doubles quotes, refuses NUL and never lets a value end the literal', () => {
    expect(sqlString("o'brien")).toBe("'o''brien'");
    expect(scopeFilter({ userId: "x' OR '1'='1", sessionId: 's' })).toBe("user_id = 'x'' OR ''1''=''1' AND agent_id = '' AND session_id = 's'");
    // Exact by default; '*' leaves a part out, and cannot stand alone.
    expect(scopeFilter({ userId: 'u', sessionId: '*' })).toBe("user_id = 'u' AND agent_id = ''");
    expect(() => scopeFilter({ userId: '*', agentId: '*' })).toThrow(InvalidInputError);
    expect(() => sqlString('a\u0000b')).toThrow(InvalidInputError);
    expect(() => scopeFilter({})).toThrow(InvalidInputError);
  });

  it('round-trips hostile ids through a real table', async () => {
    const store = await openLanceStore({ uri: await tempDir() });
    try {
      const hostile = ["o'brien", "x' OR '1'='1", '%', '_', '\\', '"; DROP TABLE pages; --', '🙂 用户'];
      await store.addPages(hostile.map((u, i) => page(`p${i}`, u, `page of user ${i}`)));
      for (const [i, u] of hostile.entries()) {
        const mine = await store.listPages({ userId: u });
        expect(mine.map((p) => p.id)).toEqual([`p${i}`]);
        expect(mine[0]!.png).toEqual(Uint8Array.from([0x89, 1, 2, 3]));
        const hits = await store.search({ userId: u }, { text: 'page user', k: 10 });
        expect(hits.map((h) => h.page.userId)).toEqual([u]);
      }
      await store.updatePage({ userId: "o'brien" }, 'p0', { decodedText: "it's updated, isn't it", strength: 2.5 });
      expect((await store.getPage({ userId: "o'brien" }, 'p0'))!.decodedText).toBe("it's updated, isn't it");
      expect(await store.getPage({ userId: 'someone' }, 'p0')).toBeUndefined();
      // Bad input is the caller's error, not a store failure: typed, and passed through retries as is.
      for (const attempt of [() => store.listPages({ userId: 'a\u0000b' }), () => store.getPage({ userId: 'u' }, 'p\u0000'), () => store.search({ userId: 'a\u0000b' }, { text: 'x', k: 1 })]) {
        const err = await attempt().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidInputError);
        expect(err).not.toBeInstanceOf(StoreError);
      }
      expect(await store.deletePages({ userId: '%' })).toBe(1);
      expect((await store.counts()).pages).toBe(hostile.length - 1);
    } finally {
      await store.close();
    }
  });

  it('batch updates touch only pages of the given scope, in one commit', async () => {
    const store = await openLanceStore({ uri: await tempDir() });
    try {
      await store.addPages([page('a', "o'brien", 'first'), page('b', "o'brien", 'second'), page('c', "x' OR '1'='1", 'other user')]);
      // 'c' belongs to another user: naming it in a batch for o'brien must not change it.
      await store.updatePages!({ userId: "o'brien" }, [
        { id: 'a', update: { strength: 3, recallCount: 1 } },
        { id: 'b', update: { strength: 4, recallCount: 2 } },
        { id: 'c', update: { strength: 99, recallCount: 99 } },
      ]);
      expect((await store.getPage({ userId: "o'brien" }, 'a'))!.strength).toBe(3);
      expect((await store.getPage({ userId: "o'brien" }, 'b'))!.recallCount).toBe(2);
      const other = (await store.getPage({ userId: "x' OR '1'='1" }, 'c'))!;
      expect([other.strength, other.recallCount]).toEqual([1, 0]);
      expect(other.decodedText).toBe('other user');
      expect((await store.getPage({ userId: "o'brien" }, 'a'))!.decodedText).toBe('first');
      expect((await store.counts()).pages).toBe(3);
    } finally {
      await store.close();
    }
  });
});

describe('batched page updates', () => {
  it('set each page its own values, quotes and all, and leave the other rows indexed', async () => {
    const uri = await tempDir();
    const store = await openLanceStore({ uri });
    try {
      await store.addPages(Array.from({ length: 40 }, (_, i) => page(`p${i}`, 'u', `page number ${i}`)));
      await store.optimize!();
      await store.updatePages!({ userId: 'u' }, [
        { id: 'p1', update: { strength: 2.5, recallCount: 1, decodedText: "it's p1's text", pinned: true } },
        { id: "p2' OR '1'='1", update: { strength: 9, recallCount: 9, decodedText: 'never', pinned: true } },
        { id: 'p3', update: { strength: 1e-7, recallCount: 2, decodedText: 'p3 -- not a comment', pinned: false } },
      ]);
      expect(await store.getPage({ userId: 'u' }, 'p1')).toMatchObject({ strength: 2.5, recallCount: 1, decodedText: "it's p1's text", pinned: true });
      expect(await store.getPage({ userId: 'u' }, 'p3')).toMatchObject({ strength: 1e-7, recallCount: 2, decodedText: 'p3 -- not a comment', pinned: false });
      const untouched = (await store.listPages({ userId: 'u' })).filter((p) => !['p1', 'p3'].includes(p.id));
      expect(untouched).toHaveLength(38);
      for (const p of untouched) expect([p.strength, p.recallCount, p.pinned]).toEqual([1, 0, false]);
      // Two rows rewritten, the other 38 still in the full-text index as they were.
      const db = await lancedb.connect(uri);
      const table = await db.openTable('pages');
      const index = (await table.listIndices()).find((i) => i.columns.includes('search_text'))!;
      expect((await table.indexStats(index.name))!.numUnindexedRows).toBe(2);
      table.close();
      db.close();
    } finally {
      await store.close();
    }
  });
});

describe('recall state', () => {
  it('lives apart from the pages: recalls and pins rewrite no page row and leave the index whole', async () => {
    const uri = await tempDir();
    const store = await openLanceStore({ uri });
    try {
      await store.addPages(Array.from({ length: 30 }, (_, i) => page(`p${i}`, 'u', `page about topic ${i}`)));
      await store.optimize!();
      const db = await lancedb.connect(uri);
      const pages = await db.openTable('pages');
      const before = await pages.version();
      await store.updatePages!({ userId: 'u' }, [
        { id: 'p1', update: { strength: 2.5, recallCount: 1, lastRecalledAt: 10, updatedAt: 10 } },
        { id: 'p2', update: { strength: 3.5, recallCount: 2, lastRecalledAt: 11, updatedAt: 11 } },
      ]);
      await store.updatePage({ userId: 'u' }, 'p3', { pinned: true, importance: 2, updatedAt: 12 });
      await pages.checkoutLatest();
      expect(await pages.version()).toBe(before);
      const index = (await pages.listIndices()).find((i) => i.columns.includes('search_text'))!;
      expect((await pages.indexStats(index.name))!.numUnindexedRows).toBe(0);
      pages.close();
      db.close();
      // Every read sees the state: get, list and search.
      expect(await store.getPage({ userId: 'u' }, 'p1')).toMatchObject({ strength: 2.5, recallCount: 1, lastRecalledAt: 10, updatedAt: 10 });
      expect((await store.listPages({ userId: 'u' }, { ids: ['p3'] }))[0]).toMatchObject({ pinned: true, importance: 2, updatedAt: 12 });
      const [hit] = await store.search({ userId: 'u' }, { text: 'topic 2', k: 1 });
      expect(hit!.page).toMatchObject({ id: 'p2', strength: 3.5, recallCount: 2 });
    } finally {
      await store.close();
    }
  });

  it('is rebuilt from the page for a page whose state row a crash left unwritten', async () => {
    const uri = await tempDir();
    const store = await openLanceStore({ uri });
    try {
      await store.addPages([page('a', 'u', 'alpha'), page('b', 'u', 'beta')]);
      // What a crash between writing the pages and their state leaves behind.
      const db = await lancedb.connect(uri);
      await (await db.openTable('page_state')).delete("id = 'a'");
      db.close();
      expect((await store.getPage({ userId: 'u' }, 'a'))!.strength).toBe(1);
      await store.updatePages!({ userId: 'u' }, [
        { id: 'a', update: { strength: 5, recallCount: 1 } },
        { id: 'b', update: { strength: 6, recallCount: 1 } },
      ]);
      expect(await store.getPage({ userId: 'u' }, 'a')).toMatchObject({ strength: 5, recallCount: 1, decodedText: 'alpha' });
      expect(await store.getPage({ userId: 'u' }, 'b')).toMatchObject({ strength: 6, recallCount: 1 });
      await store.deletePages({ userId: 'u' }, ['a']);
      const check = await lancedb.connect(uri);
      expect(await (await check.openTable('page_state')).countRows("id = 'a'")).toBe(0);
      check.close();
    } finally {
      await store.close();
    }
  });
});

describe('full-text search across scripts', () => {
  it('finds a word inside Chinese and Japanese sentences, and English as before', async () => {
    const store = await openLanceStore({ uri: await tempDir() });
    try {
      await store.addPages([
        page('zh', 'u', '用户：我每天早上都喜欢喝一杯拿铁咖啡，周末会去西湖边散步。助手：好的，我记住了。'),
        page('ja', 'u', 'ユーザー：来週の火曜日に京都の清水寺へ行きます。'),
        page('en', 'u', 'User: the ferry to Cacilhas leaves every twenty minutes.'),
      ]);
      const top = async (text: string) => (await store.search({ userId: 'u' }, { text, k: 3 })).map((h) => h.page.id);
      expect(await top('咖啡')).toEqual(['zh']);
      expect(await top('西湖散步')).toEqual(['zh']);
      expect(await top('清水寺')).toEqual(['ja']);
      expect(await top('ferries')).toEqual(['en']); // stemming still applies to English
      expect(await top('长城')).toEqual([]);
      // An update of the decoded text is searched in its new form.
      await store.updatePages!({ userId: 'u' }, [{ id: 'en', update: { decodedText: '用户：渡轮每二十分钟一班。' } }]);
      expect(await top('渡轮')).toEqual(['en']);
    } finally {
      await store.close();
    }
  });
});

describe('schema versions', () => {
  it('moves the recall state of a v2 store into page_state, keeping its values', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    const row = { ...legacyRow([]), strength: 4.5, recall_count: 3, pinned: true };
    await db.createTable('pages', [row], { schema: legacyPagesSchema() });
    await db.createTable('meta', [{ key: 'schema_version', value: '2' }], { schema: new Schema([new Field('key', new Utf8()), new Field('value', new Utf8())]) });
    db.close();
    for (let open = 0; open < 2; open++) {
      const store = await openLanceStore({ uri });
      try {
        expect(await store.getPage({ userId: 'u' }, 'old')).toMatchObject({ strength: 4.5, recallCount: 3, pinned: true });
      } finally {
        await store.close();
      }
    }
    const check = await lancedb.connect(uri);
    // Copied once, however often the store is opened.
    expect(await (await check.openTable('page_state')).countRows()).toBe(1);
    check.close();
  });

  it('migrates a v0 store (pages without pinned/importance) and keeps its rows', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    const v0 = legacyPagesSchema(['pinned', 'importance']);
    const row = legacyRow(['pinned', 'importance']);
    await db.createTable('pages', [row], { schema: v0 });
    await db.createTable('meta', [{ key: 'schema_version', value: '0' }], { schema: new Schema([new Field('key', new Utf8()), new Field('value', new Utf8())]) });
    db.close();
    const store = await openLanceStore({ uri });
    try {
      const [p] = await store.listPages({ userId: 'u' });
      expect(p).toMatchObject({ id: 'old', pinned: false, importance: 1, decodedText: 'an old page about ferries' });
      expect((await store.search({ userId: 'u' }, { text: 'ferries', k: 1 }))[0]!.page.id).toBe('old');
    } finally {
      await store.close();
    }
  });

  it('widens a v1 store\'s png column to LargeBinary and keeps its pages', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    const v1 = new Schema(legacyPagesSchema().fields.map((f) => (f.name === 'png' ? new Field('png', new Binary(), false) : f)));
    const row = legacyRow([]);
    await db.createTable('pages', [row], { schema: v1 });
    await db.createTable('meta', [{ key: 'schema_version', value: '1' }], { schema: new Schema([new Field('key', new Utf8()), new Field('value', new Utf8())]) });
    db.close();
    const store = await openLanceStore({ uri });
    try {
      const [p] = await store.listPages({ userId: 'u' }, { withPng: true });
      expect(p!.id).toBe('old');
      expect(Buffer.from(p!.png).equals(Buffer.from(page('old', 'u', '').png))).toBe(true);
      await store.addPages([page('new', 'u', 'a new page')]);
    } finally {
      await store.close();
    }
    const check = await lancedb.connect(uri);
    const pages = await check.openTable('pages');
    expect(DataType.isLargeBinary((await pages.schema()).fields.find((f) => f.name === 'png')!.type)).toBe(true);
    expect((await (await check.openTable('meta')).query().where("key = 'schema_version'").toArray()).map((r) => r.value)).toEqual([String(SCHEMA_VERSION)]);
    check.close();
  });

  it('finishes a migration a crash cut short: columns added, version not yet written', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    const v0 = legacyPagesSchema(['pinned', 'importance']);
    const row = legacyRow(['pinned', 'importance']);
    const table = await db.createTable('pages', [row], { schema: v0 });
    await db.createTable('meta', [{ key: 'schema_version', value: '0' }], { schema: new Schema([new Field('key', new Utf8()), new Field('value', new Utf8())]) });
    // What the migration's first step leaves behind when the process dies right after it.
    await table.addColumns([{ name: 'pinned', valueSql: 'false' }, { name: 'importance', valueSql: 'CAST(1.0 AS DOUBLE)' }]);
    table.close();
    db.close();
    for (let open = 0; open < 2; open++) {
      const store = await openLanceStore({ uri });
      try {
        expect((await store.listPages({ userId: 'u' }))[0]).toMatchObject({ id: 'old', pinned: false, importance: 1 });
        await store.addPages([page('new', 'u', 'a new page')]);
      } finally {
        await store.close();
      }
    }
    const check = await lancedb.connect(uri);
    const meta = await (await check.openTable('meta')).query().where("key = 'schema_version'").toArray();
    expect(meta.map((r) => r.value)).toEqual([String(SCHEMA_VERSION)]);
    check.close();
  });

  it('adds the vector column when an embedder is added to an existing store', async () => {
    const uri = await tempDir();
    const withVector = (p: PageRow, vector: number[]): PageRow => ({ ...p, vector });
    let store = await openLanceStore({ uri });
    await store.addPages([page('plain', 'u', 'written before any embedder')]);
    await store.close();
    store = await openLanceStore({ uri, vectorDimension: 3 });
    try {
      await store.addPages([withVector(page('vec', 'u', 'written with an embedder'), [1, 0, 0])]);
      const hits = await store.search({ userId: 'u' }, { vector: [1, 0, 0], k: 2, mode: 'vector' });
      expect(hits[0]!.page.id).toBe('vec');
      expect((await store.getPage({ userId: 'u' }, 'plain'))!.vector).toEqual([]);
    } finally {
      await store.close();
    }
    // Reopened without the embedder: writes still work (pages get no vector).
    store = await openLanceStore({ uri });
    try {
      await store.addPages([page('later', 'u', 'written after the embedder was removed')]);
      expect((await store.listPages({ userId: 'u' })).map((p) => p.id).sort()).toEqual(['later', 'plain', 'vec']);
      expect((await store.getPage({ userId: 'u' }, 'vec'))!.vector).toEqual([1, 0, 0]);
    } finally {
      await store.close();
    }
    await expect(openLanceStore({ uri, vectorDimension: 4 })).rejects.toThrow(/holds vectors of length 3/);
    store = await openLanceStore({ uri, vectorDimension: 3 });
    try {
      await store.addPages([withVector(page('again', 'u', 'embedder back'), [0, 1, 0])]);
      expect((await store.search({ userId: 'u' }, { vector: [0, 1, 0], k: 1, mode: 'vector' }))[0]!.page.id).toBe('again');
    } finally {
      await store.close();
    }
  });

  it('moves a v3 store\'s full-text index to search_text, so its Chinese pages can be found', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    const zh = { ...legacyRow([]), id: 'zh', decoded_text: '用户：我每天早上都喜欢喝一杯拿铁咖啡。' };
    const pages = await db.createTable('pages', [legacyRow([]), zh], { schema: legacyPagesSchema() });
    await pages.createIndex('decoded_text', { config: lancedb.Index.fts(), replace: true });
    await db.createEmptyTable('page_state', pageStateSchema());
    await db.createTable('meta', [{ key: 'schema_version', value: '3' }], { schema: new Schema([new Field('key', new Utf8()), new Field('value', new Utf8())]) });
    db.close();
    for (let open = 0; open < 2; open++) {
      const store = await openLanceStore({ uri });
      try {
        expect((await store.search({ userId: 'u' }, { text: '咖啡', k: 2 })).map((h) => h.page.id)).toEqual(['zh']);
        expect((await store.search({ userId: 'u' }, { text: 'ferries', k: 2 })).map((h) => h.page.id)).toEqual(['old']);
        expect((await store.getPage({ userId: 'u' }, 'zh'))!.decodedText).toBe(zh.decoded_text);
      } finally {
        await store.close();
      }
    }
    const check = await lancedb.connect(uri);
    const indices = await (await check.openTable('pages')).listIndices();
    const textIndexed = indices.flatMap((i) => i.columns).filter((c) => c === 'decoded_text' || c === 'search_text');
    expect(textIndexed).toEqual(['search_text']);
    check.close();
  });

  it('refuses a store written by a newer schema', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    await db.createTable('meta', [{ key: 'schema_version', value: String(SCHEMA_VERSION + 1) }]);
    db.close();
    await expect(openLanceStore({ uri })).rejects.toThrow(StoreError);
    await expect(openLanceStore({ uri })).rejects.toThrow(/Upgrade opticmem/);
  });
});
