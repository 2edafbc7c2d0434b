/**
 * A real Memory whose compaction fails: pages are verified by a remote decoder pointed at the
 * fake OpenAI-compatible server on 127.0.0.1, which answers HTTP 500. Adding past the hot
 * budget stores the turns, then compaction fails while verifying the first page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory } from '../../memory/memory.js';
import { createOpenAIDecoder } from '../../src/decoders/openai-decoder.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from './fake-openai-server.js';

export interface FailingCompaction {
  readonly memory: Memory;
  readonly server: FakeOpenAIServer;
  /** True when `memory.add` resolves (reporting the failure) instead of rejecting after storing. */
  readonly addReportsFailure: boolean;
  close(): Promise<void>;
}

/** Text long enough to go over the hot budget on its own. */
export const OVER_BUDGET = 'The ferry to Cacilhas leaves every twenty minutes from Cais do Sodre. '.repeat(12);

export async function openFailingCompaction(hotBudgetTokens = 60): Promise<FailingCompaction> {
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-failing-compaction-'));
  const server = await startFakeOpenAIServer();
  server.reply({ status: 500, message: 'The OCR server is down.' });
  const decoder = createOpenAIDecoder({ baseURL: server.baseURL, model: 'deepseek-ai/DeepSeek-OCR', apiKey: 'none', maxRetries: 0 });
  const memory = await Memory.open({ path: dir, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens }, decoder });
  let addReportsFailure: boolean;
  try {
    await memory.add({ role: 'user', content: OVER_BUDGET }, { userId: 'probe' });
    addReportsFailure = true;
  } catch {
    addReportsFailure = false;
  }
  await memory.delete({ userId: 'probe' });
  return {
    memory,
    server,
    addReportsFailure,
    async close() {
      await memory.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const ADD_REJECTS =
  'memory.add still rejects when compaction fails after its turns are stored; this runs once add reports the failure in its result (AddResult.compactionError)';
