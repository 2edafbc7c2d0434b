import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { encode } from '../src/codec/codec.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { createOpenAIDecoder, OPENAI_OCR_PROMPTS, stripOcrMarkup, type OpenAIDecoderOptions } from '../src/decoders/openai-decoder.js';
import { DecodeError, InvalidInputError, RemoteServiceError } from '../src/errors.js';
import { describeDecoderConformance } from './support/decoder-conformance.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from './support/fake-openai-server.js';
import { makePage } from './support/make-page.js';

const MODEL = 'deepseek-ai/DeepSeek-OCR';
const KEY = 'test-key-123';

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(async () => {
  await server?.close();
});

const decoderFor = (options: Partial<OpenAIDecoderOptions> = {}): Decoder =>
  createOpenAIDecoder({ model: MODEL, baseURL: server.baseURL, apiKey: KEY, maxRetries: 0, ...options });

describe('conformance against a fake OpenAI-compatible server', () => {
  beforeAll(() => {
    server.reset();
    server.reply({ text: 'The quick brown fox jumps over the lazy dog.\nMeeting moved to Thursday 14:30, room 4B; bring the Q3 report.' });
  });
  describeDecoderConformance('openai (fake server)', () => decoderFor(), {
    pathWithGeometry: 'remote',
    // close() drops the HTTP client; the next decode builds a new one.
    afterClose: 'reopens',
    readsText: { skip: 'the fake server answers canned text and cannot read pixels; the live suite below reads real pages' },
    confidence: 'unknown',
  });
});

// Against a real endpoint, e.g. `vllm serve deepseek-ai/DeepSeek-OCR`:
// OPTICMEM_OCR_BASE_URL=http://127.0.0.1:8000/v1 OPTICMEM_OCR_MODEL=deepseek-ai/DeepSeek-OCR npx vitest run test/openai-decoder.test.ts
const live = { baseURL: process.env.OPTICMEM_OCR_BASE_URL, model: process.env.OPTICMEM_OCR_MODEL };
describe.skipIf(!live.baseURL || !live.model)('conformance against a live endpoint (set OPTICMEM_OCR_BASE_URL and OPTICMEM_OCR_MODEL)', () => {
  describeDecoderConformance(`openai:${live.model ?? ''} (live)`, () => createOpenAIDecoder({ model: live.model!, baseURL: live.baseURL!, apiKey: process.env.OPENAI_API_KEY ?? 'none' }), {
    pathWithGeometry: 'remote',
    afterClose: 'reopens',
    readsText: true,
    confidence: 'unknown',
  });
});

describe('OpenAI-compatible decoder', () => {
  const page = makePage(['Remember: the launch is on 12 March.', 'Budget approved at 40k EUR.'], { fontSize: 12, width: 400 });

  beforeEach(() => {
    server.reset();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('sends one user message with the page as a base64 PNG data URL, the prompt, the model and the key', async () => {
    server.reply({ text: 'Remember: the launch is on 12 March.\nBudget approved at 40k EUR.' });
    const decoder = decoderFor({ headers: { 'x-team': 'memory' }, maxTokens: 2048 });
    const out = await decoder.decode({ png: page.png });

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.headers['x-team']).toBe('memory');
    const body = request.body as {
      model: string;
      temperature: number;
      max_tokens: number;
      messages: { role: string; content: ({ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail: string } })[] }[];
    };
    expect(body.model).toBe(MODEL);
    expect(body.temperature).toBe(0);
    expect(body.max_tokens).toBe(2048);
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]!.role).toBe('user');
    const parts = body.messages[0]!.content;
    const text = parts.filter((p) => p.type === 'text');
    const images = parts.filter((p) => p.type === 'image_url');
    expect(text).toEqual([{ type: 'text', text: '<image>\nFree OCR.' }]);
    expect(images).toHaveLength(1);
    const url = images[0]!.image_url.url;
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    expect(new Uint8Array(Buffer.from(url.slice('data:image/png;base64,'.length), 'base64'))).toEqual(page.png);
    expect(images[0]!.image_url.detail).toBe('high');

    expect(out.decoder).toBe(`openai:${MODEL}`);
    expect(out.path).toBe('remote');
    expect(out.text).toBe('Remember: the launch is on 12 March.\nBudget approved at 40k EUR.');
    expect(out.lines.map((l) => l.text)).toEqual(['Remember: the launch is on 12 March.', 'Budget approved at 40k EUR.']);
    for (const line of out.lines) {
      expect(line.confidence).toBe(-1);
      expect(line.box).toEqual({ x: 0, y: 0, width: page.geometry.width, height: page.geometry.height });
    }
    await decoder.close();
  });

  it('sends a custom prompt, detail, temperature and extra body fields', async () => {
    const decoder = decoderFor({
      prompt: OPENAI_OCR_PROMPTS.generic,
      detail: 'low',
      temperature: 0.2,
      extraBody: { skip_special_tokens: false, vllm_xargs: { ngram_size: 30, window_size: 90 } },
    });
    await decoder.decode({ png: page.png });
    const body = server.requests[0]!.body as Record<string, unknown> & { messages: { content: { type: string; text?: string; image_url?: { detail: string } }[] }[] };
    expect(body.messages[0]!.content.find((p) => p.type === 'text')!.text).toBe(OPENAI_OCR_PROMPTS.generic);
    expect(body.messages[0]!.content.find((p) => p.type === 'image_url')!.image_url!.detail).toBe('low');
    expect(body.temperature).toBe(0.2);
    expect(body.skip_special_tokens).toBe(false);
    expect(body.vllm_xargs).toEqual({ ngram_size: 30, window_size: 90 });
    expect('max_tokens' in body).toBe(false);
  });

  it("strips DeepSeek-OCR's grounding markup and end-of-sentence token", async () => {
    server.reply({
      text:
        '<|ref|>text<|/ref|><|det|>[[12, 30, 460, 52]]<|/det|>\nRemember: the launch is on 12 March.\n\n' +
        '<|ref|>text<|/ref|><|det|>[[12, 60, 470, 80]]<|/det|>\nBudget approved at 40k EUR.<｜end▁of▁sentence｜>',
    });
    const out = await decoderFor().decode({ png: page.png });
    expect(out.text).toBe('Remember: the launch is on 12 March.\n\nBudget approved at 40k EUR.');
    expect(out.lines.map((l) => l.text)).toEqual(['Remember: the launch is on 12 March.', '', 'Budget approved at 40k EUR.']);
  });

  it('leaves ordinary text with angle brackets and pipes alone', () => {
    const text = 'if (a <| b) x |> y;\n<b>bold</b> and <|not a token|>\n    indented';
    expect(stripOcrMarkup(text)).toBe(text);
    expect(stripOcrMarkup('Free OCR text\r\nsecond line<｜end▁of▁sentence｜>\n')).toBe('Free OCR text\nsecond line');
  });

  it('returns no lines for an empty transcription', async () => {
    server.reply({ text: '<｜end▁of▁sentence｜>' });
    const out = await decoderFor().decode({ png: page.png });
    expect(out.text).toBe('');
    expect(out.lines).toEqual([]);
  });

  it('does not call the endpoint for bytes that are not a PNG', async () => {
    await expect(decoderFor().decode({ png: new Uint8Array([1, 2, 3]) })).rejects.toThrow(/png/i);
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    [401, 'Incorrect API key provided.', /'apiKey'.*OPENAI_API_KEY/],
    [404, `The model '${MODEL}' does not exist.`, /'model'.*'baseURL'/],
    [429, 'Rate limit reached.', /retry later/],
    [500, 'CUDA out of memory.', /retry later/],
  ])('maps HTTP %i to RemoteServiceError with the status, the endpoint and the fix', async (status, message, fix) => {
    server.reply({ status, message, retryAfterMs: 0 });
    const error = await decoderFor().decode({ png: page.png }).catch((e: unknown) => e);
    expect(RemoteServiceError.isInstance(error)).toBe(true);
    const e = error as RemoteServiceError;
    expect(e.status).toBe(status);
    expect(e.code).toBe('remote_failed');
    expect(e.message).toContain(server.baseURL);
    expect(e.message).toContain(MODEL);
    expect(e.message).toContain(message);
    expect(e.message).toMatch(fix);
  });

  it('retries a 5xx up to maxRetries and then succeeds', async () => {
    server.replyOnce({ status: 503, message: 'Loading model.', retryAfterMs: 0 }, { status: 500, retryAfterMs: 0 });
    server.reply({ text: 'third time lucky' });
    const out = await decoderFor({ maxRetries: 2 }).decode({ png: page.png });
    expect(out.text).toBe('third time lucky');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a 401', async () => {
    server.reply({ status: 401, message: 'bad key', retryAfterMs: 0 });
    const error = await decoderFor({ maxRetries: 2 }).decode({ png: page.png }).catch((e: unknown) => e);
    expect((error as RemoteServiceError).status).toBe(401);
    expect(server.requests).toHaveLength(1);
  });

  it('reports an unreachable endpoint as RemoteServiceError naming it', async () => {
    const gone = await startFakeOpenAIServer();
    const baseURL = gone.baseURL;
    await gone.close();
    const error = await decoderFor({ baseURL }).decode({ png: page.png }).catch((e: unknown) => e);
    expect(RemoteServiceError.isInstance(error)).toBe(true);
    expect((error as RemoteServiceError).message).toMatch(/^Cannot reach /);
    expect((error as RemoteServiceError).message).toContain(baseURL);
    expect((error as RemoteServiceError).status).toBeUndefined();
  });

  it('gives a typed timeout error when the server hangs beyond timeoutMs', async () => {
    server.reply({ hang: true });
    const started = Date.now();
    const error = await decoderFor({ timeoutMs: 300 }).decode({ png: page.png }).catch((e: unknown) => e);
    expect(RemoteServiceError.isInstance(error)).toBe(true);
    expect((error as RemoteServiceError).message).toMatch(/did not answer within 300 ms/);
    expect((error as RemoteServiceError).message).toContain("'timeoutMs'");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a reply that arrives within timeoutMs is read', async () => {
    server.reply({ text: 'slow but fine', delayMs: 100 });
    const out = await decoderFor({ timeoutMs: 2_000 }).decode({ png: page.png });
    expect(out.text).toBe('slow but fine');
  });

  it('aborts a request in flight when the signal aborts', async () => {
    server.reply({ hang: true });
    const controller = new AbortController();
    const pending = decoderFor().decode({ png: page.png }, { signal: controller.signal });
    await vi.waitFor(() => expect(server.requests).toHaveLength(1), { timeout: 5_000 });
    const started = Date.now();
    controller.abort(new Error('user left'));
    const error = await pending.catch((e: unknown) => e);
    expect(DecodeError.isInstance(error)).toBe(true);
    expect((error as DecodeError).field).toBe('signal');
    expect(Date.now() - started).toBeLessThan(1_000);
    // The HTTP request itself is cancelled, not just left to run.
    await vi.waitFor(() => expect(server.pending()).toBe(0), { timeout: 2_000 });
  });

  it('rejects a reply without choices with DecodeError', async () => {
    server.reply({ body: { id: 'x', object: 'chat.completion', created: 0, model: MODEL, choices: [] } });
    const error = await decoderFor().decode({ png: page.png }).catch((e: unknown) => e);
    expect(DecodeError.isInstance(error)).toBe(true);
    expect((error as DecodeError).message).toMatch(/no choices/);
  });

  it('rejects a transcription cut off at the token limit with DecodeError naming maxTokens', async () => {
    server.reply({ text: 'Remember: the launch', finishReason: 'length' });
    const error = await decoderFor({ maxTokens: 5 }).decode({ png: page.png }).catch((e: unknown) => e);
    expect(DecodeError.isInstance(error)).toBe(true);
    expect((error as DecodeError).message).toContain("'maxTokens'");
  });

  it('rejects a refusal with DecodeError quoting it', async () => {
    server.reply({ body: { id: 'x', object: 'chat.completion', created: 0, model: MODEL, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' }, finish_reason: 'stop' }] } });
    const error = await decoderFor().decode({ png: page.png }).catch((e: unknown) => e);
    expect(DecodeError.isInstance(error)).toBe(true);
    expect((error as DecodeError).message).toContain('I cannot help with that.');
  });

  describe('options', () => {
    const fieldOf = (make: () => unknown): string | undefined => {
      try {
        make();
      } catch (error) {
        expect(InvalidInputError.isInstance(error)).toBe(true);
        return (error as InvalidInputError).field;
      }
      throw new Error('expected InvalidInputError');
    };

    it('rejects invalid options with InvalidInputError naming the field', () => {
      expect(fieldOf(() => createOpenAIDecoder({} as OpenAIDecoderOptions))).toBe('options.model');
      expect(fieldOf(() => createOpenAIDecoder({ model: '' }))).toBe('options.model');
      expect(fieldOf(() => createOpenAIDecoder({ model: MODEL, timeoutMs: -1 }))).toBe('options.timeoutMs');
      expect(fieldOf(() => createOpenAIDecoder({ model: MODEL, baseURL: 'not a url' }))).toBe('options.baseURL');
      expect(fieldOf(() => createOpenAIDecoder({ model: MODEL, baseURL: 'ftp://127.0.0.1/v1' }))).toBe('options.baseURL');
      expect(fieldOf(() => createOpenAIDecoder({ model: MODEL, maxRetries: 1.5 }))).toBe('options.maxRetries');
      expect(fieldOf(() => createOpenAIDecoder({ model: MODEL, detail: 'ultra' as 'high' }))).toBe('options.detail');
      expect(fieldOf(() => createOpenAIDecoder({ model: MODEL, apiKey: '' }))).toBe('options.apiKey');
      expect(() => createOpenAIDecoder({ model: MODEL, modle: 'x' } as OpenAIDecoderOptions)).toThrow(/modle/);
    });

    it('says how to pass a missing API key, and sends nothing', async () => {
      vi.stubEnv('OPENAI_API_KEY', '');
      const decoder = createOpenAIDecoder({ model: MODEL, baseURL: server.baseURL });
      const error = await decoder.decode({ png: page.png }).catch((e: unknown) => e);
      expect(InvalidInputError.isInstance(error)).toBe(true);
      expect((error as InvalidInputError).field).toBe('apiKey');
      expect((error as InvalidInputError).message).toBe("API key is missing. Pass it using the 'apiKey' option or the OPENAI_API_KEY environment variable.");
      expect(server.requests).toHaveLength(0);
    });

    it('reads OPENAI_API_KEY on each call, and accepts an explicit placeholder key', async () => {
      vi.stubEnv('OPENAI_API_KEY', '');
      const fromEnv = createOpenAIDecoder({ model: MODEL, baseURL: server.baseURL });
      vi.stubEnv('OPENAI_API_KEY', 'env-key-1');
      await fromEnv.decode({ png: page.png });
      vi.stubEnv('OPENAI_API_KEY', 'env-key-2');
      await fromEnv.decode({ png: page.png });
      await createOpenAIDecoder({ model: MODEL, baseURL: server.baseURL, apiKey: 'none' }).decode({ png: page.png });
      expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer env-key-1', 'Bearer env-key-2', 'Bearer none']);
    });

    it('defaults baseURL to OPENAI_BASE_URL', async () => {
      vi.stubEnv('OPENAI_BASE_URL', server.baseURL);
      const out = await createOpenAIDecoder({ model: MODEL, apiKey: KEY }).decode({ png: page.png });
      expect(out.text).toBe('ok');
      expect(server.requests).toHaveLength(1);
    });

    it('sends requests through a custom fetch', async () => {
      const seen: string[] = [];
      const custom: typeof fetch = (input, init) => {
        seen.push(input instanceof Request ? input.url : String(input));
        return fetch(input, init);
      };
      await decoderFor({ fetch: custom }).decode({ png: page.png });
      expect(seen).toEqual([`${server.baseURL}/chat/completions`]);
      expect(server.requests).toHaveLength(1);
    });
  });
});

describe('the decode pool', () => {
  const page = makePage(['Remember: the launch is on 12 March.'], { fontSize: 12, width: 400 });
  beforeEach(() => server.reset());

  it('keeps at most `concurrency` requests in flight, and that many when pages wait', async () => {
    server.reply({ text: 'ok', delayMs: 150 });
    const decoder = decoderFor({ concurrency: 4 });
    expect(decoder.concurrency).toBe(4);
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, server.pending())), 5);
    const started = performance.now();
    try {
      const out = await Promise.all(Array.from({ length: 12 }, () => decoder.decode({ png: page.png })));
      expect(out.every((o) => o.text === 'ok')).toBe(true);
    } finally {
      clearInterval(watch);
    }
    const ms = performance.now() - started;
    expect(server.requests).toHaveLength(12);
    expect(most).toBe(4);
    // Three waves of 150 ms, not twelve.
    expect(ms).toBeLessThan(12 * 150 * 0.6);
    expect(ms).toBeGreaterThanOrEqual(3 * 150 - 20);
  });

  it('a waiting decode whose signal aborts leaves the line without a request', async () => {
    server.reply({ text: 'ok', delayMs: 200 });
    const decoder = decoderFor({ concurrency: 1 });
    const first = decoder.decode({ png: page.png });
    const controller = new AbortController();
    const second = decoder.decode({ png: page.png }, { signal: controller.signal });
    controller.abort();
    await expect(second).rejects.toBeInstanceOf(DecodeError);
    await first;
    expect(server.requests).toHaveLength(1);
  });

  it('the codec verifies pages through it concurrently and keeps them in source order', async () => {
    const turns = (JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[]);
    const options = { ratio: 4, profile: 'deepseek-ocr:tiny' } as const;
    server.reply({ text: 'ok', delayMs: 150 });
    const timed = async (concurrency: number) => {
      const started = performance.now();
      const pages = await encode(turns, { ...options, verify: { decoder: decoderFor({ concurrency }), minFidelity: 0 } });
      return { pages, ms: performance.now() - started };
    };
    const one = await timed(1);
    const { pages, ms } = await timed(8);
    expect(pages.length).toBeGreaterThanOrEqual(6);
    expect(server.requests).toHaveLength(2 * pages.length);
    // Drawing is the same either way; the waits on the server overlap.
    expect(one.ms - ms).toBeGreaterThan(pages.length * 150 * 0.5);
    const starts = pages.map((p) => p.slices[0]!.turn * 1e6 + p.slices[0]!.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    const unverified = await encode(turns, options);
    expect(pages.map((p) => p.slices)).toEqual(unverified.map((p) => p.slices));
  });

  it('defaults to 16 in flight and a two-minute timeout per attempt; refuses a bad concurrency by name', () => {
    expect(decoderFor().concurrency).toBe(16);
    const error = (() => {
      try {
        createOpenAIDecoder({ model: MODEL, concurrency: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe('options.concurrency');
  });
});
