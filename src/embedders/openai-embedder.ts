/**
 * Embeddings through any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama,
 * LM Studio), via the `openai` package. The API key is read per call, never stored.
 */
import { z } from 'zod';
import { InvalidInputError, parseInput, RemoteServiceError } from '../errors.js';
import type { Embedder } from './embedder.js';

const OptionsSchema = z
  .object({
    model: z.string().min(1, "model is required, e.g. 'text-embedding-3-small'"),
    dimension: z.number().int().positive('dimension must be the length of the vectors the model returns'),
    baseURL: z.string().url('baseURL must be a URL such as http://127.0.0.1:8000/v1').optional(),
    apiKey: z.string().min(1).optional(),
    batchSize: z.number().int().positive().max(2048).optional(),
    timeoutMs: z.number().int().positive().optional(),
    fetch: z.function().optional(),
  })
  .strict();

export type OpenAIEmbedderOptions = z.input<typeof OptionsSchema>;

export function createOpenAIEmbedder(options: OpenAIEmbedderOptions): Embedder {
  const opts = parseInput(OptionsSchema, options, 'options');
  const baseURL = opts.baseURL ?? process.env.OPENAI_BASE_URL;
  return {
    specificationVersion: 'v1',
    name: `openai:${opts.model}`,
    dimension: opts.dimension,
    async embed(texts, callOptions) {
      const apiKey = opts.apiKey ?? process.env.OPENAI_API_KEY;
      if (!apiKey) throw new InvalidInputError('apiKey', "API key is missing. Pass it using the 'apiKey' option or the OPENAI_API_KEY environment variable.");
      const { default: OpenAI } = await import('openai');
      const client = new OpenAI({
        apiKey,
        ...(baseURL ? { baseURL } : {}),
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
        ...(opts.fetch ? { fetch: opts.fetch as typeof fetch } : {}),
      });
      const out: number[][] = [];
      const batch = opts.batchSize ?? 128;
      for (let i = 0; i < texts.length; i += batch) {
        let res;
        try {
          res = await client.embeddings.create({ model: opts.model, input: texts.slice(i, i + batch) as string[], encoding_format: 'float' }, callOptions?.signal ? { signal: callOptions.signal } : {});
        } catch (cause) {
          const status = (cause as { status?: number }).status;
          throw new RemoteServiceError(
            `Embedding request to ${baseURL ?? 'the OpenAI API'} (model '${opts.model}') failed${status ? ` with HTTP ${status}` : ''}. Check 'baseURL', 'model' and 'apiKey'.`,
            { cause, ...(status ? { status } : {}) },
          );
        }
        for (const d of [...res.data].sort((a, b) => a.index - b.index)) {
          if (d.embedding.length !== opts.dimension) {
            throw new RemoteServiceError(`Model '${opts.model}' returned vectors of length ${d.embedding.length}, not ${opts.dimension}. Set 'dimension' to ${d.embedding.length}.`);
          }
          out.push(d.embedding);
        }
      }
      return out;
    },
  };
}
