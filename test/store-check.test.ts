/**
 * `memory.check()` and `opticmem check` on real LanceDB folders: a sound store passes; a
 * compaction stopped between its phases, duplicate page rows and a page whose image no longer
 * matches its checksum are reported; --repair finishes and removes what it safely can, and
 * never deletes the damaged page.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { afterAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { InvalidInputError, ReadOnlyError } from '../src/errors.js';

const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const bin = join(import.meta.dirname, '..', 'bin', 'opticmem.js');
const decoder = createLocalDecoder();
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-check-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const options = { tiers: { hotBudgetTokens: 200 }, profile: 'deepseek-ocr:small', decoder, compaction: 'inline' } as const;
const scope = { userId: 'maya' };

async function filledStore(): Promise<string> {
  const path = await tempDir();
  const m = await Memory.open({ path, ...options });
  await m.add(trip.slice(0, 10), scope);
  await m.close();
  return path;
}

const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('store check', () => {
  it('a sound store passes, read-only and without a lock file', async () => {
    const path = await filledStore();
    const before = readdirSync(path).sort();
    const m = await Memory.open({ path, decoder, readOnly: true });
    try {
      const report = await m.check();
      expect(report).toMatchObject({ ok: true, scopes: 1, problems: [] });
      expect(report.pages).toBeGreaterThan(0);
      await expect(m.check({ repair: true })).rejects.toBeInstanceOf(ReadOnlyError);
      await expect(m.check({ repair: 'yes' } as never)).rejects.toBeInstanceOf(InvalidInputError);
    } finally {
      await m.close();
    }
    expect(readdirSync(path).sort()).toEqual(before);
    const r = cli(['check', '--db', path, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
  });

  it('finds a compaction stopped between its phases and duplicate page rows; --repair finishes both', async () => {
    const path = await filledStore();
    const db = await lancedb.connect(path);
    // Put back a turn a page holds (as if the crash came before the turns were removed) and a second copy of a page.
    const pages = await db.openTable('pages');
    const [page] = await pages.query().limit(1).toArray();
    const copy = { ...page, write_id: 'zz-later-writer' };
    await pages.add([copy]);
    const onPage = JSON.parse(String(page.turn_ids))[0] as string;
    const turns = await db.openTable('turns');
    await turns.add([{ id: onPage, user_id: 'maya', agent_id: '', session_id: '', seq: 0, role: 'user', name: '', content: 'a turn the page already holds', text_tokens: 6, created_at: 0 }]);
    db.close();

    const looked = cli(['check', '--db', path, '--json']);
    expect(looked.status).toBe(4);
    const kinds = (JSON.parse(looked.stdout) as { problems: { kind: string; repaired: boolean }[] }).problems.map((p) => [p.kind, p.repaired]);
    expect(kinds).toEqual(expect.arrayContaining([['half_done_compaction', false], ['page_copies', false]]));

    const repaired = cli(['check', '--db', path, '--repair', '--json']);
    expect(repaired.status, repaired.stdout).toBe(0);
    const again = cli(['check', '--db', path, '--json']);
    expect(again.status, again.stdout).toBe(0);
    const m = await Memory.open({ path, decoder, readOnly: true });
    try {
      expect((await m.store.counts()).pages).toBe((await m.list(scope)).pages.length);
      expect((await m.list(scope)).turns.map((t) => t.id)).not.toContain(onPage);
    } finally {
      await m.close();
    }
  });

  it('names a page whose image fails its checksum, and --repair keeps it', async () => {
    const path = await filledStore();
    const db = await lancedb.connect(path);
    const pages = await db.openTable('pages');
    const [page] = await pages.query().select(['id']).limit(1).toArray();
    await pages.update({ where: `id = '${String(page.id)}'`, values: { png_sha256: '0'.repeat(64) } });
    db.close();
    for (const args of [['check', '--db', path, '--json'], ['check', '--db', path, '--repair', '--json']]) {
      const r = cli(args);
      expect(r.status).toBe(4);
      const problems = (JSON.parse(r.stdout) as { problems: { kind: string; pageId: string }[] }).problems;
      expect(problems).toEqual([expect.objectContaining({ kind: 'page_unreadable', pageId: String(page.id) })]);
    }
    const m = await Memory.open({ path, decoder, readOnly: true });
    try {
      expect((await m.list(scope)).pages.map((p) => p.id)).toContain(String(page.id));
    } finally {
      await m.close();
    }
    expect(existsSync(join(path, '.compaction.lock'))).toBe(false);
    // Ageing leaves that page as it is, names it, and ages the others.
    const ager = await Memory.open({ path, decoder, now: () => Date.now() + 60 * 86_400_000 });
    try {
      const total = (await ager.list(scope)).pages.length;
      expect(total).toBeGreaterThan(1);
      const aged = await ager.age({ scope });
      expect(aged.skipped.map((k) => k.pageId)).toEqual([String(page.id)]);
      expect(aged.skipped[0]!.error.name).toBe('CorruptPageError');
      expect(aged.moved.length + aged.dropped.length).toBeGreaterThan(0);
    } finally {
      await ager.close();
    }
  });
});
