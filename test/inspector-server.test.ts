import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../memory/ageing.js';
import { Memory } from '../memory/memory.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidInputError } from '../src/errors.js';
import { MAX_BODY_BYTES, MAX_URL_BYTES, startInspector, type Inspector } from '../src/inspector/server.js';
import { loadLanceDb } from '../src/internal/lazy.js';

const root = join(import.meta.dirname, '..');
const trip = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'conversation-en.json'), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const decoder = createOnnxDecoder();
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opticmem-inspector-'));
  dirs.push(d);
  return d;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => any;
}

/** A raw HTTP request: the path goes out exactly as written (fetch would normalise '..'). */
function call(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Every file under `dir` with its size and modification time: any write shows up here. */
function snapshot(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => {
      const p = join(e.parentPath, e.name);
      const st = statSync(p);
      return `${p} ${st.size} ${st.mtimeMs}`;
    })
    .sort();
}

const maya = { userId: 'maya', sessionId: 'lisbon' };
const li = { userId: 'li', agentId: 'chef' };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

let clock = Date.UTC(2026, 0, 1);
let assetsDir: string;
let dbPath: string;
let memory: Memory;
let inspector: Inspector;
let base: string;

beforeAll(async () => {
  assetsDir = await tempDir();
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-inspector-assets.mjs'), '--out', assetsDir], { encoding: 'utf8' });
  expect(built.status, built.stderr + built.stdout).toBe(0);
  dbPath = await tempDir();
  // Small (100-token) pages, so the 15x step can shrink them to Tiny (64).
  memory = await Memory.open({ path: dbPath, decoder, profile: 'deepseek-ocr:small', autoCompact: false, tiers: { hotBudgetTokens: 120 }, now: () => clock, forgetting: { curve: 'ebbinghaus' } });
  await memory.add(trip.slice(0, 5), maya);
  await memory.add(trip.slice(5, 8), li);
  // A scope that the filter { userId: 'maya' } would also match: it must stay apart.
  await memory.add([{ role: 'user', content: 'Remind me to call the ferry office about Cacilhas.' }], { userId: 'maya' });
  await memory.compact(maya);
  await memory.compact(li);
  clock += DAY_MS / 2; // retention e^-0.5 = 0.61: lossless -> 15x
  const aged = await memory.age({ scope: maya });
  expect(aged.moved.length).toBeGreaterThan(0);
  expect(aged.moved.every((m) => m.visualTokensAfter < m.visualTokensBefore)).toBe(true);
  inspector = await startInspector({ memory, port: 0, assetsDir });
  base = inspector.url;
});

afterAll(async () => {
  await inspector?.close();
  await memory?.close();
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('inspector JSON API', () => {
  it('lists every stored scope exactly, with counts', async () => {
    const r = await call(base, '/api/scopes');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const { scopes } = r.json() as { scopes: { userId: string; agentId: string; sessionId: string; turns: number; pages: number }[] };
    const stored = await memory.scopes();
    expect(scopes).toHaveLength(3);
    for (const s of stored) {
      expect(scopes).toContainEqual({ ...s.scope, turns: s.turns, pages: s.pages });
    }
    expect(scopes.find((s) => s.userId === 'maya' && s.sessionId === '')).toMatchObject({ turns: 1, pages: 0 });
  });

  it('shows a scope: hot turns, page metadata and totals, and nothing of narrower scopes', async () => {
    const view = (await call(base, `/api/scope?${q({ user: 'maya', session: 'lisbon' })}`)).json();
    const listed = await memory.list(maya);
    expect(view.scope).toEqual({ userId: 'maya', agentId: '', sessionId: 'lisbon' });
    expect(view.pages.map((p: { id: string }) => p.id)).toEqual(listed.pages.map((p) => p.id));
    expect(view.turns.map((t: { id: string }) => t.id)).toEqual(listed.turns.map((t) => t.id));
    const stored = listed.pages[0]!;
    expect(view.pages[0]).toMatchObject({
      tier: stored.tier,
      profile: 'deepseek-ocr:tiny',
      textTokens: stored.textTokens,
      visualTokens: stored.visualTokens,
      ratio: stored.ratio,
      fidelity: stored.fidelity,
      pinned: false,
      recallCount: 0,
      lastRecalledAt: null,
      decoded: true,
    });
    expect(view.pages[0].tier).toBe('15x');
    expect(view.pages[0].ageDays).toBeCloseTo(0.5, 6);
    expect(view.pages[0].retention).toBeCloseTo(Math.exp(-0.5), 6);
    const hot = listed.turns.reduce((a, t) => a + t.textTokens, 0);
    const text = listed.pages.reduce((a, p) => a + p.textTokens, 0);
    const visual = listed.pages.reduce((a, p) => a + p.visualTokens, 0);
    expect(view.totals).toMatchObject({ hotTextTokens: hot, pageTextTokens: text, pageVisualTokens: visual, heldTokens: hot + visual, originalTokens: hot + text, savedTokens: text - visual });
    expect(view.totals.savedTokens).toBeGreaterThan(0);

    // { userId: 'maya' } as a store filter spans maya's sessions; the inspector's scope does not.
    const bare = (await call(base, `/api/scope?${q({ user: 'maya' })}`)).json();
    expect(bare.pages).toEqual([]);
    expect(bare.turns.map((t: { content: string }) => t.content)).toEqual(['Remind me to call the ferry office about Cacilhas.']);
  });

  it('serves page PNG bytes and the decoded text, decoding on demand without caching when read-only', async () => {
    const [page] = (await memory.list(li)).pages;
    const params = q({ user: 'li', agent: 'chef', id: page!.id });
    const png = await call(base, `/api/page.png?${params}`);
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(png.body, Buffer.from((await memory.get(page!.id, li))!.png))).toBe(0);

    const cached = (await call(base, `/api/page/text?${params}`)).json();
    expect(cached).toEqual({ id: page!.id, text: page!.decodedText });
    // Forget the cached text: the endpoint must run the OCR model on the stored image.
    await memory.store.updatePage(li, page!.id, { decodedText: '' });
    const stored = (await memory.get(page!.id, li))!;
    const fresh = (await call(base, `/api/page/text?${params}`)).json();
    expect(fresh.text).toContain('Porto');
    // Read-only: the decode is not cached, so the page row is untouched.
    expect((await memory.get(page!.id, li))!).toMatchObject({ decodedText: '', updatedAt: stored.updatedAt });
    // With writes allowed, reading caches the text on the page.
    const writable = await startInspector({ memory, port: 0, assetsDir, allowWrite: true });
    try {
      expect((await call(writable.url, `/api/page/text?${params}`)).json().text).toBe(fresh.text);
      expect((await memory.get(page!.id, li))!.decodedText).toBe(fresh.text);
    } finally {
      await writable.close();
    }
  });

  it('searches with recall, highlights terms, does not rehearse, and keeps scopes apart', async () => {
    const r = (await call(base, `/api/search?${q({ user: 'maya', session: 'lisbon', q: 'Boston flights' })}`)).json();
    expect(r.terms).toEqual(['boston', 'flights']);
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.hits[0].text).toContain('Boston');
    const page = await memory.get(r.hits[0].pageId, maya);
    expect(page!.recallCount).toBe(0); // looking is not remembering
    expect(page!.lastRecalledAt).toBe(0);

    const liText = (await memory.list(li)).pages.map((p) => p.decodedText).join('\n');
    expect(liText).not.toContain('Boston');
    expect((await call(base, `/api/search?${q({ user: 'li', agent: 'chef', q: 'Boston' })}`)).json().hits).toEqual([]);
    // maya's bare scope holds no pages; maya/lisbon's page must not leak into it.
    expect((await call(base, `/api/search?${q({ user: 'maya', q: 'Boston' })}`)).json().hits).toEqual([]);
  });

  it('builds a timeline from compactions and recorded ladder moves', async () => {
    const { history, events } = (await call(base, `/api/timeline?${q({ user: 'maya', session: 'lisbon' })}`)).json();
    const [page] = (await memory.list(maya)).pages;
    expect(history).toBe('full');
    expect(events).toEqual([
      { at: page!.createdAt, kind: 'compacted', pageId: page!.id, from: 'text', to: 'lossless', turnCount: page!.turnIds.length },
      expect.objectContaining({ at: clock, kind: 'moved', pageId: page!.id, from: 'lossless', to: '15x', visualTokensBefore: 100, visualTokensAfter: 64 }),
    ]);
    expect(events[1].retention).toBeCloseTo(Math.exp(-0.5), 6);
  });

  it('answers unknown scopes and pages with 404 and bad parameters with 400, as JSON that names the field', async () => {
    const cases: [string, number, string, RegExp][] = [
      [`/api/scope?${q({ user: 'nobody' })}`, 404, 'scope_not_found', /No scope with user 'nobody'/],
      [`/api/scope?${q({ user: 'maya', session: 'paris' })}`, 404, 'scope_not_found', /GET \/api\/scopes lists/],
      [`/api/page.png?${q({ user: 'maya', session: 'lisbon', id: 'no-such-page' })}`, 404, 'page_not_found', /No page 'no-such-page'/],
      // li's page exists, but not in maya's scope.
      [`/api/timeline`, 400, 'invalid_input', /at least one of 'user', 'agent' or 'session'/],
      [`/api/scope?${q({ usr: 'maya' })}`, 400, 'invalid_input', /usr/],
      [`/api/scope?user=maya&user=li`, 400, 'duplicate_parameter', /'user' is given twice/],
      [`/api/scope?${q({ user: 'maya', limit: 'lots' })}`, 400, 'invalid_input', /'query.limit'.*whole number/],
      [`/api/search?${q({ user: 'maya', session: 'lisbon', q: '   ' })}`, 400, 'invalid_input', /'query.q'.*empty/],
      [`/api/search?${q({ user: 'maya', session: 'lisbon', q: 'x', k: '999' })}`, 400, 'invalid_input', /'query.k'.*at most 50/],
      [`/api/nothing`, 404, 'not_found', /No endpoint '\/api\/nothing'/],
    ];
    for (const [path, status, code, message] of cases) {
      const r = await call(base, path);
      expect(r.status, path).toBe(status);
      expect(r.headers['content-type'], path).toMatch(/^application\/json/);
      const { error } = r.json();
      expect(error.code, path).toBe(code);
      expect(error.message, path).toMatch(message);
    }
    const [liPage] = (await memory.list(li)).pages;
    expect((await call(base, `/api/page.png?${q({ user: 'maya', session: 'lisbon', id: liPage!.id })}`)).status).toBe(404);
    const wrongMethod = await call(base, '/api/scopes', { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET');
  });

  it('serves the page and its files, and rejects path traversal without reading outside the assets', async () => {
    const page = await call(base, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.body.toString()).toContain('/assets/inspector.js');
    expect((await call(base, '/assets/inspector.js')).headers['content-type']).toMatch(/^text\/javascript/);
    expect((await call(base, '/assets/inspector.css')).status).toBe(200);
    const attempts = [
      '/assets/../../package.json',
      '/assets/../package.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%252e%252e/%252e%252e/package.json',
      '/assets/.%2e/.%2e/package.json',
      '/assets/..\\..\\package.json',
      '/assets//etc/passwd',
      '/assets/tsconfig.json',
      '/assets/inspector.ts',
      '/assets/sub/inspector.js',
      '/../package.json',
      '/package.json',
    ];
    for (const path of attempts) {
      const r = await call(base, path);
      expect([400, 404], path).toContain(r.status);
      expect(r.json().error.message, path).toBeTruthy();
      expect(r.body.toString(), path).not.toMatch(/devDependencies|"compilerOptions"|root:/);
    }
  });

  it('rejects oversized queries, URLs and bodies', async () => {
    const longQuery = await call(base, `/api/search?${q({ user: 'maya', session: 'lisbon', q: 'ferry '.repeat(400) })}`);
    expect(longQuery.status).toBe(413);
    expect(longQuery.json().error).toMatchObject({ code: 'query_too_large', field: 'query.q' });
    const longUrl = await call(base, `/api/scope?user=maya&session=lisbon&pad=${'x'.repeat(MAX_URL_BYTES)}`);
    expect(longUrl.status).toBe(414);
    expect(longUrl.json().error.code).toBe('uri_too_long');
    // Checked before the read-only answer would matter: a writable inspector refuses the body.
    const writable = await startInspector({ memory, port: 0, assetsDir, allowWrite: true });
    try {
      const [page] = (await memory.list(maya)).pages;
      const big = await call(writable.url, `/api/page/pin?${q({ user: 'maya', session: 'lisbon', id: page!.id })}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pinned: true, pad: 'x'.repeat(MAX_BODY_BYTES) }),
      });
      expect(big.status).toBe(413);
      expect((await memory.get(page!.id, maya))!.pinned).toBe(false);
    } finally {
      await writable.close();
    }
  });
});

describe('write actions', () => {
  it('are refused with 403 without allowWrite, and change nothing', async () => {
    const [page] = (await memory.list(maya)).pages;
    const params = q({ user: 'maya', session: 'lisbon', id: page!.id });
    const attempts = [
      call(base, `/api/page/pin?${params}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"pinned":true}' }),
      call(base, `/api/page?${params}`, { method: 'DELETE' }),
      call(base, `/api/scope?${q({ user: 'li', agent: 'chef' })}`, { method: 'DELETE' }),
    ];
    for (const r of await Promise.all(attempts)) {
      expect(r.status).toBe(403);
      expect(r.json().error).toMatchObject({ code: 'read_only', message: expect.stringMatching(/--allow-write/) });
    }
    expect((await memory.get(page!.id, maya))!.pinned).toBe(false);
    expect((await memory.scopes()).length).toBe(3);
  });

  it('pin, delete a page (leaving a tombstone) and delete a scope with allowWrite', async () => {
    const writable = await startInspector({ memory, port: 0, assetsDir, allowWrite: true });
    try {
      const [page] = (await memory.list(maya)).pages;
      const params = q({ user: 'maya', session: 'lisbon', id: page!.id });
      const json = { 'content-type': 'application/json' };
      const pin = await call(writable.url, `/api/page/pin?${params}`, { method: 'POST', headers: json, body: '{"pinned":true}' });
      expect(pin.status).toBe(200);
      expect(pin.json()).toEqual({ id: page!.id, pinned: true });
      expect((await memory.get(page!.id, maya))!.pinned).toBe(true);

      const badBody = await call(writable.url, `/api/page/pin?${params}`, { method: 'POST', headers: json, body: '{"pinned":"yes"}' });
      expect(badBody.status).toBe(400);
      expect(badBody.json().error.message).toMatch(/'body.pinned'/);
      const notJson = await call(writable.url, `/api/page/pin?${params}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"pinned":false}' });
      expect(notJson.status).toBe(415);
      // Another site's script in the user's browser: refused even with the right body.
      const foreign = await call(writable.url, `/api/page/pin?${params}`, { method: 'POST', headers: { ...json, origin: 'http://evil.example' }, body: '{"pinned":false}' });
      expect(foreign.status).toBe(403);
      expect(foreign.json().error.code).toBe('cross_origin');
      expect((await memory.get(page!.id, maya))!.pinned).toBe(true);

      const del = await call(writable.url, `/api/page?${params}`, { method: 'DELETE' });
      expect(del.json()).toEqual({ id: page!.id, deleted: true });
      expect(await memory.get(page!.id, maya)).toBeUndefined();
      const { events } = (await call(writable.url, `/api/timeline?${q({ user: 'maya', session: 'lisbon' })}`)).json();
      expect(events.at(-1)).toMatchObject({ kind: 'dropped', pageId: page!.id, from: '15x', to: 'dropped', reason: 'deleted in the inspector' });
      expect((await call(writable.url, `/api/scope?${q({ user: 'maya', session: 'lisbon' })}`)).json().totals.droppedPages).toBe(1);

      // Deleting the bare 'maya' scope must leave maya/lisbon's hot turn alone.
      const lisbonTurns = (await memory.list(maya)).turns.length;
      const gone = await call(writable.url, `/api/scope?${q({ user: 'maya' })}`, { method: 'DELETE' });
      expect(gone.json()).toEqual({ turns: 1, pages: 0 });
      expect((await memory.list(maya)).turns.length).toBe(lisbonTurns);
      const scopes = (await call(writable.url, '/api/scopes')).json().scopes as { userId: string; sessionId: string }[];
      expect(scopes.some((s) => s.userId === 'maya' && s.sessionId === '')).toBe(false);
      expect((await call(writable.url, `/api/scope?${q({ user: 'maya' })}`)).status).toBe(404);
    } finally {
      await writable.close();
    }
  });
});

describe('listening', () => {
  it('binds to 127.0.0.1 by default and refuses foreign Host headers', async () => {
    expect(inspector.host).toBe('127.0.0.1');
    expect(inspector.url).toBe(`http://127.0.0.1:${inspector.port}/`);
    const foreign = await call(base, '/api/scopes', { headers: { host: `attacker.example:${inspector.port}` } });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error.code).toBe('host_not_allowed');
    expect((await call(base, '/api/scopes', { headers: { host: `localhost:${inspector.port}` } })).status).toBe(200);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!external) {
      // No non-loopback interface here to prove the negative on; the bind address check above still holds.
      return;
    }
    await expect(call(`http://${external.address}:${inspector.port}/`, '/api/scopes')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('validates its options', async () => {
    await expect(startInspector({ port: 0, assetsDir } as never)).rejects.toThrow(InvalidInputError);
    await expect(startInspector({ memory, db: dbPath, assetsDir })).rejects.toThrow(/exactly one of 'memory'.*or 'db'/);
    await expect(startInspector({ memory, port: 70000, assetsDir })).rejects.toThrow(/'options.port'/);
    await expect(startInspector({ memory, port: inspector.port, assetsDir })).rejects.toThrow(/Port \d+ on 127.0.0.1 is in use/);
    await expect(startInspector({ db: join(dbPath, 'missing'), assetsDir })).rejects.toThrow(/No store at/);
    // A folder that holds no store: refused, and left as it was (nothing created in it).
    const empty = await tempDir();
    const err = await startInspector({ db: empty, assetsDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).field).toBe('db');
    expect((err as Error).message).toMatch(/No opticmem store at/);
    expect(readdirSync(empty)).toEqual([]);
    await expect(startInspector({ memory, port: 0, assetsDir: dbPath })).rejects.toThrow(/not built/);
  });
});

describe('opticmem inspect', () => {
  // The CLI is tested as users run it: the built bin (`npm test` builds first).
  const bin = join(root, 'bin', 'opticmem.js');
  const built = existsSync(join(root, 'dist', 'src', 'cli', 'commands', 'inspect.js')) && existsSync(join(root, 'dist', 'src', 'inspector', 'assets', 'inspector.js'));

  it('prints its URL, serves the store read-only, and stops cleanly on SIGTERM', async () => {
    expect(built, "dist/ lacks the inspector: run 'npm run build' first").toBe(true);
    const before = snapshot(dbPath);
    const child = spawn(process.execPath, [bin, 'inspect', '--db', dbPath, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!/http:\/\/127\.0\.0\.1:\d+\//.test(stdout) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)?.[0];
      expect(url, stderr).toBeDefined();
      expect(stdout).toContain('read-only');
      const scopes = (await call(url!, '/api/scopes')).json().scopes as unknown[];
      expect(scopes.length).toBe((await memory.scopes()).length);
      expect((await call(url!, '/')).status).toBe(200);
      // The store's own curve, not a default; and every read below leaves the folder as it was.
      expect((await call(url!, '/api/info')).json()).toMatchObject({ allowWrite: false, readOnly: true, curve: 'ebbinghaus', ladder: ['lossless', '15x', 'forgetting', '30x'] });
      const [liPage] = (await memory.list(li)).pages;
      for (const path of [
        `/api/scope?${q({ user: 'li', agent: 'chef' })}`,
        `/api/page/text?${q({ user: 'li', agent: 'chef', id: liPage!.id })}`,
        `/api/search?${q({ user: 'maya', session: 'lisbon', q: 'Boston' })}`,
        `/api/timeline?${q({ user: 'maya', session: 'lisbon' })}`,
      ]) {
        expect((await call(url!, path)).status, path).toBe(200);
      }
      expect(snapshot(dbPath)).toEqual(before);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('stopped (SIGTERM)');
      await expect(call(url!, '/api/scopes')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits 2 on a bad port or a missing store', () => {
    const badPort = spawnSync(process.execPath, [bin, 'inspect', '--db', dbPath, '--port', 'http'], { encoding: 'utf8' });
    expect(badPort.status).toBe(2);
    expect(badPort.stderr).toMatch(/--port must be a whole number 0-65535/);
    const missing = spawnSync(process.execPath, [bin, 'inspect', '--db', join(dbPath, 'nope'), '--port', '0'], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/No store at .*nope/);
  });
});

describe('ladder history in an older store', () => {
  it('creates the moves table when a store without one is opened', async () => {
    const path = await tempDir();
    const first = await Memory.open({ path, autoCompact: false });
    await first.add({ role: 'user', content: 'hello' }, { userId: 'u' });
    await first.close();
    const lancedb = await loadLanceDb();
    const db = await lancedb.connect(path);
    await db.dropTable('moves');
    expect(await db.tableNames()).not.toContain('moves');
    db.close();
    const reopened = await Memory.open({ path, autoCompact: false });
    try {
      expect(await reopened.store.listMoves!({ userId: 'u' })).toEqual([]);
      expect((await reopened.list({ userId: 'u' })).turns).toHaveLength(1);
    } finally {
      await reopened.close();
    }
    const again = await lancedb.connect(path);
    expect(await again.tableNames()).toContain('moves');
    again.close();
  });
});
