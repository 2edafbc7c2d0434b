import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AIMessage, ChatMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts';
import { RunnableWithMessageHistory } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
// langchain's own checkpointer dependency: the real saver a checkpointed thread uses.
import { MemorySaver } from '@langchain/langgraph';
import { createAgent } from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { MAX_MESSAGE_CHARS } from '../memory/messages.js';
import { InvalidInputError } from '../src/errors.js';
import { OpticMemChatMessageHistory } from '../src/integrations/langchain.js';
import { opticmemMiddleware } from '../src/integrations/langchain-agent.js';
import { OVER_BUDGET, useFailingCompaction } from './support/failing-compaction.js';
import { importWithBlocked } from './support/import-blocking.js';

const trip = JSON.parse(readFileSync(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const asLangChain = (m: { role: string; content: string }) => (m.role === 'user' ? new HumanMessage(m.content) : new AIMessage(m.content));

const decoder = createOnnxDecoder();
let dir: string;
let memory: Memory;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opticmem-langchain-'));
  // A small hot tier so a few turns of the fixture are compacted into pages.
  memory = await Memory.open({ path: dir, tiers: { hotBudgetTokens: 300 }, profile: 'deepseek-ocr:small', decoder });
});
afterAll(async () => {
  await memory?.close();
  await decoder.close();
  await rm(dir, { recursive: true, force: true });
});

/** Records the messages each chat model call received (the standard callback, no model patching). */
function recorder() {
  const calls: BaseMessage[][] = [];
  return { calls, handler: { handleChatModelStart: (_llm: unknown, messages: BaseMessage[][]) => void calls.push(messages[0]!) } };
}

const text = (m: BaseMessage) => (typeof m.content === 'string' ? m.content : m.text);

describe('OpticMemChatMessageHistory', () => {
  const scope = { userId: 'maya', sessionId: 'history' };

  it('feeds a RunnableWithMessageHistory chain: pages come back decoded, new turns are stored', async () => {
    const seed = new OpticMemChatMessageHistory({ memory, scope });
    await seed.addMessages(trip.slice(0, 6).map(asLangChain));
    await memory.flush(); // compaction runs in the background
    const { pages, turns } = await memory.list(scope);
    expect(pages.length).toBeGreaterThan(0);
    expect(turns.length).toBeLessThan(6);

    const prompt = ChatPromptTemplate.fromMessages([['system', 'You plan family trips.'], new MessagesPlaceholder('history'), ['human', '{input}']]);
    const model = new FakeListChatModel({ responses: ['You fly out of Boston on Friday 16 May.'] });
    const chain = new RunnableWithMessageHistory({
      runnable: prompt.pipe(model),
      getMessageHistory: (sessionId: string) => new OpticMemChatMessageHistory({ memory, scope: { userId: 'maya', sessionId } }),
      inputMessagesKey: 'input',
      historyMessagesKey: 'history',
    });
    const rec = recorder();
    const reply = await chain.invoke({ input: 'Which city do we fly out of?' }, { configurable: { sessionId: 'history' }, callbacks: [rec.handler] });
    expect(text(reply)).toBe('You fly out of Boston on Friday 16 May.');

    const received = rec.calls[0]!;
    expect(received[0]!.type).toBe('system');
    // The compacted turns arrive as one human message of decoded page text, oldest first.
    expect(received[1]!.type).toBe('human');
    expect(text(received[1]!)).toMatch(/^Earlier conversation, decoded from opticmem pages/);
    expect(text(received[1]!)).toContain('Boston');
    // Then the hot turns exactly as stored, then the new question.
    const hot = turns.map((t) => t.content);
    expect(received.slice(2, -1).map(text)).toEqual(hot);
    expect(text(received.at(-1)!)).toBe('Which city do we fly out of?');

    // The chain wrote the question and the reply through the history into the LanceDB folder.
    const reopened = await Memory.open({ path: dir, autoCompact: false, decoder });
    try {
      const after = (await reopened.list(scope)).turns;
      expect(after.slice(-2).map((t) => [t.role, t.content])).toEqual([
        ['user', 'Which city do we fly out of?'],
        ['assistant', 'You fly out of Boston on Friday 16 May.'],
      ]);
    } finally {
      await reopened.close();
    }
  });

  it('returns pages as standard image content blocks when asked', async () => {
    const history = new OpticMemChatMessageHistory({ memory, scope, pages: 'image', consumer: 'gpt-4o' });
    const messages = await history.getMessages();
    const { pages } = await memory.list(scope);
    const blocks = messages[0]!.content as { type: string; mimeType?: string; data?: string; text?: string }[];
    expect(Array.isArray(blocks)).toBe(true);
    expect(blocks[0]!.type).toBe('text');
    const images = blocks.filter((b) => b.type === 'image');
    expect(images.length).toBe(pages.length);
    for (const img of images) {
      expect(img.mimeType).toBe('image/png');
      expect(img.data!.startsWith('iVBOR')).toBe(true);
    }
    // Hot turns stay text, with their roles.
    expect(messages.slice(1).map((m) => m.type)).toEqual((await memory.list(scope)).turns.map((t) => (t.role === 'user' ? 'human' : 'ai')));
  });

  it('keeps scopes apart and clears only its own', async () => {
    const other = new OpticMemChatMessageHistory({ memory, scope: { userId: 'daniel', sessionId: 'history' } });
    expect(await other.getMessages()).toEqual([]);
    await other.addMessage(new HumanMessage('Daniel prefers the window seat.'));
    await other.addUserMessage('And an aisle for Iris.');
    expect((await other.getMessages()).map(text)).toEqual(['Daniel prefers the window seat.', 'And an aisle for Iris.']);
    const mine = await new OpticMemChatMessageHistory({ memory, scope }).getMessages();
    expect(mine.map(text).join('\n')).not.toContain('window seat');
    await other.clear();
    expect(await other.getMessages()).toEqual([]);
    expect((await memory.list(scope)).pages.length).toBeGreaterThan(0);
  });

  it('stores images as placeholders, tool calls as text and tool results with their tool name', async () => {
    const history = new OpticMemChatMessageHistory({ memory, scope: { userId: 'priya' } });
    await history.addMessages([
      new HumanMessage({ contentBlocks: [{ type: 'text', text: 'What is this palace?' }, { type: 'image', mimeType: 'image/png', data: 'iVBORw0KGgo=' }] }),
      new AIMessage({ content: [{ type: 'reasoning', reasoning: 'Looks like Pena.' }, { type: 'text', text: 'Let me look it up.' }], tool_calls: [{ id: 'c1', name: 'lookup', args: { q: 'Pena' } }] }),
      new ToolMessage({ content: 'Pena Palace, Sintra, 1854.', tool_call_id: 'c1', name: 'lookup' }),
    ]);
    const turns = (await memory.list({ userId: 'priya' })).turns;
    expect(turns.map((t) => [t.role, t.name, t.content])).toEqual([
      ['user', '', 'What is this palace?\n[image]'],
      ['assistant', '', 'Let me look it up.\n[tool call] lookup {"q":"Pena"}'],
      ['tool', 'lookup', 'Pena Palace, Sintra, 1854.'],
    ]);
    // A tool result without its call id comes back as a generic 'tool' message, not a ToolMessage.
    const back = await history.getMessages();
    expect(back.map((m) => m.type)).toEqual(['human', 'ai', 'generic']);
    expect((back[2] as ChatMessage).role).toBe('tool');
    expect(back[2]!.name).toBe('lookup');
  });

  it('rejects bad options and non-messages with errors that name the field', async () => {
    expect(() => new OpticMemChatMessageHistory({ memory, scope: {} })).toThrow(/'options\.scope' is empty\. Pass at least one of userId/);
    expect(() => new OpticMemChatMessageHistory({ memory, scope, pages: 'pdf' as never })).toThrow(/'options\.pages': must be 'text' or 'image'/);
    expect(() => new OpticMemChatMessageHistory({ memory: {} as never, scope })).toThrow(/'options\.memory': must be an opticmem Memory/);
    const history = new OpticMemChatMessageHistory({ memory, scope: { userId: 'nobody' } });
    const err = await history.addMessages([{ role: 'user', content: 'plain object' } as never]).catch((e: unknown) => e);
    expect(InvalidInputError.isInstance(err)).toBe(true);
    expect((err as InvalidInputError).field).toBe('messages.0');
    expect(await history.getMessages()).toEqual([]);
  });
});

describe('when compaction fails after the turns are stored', () => {
  const failingMemory = useFailingCompaction();

  it('the history and the middleware report it and keep the turns', async () => {
    const errors: Error[] = [];
    const history = new OpticMemChatMessageHistory({ memory: failingMemory(), scope: { userId: 'ines' }, onCompactionError: (e) => errors.push(e) });
    await history.addMessages([new HumanMessage(OVER_BUDGET)]);
    await failingMemory().flush(); // compaction runs in the background; its failure reaches the handler
    expect(errors.map((e) => e.name)).toEqual(['RemoteServiceError']);
    expect((await failingMemory().list({ userId: 'ines' })).turns.map((t) => t.content)).toEqual([OVER_BUDGET]);

    const agent = createAgent({
      model: new FakeListChatModel({ responses: ['Every twenty minutes.'] }),
      tools: [],
      middleware: [opticmemMiddleware({ memory: failingMemory(), scope: { userId: 'rui' }, onCompactionError: (e) => errors.push(e) })],
    });
    const result = await agent.invoke({ messages: [new HumanMessage(OVER_BUDGET)] });
    expect(text(result.messages.at(-1)!)).toBe('Every twenty minutes.');
    await failingMemory().flush();
    expect(errors).toHaveLength(2);
    expect((await failingMemory().list({ userId: 'rui' })).turns.map((t) => t.content)).toEqual([OVER_BUDGET, 'Every twenty minutes.']);
  });
});

describe('opticmemMiddleware with createAgent', () => {
  const scope = { userId: 'maya', sessionId: 'agent' };
  beforeAll(async () => {
    await memory.add(trip.slice(0, 6), scope);
    await memory.flush();
  });

  it('puts remembered context before the model call and stores the run afterwards', async () => {
    const { pages, turns } = await memory.list(scope);
    expect(pages.length).toBeGreaterThan(0);
    const model = new FakeListChatModel({ responses: ['From Boston, on Friday 16 May.'] });
    const agent = createAgent({
      model,
      tools: [],
      systemPrompt: 'You plan family trips.',
      middleware: [opticmemMiddleware({ memory, scope: (run) => ({ userId: 'maya', sessionId: run.configurable?.thread_id ?? 'none' }) })],
    });
    const rec = recorder();
    const result = await agent.invoke({ messages: [new HumanMessage('Where do we fly out of?')] }, { configurable: { thread_id: 'agent' }, callbacks: [rec.handler] });
    expect(text(result.messages.at(-1)!)).toBe('From Boston, on Friday 16 May.');

    const received = rec.calls[0]!;
    expect(received.map((m) => m.type)).toEqual(['system', 'human', ...turns.map((t) => (t.role === 'user' ? 'human' : 'ai')), 'human']);
    expect(text(received[1]!)).toMatch(/^Earlier conversation, decoded from opticmem pages/);
    expect(text(received[1]!)).toContain('Boston');
    expect(received.slice(2, -1).map(text)).toEqual(turns.map((t) => t.content));
    expect(text(received.at(-1)!)).toBe('Where do we fly out of?');

    const stored = (await memory.list(scope)).turns.slice(-2).map((t) => [t.role, t.content]);
    expect(stored).toEqual([
      ['user', 'Where do we fly out of?'],
      ['assistant', 'From Boston, on Friday 16 May.'],
    ]);
    expect(result.opticmemStoredMessages).toBe(2);
  });

  it('sends pages as images to a vision consumer', async () => {
    const agent = createAgent({
      model: new FakeListChatModel({ responses: ['Noted.'] }),
      tools: [],
      middleware: [opticmemMiddleware({ memory, scope, consumer: 'gpt-4o', budgetTokens: 8000, store: false })],
    });
    const rec = recorder();
    await agent.invoke({ messages: [new HumanMessage('Remind me of the plan.')] }, { callbacks: [rec.handler] });
    const blocks = rec.calls[0]![0]!.content as { type: string; mimeType?: string; data?: string }[];
    const images = blocks.filter((b) => b.type === 'image');
    expect(images.length).toBe((await memory.list(scope)).pages.length);
    expect(images[0]!.data!.startsWith('iVBOR')).toBe(true);
    // store: false leaves the memory untouched.
    expect((await memory.list(scope)).turns.map((t) => t.content)).not.toContain('Remind me of the plan.');
  });

  it('on a checkpointed thread sends stored turns from memory once and stores each turn once', async () => {
    const threadScope = { userId: 'iris', sessionId: 'thread-1' };
    const agent = createAgent({
      model: new FakeListChatModel({ responses: ['Peacocks live in the Crystal Palace gardens.'] }),
      tools: [],
      checkpointer: new MemorySaver(),
      middleware: [opticmemMiddleware({ memory, scope: threadScope })],
    });
    const config = { configurable: { thread_id: 'thread-1' } };
    await agent.invoke({ messages: [new HumanMessage('Where are the peacocks?')] }, config);
    const rec = recorder();
    const second = await agent.invoke({ messages: [new HumanMessage('And the tram?')] }, { ...config, callbacks: [rec.handler] });
    expect(second.messages.length).toBe(4);
    // The first exchange reaches the model once (from memory), not twice (memory + checkpoint).
    expect(rec.calls[0]!.map(text)).toEqual(['Where are the peacocks?', 'Peacocks live in the Crystal Palace gardens.', 'And the tram?']);
    const stored = (await memory.list(threadScope)).turns.map((t) => t.content);
    expect(stored).toEqual(['Where are the peacocks?', 'Peacocks live in the Crystal Palace gardens.', 'And the tram?', 'Peacocks live in the Crystal Palace gardens.']);
  });

  it('refuses a bad scope or an oversized message before the model is called, with the typed error, losing nothing', async () => {
    const before = await memory.list(scope);
    const model = new FakeListChatModel({ responses: ['never sent'] });
    const rec = recorder();
    const emptyScope = createAgent({ model, tools: [], middleware: [opticmemMiddleware({ memory, scope: () => ({}) })] });
    const e1 = await emptyScope.invoke({ messages: [new HumanMessage('Hello?')] }, { callbacks: [rec.handler] }).catch((e: unknown) => e);
    expect(InvalidInputError.isInstance(e1), String(e1)).toBe(true);
    expect(e1).toMatchObject({ field: 'options.scope()', message: expect.stringContaining('Pass at least one of userId') });

    const huge = 'x'.repeat(MAX_MESSAGE_CHARS + 1);
    const agent = createAgent({ model, tools: [], middleware: [opticmemMiddleware({ memory, scope })] });
    const e2 = await agent.invoke({ messages: [new HumanMessage(huge)] }, { callbacks: [rec.handler] }).catch((e: unknown) => e);
    expect(InvalidInputError.isInstance(e2), String(e2)).toBe(true);
    expect(e2).toMatchObject({ field: 'messages.0.content', message: expect.stringContaining('Split it into several messages') });

    // Neither run reached the model, and what was stored is all still there.
    expect(rec.calls).toHaveLength(0);
    expect(await memory.list(scope)).toEqual(before);
  });

  it('stores a reply longer than one message whole, as consecutive turns', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'opticmem-langchain-long-'));
    const plain = await Memory.open({ path: dir2, autoCompact: false, decoder });
    try {
      const reply = 'The itinerary, day by day. '.repeat(Math.ceil((MAX_MESSAGE_CHARS * 1.5) / 27));
      const agent = createAgent({ model: new FakeListChatModel({ responses: [reply] }), tools: [], middleware: [opticmemMiddleware({ memory: plain, scope: { userId: 'long' } })] });
      const result = await agent.invoke({ messages: [new HumanMessage('Write out the whole itinerary.')] });
      expect(text(result.messages.at(-1)!)).toBe(reply);
      const turns = (await plain.list({ userId: 'long' })).turns;
      expect(turns.map((t) => t.role)).toEqual(['user', 'assistant', 'assistant']);
      expect(turns.slice(1).map((t) => t.content).join('')).toBe(reply);
    } finally {
      await plain.close();
      await rm(dir2, { recursive: true, force: true });
    }
  });

  it('validates its options', () => {
    expect(() => opticmemMiddleware({ memory, scope: { userId: '' } })).toThrow(/'options\.scope/);
    expect(() => opticmemMiddleware({ memory, scope, budgetTokens: 0 })).toThrow(/'options\.budgetTokens': must be > 0/);
    expect(() => opticmemMiddleware({ memory, scope, extra: 1 } as never)).toThrow(InvalidInputError);
  });
});

describe('the opticmem/langchain entry points', () => {
  it('opticmem/langchain resolves through package.json exports and loads neither langchain nor a native module', () => {
    const result = importWithBlocked('opticmem/langchain', ['langchain', '@napi-rs/canvas', 'onnxruntime-node', '@lancedb/lancedb'], 'langchain');
    expect(result.probeBlocked).toBe(true);
    expect(result.names).toEqual(['OpticMemChatMessageHistory']);
  });

  it('opticmem/langchain/agent holds the middleware and loads no native module', () => {
    const result = importWithBlocked('opticmem/langchain/agent', ['@napi-rs/canvas', 'onnxruntime-node', '@lancedb/lancedb'], '@napi-rs/canvas');
    expect(result.probeBlocked).toBe(true);
    expect(result.names).toEqual(['opticmemMiddleware']);
  });
});
