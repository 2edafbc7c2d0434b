/**
 * A LangChain.js chain whose chat history lives in opticmem, offline: a scripted chat model
 * stands in for a live one (swap in `new ChatOpenAI({ model: 'gpt-4o' })` or any chat model) and
 * answers with the recorded assistant turns. As the conversation grows, older turns are
 * compacted into page images; the chain gets them back as decoded text, or as image content
 * blocks for a vision model.
 *
 *   npx tsx examples/langchain-history.ts
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseMessage } from '@langchain/core/messages';
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts';
import { RunnableWithMessageHistory } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { Memory } from 'opticmem';
import { OpticMemChatMessageHistory } from 'opticmem/langchain';

/** A fact this example shows; a false one fails the run (exit code 1). */
function check(ok: boolean, fact: string): void {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${fact}`);
  if (!ok) process.exitCode = 1;
}

const conversation = JSON.parse(await readFile(new URL('./data/demo-conversation.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const questions = conversation.filter((m) => m.role === 'user').map((m) => m.content);
const replies = conversation.filter((m) => m.role === 'assistant').map((m) => m.content);

const dir = await mkdtemp(join(tmpdir(), 'opticmem-langchain-'));
const memory = await Memory.open({ path: dir, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 600 } });

try {
  const prompt = ChatPromptTemplate.fromMessages([['system', 'You help families plan trips.'], new MessagesPlaceholder('history'), ['human', '{input}']]);
  const model = new FakeListChatModel({ responses: replies });
  const chain = new RunnableWithMessageHistory({
    runnable: prompt.pipe(model),
    getMessageHistory: (sessionId: string) => new OpticMemChatMessageHistory({ memory, scope: { userId: 'maya', sessionId } }),
    inputMessagesKey: 'input',
    historyMessagesKey: 'history',
  });

  let lastPrompt: BaseMessage[] = [];
  const spy = { handleChatModelStart: (_llm: unknown, messages: BaseMessage[][]) => void (lastPrompt = messages[0]!) };
  for (const input of questions) {
    await chain.invoke({ input }, { configurable: { sessionId: 'portugal' }, callbacks: [spy] });
    await memory.flush(); // background compaction, waited for so the scripted run is the same every time
  }

  const scope = { userId: 'maya', sessionId: 'portugal' };
  const { turns, pages } = await memory.list(scope);
  console.log(`${questions.length} exchanges stored: ${pages.length} pages (${pages.reduce((a, p) => a + p.textTokens, 0)} text tokens as ${pages.reduce((a, p) => a + p.visualTokens, 0)} visual tokens) + ${turns.length} recent turns as text\n`);

  console.log('The last model call received:');
  for (const m of lastPrompt) {
    const text = typeof m.content === 'string' ? m.content : m.text;
    console.log(`  ${m.type.padEnd(6)} ${text.replace(/\s+/g, ' ').slice(0, 100)}${text.length > 100 ? '...' : ''}`);
  }

  // For a vision model the same history comes back with the pages as images.
  const asImages = await new OpticMemChatMessageHistory({ memory, scope, pages: 'image', consumer: 'gpt-4o' }).getMessages();
  const blocks = asImages[0]?.contentBlocks ?? [];
  console.log(`\nWith pages: 'image', the first history message holds ${blocks.filter((b) => b.type === 'image').length} PNG image blocks.\n`);
  check(pages.length > 0 && turns.length > 0, 'older exchanges went onto pages, the recent ones stay as text');
  check((lastPrompt[1]?.text ?? '').includes('Boston'), "the first turn's detail (flying out of Boston) reached the model from a page");
  check(blocks.filter((b) => b.type === 'image').length === pages.length, 'for a vision model every page comes back as an image block');
} finally {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
}
