import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { createOpenAIEmbedder } from '../src/embedders/openai-embedder.js';
import type { Embedder } from '../src/embedders/embedder.js';
import { InvalidInputError, RemoteServiceError } from '../src/errors.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from './support/fake-openai-server.js';

// A toy "semantic" space the fake endpoint computes: one axis per topic word family, so the
// expected neighbours are known without a model.
const TOPICS = [/boat|ferry|sail|harbou?r/i, /bread|bake|flour|oven/i, /guitar|song|music|chord/i];
function embed(text: string): number[] {
  const v = TOPICS.map((re) => (text.match(new RegExp(re.source, 'gi')) ?? []).length + 0.01);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe('OpenAI-compatible embedder and hybrid recall', () => {
  let server: FakeOpenAIServer;
  const decoder = createOnnxDecoder();
  let dir: string;
  beforeAll(async () => {
    server = await startFakeOpenAIServer();
    server.onEmbeddings((inputs) => inputs.map(embed));
    dir = await mkdtemp(join(tmpdir(), 'opticmem-emb-'));
  });
  afterAll(async () => {
    await decoder.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('embeds through the endpoint, stores vectors and fuses text and vector ranks', async () => {
    const embedder = createOpenAIEmbedder({ baseURL: server.baseURL, model: 'toy-embed', dimension: 3, apiKey: 'test-key' });
    const memory = await Memory.open({ path: join(dir, 'db'), embedder, decoder, profile: 'deepseek-ocr:tiny', autoCompact: false });
    try {
      const scope = { userId: 'u' };
      for (const content of ['We took the ferry across the harbour and went sailing.', 'I baked bread; the oven needs more flour next time.', 'Learning a new guitar song with four chords.']) {
        await memory.add({ role: 'user', content: content.repeat(3) }, scope);
        await memory.compact(scope, { all: true });
      }
      const req = server.requests.find((r) => r.url.endsWith('/embeddings'))!;
      expect(req.headers.authorization).toBe('Bearer test-key');
      expect((req.body as { model: string }).model).toBe('toy-embed');
      const pages = await memory.store.listPages(scope);
      expect(pages).toHaveLength(3);
      for (const p of pages) expect(p.vector).toHaveLength(3);

      // "boat" appears in no page text: full-text search finds nothing, the vector finds the ferry page.
      expect(await memory.recall('boat', { scope, mode: 'fts', k: 3 })).toEqual([]);
      const vec = await memory.recall('boat', { scope, mode: 'vector', k: 1 });
      expect(vec[0]!.text).toMatch(/ferry/);
      const hybrid = await memory.recall('oven boat', { scope, mode: 'hybrid', k: 3 });
      expect(new Set(hybrid.slice(0, 2).map((h) => (/(ferry)|(oven)/.exec(h.text!) ?? [''])[0]))).toEqual(new Set(['ferry', 'oven']));
    } finally {
      await memory.close();
    }
  });

  it('refuses an embedder that does not return one vector per input, before writing pages', async () => {
    // Embedder plug-ins that break the spec: one vector short, and vectors of the wrong length.
    const short: Embedder = { specificationVersion: 'v1', name: 'short', dimension: 3, embed: async (texts) => texts.slice(1).map(embed) };
    const wide: Embedder = { specificationVersion: 'v1', name: 'wide', dimension: 3, embed: async (texts) => texts.map(() => [1, 0, 0, 0]) };
    for (const [i, embedder] of [short, wide].entries()) {
      const memory = await Memory.open({ path: join(dir, `bad-embedder-${i}`), embedder, decoder, profile: 'deepseek-ocr:tiny', autoCompact: false });
      try {
        const scope = { userId: 'u' };
        await memory.add({ role: 'user', content: 'We took the ferry across the harbour.'.repeat(3) }, scope);
        const err = await memory.compact(scope, { all: true }).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).field).toBe('embedder');
        expect((err as Error).message).toMatch(embedder === short ? /returned 0 vectors for 1 texts/ : /not 3 finite numbers/);
        const { turns, pages } = await memory.list(scope);
        expect([turns.length, pages.length]).toEqual([1, 0]);
      } finally {
        await memory.close();
      }
    }
  });

  it('rejects bad options and maps endpoint failures to typed errors', async () => {
    expect(() => createOpenAIEmbedder({ model: '', dimension: 3 })).toThrow(InvalidInputError);
    expect(() => createOpenAIEmbedder({ model: 'm', dimension: 0 })).toThrow(/dimension/);
    const wrongDim = createOpenAIEmbedder({ baseURL: server.baseURL, model: 'toy', dimension: 8, apiKey: 'k' });
    await expect(wrongDim.embed(['x'])).rejects.toThrow(/length 3, not 8/);
    const missingKey = createOpenAIEmbedder({ baseURL: server.baseURL, model: 'toy', dimension: 3 });
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      await expect(missingKey.embed(['x'])).rejects.toThrow(/API key is missing/);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
    const unreachable = createOpenAIEmbedder({ baseURL: 'http://127.0.0.1:9/v1', model: 'toy', dimension: 3, apiKey: 'k', timeoutMs: 2000 });
    await expect(unreachable.embed(['x'])).rejects.toBeInstanceOf(RemoteServiceError);
  });
});
