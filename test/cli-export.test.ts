import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { ANY } from '../memory/store/store.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';

// The CLI is tested as users run it: the built bin in a child process (`npm test` builds first).
const bin = join(import.meta.dirname, '..', 'bin', 'opticmem.js');
const dir = mkdtempSync(join(tmpdir(), 'opticmem-cli-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface ExportDoc {
  format: string;
  version: number;
  turns: { id: string; userId: string; content: string }[];
  pages: { id: string; userId: string; png: string; decodedText: string }[];
}

const trip = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'conversation-en.json'), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const db = join(dir, 'db');
const decoder = createOnnxDecoder();
afterAll(() => decoder.close());

describe('opticmem export and import', () => {
  // The store is filled through the library (spawning the CLI for it would only cost time).
  beforeAll(async () => {
    const memory = await Memory.open({ path: db, tiers: { hotBudgetTokens: 500 }, profile: 'deepseek-ocr:small', decoder });
    try {
      await memory.add(trip.slice(0, 8), { userId: 'maya', sessionId: 's1' });
      await memory.flush();
      expect((await memory.list({ userId: 'maya', sessionId: 's1' })).pages.length).toBeGreaterThan(0);
      await memory.add([{ role: 'user', content: 'Daniel wants the window seat.' }, { role: 'assistant', content: 'Noted: window seat for Daniel.' }], { userId: 'daniel' });
    } finally {
      await memory.close();
    }
  });

  it('writes one scope as JSON to stdout, PNGs in base64, nothing of other scopes', () => {
    const r = cli(['export', '--db', db, '--user', 'maya']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as ExportDoc;
    expect(doc.format).toBe('opticmem-export');
    expect(doc.version).toBe(1);
    expect(doc.pages.length).toBeGreaterThan(0);
    expect(doc.turns.length).toBeGreaterThan(0);
    expect(new Set([...doc.turns, ...doc.pages].map((row) => row.userId))).toEqual(new Set(['maya']));
    for (const p of doc.pages) expect(Buffer.from(p.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(r.stdout).not.toContain('window seat');
  });

  it('exports the whole store to a file and imports it into a new store, once', async () => {
    const file = join(dir, 'all.json');
    const e = cli(['export', '--db', db, '--out', file, '--json']);
    expect(e.code, e.stderr).toBe(0);
    const summary = JSON.parse(e.stdout) as { turns: number; pages: number; out: string };
    const doc = JSON.parse(readFileSync(file, 'utf8')) as ExportDoc;
    expect([summary.turns, summary.pages]).toEqual([doc.turns.length, doc.pages.length]);
    expect(new Set(doc.turns.map((t) => t.userId))).toEqual(new Set(['maya', 'daniel']));
    // Each row once, though { userId: 'maya' } and { userId: 'maya', sessionId: 's1' } overlap.
    expect(new Set(doc.pages.map((p) => p.id)).size).toBe(doc.pages.length);

    const db2 = join(dir, 'db2');
    const i = cli(['import', file, '--db', db2, '--json']);
    expect(i.code, i.stderr).toBe(0);
    expect(JSON.parse(i.stdout)).toEqual({ db: db2, turns: doc.turns.length, pages: doc.pages.length, skipped: { turns: 0, pages: 0 } });
    const again = cli(['import', file, '--db', db2]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`imported 0 turns and 0 pages into ${db2} (${doc.turns.length + doc.pages.length} rows already there, skipped)\n`);

    // The copy holds the same rows, and its pages are searchable.
    const memory = await Memory.open({ path: db2, decoder });
    try {
      const copy = { turns: [] as ExportDoc['turns'], pages: [] as ExportDoc['pages'] };
      for (const userId of ['maya', 'daniel']) {
        const part = await memory.export({ userId, sessionId: ANY });
        copy.turns.push(...part.turns);
        copy.pages.push(...part.pages);
      }
      const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));
      expect(byId(copy.pages).map((p) => [p.id, p.png, p.decodedText])).toEqual(byId(doc.pages).map((p) => [p.id, p.png, p.decodedText]));
      expect(byId(copy.turns).map((t) => [t.id, t.content])).toEqual(byId(doc.turns).map((t) => [t.id, t.content]));
      const hits = await memory.recall('Porto', { scope: { userId: 'maya', sessionId: 's1' }, k: 1 });
      expect(hits[0]!.text).toContain('Porto');
    } finally {
      await memory.close();
    }
  });

  it('reads an export from stdin and prints a summary', () => {
    const doc = { format: 'opticmem-export', version: 1, turns: [{ id: 't1', userId: 'iris', agentId: '', sessionId: '', seq: 1, role: 'user', name: '', content: 'Peacocks!', textTokens: 3, createdAt: 1 }], pages: [] };
    const r = cli(['import', '-', '--db', join(dir, 'db3')], JSON.stringify(doc));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`imported 1 turns and 0 pages into ${join(dir, 'db3')}\n`);
  });

  it('exits 2 with a message naming the field and the fix on bad input', () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'hello');
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ format: 'something-else', version: 1, turns: [], pages: [] }));
    const cases: [string[], RegExp][] = [
      [['import', notJson, '--db', join(dir, 'bad')], /is not JSON\. Pass a file written by 'opticmem export'/],
      [['import', wrong, '--db', join(dir, 'bad')], /'data\.format'/],
      [['import', join(dir, 'missing.json'), '--db', join(dir, 'bad')], /Cannot read .*missing\.json/],
      [['export', '--db', db, '--user', 'maya', '--out', join(dir, 'no-such-dir', 'x.json')], /Cannot write .*x\.json.*ENOENT/],
      [['export', '--user', 'maya'], /required option '--db <dir>'/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('documents the commands in --help', () => {
    const root = cli(['--help']);
    expect(root.stdout).toMatch(/export \[options\]/);
    expect(root.stdout).toMatch(/import \[options\] <file>/);
    expect(root.stdout).toMatch(/mcp \[options\] +Serve the store to MCP clients on stdio/);
    const e = cli(['export', '--help']);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/--out <file\.json>/);
    expect(e.stdout).toMatch(/--user <id>/);
  });
});
