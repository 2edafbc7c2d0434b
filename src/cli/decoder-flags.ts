/**
 * `--decoder local|glyph|onnx|openai`: what reads pages. `local` (the default) matches the
 * renderer's glyphs and reads what matching cannot explain with the OCR model; `glyph` and
 * `onnx` force one of the two; `openai` sends pages to an OpenAI-compatible vision endpoint
 * (vLLM or SGLang serving DeepSeek-OCR, OpenAI's gpt-4o, ...), with the key from
 * OPENAI_API_KEY, never from a flag, so it stays out of shell history and process lists.
 */
import type { Decoder } from '../decoders/decoder.js';
import { createLocalDecoder } from '../decoders/local-decoder.js';
import { createOpenAIDecoder, OPENAI_OCR_PROMPTS } from '../decoders/openai-decoder.js';
import { InvalidInputError } from '../errors.js';

export interface DecoderFlags {
  decoder?: (typeof DECODERS)[number];
  baseUrl?: string;
  model?: string;
  prompt?: string;
}

export const DECODERS = ['local', 'glyph', 'onnx', 'openai'] as const;

/** The decoder the flags ask for: the local reader by default. */
export function decoderFromFlags(flags: DecoderFlags, env: NodeJS.ProcessEnv = process.env): Decoder {
  return chosenDecoderFromFlags(flags, env) ?? createLocalDecoder();
}

/** The decoder the flags ask for; undefined for the default local reader (which a Memory opens itself). */
export function chosenDecoderFromFlags(flags: DecoderFlags, env: NodeJS.ProcessEnv = process.env): Decoder | undefined {
  const kind = flags.decoder ?? 'local';
  if (kind !== 'openai') {
    for (const [flag, value] of [['--base-url', flags.baseUrl], ['--model', flags.model], ['--prompt', flags.prompt]] as const) {
      if (value !== undefined) throw new InvalidInputError('decoder', `${flag} only applies to a remote decoder. Add --decoder openai, or leave ${flag} out to read with the local reader.`);
    }
    if (kind === 'glyph') return createLocalDecoder({ reader: 'glyph' });
    if (kind === 'onnx') return createLocalDecoder({ reader: 'model' });
    return undefined;
  }
  if (!flags.model) {
    throw new InvalidInputError('model', '--decoder openai needs --model: the name the server serves, e.g. --model deepseek-ai/DeepSeek-OCR (vLLM) or --model gpt-4o (OpenAI).');
  }
  const prompt = flags.prompt === undefined ? undefined : (OPENAI_OCR_PROMPTS[flags.prompt as keyof typeof OPENAI_OCR_PROMPTS] ?? flags.prompt);
  // A local server started without keys takes any; OpenAI itself needs OPENAI_API_KEY.
  const apiKey = env.OPENAI_API_KEY || (flags.baseUrl ? 'none' : undefined);
  return createOpenAIDecoder({
    model: flags.model,
    ...(flags.baseUrl ? { baseURL: flags.baseUrl } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(prompt ? { prompt } : {}),
  });
}
