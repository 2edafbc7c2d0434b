import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_CHARS } from '../memory/messages.js';
import { createMcpServer } from '../src/integrations/mcp-server.js';
import { OVER_BUDGET, useFailingCompaction } from './support/failing-compaction.js';
import { startFakeOpenAIServer } from './support/fake-openai-server.js';
import { importWithBlocked } from './support/import-blocking.js';

// The server is tested as clients run it: the built CLI in a child process (`npm test` builds first).
const bin = join(import.meta.dirname, '..', 'bin', 'opticmem.js');
const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
// A small hot tier and Small pages so a few turns are compacted quickly.
const serverArgs = (db: string) => [bin, 'mcp', '--db', db, '--profile', 'deepseek-ocr:small', '--hot-budget', '300'];

type Content = { type: string; text?: string; data?: string; mimeType?: string };
type Result = { content: Content[]; isError?: boolean; structuredContent?: Record<string, unknown> };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opticmem-mcp-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('opticmem mcp over stdio with the SDK client', () => {
  let client: Client;
  let db: string;
  // Compaction renders and decodes pages on the CPU: allow it more than the SDK's 60 s default on a busy machine.
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args }, undefined, { timeout: 110_000 })) as Result;
  const texts = (r: Result) => r.content.filter((c) => c.type === 'text').map((c) => c.text!);

  beforeAll(async () => {
    db = join(dir, 'db');
    client = new Client({ name: 'opticmem-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: serverArgs(db), stderr: 'ignore' }));
  });
  afterAll(async () => client?.close());

  it('lists the four tools with their input schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['forget', 'recall', 'remember', 'stats']);
    const recall = tools.find((t) => t.name === 'recall')!;
    expect(recall.inputSchema.required).toEqual(['query']);
    expect(Object.keys(recall.inputSchema.properties!)).toEqual(expect.arrayContaining(['query', 'k', 'asImages', 'userId', 'agentId', 'sessionId']));
    expect(tools.find((t) => t.name === 'forget')!.annotations?.destructiveHint).toBe(true);
  });

  it('remembers messages and compacts the older ones into pages', async () => {
    const r = await call('remember', { userId: 'maya', sessionId: 'trip', messages: trip.slice(0, 8) });
    expect(r.isError, texts(r).join()).toBeFalsy();
    expect(r.structuredContent!.stored).toBe(8);
    expect(r.structuredContent!.compactionQueued).toBe(true);
    // The server compacts in the background: pages appear after the call returns.
    await expect.poll(async () => (await call('stats', { userId: 'maya', sessionId: 'trip' })).structuredContent!.pages, { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
  });

  it('recalls decoded text, and page images when asked', async () => {
    const asText = await call('recall', { userId: 'maya', query: 'Boston flight budget', k: 2 });
    expect(asText.isError).toBeFalsy();
    expect(asText.content.some((c) => c.type === 'image')).toBe(false);
    const [first] = texts(asText);
    expect(first).toMatch(/^Page [0-9a-f-]{36} \(lossless,/);
    expect(first).toContain('Boston');
    // The turns not yet on pages come along, so a fresh memory is recalled too.
    expect(texts(asText).at(-1)).toMatch(/^Recent turns \(not yet compacted\)/);
    expect(texts(asText).at(-1)).toContain(trip[7]!.content.slice(0, 60));

    const withImages = await call('recall', { userId: 'maya', query: 'Boston flight budget', k: 2, asImages: true, includeRecent: false });
    const images = withImages.content.filter((c) => c.type === 'image');
    expect(images.length).toBe(texts(withImages).length);
    expect(images.length).toBeGreaterThan(0);
    for (const img of images) {
      expect(img.mimeType).toBe('image/png');
      expect([...Buffer.from(img.data!, 'base64').subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
  });

  it('keeps scopes apart', async () => {
    const other = await call('recall', { userId: 'daniel', query: 'Boston' });
    expect(other.isError).toBeFalsy();
    expect(texts(other)).toEqual(['No memories match in this scope.']);
    const totals = await call('stats', {});
    // Without a scope: totals only, no ids of whoever is in the store.
    expect(Object.keys(totals.structuredContent!)).toEqual(['totals']);
    expect(JSON.stringify(totals)).not.toContain('maya');
  });

  it('reports stats for a scope', async () => {
    const s = (await call('stats', { userId: 'maya' })).structuredContent as { pages: number; turns: number; ratio: number; meanFidelity: number; tiers: Record<string, number> };
    expect(s.pages).toBeGreaterThan(0);
    expect(s.turns).toBeGreaterThan(0);
    expect(s.ratio).toBeGreaterThan(1);
    expect(s.ratio).toBeLessThanOrEqual(10);
    expect(s.meanFidelity).toBeGreaterThan(0.9);
    expect(s.tiers).toEqual({ lossless: s.pages });
  });

  it('answers bad input with MCP tool errors that name the field, and keeps serving', async () => {
    const badK = await call('recall', { userId: 'maya', query: 'Porto', k: 0 });
    expect(badK.isError).toBe(true);
    expect(texts(badK)[0]).toMatch(/k must be at least 1/);
    const noScope = await call('recall', { query: 'Porto' });
    expect(noScope.isError).toBe(true);
    expect(texts(noScope)[0]).toMatch(/^InvalidInputError \(invalid_input, field 'userId'\): No scope given\. Pass 'userId'/);
    // An empty scope part is refused, never read as left out (which would widen the scope).
    for (const part of ['userId', 'agentId', 'sessionId']) {
      const empty = await call('recall', { userId: 'maya', [part]: '', query: 'Porto' });
      expect(empty.isError, part).toBe(true);
      expect(texts(empty)[0], part).toMatch(new RegExp(`${part} must not be empty`));
    }
    const typo = await call('forget', { userId: 'maya', sesionId: 'trip' });
    expect(typo.isError).toBe(true);
    expect(texts(typo)[0]).toMatch(/unknown argument\(s\) 'sesionId'/);
    const badRole = await call('remember', { userId: 'maya', messages: [{ role: 'robot', content: 'hi' }] });
    expect(badRole.isError).toBe(true);
    expect(texts(badRole)[0]).toMatch(/role must be 'user', 'assistant'/);
    const badDate = await call('forget', { userId: 'maya', mode: 'age', now: 'next tuesday' });
    expect(badDate.isError).toBe(true);
    expect(texts(badDate)[0]).toMatch(/field 'now'.*not a date/);
    // Nothing was deleted by the rejected forget, and the server still answers.
    const s = await call('stats', { userId: 'maya' });
    expect(s.isError).toBeFalsy();
    expect(s.structuredContent!.pages).toBeGreaterThan(0);
  });

  it('refuses a message over the size limit, stores none of the call and keeps what was stored', async () => {
    // Earlier remembers are compacted in the server's background: wait until the scope is still.
    const stats = async () => JSON.stringify((await call('stats', { userId: 'maya' })).structuredContent);
    await expect.poll(async () => { const a = await stats(); await new Promise((r) => setTimeout(r, 700)); return a === (await stats()); }, { timeout: 60_000, interval: 100 }).toBe(true);
    const before = (await call('stats', { userId: 'maya' })).structuredContent!;
    const big = await call('remember', {
      userId: 'maya',
      messages: [
        { role: 'user', content: 'This one is fine.' },
        { role: 'assistant', content: 'y'.repeat(MAX_MESSAGE_CHARS + 1) },
      ],
    });
    expect(big.isError).toBe(true);
    expect(texts(big)[0]).toContain(`content must be at most ${MAX_MESSAGE_CHARS} characters; split it into several messages at messages[1].content`);
    expect((await call('stats', { userId: 'maya' })).structuredContent).toEqual(before);
  });

  it('forgets by ageing and by deleting, within the scope only', async () => {
    await call('remember', { userId: 'daniel', messages: [{ role: 'user', content: 'Daniel wants the window seat.' }] });
    const aged = await call('forget', { userId: 'maya', mode: 'age', now: '2099-01-01T00:00:00Z' });
    expect(aged.isError, texts(aged).join()).toBeFalsy();
    const pagesBefore = aged.structuredContent!.examined as number;
    expect(pagesBefore).toBeGreaterThan(0);
    expect(aged.structuredContent!.dropped).toBe(pagesBefore);
    const deleted = await call('forget', { userId: 'maya' });
    expect(deleted.structuredContent!.deleted).toEqual({ turns: expect.any(Number), pages: 0 });
    const maya = (await call('stats', { userId: 'maya' })).structuredContent!;
    expect([maya.turns, maya.pages]).toEqual([0, 0]);
    const daniel = await call('recall', { userId: 'daniel', query: 'seat' });
    expect(texts(daniel).at(-1)).toContain('Daniel wants the window seat.');
  });
});

describe('remember when compaction fails after the messages are stored', () => {
  const failingMemory = useFailingCompaction();

  it('succeeds with a note, and the messages are kept', async () => {
    const server = createMcpServer({ memory: failingMemory() });
    const client = new Client({ name: 'opticmem-test', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(a), client.connect(b)]);
    try {
      const r = (await client.callTool({ name: 'remember', arguments: { userId: 'ines', messages: [{ role: 'user', content: OVER_BUDGET }] } })) as Result;
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ stored: 1, compactionQueued: true });
      expect(r.structuredContent!.compactionFailed).toBeUndefined();
      await failingMemory().flush();
      // The background failure is news for the scope's stats and its next remember.
      const stats = (await client.callTool({ name: 'stats', arguments: { userId: 'ines' } })) as Result;
      expect(stats.structuredContent).toMatchObject({ turns: 1, pages: 0, compactionFailed: expect.stringMatching(/^RemoteServiceError \(remote_failed\)/) });
      const again = (await client.callTool({ name: 'remember', arguments: { userId: 'ines', messages: [{ role: 'user', content: 'And at night?' }] } })) as Result;
      expect(again.structuredContent).toMatchObject({ stored: 1, compactionFailed: expect.stringMatching(/^RemoteServiceError \(remote_failed\).*stored as text/) });
      expect((await failingMemory().list({ userId: 'ines' })).turns.map((t) => t.content)).toEqual([OVER_BUDGET, 'And at night?']);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('opticmem mcp --decoder openai', () => {
  it('verifies pages through the remote endpoint, and a failing endpoint loses none of the messages', async () => {
    const server = await startFakeOpenAIServer();
    server.reply({ status: 500, message: 'The OCR server is down.' });
    const client = new Client({ name: 'opticmem-test', version: '1.0.0' });
    const args = [...serverArgs(join(dir, 'remote')), '--decoder', 'openai', '--base-url', server.baseURL, '--model', 'deepseek-ai/DeepSeek-OCR'];
    await client.connect(new StdioClientTransport({ command: process.execPath, args, env: { ...process.env, OPENAI_API_KEY: '' } as Record<string, string>, stderr: 'ignore' }));
    try {
      const r = (await client.callTool({ name: 'remember', arguments: { userId: 'ines', messages: trip.slice(0, 8) } }, undefined, { timeout: 110_000 })) as Result;
      expect(r.structuredContent).toMatchObject({ stored: 8, compactionQueued: true });
      // Background compaction asked the endpoint to read the first page and was refused: stats names the failure.
      const stats = async () => (await client.callTool({ name: 'stats', arguments: { userId: 'ines' } })) as Result;
      await expect.poll(async () => (await stats()).structuredContent!.compactionFailed, { timeout: 60_000, interval: 200 }).toBeDefined();
      expect(server.requests.length).toBeGreaterThan(0);
      expect((server.requests[0]!.body as { model: string }).model).toBe('deepseek-ai/DeepSeek-OCR');
      expect(JSON.stringify((await stats()).structuredContent)).toContain(`The endpoint at ${server.baseURL} (model 'deepseek-ai/DeepSeek-OCR') answered HTTP 500`);
      expect((await stats()).structuredContent).toMatchObject({ turns: 8, pages: 0 });
    } finally {
      await client.close();
      await server.close();
    }
  });
});

/** Start the server by hand, complete the MCP handshake, and collect stderr and the exit code. */
async function startRaw(db: string, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, serverArgs(db), { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  });
  const send = (msg: unknown) => child.stdin.write(JSON.stringify(msg) + '\n');
  const response = async (id: number) => {
    for (let waited = 0; waited < 60_000; waited += 50) {
      const line = lines.find((l) => (JSON.parse(l) as { id?: number }).id === id);
      if (line) return JSON.parse(line) as { result?: Result & { serverInfo?: { name: string } } };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no response ${id}; stderr: ${stderr}`);
  };
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  expect((await response(1)).result!.serverInfo!.name).toBe('opticmem');
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return { child, send, response, exited, stderr: () => stderr };
}

describe('opticmem mcp shutdown', () => {
  it('closes the memory and exits 0 when stdin closes, and on SIGTERM; what was stored survives', async () => {
    // Clients start the server without a shell: '~' in --db is expanded by the server itself.
    const home = { ...process.env, HOME: dir };
    const a = await startRaw('~/shutdown', home);
    a.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'remember', arguments: { userId: 'iris', messages: [{ role: 'user', content: 'The peacocks live at the Crystal Palace gardens.' }] } } });
    // Closing stdin while the call is in flight: the call finishes and its result still goes out.
    a.child.stdin.end();
    expect(await a.exited).toBe(0);
    expect((await a.response(2)).result!.structuredContent!.stored).toBe(1);
    expect(a.stderr()).toMatch(/stdin closed, closing/);

    expect(existsSync(join(dir, 'shutdown'))).toBe(true);
    const b = await startRaw(join(dir, 'shutdown'));
    b.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'stats', arguments: { userId: 'iris' } } });
    expect((await b.response(2)).result!.structuredContent!.turns).toBe(1);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(b.stderr()).toMatch(/SIGTERM, closing/);
    expect(b.stderr()).not.toMatch(/Error/);
  });
});

describe('the opticmem/mcp entry point', () => {
  it('resolves through package.json exports and loads no native module', () => {
    const result = importWithBlocked('opticmem/mcp', ['@napi-rs/canvas', 'onnxruntime-node', '@lancedb/lancedb'], '@lancedb/lancedb');
    expect(result.probeBlocked).toBe(true);
    expect(result.names).toEqual(['OpticMemMcpServer', 'createMcpServer']);
  });

  it('is not loaded by the package root, nor is LangChain', () => {
    const result = importWithBlocked('opticmem', ['@modelcontextprotocol/sdk', '@langchain/core', 'langchain'], '@modelcontextprotocol/sdk/server/mcp.js');
    expect(result.probeBlocked).toBe(true);
    expect(result.names).toContain('Memory');
  });
});
