import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The CLI is tested as users run it: the built bin in a child process (`npm test` builds first).
const bin = join(import.meta.dirname, '..', 'bin', 'opticmem.js');
const dir = mkdtempSync(join(tmpdir(), 'opticmem-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const chat = join(import.meta.dirname, 'fixtures', 'conversation-en.json');

describe('opticmem CLI', () => {
  it('renders a chat to pages and decodes one back', () => {
    const out = join(dir, 'page.png');
    const r = cli(['render', chat, '--ratio', '10', '--profile', 'deepseek-ocr:small', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { pages } = JSON.parse(r.stdout) as { pages: { path: string; ratio: number; textTokens: number; visualTokens: number; width: number }[] };
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) {
      expect(p.ratio).toBeLessThanOrEqual(10);
      expect(p.visualTokens).toBe(100);
      expect(existsSync(p.path)).toBe(true);
    }
    const d = cli(['decode', pages[0]!.path, '--json']);
    expect(d.code, d.stderr).toBe(0);
    const decoded = JSON.parse(d.stdout) as { text: string; path: string };
    expect(decoded.path).toBe('geometry');
    const firstTurn = (JSON.parse(readFileSync(chat, 'utf8')) as { content: string }[])[0]!.content;
    expect(decoded.text).toContain(firstTurn.slice(0, 40));
  });

  it('reads plain text from stdin', () => {
    const r = cli(['render', '-', '--out', join(dir, 'stdin.png'), '--json'], 'A short note about the 7:45 train to Sintra.');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).pages).toHaveLength(1);
  });

  it('exits 2 with a message naming the field and the fix on bad input', () => {
    const cases: [string[], RegExp][] = [
      [['render', chat, '--out', 'x.png', '--profile', 'gpt-99'], /Unknown vision-token profile 'gpt-99'.*Use one of/],
      [['render', chat, '--out', 'x.png', '--ratio', '0'], /--ratio must be a positive number/],
      [['render', join(dir, 'missing.json'), '--out', 'x.png'], /Cannot read .*missing\.json/],
      [['decode', chat], /not a PNG file/],
      [['recall', 'x', '--db', join(dir, 'db'), '--k', '0'], /--k must be a positive number/],
      [['compress', chat, '--db', join(dir, 'db-bad')], /scope.*Pass at least one of userId/],
      [['nonsense'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('compresses a chat log into a store, recalls from it and shows stats', () => {
    const db = join(dir, 'db');
    const jsonl = join(dir, 'chat.jsonl');
    const msgs = JSON.parse(readFileSync(chat, 'utf8')) as unknown[];
    writeFileSync(jsonl, msgs.map((m) => JSON.stringify(m)).join('\n'));
    const c = cli(['compress', jsonl, '--db', db, '--user', 'maya', '--session', 's1', '--hot-budget', '500', '--json']);
    expect(c.code, c.stderr).toBe(0);
    const summary = JSON.parse(c.stdout) as { pagesWritten: number; turnsCompacted: number };
    expect(summary.pagesWritten).toBeGreaterThan(0);
    const r = cli(['recall', 'Porto', '--db', db, '--user', 'maya', '--k', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const hits = JSON.parse(r.stdout).hits as { text: string }[];
    expect(hits[0]!.text).toContain('Porto');
    // A recall from the shell only looks; --rehearse counts it as a recall of the pages.
    const recalls = () => (JSON.parse(cli(['export', '--db', db, '--user', 'maya']).stdout) as { pages: { recallCount: number }[] }).pages.reduce((a, p) => a + p.recallCount, 0);
    expect(recalls()).toBe(0);
    const rehearsed = cli(['recall', 'Porto', '--db', db, '--user', 'maya', '--k', '2', '--rehearse', '--json']);
    expect(rehearsed.code, rehearsed.stderr).toBe(0);
    const rehearsedHits = (JSON.parse(rehearsed.stdout).hits as unknown[]).length;
    expect(rehearsedHits).toBeGreaterThan(0);
    expect(recalls()).toBe(rehearsedHits);
    const none = cli(['recall', 'Porto', '--db', db, '--user', 'someone-else', '--json']);
    expect(JSON.parse(none.stdout).hits).toEqual([]);
    // A month on, FSRS (S = 3.7 days) puts every page at R = 0.59: the 15x step, as a plain-text summary.
    const month = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const plain = cli(['age', '--db', db, '--now', month]);
    expect(plain.code, plain.stderr).toBe(0);
    const n = summary.pagesWritten;
    expect(plain.stdout).toContain(`aged to ${month} (fsrs curve): ${n} pages, ${n} moved, 0 dropped, 0 pinned, 0 unchanged\n`);
    expect(plain.stdout).toMatch(new RegExp(`lossless -> 15x\\s+${n}\\s+${n * 256}\\s+\\d+`));
    // The store keeps the ladder it was aged on.
    const other = cli(['age', '--db', db, '--now', month, '--ladder', 'deepseek-modes']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/on 'ratio', not 'deepseek-modes'.*--ladder ratio/);
    const a = cli(['age', '--db', db, '--now', '2099-01-01T00:00:00Z', '--json']);
    expect(a.code, a.stderr).toBe(0);
    const aged = JSON.parse(a.stdout) as { examined: number; dropped: unknown[] };
    expect(aged.examined).toBe(summary.pagesWritten);
    expect(aged.dropped.length).toBe(summary.pagesWritten);
    const back = cli(['age', '--db', db, '--now', '2000-01-01T00:00:00Z']);
    expect(back.code).toBe(2);
    expect(back.stderr).toMatch(/before the last ageing/);
    const s = cli(['stats', '--db', db, '--json']);
    expect(s.code, s.stderr).toBe(0);
    const stats = JSON.parse(s.stdout) as { totals: { pages: number }; scopes: { userId: string; pages: number }[] };
    expect(stats.totals.pages).toBe(0);
    expect(stats.scopes[0]!.userId).toBe('maya');
  });

  it('compress checks the whole file first: a bad message stores nothing and names its line', () => {
    const good = join(dir, 'good.jsonl');
    const bad = join(dir, 'bad.jsonl');
    const rows = Array.from({ length: 300 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `Message ${i} about the tram.` }));
    writeFileSync(good, rows.slice(0, 5).map((m) => JSON.stringify(m)).join('\n'));
    writeFileSync(bad, rows.map((m, i) => JSON.stringify(i === 249 ? { ...m, role: 'wizard' } : m)).join('\n'));
    const fresh = join(dir, 'db-never');
    const r = cli(['compress', bad, '--db', fresh, '--user', 'maya']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Line 250 of .*bad\.jsonl.*nothing was stored.*'messages\.249\.role': unknown role "wizard"/s);
    expect(existsSync(fresh)).toBe(false);
    const db = join(dir, 'db-partial');
    expect(cli(['compress', good, '--db', db, '--user', 'maya', '--json']).code).toBe(0);
    const before = JSON.parse(cli(['stats', '--db', db, '--json']).stdout).totals;
    expect(cli(['compress', bad, '--db', db, '--user', 'maya']).code).toBe(2);
    expect(JSON.parse(cli(['stats', '--db', db, '--json']).stdout).totals).toEqual(before);
  });

  it('takes a LanceDB URI for --db without making a local folder of it', () => {
    const r = cli(['compress', chat, '--db', 'memory://cli-test', '--user', 'maya', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { messages: number }).messages).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'memory:'))).toBe(false);
  });

  it('runs the demo offline: pages, store, recall, context, ageing', () => {
    const r = cli(['demo', '--out', join(dir, 'demo'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const demo = JSON.parse(r.stdout) as {
      rows: { stage: string; visualTokens: number; textTokens: number; fidelity: number }[];
      recall: { excerpt: string };
      context: { usedTokens: number; representedTokens: number };
      ageing: { days: number; visualTokens: number }[];
    };
    const stage = (prefix: string) => demo.rows.find((x) => x.stage.startsWith(prefix))!;
    expect(stage('render lossless').fidelity).toBeGreaterThan(0.98);
    expect(stage('render forgetting').visualTokens).toBeLessThan(stage('render lossless').visualTokens);
    expect(stage('memory pages').fidelity).toBeGreaterThan(0.98);
    // The recalled page answers the question: the nightly price is in the excerpt.
    expect(demo.recall.excerpt).toContain('165');
    expect(demo.context.usedTokens).toBeLessThan(demo.context.representedTokens);
    // Pages fade: a year later the store holds fewer visual tokens than when written.
    expect(demo.ageing.at(-1)!.visualTokens).toBeLessThan(stage('memory pages').visualTokens);
    expect(existsSync(join(dir, 'demo', 'lossless-10x-page-1.png'))).toBe(true);
  });
});
