/**
 * A real Memory whose compaction fails: pages are verified by a remote decoder pointed at the
 * fake OpenAI-compatible server on 127.0.0.1, which answers HTTP 500. Adding past the hot
 * budget stores the turns, then compaction fails while verifying the first page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Memory } from '../../memory/memory.js';
import { createOpenAIDecoder } from '../../src/decoders/openai-decoder.js';
import { startFakeOpenAIServer } from './fake-openai-server.js';

/** Text long enough to go over the hot budget on its own. */
export const OVER_BUDGET = 'The ferry to Cacilhas leaves every twenty minutes from Cais do Sodre. '.repeat(12);

/**
 * Opens the failing Memory before the enclosing describe block's tests and closes it after;
 * call the returned function inside a test to get it.
 */
export function useFailingCompaction(hotBudgetTokens = 60, compaction: 'background' | 'inline' = 'background'): () => Memory {
  let memory: Memory | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-failing-compaction-'));
    const server = await startFakeOpenAIServer();
    server.reply({ status: 500, message: 'The OCR server is down.' });
    const decoder = createOpenAIDecoder({ baseURL: server.baseURL, model: 'deepseek-ai/DeepSeek-OCR', apiKey: 'none', maxRetries: 0 });
    const opened = await Memory.open({ path: dir, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens }, decoder, compaction });
    memory = opened;
    close = async () => {
      await opened.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    };
  });
  afterAll(async () => close?.());
  return () => {
    if (!memory) throw new Error('the failing Memory is opened in beforeAll; call this inside a test');
    return memory;
  };
}
