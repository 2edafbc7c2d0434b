import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, Schema, Utf8 } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { openLanceStore } from '../memory/store/lance-open.js';
import { pageStateSchema, pagesSchema, SCHEMA_VERSION } from '../memory/store/schema.js';
import type { PageRow } from '../memory/store/store.js';
import { CorruptPageError, InvalidInputError, StoreError } from '../src/errors.js';
import { deletePage, pagePng, pageText } from '../src/inspector/inspector-api.js';
import { pageRow } from './support/page-row.js';

const dirs: string[] = [];
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-digest-'));
  dirs.push(d);
  return d;
}
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** A stand-in image: the PNG signature and bytes of its own. */
const png = (n: number) => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, n, n + 1, n + 2, 0, 42]);
const u = { userId: 'u' };

/** The digest column of the pages table, by page id, read past the store. */
async function storedDigests(uri: string): Promise<Record<string, string>> {
  const db = await lancedb.connect(uri);
  const table = await db.openTable('pages');
  const rows = await table.query().select(['id', 'user_id', 'png_sha256']).toArray();
  table.close();
  db.close();
  return Object.fromEntries(rows.map((r) => [`${String(r.user_id)}/${String(r.id)}`, String(r.png_sha256)]));
}

/** What damaged data files do: the page's image bytes change in the table, its digest stays. */
async function alterImage(uri: string, id: string): Promise<void> {
  const db = await lancedb.connect(uri);
  const table = await db.openTable('pages');
  const [row] = await table.query().where(`id = '${id}'`).select(['png']).toArray();
  const bytes = Buffer.from(row!.png as Uint8Array);
  bytes[bytes.length - 2]! ^= 0xff;
  await table.update({ where: `id = '${id}'`, values: { png: bytes } });
  table.close();
  db.close();
}

/** A page as a schema 4 table row: snake_case columns, no png_sha256. */
function v4Row(p: PageRow): Record<string, unknown> {
  const row = Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
  delete row.vector;
  return { ...row, turn_ids: JSON.stringify(p.turnIds), png: Buffer.from(p.png), search_text: p.decodedText };
}

async function expectCorrupt(read: Promise<unknown>, pageId: string): Promise<void> {
  const err = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CorruptPageError);
  expect(err).toBeInstanceOf(StoreError);
  expect(CorruptPageError.isInstance(err)).toBe(true);
  expect((err as CorruptPageError).pageId).toBe(pageId);
  expect((err as CorruptPageError).code).toBe('store_failed');
  expect((err as Error).message).toMatch(new RegExp(`^Page '${pageId}' failed its checksum: .*Delete the page .* import it again from an earlier export \\('opticmem import'\\)`));
}

describe('page image checksums', () => {
  it('writes the SHA-256 of each page image with it, and of the new image when a page is rewritten', async () => {
    const uri = await tempDir();
    const store = await openLanceStore({ uri });
    try {
      await store.addPages([pageRow('a', 'u', 'alpha', png(1)), pageRow('b', 'u', 'beta', png(2))]);
      expect(await storedDigests(uri)).toEqual({ 'u/a': sha256(png(1)), 'u/b': sha256(png(2)) });
      await store.updatePage(u, 'a', { png: png(7), tier: '15x' });
      expect(await storedDigests(uri)).toEqual({ 'u/a': sha256(png(7)), 'u/b': sha256(png(2)) });
      expect((await store.getPage(u, 'a'))!.png).toEqual(png(7));
    } finally {
      await store.close();
    }
  });

  it('gives the pages of a schema 4 store their checksums on open, batch by batch, once', async () => {
    const uri = await tempDir();
    const db = await lancedb.connect(uri);
    // More pages than one batch, and an id two scopes share (ids are unique within a scope only).
    const pages = [...Array.from({ length: 205 }, (_, i) => pageRow(`p${i}`, 'u', `page ${i}`, png(i))), pageRow('p0', 'v', 'another p0', png(250))];
    const v4 = new Schema(pagesSchema(undefined).fields.filter((f) => f.name !== 'png_sha256'));
    await db.createTable('pages', pages.map(v4Row), { schema: v4 });
    await db.createEmptyTable('page_state', pageStateSchema());
    await db.createTable('meta', [{ key: 'schema_version', value: '4' }], { schema: new Schema([new Field('key', new Utf8()), new Field('value', new Utf8())]) });
    db.close();
    const expected = Object.fromEntries(pages.map((p) => [`${p.userId}/${p.id}`, sha256(p.png)]));
    for (let open = 0; open < 2; open++) {
      const store = await openLanceStore({ uri });
      try {
        expect(await storedDigests(uri)).toEqual(expected);
        expect((await store.getPage({ userId: 'v' }, 'p0'))!.png).toEqual(png(250));
        const byId = (rows: readonly PageRow[]) => Object.fromEntries(rows.map((p) => [p.id, p.png]));
        expect(byId(await store.listPages(u))).toEqual(byId(pages.slice(0, 205)));
      } finally {
        await store.close();
      }
    }
    expect(SCHEMA_VERSION).toBe(6);
    const check = await lancedb.connect(uri);
    expect((await (await check.openTable('meta')).query().where("key = 'schema_version'").toArray()).map((r) => r.value)).toEqual(['6']);
    check.close();
  });

  it('refuses, naming the page, every store read that returns an image the table altered', async () => {
    const uri = await tempDir();
    const store = await openLanceStore({ uri });
    try {
      await store.addPages([pageRow('a', 'u', 'alpha ferry', png(1)), pageRow('b', 'u', 'beta ferry', png(2))]);
      await alterImage(uri, 'a');
      await expectCorrupt(store.getPage(u, 'a'), 'a');
      await expectCorrupt(store.listPages(u), 'a');
      await expectCorrupt(store.listPages(u, { ids: ['a'], withPng: true }), 'a');
      await expectCorrupt(store.search(u, { text: 'alpha', k: 2, withPng: true }), 'a');
      // Reads without the image, and the intact page, are unaffected.
      expect((await store.getPage(u, 'b'))!.png).toEqual(png(2));
      expect((await store.listPages(u, { withPng: false })).map((p) => p.id).sort()).toEqual(['a', 'b']);
      expect((await store.search(u, { text: 'alpha', k: 1 }))[0]!.page.id).toBe('a');
    } finally {
      await store.close();
    }
  });

  it('recall with images leaves the altered page out and names it, a context serves it from its text; export and the inspector refuse it by name; its text and deletion still work', async () => {
    const path = await tempDir();
    const store = await openLanceStore({ uri: path });
    await store.addPages([pageRow('a', 'u', 'User: the alpha ferry leaves at nine.', png(1)), pageRow('b', 'u', 'User: the beta tram leaves at ten.', png(2))]);
    await store.close();
    await alterImage(path, 'a');
    const memory = await Memory.open({ path, autoCompact: false });
    try {
      for (const as of ['image', 'both'] as const) {
        const skipped: { pageId: string; error: unknown }[] = [];
        const hits = await memory.recall('ferry tram', { scope: u, as, rehearse: false, onSkippedPage: (s) => skipped.push(s) });
        expect(hits.map((h) => h.pageId)).toEqual(['b']);
        expect(hits[0]!.png).toEqual(png(2));
        expect(skipped.map((s) => s.pageId)).toEqual(['a']);
        await expectCorrupt(Promise.reject(skipped[0]!.error), 'a');
      }
      await expectCorrupt(memory.export(u), 'a');
      await expectCorrupt(memory.get('a', u), 'a');
      // A context never hands out the altered image: the page is drawn again from the text cached at write time.
      const ctx = await memory.buildContext({ scope: u, budgetTokens: 100_000, consumer: 'deepseek-ocr:base' });
      expect(ctx.pages.map((p) => p.id).sort()).toEqual(['a', 'b']);
      const a = ctx.pages.find((p) => p.id === 'a')!;
      // As its text (cheaper for so short a page) or drawn again: never the stored image.
      expect(a.as === 'text' || a.redrawn).toBe(true);
      expect(ctx.skippedPages).toEqual([]);
      await expectCorrupt(pagePng(memory, { user: 'u', id: 'a' }), 'a');
      // The text cached at write time is still served, and the page can be deleted.
      expect((await memory.recall('alpha ferry', { scope: u, k: 1, rehearse: false }))[0]!.text).toBe('User: the alpha ferry leaves at nine.');
      expect(await pageText(memory, { user: 'u', id: 'a' })).toEqual({ id: 'a', text: 'User: the alpha ferry leaves at nine.' });
      expect(await deletePage(memory, { user: 'u', id: 'a' })).toEqual({ id: 'a', deleted: true });
      const dump = await memory.export(u);
      expect(dump.pages.map((p) => [p.id, p.pngSha256])).toEqual([['b', sha256(png(2))]]);
    } finally {
      await memory.close();
    }
  });

  it('a text recall and a text context leave out a page whose image cannot be decoded (no cached text), name it, and serve the rest', async () => {
    const path = await tempDir();
    const store = await openLanceStore({ uri: path });
    // 'a' is found by its search text, but has an image that is not a PNG and, below, no cached text.
    await store.addPages([{ ...pageRow('a', 'u', 'User: the alpha ferry leaves at nine.'), png: Uint8Array.from([1, 2, 3, 4]) }, pageRow('b', 'u', 'User: the beta ferry leaves at ten.')]);
    await store.close();
    const db = await lancedb.connect(path);
    const table = await db.openTable('pages');
    await table.update({ where: "id = 'a'", values: { decoded_text: '' } });
    table.close();
    db.close();
    const memory = await Memory.open({ path, autoCompact: false });
    try {
      const skipped: { pageId: string; error: { code: string; message: string } }[] = [];
      const hits = await memory.recall('ferry', { scope: u, k: 5, rehearse: false, onSkippedPage: (s) => skipped.push(s) });
      expect(hits.map((h) => h.pageId)).toEqual(['b']);
      expect(skipped.map((s) => [s.pageId, s.error.code])).toEqual([['a', 'invalid_image']]);
      // A context, for a text or a vision consumer, with and without a query, does the same.
      for (const consumer of ['text', 'deepseek-ocr:base']) {
        for (const query of [undefined, 'ferry']) {
          const reported: { pageId: string }[] = [];
          const ctx = await memory.buildContext({ scope: u, budgetTokens: 100_000, consumer, ...(query ? { query } : {}), onSkippedPage: (s) => reported.push(s) });
          expect(ctx.pages.map((p) => p.id)).toEqual(['b']);
          expect(ctx.skippedPages.map((s) => [s.pageId, s.error.code])).toEqual([['a', 'invalid_image']]);
          expect(reported.map((s) => s.pageId)).toEqual(['a']);
        }
      }
    } finally {
      await memory.close();
    }
  });

  it('a page row whose turn list is not a JSON array is a damaged page: listing and export refuse it naming the page and the field; recall, contexts and ageing leave it out and name it', async () => {
    const path = await tempDir();
    const store = await openLanceStore({ uri: path });
    await store.addPages([pageRow('a', 'u', 'User: the alpha ferry leaves at nine.', png(1)), pageRow('b', 'u', 'User: the beta ferry leaves at ten.', png(2))]);
    await store.close();
    const db = await lancedb.connect(path);
    const table = await db.openTable('pages');
    await table.update({ where: "id = 'a'", values: { turn_ids: 'not json' } });
    table.close();
    db.close();
    const memory = await Memory.open({ path, autoCompact: false });
    try {
      const err = await memory.list(u).then(() => undefined, (e: unknown) => e);
      expect(CorruptPageError.isInstance(err)).toBe(true);
      expect((err as CorruptPageError).pageId).toBe('a');
      expect((err as CorruptPageError).field).toBe('turnIds');
      expect((err as Error).message).toMatch(/Page 'a' has an unreadable list of turns/);
      expect(CorruptPageError.isInstance(await memory.export(u).then(() => undefined, (e: unknown) => e))).toBe(true);
      // Recall, contexts and ageing leave the damaged page out, name it, and serve the rest.
      const skipped: string[] = [];
      const hits = await memory.recall('ferry', { scope: u, k: 5, rehearse: false, onSkippedPage: (s) => skipped.push(`${s.pageId}:${(s.error as CorruptPageError).field}`) });
      expect(hits.map((h) => h.pageId)).toEqual(['b']);
      expect(skipped).toEqual(['a:turnIds']);
      const ctx = await memory.buildContext({ scope: u, budgetTokens: 2000, query: 'ferry' });
      expect(ctx.skippedPages.map((x) => x.pageId)).toEqual(['a']);
      expect(ctx.pages.map((p) => p.id)).toEqual(['b']);
      expect(JSON.stringify(ctx.messages)).not.toContain('alpha');
      const aged = await memory.age({ now: Date.now() + 400 * 86_400_000 });
      expect(aged.skipped.map((x) => x.pageId)).toEqual(['a']);
      expect(aged.examined).toBe(1);
    } finally {
      await memory.close();
    }
  });

  it('export carries each page image\'s checksum, and import refuses a page whose PNG does not match it', async () => {
    const path = await tempDir();
    const memory = await Memory.open({ path, autoCompact: false });
    const other = await Memory.open({ path: await tempDir(), autoCompact: false });
    try {
      await memory.store.addPages([pageRow('a', 'u', 'alpha', png(1)), pageRow('b', 'u', 'beta', png(2))]);
      const dump = await memory.export(u);
      expect(dump.pages.map((p) => [p.id, p.pngSha256])).toEqual([['a', sha256(png(1))], ['b', sha256(png(2))]]);
      const swapped = { ...dump, pages: dump.pages.map((p) => (p.id === 'b' ? { ...p, png: Buffer.from(png(3)).toString('base64') } : p)) };
      const malformed = { ...dump, pages: dump.pages.map((p) => (p.id === 'a' ? { ...p, pngSha256: 'not a digest' } : p)) };
      for (const [data, field, message] of [
        [swapped, 'data.pages.1.pngSha256', /page 'b' has a png that does not match its pngSha256: the document was damaged or edited after export/],
        [malformed, 'data.pages.0.pngSha256', /must be the SHA-256 of the PNG as 64 lowercase hex digits/],
      ] as const) {
        const err = await other.import(data).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, field).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).field, field).toBe(field);
        expect((err as Error).message, field).toMatch(message);
      }
      expect(await other.store.counts()).toEqual({ turns: 0, pages: 0 });
      // An export written before checksums has none to check; the store writes them on import.
      const older = { ...dump, pages: dump.pages.map(({ pngSha256: _, ...p }) => p) };
      expect(await other.import(older)).toEqual({ turns: 0, pages: 2 });
      expect((await other.export(u)).pages.map((p) => p.pngSha256)).toEqual([sha256(png(1)), sha256(png(2))]);
    } finally {
      await memory.close();
      await other.close();
    }
  });
});
