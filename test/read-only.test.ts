import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEMA_VERSION } from '../memory/store/schema.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { openLanceStore } from '../memory/store/index.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidInputError, ReadOnlyError, StoreError } from '../src/errors.js';
import { loadLanceDb } from '../src/internal/lazy.js';

/** Every file under `dir` with its size and modification time: any write shows up here. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out.push(`${p} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

const decoder = createOnnxDecoder();
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-ro-'));
  dirs.push(d);
  return d;
}
const scope = { userId: 'maya' };
const li = { userId: 'li' };
let path: string;

beforeAll(async () => {
  path = await tempDir();
  let clock = Date.UTC(2026, 0, 1);
  const memory = await Memory.open({ path, decoder, profile: 'deepseek-ocr:small', autoCompact: false, now: () => clock });
  await memory.add({ role: 'user', content: 'The ferry to Cacilhas leaves every twenty minutes from Cais do Sodré. '.repeat(4) }, scope);
  await memory.compact(scope, { all: true });
  await memory.add({ role: 'assistant', content: 'Noted.' }, scope);
  // A page without cached text, so reading it would want to decode and cache.
  await memory.add({ role: 'user', content: 'Porto: the Ribeira at dusk, francesinha at Café Santiago. '.repeat(4) }, li);
  await memory.compact(li, { all: true });
  const [page] = (await memory.list(li)).pages;
  await memory.store.updatePage(li, page!.id, { decodedText: '' });
  clock += 1;
  await memory.close();
});

afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('a read-only memory', () => {
  it('reads everything and writes nothing, not even cached text', async () => {
    const before = snapshot(path);
    const memory = await Memory.open({ path, decoder, readOnly: true, now: () => Date.UTC(2026, 0, 2) });
    try {
      expect(memory.readOnly).toBe(true);
      const listed = await memory.list(scope);
      expect(listed.turns.map((t) => t.content)).toEqual(['Noted.']);
      const [liPage] = (await memory.list(li)).pages;
      const page = (await memory.get(liPage!.id, li))!;
      expect(page.decodedText).toBe('');
      expect(await memory.textOf(page, li)).toMatch(/Porto/);
      expect((await memory.get(page.id, li))!.decodedText).toBe('');
      const hits = await memory.recall('Cacilhas', { scope, rehearse: false });
      expect(hits.map((h) => h.pageId)).toEqual([listed.pages[0]!.id]);
      expect(hits[0]!.text).toMatch(/Cacilhas/);
      expect(await memory.store.listTombstones(scope)).toEqual([]);
      expect(await memory.scopes()).toHaveLength(2);
    } finally {
      await memory.close();
    }
    expect(snapshot(path)).toEqual(before);
  });

  it('refuses every write with a ReadOnlyError naming readOnly', async () => {
    const before = snapshot(path);
    const memory = await Memory.open({ path, decoder, readOnly: true });
    try {
      const [page] = (await memory.list(scope)).pages;
      const writes: [string, () => Promise<unknown>][] = [
        ['add', () => memory.add({ role: 'user', content: 'hi' }, scope)],
        ['compact', () => memory.compact(scope, { all: true })],
        ['recall (a rehearsal)', () => memory.recall('Cacilhas', { scope })],
        ['age', () => memory.age()],
        ['pin', () => memory.pin(page!.id, scope)],
        ['setImportance', () => memory.setImportance(page!.id, scope, 2)],
        ['delete', () => memory.delete(scope)],
        ['optimize', () => memory.optimize()],
        ['store.setMeta', () => memory.store.setMeta('x', 'y')],
      ];
      for (const [name, write] of writes) {
        const err = await write().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(ReadOnlyError.isInstance(err), name).toBe(true);
        expect((err as ReadOnlyError).field, name).toBe('readOnly');
        expect((err as Error).message, name).toMatch(/readOnly: true.*Open it without 'readOnly'/);
      }
      expect((await memory.list(scope)).turns).toHaveLength(1);
    } finally {
      await memory.close();
    }
    expect(snapshot(path)).toEqual(before);
  });

  it('is a clean error where there is no store, and leaves an empty folder empty', async () => {
    const missing = join(await tempDir(), 'nothing-here');
    const a = await Memory.open({ path: missing, readOnly: true }).catch((e: unknown) => e);
    expect(a).toBeInstanceOf(InvalidInputError);
    expect((a as InvalidInputError).field).toBe('path');
    expect((a as Error).message).toMatch(/No opticmem store at .*nothing-here.*nothing is there/);
    const empty = await tempDir();
    const b = await Memory.open({ path: empty, readOnly: true }).catch((e: unknown) => e);
    expect(b).toBeInstanceOf(InvalidInputError);
    expect((b as Error).message).toMatch(/has no meta, turns, pages, tombstones tables/);
    expect(readdirSync(empty)).toEqual([]);
    await expect(openLanceStore({ uri: empty, readOnly: true })).rejects.toThrow(/No opticmem store/);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('refuses an older schema without migrating it, and reads a store without ladder history', async () => {
    const old = await tempDir();
    const w = await Memory.open({ path: old, autoCompact: false });
    await w.add({ role: 'user', content: 'hello' }, { userId: 'u' });
    await w.close();
    const lancedb = await loadLanceDb();
    const db = await lancedb.connect(old);
    await db.dropTable('moves');
    const meta = await db.openTable('meta');
    await meta.update({ where: "key = 'schema_version'", values: { value: '0' } });
    db.close();
    const before = snapshot(old);
    const err = await Memory.open({ path: old, readOnly: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(new RegExp(`uses schema 0; this opticmem reads schema ${SCHEMA_VERSION}\\. Open it once without 'readOnly' to migrate it`));
    expect(snapshot(old)).toEqual(before);

    const again = await lancedb.connect(old);
    await (await again.openTable('meta')).update({ where: "key = 'schema_version'", values: { value: String(SCHEMA_VERSION) } });
    again.close();
    const ro = await Memory.open({ path: old, readOnly: true });
    try {
      expect(ro.store.listMoves).toBeUndefined(); // no table to read: a partial history
      expect((await ro.list({ userId: 'u' })).turns).toHaveLength(1);
    } finally {
      await ro.close();
    }
    const check = await lancedb.connect(old);
    expect(await check.tableNames()).not.toContain('moves');
    check.close();
  });

  it('wraps a given store too', async () => {
    const store = await openLanceStore({ uri: path });
    const memory = await Memory.open({ store, decoder, readOnly: true });
    try {
      await expect(memory.add({ role: 'user', content: 'x' }, scope)).rejects.toThrow(ReadOnlyError);
      expect((await memory.list(scope)).turns).toHaveLength(1);
    } finally {
      await memory.close();
    }
  });
});
