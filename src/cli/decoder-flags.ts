/**
 * `--decoder onnx|openai`: which model reads pages. `openai` sends them to an OpenAI-compatible
 * vision endpoint (vLLM or SGLang serving DeepSeek-OCR, OpenAI's gpt-4o, ...); the key comes
 * from OPENAI_API_KEY, never from a flag, so it stays out of shell history and process lists.
 */
import type { Decoder } from '../decoders/decoder.js';
import { createOnnxDecoder } from '../decoders/onnx/index.js';
import { createOpenAIDecoder, OPENAI_OCR_PROMPTS } from '../decoders/openai-decoder.js';
import { InvalidInputError } from '../errors.js';

export interface DecoderFlags {
  decoder?: 'onnx' | 'openai';
  baseUrl?: string;
  model?: string;
  prompt?: string;
}

export const DECODERS = ['onnx', 'openai'] as const;

/** The decoder the flags ask for: the local OCR model by default. */
export function decoderFromFlags(flags: DecoderFlags, env: NodeJS.ProcessEnv = process.env): Decoder {
  return remoteDecoderFromFlags(flags, env) ?? createOnnxDecoder();
}

/** The remote decoder the flags ask for; undefined for the local model (which a Memory opens itself). */
export function remoteDecoderFromFlags(flags: DecoderFlags, env: NodeJS.ProcessEnv = process.env): Decoder | undefined {
  if ((flags.decoder ?? 'onnx') === 'onnx') {
    for (const [flag, value] of [['--base-url', flags.baseUrl], ['--model', flags.model], ['--prompt', flags.prompt]] as const) {
      if (value !== undefined) throw new InvalidInputError('decoder', `${flag} only applies to a remote decoder. Add --decoder openai, or leave ${flag} out to read with the local OCR model.`);
    }
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
