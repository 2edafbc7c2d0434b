/**
 * The store on object storage: an S3-protocol server started on 127.0.0.1 by the test, the real
 * LanceDB talking to it over HTTP. The Memory API (background compaction included), the CLI with
 * the store's settings from the environment, and the inspector all work on an s3:// URI.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { DAY_MS } from '../memory/ageing.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import { startInspector } from '../src/inspector/server.js';
import { STORAGE_OPTIONS_ENV } from '../src/internal/store-location.js';
import { expectEachOnce, holdings } from './support/holdings.js';
import { startS3Server, type S3Server } from './support/s3-server.js';

const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const bin = join(import.meta.dirname, '..', 'bin', 'opticmem.js');
const decoder = createLocalDecoder();
let s3: S3Server;
let dir: string;

beforeAll(async () => {
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), 'opticmem-s3-cli-'));
});
afterAll(async () => {
  await decoder.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Memory on an s3:// URI', () => {
  it('adds, compacts in the background, recalls, builds a context, ages, exports, deletes and reopens', async () => {
    const uri = s3.uri('api');
    const scope = { userId: 'maya', sessionId: 'lisbon' };
    let clock = Date.UTC(2026, 5, 1);
    const memory = await Memory.open({ uri, storageOptions: s3.storageOptions, decoder, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 200 }, now: () => clock });
    let ids: string[] = [];
    try {
      for (const m of trip.slice(0, 10)) ids.push(...(await memory.add(m, scope)).turnIds);
      const flushed = await memory.flush();
      expect(flushed.errors).toEqual([]);
      const { hot, pages } = await holdings(memory, scope);
      expect(pages.length).toBeGreaterThan(0);
      expectEachOnce(ids, hot, pages);

      const hits = await memory.recall('Boston', { scope, k: 2 });
      expect(hits.length).toBeGreaterThan(0);
      expect(hits[0]!.text).toContain('Boston');
      const ctx = await memory.buildContext({ scope, budgetTokens: 2000, consumer: 'text', query: 'flight' });
      expect(ctx.usedTokens).toBeLessThanOrEqual(2000);

      clock += 30 * DAY_MS;
      const aged = await memory.age({ scope });
      expect(aged.moved.length + aged.dropped.length).toBeGreaterThan(0);

      const doc = await memory.export(scope);
      expect(doc.turns.length + doc.pages.length).toBeGreaterThan(0);
    } finally {
      await memory.close();
    }
    const again = await Memory.open({ uri, storageOptions: s3.storageOptions, decoder, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 200 }, now: () => clock });
    try {
      const { turns, pages } = await again.list(scope);
      expect(turns.length + pages.length).toBeGreaterThan(0);
      const deleted = await again.delete(scope);
      expect(deleted.turns + deleted.pages).toBeGreaterThan(0);
      expect(await again.list(scope)).toEqual({ turns: [], pages: [] });
    } finally {
      await again.close();
    }
  });
});

describe('a store that ignores conditional writes', () => {
  it('is found out once, recorded, and warned about on every open', async () => {
    const uri = s3.uri('probe');
    const warnings: string[] = [];
    const listen = (w: Error & { code?: string }) => w.code === 'OPTICMEM_UNSAFE_COMMITS' && warnings.push(w.message);
    process.on('warning', listen);
    try {
      for (let i = 0; i < 2; i++) {
        const memory = await Memory.open({ uri, storageOptions: s3.storageOptions, decoder });
        try {
          expect(await memory.store.getMeta('commit_probe')).toBe('unsafe');
        } finally {
          await memory.close();
        }
        await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      }
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toContain('conditional writes');
    } finally {
      process.off('warning', listen);
    }
  });

  it('a local folder is not probed', async () => {
    const memory = await Memory.open({ path: join(dir, 'local'), decoder });
    try {
      expect(await memory.store.getMeta('commit_probe')).toBeUndefined();
    } finally {
      await memory.close();
    }
  });
});

describe('the CLI and the inspector on an s3:// URI', () => {
  const env = () => ({ ...process.env, [STORAGE_OPTIONS_ENV]: JSON.stringify(s3.storageOptions) });
  // Asynchronous: the S3 server runs in this process, so a synchronous spawn would stall it.
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = env()) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { cwd: dir, env: extraEnv, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });

  it('compress, recall and stats take the store settings from the environment', async () => {
    const uri = s3.uri('cli');
    const chat = join(dir, 'chat.json');
    await writeFile(chat, JSON.stringify(trip.slice(0, 10)));
    const compressed = await cli(['compress', chat, '--db', uri, '--user', 'maya', '--profile', 'deepseek-ocr:small', '--hot-budget', '200', '--json']);
    expect(compressed.status, compressed.stderr).toBe(0);
    const recalled = await cli(['recall', 'Boston', '--db', uri, '--user', 'maya', '--json']);
    expect(recalled.status, recalled.stderr).toBe(0);
    expect(recalled.stdout).toContain('Boston');
    const stats = await cli(['stats', '--db', uri, '--json']);
    expect(stats.status, stats.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(stats.stdout))).toContain('maya');

    const inspector = await startInspector({ db: uri, port: 0, storageOptions: s3.storageOptions });
    try {
      const res = await fetch(new URL("/api/scopes", inspector.url));
      const body = await res.text();
      expect(res.status, body).toBe(200);
      const { scopes } = JSON.parse(body) as { scopes: { userId: string; pages: number }[] };
      expect(scopes.find((s) => s.userId === 'maya')?.pages).toBeGreaterThan(0);
    } finally {
      await inspector.close();
    }
  });

  it('a bad OPTICMEM_STORAGE_OPTIONS is a usage error naming the variable', async () => {
    const r = await cli(['stats', '--db', s3.uri('cli'), '--json'], { ...process.env, [STORAGE_OPTIONS_ENV]: '{"allow_http": true}' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(STORAGE_OPTIONS_ENV);
  });
});
