/**
 * A chat through the Vercel AI SDK with opticmem as middleware, offline: a stub model stands in
 * for a vision LLM that reads pages as DeepSeek-OCR does, and reports what it was sent. The
 * caller sends the full history on every call, as a chat UI does; the middleware swaps the older
 * part for page images and stores each turn once.
 *
 *   npx tsx examples/ai-sdk-chat.ts
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, wrapLanguageModel, type ModelMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { Memory } from 'opticmem';
import { opticmemMiddleware, type OpticMemContextReport } from 'opticmem/ai-sdk';

/** A fact this example shows; a false one fails the run (exit code 1). */
function check(ok: boolean, fact: string): void {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${fact}`);
  if (!ok) process.exitCode = 1;
}

const conversation = JSON.parse(await readFile(new URL('./data/demo-conversation.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const dir = await mkdtemp(join(tmpdir(), 'opticmem-ai-sdk-chat-'));
// Pages are planned for the model that will read them, so each image costs what was planned.
const memory = await Memory.open({ path: dir, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 600 } });

try {
  // The stub answers with the recorded assistant turn, where a live model would answer.
  const replies = conversation.filter((m) => m.role === 'assistant').map((m) => m.content);
  const seen: { images: number; messages: number }[] = [];
  const stub = new MockLanguageModelV3({
    modelId: 'stub-vision-model',
    doGenerate: async ({ prompt }) => {
      const parts = prompt.flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text' }] : m.content));
      seen.push({ images: parts.filter((p) => p.type === 'file').length, messages: prompt.length });
      return {
        content: [{ type: 'text', text: replies[seen.length - 1] ?? 'Noted.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: { inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: undefined, text: undefined, reasoning: undefined } },
        warnings: [],
      };
    },
  });

  let report: OpticMemContextReport | undefined;
  const model = wrapLanguageModel({
    model: stub,
    middleware: opticmemMiddleware({ memory, scope: { userId: 'maya', sessionId: 'portugal' }, consumer: 'deepseek-ocr:small', budgetTokens: 6000, onContext: (r) => (report = r) }),
  });

  const messages: ModelMessage[] = [];
  let sentTokens = 0;
  let asTextTokens = 0;
  console.log('call  prompt messages  page images  history as text  memory context  saved');
  for (const question of conversation.filter((m) => m.role === 'user').map((m) => m.content)) {
    messages.push({ role: 'user', content: question });
    const historyTokens = messages.slice(0, -1).reduce((a, m) => a + memory.tokenizer.count(String(m.content)), 0);
    const { text } = await generateText({ model, system: 'You help families plan trips.', messages });
    messages.push({ role: 'assistant', content: text });
    // Compaction runs in the background; a live app never waits for it. Between these scripted
    // calls (milliseconds apart) the demo does, so every run prints the same table.
    await memory.flush();
    const r = report!;
    const call = seen.length;
    sentTokens += r.usedTokens;
    asTextTokens += historyTokens;
    console.log(
      `${String(call).padStart(4)}  ${String(seen[call - 1]!.messages).padStart(15)}  ${String(seen[call - 1]!.images).padStart(11)}  ${String(historyTokens).padStart(15)}  ${String(r.usedTokens).padStart(14)}  ${String(Math.max(0, historyTokens - r.usedTokens)).padStart(5)}`,
    );
  }

  const { turns, pages } = await memory.list({ userId: 'maya', sessionId: 'portugal' });
  const paged = new Set(pages.flatMap((p) => p.turnIds)).size;
  console.log(`\nstored: ${turns.length} recent turns as text + ${paged} older turns on ${pages.length} page(s); ${messages.length} messages were said, each stored once`);
  console.log(`history tokens over all calls: ${asTextTokens} as plain text vs ${sentTokens} through opticmem (${(asTextTokens / Math.max(1, sentTokens)).toFixed(1)}x fewer)\n`);
  check(turns.length + paged === messages.length, `every message said is stored exactly once (${turns.length} + ${paged} of ${messages.length})`);
  check(pages.length > 0 && seen.some((s) => s.images > 0), 'older turns went onto pages and later calls showed the model page images');
  check(sentTokens < asTextTokens, 'the memory context cost fewer tokens than sending the history as text');
} finally {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
}
