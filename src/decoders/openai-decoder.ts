/**
 * The remote decoder: reads a page through any OpenAI-compatible vision endpoint (vLLM or
 * SGLang serving DeepSeek-OCR, OpenAI, a Qwen-VL server, ...) with one chat completion per
 * page. The API key is read per call, never stored.
 *
 * A chat model returns text only: no per-line confidence and no line positions. Lines are
 * the reply split on '\n', each with `confidence: -1` (unknown) and the whole page as its box.
 */
import { z } from 'zod';
import { readPngInfo } from '../../renderers/png.js';
import { DecodeError, InvalidInputError, OpticMemError, parseInput, RemoteServiceError } from '../errors.js';
import { lazyImport } from '../internal/lazy.js';
import type { DecodedLine, DecodedText, DecodeOptions, Decoder, DecoderInput } from './decoder.js';
import { abortError, checkAborted, rejectOnAbort } from './abort.js';

/**
 * Prompts that work well per model family.
 *
 * - `deepseek-ocr`: DeepSeek-OCR's plain-text OCR prompt. vLLM and SGLang keep an `<image>`
 *   placeholder already in the text (and add one when it is missing), so it works on both.
 * - `generic`: for instruction-following VLMs (GPT-4o, Qwen-VL, InternVL), which do better with
 *   a plain instruction than with DeepSeek-OCR's terse prompt.
 */
export const OPENAI_OCR_PROMPTS = {
  'deepseek-ocr': '<image>\nFree OCR.',
  generic:
    'Transcribe the text in this image exactly, line by line, keeping its line breaks. Output only the transcribed text: no commentary, no Markdown formatting.',
} as const;

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_CONCURRENCY = 16;

/** At most `size` jobs running; the rest wait in order. A waiter whose signal aborts leaves the line. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.#free > 0) this.#free--;
    else {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        const leave = () => {
          const i = this.#waiting.indexOf(go);
          if (i !== -1) this.#waiting.splice(i, 1);
          reject(abortError(signal!));
        };
        this.#waiting.push(go);
        signal?.addEventListener('abort', leave, { once: true });
      });
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

const OptionsSchema = z.strictObject({
  model: z.string("model is required, e.g. 'deepseek-ai/DeepSeek-OCR'").min(1, "model is required, e.g. 'deepseek-ai/DeepSeek-OCR'"),
  baseURL: z.url({ protocol: /^https?$/, error: 'baseURL must be an http(s) URL such as http://127.0.0.1:8000/v1' }).optional(),
  apiKey: z.string().min(1, "apiKey must not be empty; for a server without keys pass 'none'").optional(),
  prompt: z.string().min(1).optional(),
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  timeoutMs: z.number().int().positive('timeoutMs must be a positive number of milliseconds').optional(),
  maxRetries: z.number().int().min(0).max(10).optional(),
  concurrency: z.number().int('concurrency must be a whole number of requests').min(1, 'concurrency must be >= 1').max(1024, 'concurrency must be <= 1024').optional(),
  detail: z.enum(['high', 'low', 'auto']).optional(),
  fetch: z.custom<typeof globalThis.fetch>((v) => typeof v === 'function', 'fetch must be a fetch-compatible function').optional(),
  headers: z.record(z.string(), z.string()).optional(),
  extraBody: z.record(z.string(), z.unknown()).optional(),
});

export interface OpenAIDecoderOptions {
  /** The model name the server serves, e.g. 'deepseek-ai/DeepSeek-OCR' or 'gpt-4o'. */
  readonly model: string;
  /** Endpoint root, e.g. 'http://127.0.0.1:8000/v1'. Default: OPENAI_BASE_URL, else the OpenAI API. */
  readonly baseURL?: string;
  /**
   * Read on every decode: this option, else OPENAI_API_KEY. Servers started without keys
   * (vLLM, SGLang) accept any value: pass 'none'.
   */
  readonly apiKey?: string;
  /** Default: `OPENAI_OCR_PROMPTS['deepseek-ocr']`. Use `OPENAI_OCR_PROMPTS.generic` for GPT-4o or Qwen-VL. */
  readonly prompt?: string;
  /** Sent as `max_tokens`. Default: the server's. */
  readonly maxTokens?: number;
  /** Default 0: a transcription should not sample. */
  readonly temperature?: number;
  /** Per attempt: a page whose request takes longer is tried again, then fails. Default 120000 (2 minutes). */
  readonly timeoutMs?: number;
  /**
   * Retries on connection errors, timeouts, 408/409/429 and 5xx, with exponential backoff and
   * jitter (honouring the server's Retry-After). Default 2.
   */
  readonly maxRetries?: number;
  /**
   * Requests kept in flight at once; more decodes wait their turn. Default 16, sized for a vLLM
   * or SGLang server batching pages; use 1–4 for a rate-limited hosted API.
   */
  readonly concurrency?: number;
  /** Image detail for endpoints that scale images (OpenAI). Default 'high'. */
  readonly detail?: 'high' | 'low' | 'auto';
  /** A custom fetch (proxies, tests). */
  readonly fetch?: typeof globalThis.fetch;
  /** Extra HTTP headers on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Extra request-body fields for server-specific settings, e.g. for vLLM's DeepSeek-OCR
   * recipe: `{ skip_special_tokens: false, vllm_xargs: { ngram_size: 30, window_size: 90 } }`.
   */
  readonly extraBody?: Readonly<Record<string, unknown>>;
}

const loadOpenAI = lazyImport('openai', () => import('openai'));
type OpenAIModule = Awaited<ReturnType<typeof loadOpenAI>>;
type OpenAIClient = InstanceType<OpenAIModule['default']>;

/**
 * Create a decoder that reads pages through an OpenAI-compatible chat completions endpoint.
 * `close()` drops the HTTP client; a later decode builds a new one.
 */
export function createOpenAIDecoder(options: OpenAIDecoderOptions): Decoder {
  const opts = parseInput(OptionsSchema, options, 'options');
  const name = `openai:${opts.model}`;
  const prompt = opts.prompt ?? OPENAI_OCR_PROMPTS['deepseek-ocr'];
  const maxRetries = opts.maxRetries ?? 2;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const slots = new Slots(concurrency);
  let cached: { apiKey: string; baseURL: string; client: OpenAIClient } | undefined;

  function endpoint(): string {
    return opts.baseURL ?? (process.env.OPENAI_BASE_URL || DEFAULT_BASE_URL);
  }

  function client(mod: OpenAIModule): { client: OpenAIClient; baseURL: string } {
    const apiKey = opts.apiKey ?? process.env.OPENAI_API_KEY;
    if (!apiKey) throw new InvalidInputError('apiKey', "API key is missing. Pass it using the 'apiKey' option or the OPENAI_API_KEY environment variable.");
    const baseURL = endpoint();
    if (cached?.apiKey !== apiKey || cached.baseURL !== baseURL) {
      const made = new mod.default({
        apiKey,
        baseURL,
        maxRetries,
        timeout: timeoutMs,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        ...(opts.headers ? { defaultHeaders: { ...opts.headers } } : {}),
      });
      cached = { apiKey, baseURL, client: made };
    }
    return cached;
  }

  async function decodeNow(input: DecoderInput, signal: AbortSignal | undefined): Promise<DecodedText> {
    const started = performance.now();
    const page = readPngInfo(input.png, 'png');
    const mod = await loadOpenAI();
    checkAborted(signal);
    const { client: openai, baseURL } = client(mod);
    const where = `${baseURL} (model '${opts.model}')`;
    let completion;
    try {
      completion = await openai.chat.completions.create(
        {
          ...opts.extraBody,
          model: opts.model,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from(input.png).toString('base64')}`, detail: opts.detail ?? 'high' } },
                { type: 'text', text: prompt },
              ],
            },
          ],
          temperature: opts.temperature ?? 0,
          ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
          stream: false,
        },
        signal ? { signal } : {},
      );
    } catch (error) {
      throw remoteError(mod, error, { where, signal, attempts: 1 + maxRetries, timeoutMs });
    }
    const choice = completion.choices?.[0];
    if (!choice) throw new DecodeError(`The endpoint at ${where} answered with no choices. Check that the server supports chat completions with images.`);
    if (choice.finish_reason === 'length') {
      throw new DecodeError(`The endpoint at ${where} stopped at its token limit before the page was transcribed. Raise 'maxTokens' (or the server's limit), or render smaller pages.`);
    }
    const content = choice.message?.content;
    if (typeof content !== 'string') {
      const refusal = choice.message?.refusal;
      throw new DecodeError(
        refusal
          ? `The model at ${where} refused to transcribe the page: ${refusal}`
          : `The endpoint at ${where} returned no text (finish_reason '${choice.finish_reason}'). Check that the model accepts images.`,
      );
    }
    const text = stripOcrMarkup(content);
    const box = { x: 0, y: 0, width: page.width, height: page.height };
    const lines: DecodedLine[] = text === '' ? [] : text.split('\n').map((line) => ({ text: line, confidence: -1, box }));
    return { text, lines, path: 'remote', decoder: name, elapsedMs: performance.now() - started };
  }

  return {
    specificationVersion: 'v1',
    name,
    concurrency,
    decode(input, callOptions: DecodeOptions = {}) {
      const { signal } = callOptions;
      try {
        checkInput(input);
        checkAborted(signal);
      } catch (error) {
        return Promise.reject(error);
      }
      const job = slots.run(() => decodeNow(input, signal), signal);
      // The client's retry back-off does not watch the signal; settle as soon as it aborts.
      return signal ? rejectOnAbort(job, signal) : job;
    },
    close() {
      cached = undefined;
      return Promise.resolve();
    },
  };
}

/**
 * Remove DeepSeek-OCR's grounding markup and special tokens: `<|ref|>label<|/ref|><|det|>[[..]]<|/det|>`
 * blocks (layout labels with boxes, as in the model's own post-processing), stray grounding
 * tags, and full-width tokens such as `<｜end▁of▁sentence｜>` (left in when vLLM runs with
 * `skip_special_tokens: false`). Other text passes through unchanged.
 */
export function stripOcrMarkup(raw: string): string {
  return raw
    .replace(/\r\n?/g, '\n')
    .replace(/<\|ref\|>[\s\S]*?<\|\/ref\|>\s*<\|det\|>[\s\S]*?<\|\/det\|>[^\S\n]*\n?/g, '')
    .replace(/<\|det\|>[\s\S]*?<\|\/det\|>[^\S\n]*\n?/g, '')
    .replace(/<\|\/?(?:ref|det|grounding)\|>/g, '')
    .replace(/<｜[^｜<>\n]{1,40}｜>/g, '')
    .replace(/^\n+/, '')
    .trimEnd();
}

function checkInput(input: DecoderInput): void {
  if (typeof input !== 'object' || input === null) throw new InvalidInputError('input', "'input' must be an object { png, geometry? }.");
}




/** Map what the `openai` package throws to a typed error that names the endpoint and the fix. */
interface RequestContext {
  readonly where: string;
  readonly signal: AbortSignal | undefined;
  readonly attempts: number;
  readonly timeoutMs: number | undefined;
}

function remoteError(mod: OpenAIModule, error: unknown, { where, signal, attempts, timeoutMs }: RequestContext): OpticMemError {
  if (signal?.aborted || error instanceof mod.APIUserAbortError) return signal ? abortError(signal) : new DecodeError('The request was aborted.', { cause: error });
  if (OpticMemError.isInstance(error)) return error;
  if (error instanceof mod.APIConnectionTimeoutError) {
    return new RemoteServiceError(
      `The endpoint at ${where} did not answer within ${timeoutMs ?? 600_000} ms (${attempts} attempt${attempts === 1 ? '' : 's'}). Raise 'timeoutMs', check that the server is not overloaded, or retry later.`,
      { cause: error },
    );
  }
  if (error instanceof mod.APIConnectionError) {
    return new RemoteServiceError(`Cannot reach ${where}: ${error.message}. Check 'baseURL' and that the server is running.`, { cause: error });
  }
  if (error instanceof mod.APIError && typeof error.status === 'number') {
    const status = error.status;
    const detail = serverMessage(error);
    let fix: string;
    if (status === 401 || status === 403) fix = "Check the 'apiKey' option or the OPENAI_API_KEY environment variable.";
    else if (status === 404) fix = `Check 'model' (a name the server lists at ${where.split(' ')[0]}/models) and 'baseURL' (it usually ends in /v1).`;
    else if (status === 429) fix = "The server is rate-limiting requests: retry later or raise 'maxRetries'.";
    else if (status >= 500) fix = "The server failed: retry later, and check the server's logs if it persists.";
    else fix = "Check that the model accepts images, and the 'prompt', 'maxTokens' and 'extraBody' options.";
    return new RemoteServiceError(`The endpoint at ${where} answered HTTP ${status}${detail ? `: ${detail}` : ''}. ${fix}`, { status, cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new RemoteServiceError(`The request to ${where} failed: ${reason}`, { cause: error });
}

/** The error message the server sent, if any (OpenAI-style `{ error: { message } }` or a bare string). */
function serverMessage(error: { error?: unknown; message: string }): string {
  const body = error.error as { message?: unknown } | string | undefined;
  if (typeof body === 'string') return body.slice(0, 300);
  if (body && typeof body.message === 'string') return body.message.slice(0, 300);
  return '';
}
