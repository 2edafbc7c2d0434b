import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLanceStore } from '../memory/store/index.js';
import { buildProgram } from '../src/cli/main.js';
import { OPENAI_OCR_PROMPTS } from '../src/decoders/openai-decoder.js';
import { startFakeOpenAIServer } from './support/fake-openai-server.js';
import { pageRow, turnRow } from './support/page-row.js';

// The CLI is tested as users run it: the built bin in a child process (`npm test` builds first).
const bin = join(import.meta.dirname, '..', 'bin', 'opticmem.js');
const dir = mkdtempSync(join(tmpdir(), 'opticmem-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI in a child process without blocking this one, for tests that serve HTTP to it. */
function cliAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const chat = join(import.meta.dirname, 'fixtures', 'conversation-en.json');
const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

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

  it("takes a relative --db, even one whose name begins with 'db' (LanceDB would read that as a cloud database)", () => {
    const c = cli(['compress', chat, '--db', 'db-relative', '--user', 'u', '--hot-budget', '60', '--profile', 'deepseek-ocr:tiny', '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect((JSON.parse(c.stdout) as { pagesWritten: number }).pagesWritten).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'db-relative', 'pages.lance'))).toBe(true);
    const s = cli(['stats', '--db', 'db-relative', '--json']);
    expect(s.code, s.stderr).toBe(0);
  });

  it('reads plain text from stdin', () => {
    const r = cli(['render', '-', '--out', join(dir, 'stdin.png'), '--json'], 'A short note about the 7:45 train to Sintra.');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).pages).toHaveLength(1);
  });

  it('says what ratio a render achieved, and why, when text is too short to reach the target', () => {
    const note = 'A short note about the 7:45 train to Sintra.';
    const j = cli(['render', '-', '--out', join(dir, 'short.png'), '--profile', 'deepseek-ocr:base', '--ratio', '10', '--json'], note);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as { target: number; achieved: number; note: string; pages: { textTokens: number; visualTokens: number }[] };
    expect(out.target).toBe(10);
    expect(out.achieved).toBeCloseTo(out.pages[0]!.textTokens / out.pages[0]!.visualTokens, 3);
    expect(out.achieved).toBeLessThan(1);
    expect(out.note).toMatch(/^Achieved 0\.\d\dx of the 10x asked: the text is \d+ tokens and the smallest deepseek-ocr:base canvas costs 256 visual tokens, so 10x needs at least 2560 text tokens/);
    const t = cli(['render', '-', '--out', join(dir, 'short.png'), '--profile', 'deepseek-ocr:base', '--ratio', '10'], note);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toContain(out.note);
    // Pages within 10% of the target say nothing; further below, the note says the pages are whole.
    const full = JSON.parse(cli(['render', chat, '--ratio', '10', '--profile', 'deepseek-ocr:small', '--out', join(dir, 'full.png'), '--json']).stdout) as { achieved: number; note?: string };
    if (full.achieved >= 9) expect(full.note).toBeUndefined();
    else expect(full.note).toMatch(/pages are whole/);
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

  it('compress again after a crash, or on a log that grew, stores only what the store lacks', () => {
    const db = join(dir, 'db-rerun');
    const log = join(dir, 'rerun.jsonl');
    const rows = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `Message ${i}: the 28 tram leaves Martim Moniz at ${8 + (i % 12)}:${i % 6}0 for Prazeres.` }));
    const write = (n: number) => writeFileSync(log, rows.slice(0, n).map((m) => JSON.stringify(m)).join('\n'));
    const held = () => {
      const doc = JSON.parse(cli(['export', '--db', db, '--user', 'maya']).stdout) as { turns: { content: string }[]; pages: { turnIds: string[] }[] };
      return { hot: doc.turns.length, paged: new Set(doc.pages.flatMap((p) => p.turnIds)).size };
    };
    write(30);
    const first = cli(['compress', log, '--db', db, '--user', 'maya', '--hot-budget', '200', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ messages: 30, alreadyStored: 0 });
    const once = held();
    expect(once.hot + once.paged).toBe(30);
    // The same file again (as after a crash): nothing is stored twice.
    const again = cli(['compress', log, '--db', db, '--user', 'maya', '--hot-budget', '200', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ messages: 30, alreadyStored: 30 });
    expect(held()).toEqual(once);
    // The log grew by ten messages: only those are new.
    write(40);
    const grown = cli(['compress', log, '--db', db, '--user', 'maya', '--hot-budget', '200', '--json']);
    expect(JSON.parse(grown.stdout)).toMatchObject({ messages: 40, alreadyStored: 30 });
    const after = held();
    expect(after.hot + after.paged).toBe(40);
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

  it('refuses an empty scope flag (--user=) on every command that takes one, printing nothing of any user', async () => {
    const db = join(dir, 'db-two-users');
    const store = await openLanceStore({ uri: db });
    try {
      await store.addTurns([turnRow('t-maya', 'maya', 'Maya keeps her tram pass in the blue wallet.'), turnRow('t-daniel', 'daniel', 'Daniel keeps his ferry pass in the red wallet.')]);
      await store.addPages([pageRow('p-maya', 'maya', 'User: Maya booked the Porto tram tour.'), pageRow('p-daniel', 'daniel', 'User: Daniel booked the Porto river cruise.')]);
    } finally {
      await store.close();
    }
    // Both users' pages answer the query: a flag read as absent would print them both.
    const maya = cli(['recall', 'Porto', '--db', db, '--user', 'maya']);
    expect(maya.code, maya.stderr).toBe(0);
    expect(maya.stdout).toContain('tram tour');
    expect(maya.stdout).not.toContain('river cruise');
    const commands = [['recall', 'Porto'], ['export'], ['age'], ['compress', chat], ['mcp']];
    // Each flag as --flag= on every command, and as --flag '' (the same empty value) on the readers.
    const cases = [
      ...['user', 'agent', 'session'].flatMap((flag) => commands.map((command) => ({ flag, args: [...command, '--db', db, `--${flag}=`] }))),
      ...[['recall', 'Porto'], ['export']].map((command) => ({ flag: 'user', args: [...command, '--db', db, '--user', ''] })),
    ];
    for (const { flag, args } of cases) {
      const r = cli(args, '');
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`InvalidInputError: --${flag} is given but empty, so it names no ${flag}\\. Pass an id \\(e\\.g\\. --${flag}=\\w+\\), or leave --${flag} out\\.`));
      expect(r.stderr, args.join(' ')).not.toMatch(/tram|ferry|cruise|wallet/);
    }
    // Nothing was written either: both users' rows are as they were.
    const all = JSON.parse(cli(['export', '--db', db]).stdout) as { turns: { id: string }[]; pages: { id: string; recallCount: number; tier: string }[] };
    expect(all.turns.map((t) => t.id).sort()).toEqual(['t-daniel', 't-maya']);
    expect(all.pages.map((p) => [p.id, p.recallCount, p.tier]).sort()).toEqual([['p-daniel', 0, 'lossless'], ['p-maya', 0, 'lossless']]);
  });

  it('bad paths and values are usage or store errors with a one-line reason, never a stack trace or a hang', () => {
    const cases: { args: string[]; code: number; says: RegExp }[] = [
      { args: ['render', chat, '--out', join(dir, 'no-such-folder', 'page.png')], code: 2, says: /InvalidInputError: The folder '.*no-such-folder' for --out does not exist/ },
      { args: ['render', chat, '--out', join(dir, 'tiny.png'), '--ratio', '0.001'], code: 2, says: /InvalidInputError: A ratio of 0.001 text tokens per visual token puts less than one/ },
      { args: ['render', chat, '--out', join(dir, 'p.png'), '--profile', ''], code: 2, says: /--profile must not be empty/ },
      { args: ['compress', chat, '--db', join(dir, 'db-two-users', 'turns.lance'), '--user', 'maya'], code: 2, says: /inside the LanceDB table folder 'turns\.lance'/ },
      { args: ['compress', chat, '--db', '/proc/1/nope', '--user', 'maya'], code: 4, says: /StoreError: .*\/proc\/1\/nope/ },
    ];
    for (const c of cases) {
      const r = cli(c.args, '');
      expect(r.code, `${c.args.join(' ')}\n${r.stderr}`).toBe(c.code);
      expect(r.stderr, c.args.join(' ')).toMatch(c.says);
      expect(r.stderr, c.args.join(' ')).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
  });

  it('takes a LanceDB URI for --db without making a local folder of it', () => {
    const r = cli(['compress', chat, '--db', 'memory://cli-test', '--user', 'maya', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { messages: number }).messages).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'memory:'))).toBe(false);
  });

  it('runs the demo offline: pages, store, recall, context, ageing; as JSON and as a table', async () => {
    const [r, table] = await Promise.all([cliAsync(['demo', '--out', join(dir, 'demo'), '--json']), cliAsync(['demo', '--out', join(dir, 'demo-table')])]);
    expect(r.code, r.stderr).toBe(0);
    expect(table.code, table.stderr).toBe(0);
    // The table a person reads: one row per stage, the same stages the JSON holds.
    const lines = table.stdout.split('\n');
    const header = lines.findIndex((l) => /^stage\s+pages\s+text tok\s+visual tok\s+ratio\s+tokens saved\s+fidelity\s+decode s$/.test(l));
    expect(header, table.stdout).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^-+( +-+){7}$/);
    const stages = lines.slice(header + 2).filter((l) => /^(render|memory)/.test(l));
    expect(stages.map((l) => l.split(/\s{2,}/)[0])).toEqual((JSON.parse(r.stdout) as { rows: { stage: string }[] }).rows.map((x) => x.stage));
    expect(stages[0]).toMatch(/^render lossless \(10x\)\s+\d+\s+\d+\s+\d+\s+\d+\.\dx\s+\d+\.\d%\s+(9\d\.\d\d|100\.00)%\s+\d+\.\d$/);
    expect(table.stdout).toMatch(/3\. Recall: "How much does the apartment in Campo de Ourique cost per night\?"\n {3}page [0-9a-f]{8} \(lossless, score [\d.]+\): ".*165/);
    expect(table.stdout).toMatch(/\ndone in \d+ s\n$/);
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

  it('answers --help for every command and --version from package.json', () => {
    const names = buildProgram(() => {}).commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['demo', 'render', 'decode', 'compress', 'recall', 'age', 'stats', 'export', 'import', 'eval', 'mcp', 'inspect']));
    for (const name of names) {
      const r = cli([name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`^Usage: opticmem ${name} `));
      expect(r.stdout, name).toMatch(/-h, --help +display help for command/);
    }
    expect(cli(['--version']).stdout.trim()).toBe(version);
  });

  it('decodes through an OpenAI-compatible endpoint with --decoder openai, and exits 3 when it fails', async () => {
    const server = await startFakeOpenAIServer();
    try {
      const page = join(dir, 'remote.png');
      expect(cli(['render', '-', '--out', page, '--json'], 'The 7:45 train to Sintra leaves from Rossio.').code).toBe(0);
      server.reply({ text: 'User: The 7:45 train to Sintra leaves from Rossio.' });
      const local = { ...process.env, OPENAI_API_KEY: '' };
      const r = await cliAsync(['decode', page, '--decoder', 'openai', '--base-url', server.baseURL, '--model', 'deepseek-ai/DeepSeek-OCR', '--json'], local);
      expect(r.code, r.stderr).toBe(0);
      const decoded = JSON.parse(r.stdout) as { text: string; path: string; decoder: string };
      expect(decoded).toMatchObject({ text: 'User: The 7:45 train to Sintra leaves from Rossio.', path: 'remote', decoder: 'openai:deepseek-ai/DeepSeek-OCR' });
      const sent = server.requests[0]!;
      const body = sent.body as { model: string; messages: { content: { type: string; text?: string; image_url?: { url: string } }[] }[] };
      expect(body.model).toBe('deepseek-ai/DeepSeek-OCR');
      expect(body.messages[0]!.content.find((c) => c.type === 'text')!.text).toBe(OPENAI_OCR_PROMPTS['deepseek-ocr']);
      expect(body.messages[0]!.content.find((c) => c.type === 'image_url')!.image_url!.url).toBe(`data:image/png;base64,${readFileSync(page).toString('base64')}`);
      // A local server started without keys gets a placeholder; a set OPENAI_API_KEY is sent as is.
      expect(sent.headers.authorization).toBe('Bearer none');
      const withKey = await cliAsync(['decode', page, '--decoder', 'openai', '--base-url', server.baseURL, '--model', 'gpt-4o', '--prompt', 'generic'], { ...process.env, OPENAI_API_KEY: 'sk-test' });
      expect(withKey.code, withKey.stderr).toBe(0);
      expect(server.requests[1]!.headers.authorization).toBe('Bearer sk-test');
      expect((server.requests[1]!.body as typeof body).messages[0]!.content.find((c) => c.type === 'text')!.text).toBe(OPENAI_OCR_PROMPTS.generic);

      server.reply({ status: 500, message: 'The OCR server is down.' });
      const failed = await cliAsync(['decode', page, '--decoder', 'openai', '--base-url', server.baseURL, '--model', 'deepseek-ai/DeepSeek-OCR'], local);
      expect(failed.code).toBe(3);
      expect(failed.stderr).toMatch(/RemoteServiceError: The endpoint at http:\/\/127\.0\.0\.1:\d+\/v1 \(model 'deepseek-ai\/DeepSeek-OCR'\) answered HTTP 500: The OCR server is down/);

      const usage: [string[], RegExp][] = [
        [['decode', page, '--decoder', 'openai'], /--decoder openai needs --model/],
        [['decode', page, '--model', 'gpt-4o'], /--model only applies to a remote decoder\. Add --decoder openai/],
        [['decode', page, '--decoder', 'tesseract'], /argument 'tesseract' is invalid\. Allowed choices are local, glyph, onnx, openai/],
      ];
      for (const [args, message] of usage) {
        const u = await cliAsync(args, local);
        expect(u.code, args.join(' ')).toBe(2);
        expect(u.stderr, args.join(' ')).toMatch(message);
      }
    } finally {
      await server.close();
    }
  });

  it('read-only commands refuse a missing store with exit 2 and create nothing; an unusable store path exits 4', () => {
    const missing = join(dir, 'no-such-store');
    for (const args of [['stats'], ['recall', 'Porto'], ['age'], ['export', '--user', 'maya']]) {
      const r = cli([...args, '--db', missing]);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).toMatch(/No store at '.*no-such-store'\. Pass the folder given to 'opticmem compress --db'/);
    }
    expect(existsSync(missing)).toBe(false);

    const notAStore = join(dir, 'plain-folder');
    mkdirSync(notAStore);
    const empty = cli(['stats', '--db', notAStore]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/holds no opticmem store/);

    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const r = cli(['stats', '--db', file]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^opticmem: StoreError: Cannot use '.*a-file' as a store folder \((EEXIST|ENOTDIR)\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
  });

  it('draws a progress bar on a terminal that never runs past its total, and none into piped output', (ctx) => {
    // util-linux's `script` gives the CLI a terminal for stderr while stdout goes to a file.
    if (spawnSync('script', ['--version'], { encoding: 'utf8' }).status !== 0) ctx.skip('no `script` command to run the CLI on a pseudo-terminal');
    const out = join(dir, 'bar.txt');
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} render ${JSON.stringify(chat)} --profile deepseek-ocr:tiny --ratio 10 --out ${JSON.stringify(join(dir, 'bar.png'))} > ${JSON.stringify(out)}`;
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const counts = [...r.stdout.matchAll(/render \[[^\]]*\] (\d+)\/(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(counts.length, r.stdout).toBeGreaterThan(0);
    for (const [value, total] of counts) expect(value).toBeLessThanOrEqual(total);
    expect(counts.at(-1)![1]).toBeGreaterThan(1);
    const table = readFileSync(out, 'utf8');
    expect(table).toMatch(/^page\s+size/);
    expect(table).not.toContain('[');
  });
});
