import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, stepCountIs, streamText, tool, wrapLanguageModel, type ModelMessage } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Memory } from '../memory/memory.js';
import { MAX_MESSAGE_CHARS } from '../memory/messages.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { OVER_BUDGET, useFailingCompaction } from './support/failing-compaction.js';
import { importWithBlocked } from './support/import-blocking.js';
import { InvalidInputError, OpticMemError } from '../src/errors.js';
import { opticmemMiddleware, type OpticMemContextReport } from '../src/integrations/ai-sdk.js';

type Mock = InstanceType<typeof MockLanguageModelV3>;
type Prompt = Mock['doGenerateCalls'][number]['prompt'];

const trip = JSON.parse(await readFile(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
// Four turns (about 550 tokens) overflow the 300-token hot tier into one page.
const history = trip.slice(0, 4);
const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};
const stop = { unified: 'stop' as const, raw: 'stop' };

function replying(...texts: string[]): Mock {
  return new MockLanguageModelV3({
    doGenerate: texts.map((text) => ({ content: [{ type: 'text' as const, text }], finishReason: stop, usage, warnings: [] })),
  });
}

function textOf(prompt: Prompt): string[] {
  return prompt.flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.flatMap((p) => (p.type === 'text' ? [p.text] : []))));
}

function fileParts(prompt: Prompt) {
  return prompt.flatMap((m) => (m.role === 'user' ? m.content.filter((p) => p.type === 'file') : []));
}

/** Every turn a scope holds, once: hot turns plus the turns its pages stand for. */
async function heldTurns(memory: Memory, scope: { userId: string }) {
  const { turns, pages } = await memory.list(scope);
  const paged = new Set(pages.flatMap((p) => p.turnIds));
  return { hot: turns, pagedCount: paged.size, pages, total: turns.length + paged.size };
}

const decoder = createOnnxDecoder();
let dir: string;
let memory: Memory;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opticmem-ai-sdk-'));
  memory = await Memory.open({ path: dir, tiers: { hotBudgetTokens: 300 }, profile: 'deepseek-ocr:small', decoder });
});
afterAll(async () => {
  await memory?.close();
  await decoder.close();
  await rm(dir, { recursive: true, force: true });
});

describe('opticmemMiddleware with generateText', () => {
  it('adopts the first history, then replaces it with page images and recent turns, storing each turn once', async () => {
    const scope = { userId: 'maya' };
    const mock = replying('Noted: Boston to Lisbon on 16 May.', 'Iris turns 9 in April.');
    const reports: OpticMemContextReport[] = [];
    // The consumer is the profile the pages were planned for, so each image costs what was planned.
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope, consumer: 'deepseek-ocr:small', onContext: (r) => reports.push(r) }) });
    const system = 'You are a travel planner.';

    // First call: the scope is empty, so the caller's history goes to the model as given and is stored.
    const first: ModelMessage[] = [...history, { role: 'user', content: 'Where do we fly from?' }];
    const r1 = await generateText({ model, system, messages: first });
    expect(r1.text).toBe('Noted: Boston to Lisbon on 16 May.');
    const sent1 = mock.doGenerateCalls[0]!.prompt;
    expect(sent1.map((m) => m.role)).toEqual(['system', ...first.map((m) => m.role)]);
    expect(textOf(sent1).slice(1)).toEqual(first.map((m) => m.content));
    expect(r1.providerMetadata?.['opticmem']).toMatchObject({ adopted: true, storedTurns: history.length + 2, compactionQueued: true });
    await memory.flush(); // the hot tier overflowed: compaction ran in the background
    const afterFirst = await heldTurns(memory, scope);
    expect(afterFirst.total).toBe(history.length + 2);
    expect(afterFirst.pages.length).toBeGreaterThan(0); // the hot tier overflowed and was compacted

    // Second call: the caller sends the full history again; only the new user turn and reply are stored.
    const second: ModelMessage[] = [...first, { role: 'assistant', content: r1.text }, { role: 'user', content: 'How old will Iris be?' }];
    const r2 = await generateText({ model, system, messages: second });
    const sent2 = mock.doGenerateCalls[1]!.prompt;
    expect(sent2[0]).toEqual({ role: 'system', content: system });
    const images = fileParts(sent2);
    const report = reports[1]!;
    expect(report.adopted).toBe(false);
    expect(images.length).toBe(report.pages.length);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      expect(image.mediaType).toBe('image/png');
      expect(Buffer.from(image.data as string, 'base64').subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    }
    // The oldest turns now reach the model only as pages, never as their original text.
    expect(textOf(sent2).some((t) => t.includes(history[0]!.content.slice(0, 60)))).toBe(false);
    // Recent turns go as text, in order, and the new question comes last exactly once.
    expect(sent2.at(-1)).toEqual({ role: 'user', content: [{ type: 'text', text: 'How old will Iris be?' }] });
    expect(textOf(sent2).filter((t) => t === 'How old will Iris be?')).toHaveLength(1);
    const previousReply = sent2.findIndex((m) => m.role === 'assistant' && textOf([m]).includes(r1.text));
    expect(previousReply).toBeGreaterThan(0);
    expect(previousReply).toBeLessThan(sent2.length - 1);
    expect(report.usedTokens).toBeLessThanOrEqual(4000);
    expect(report.savedTokens).toBeGreaterThan(0);
    expect(r2.providerMetadata?.['opticmem']).toMatchObject({ adopted: false, storedTurns: 2, pages: images.length });

    const afterSecond = await heldTurns(memory, scope);
    expect(afterSecond.total).toBe(history.length + 4);
    const hotTexts = afterSecond.hot.map((t) => t.content);
    expect(hotTexts.slice(-2)).toEqual(['How old will Iris be?', 'Iris turns 9 in April.']);
    expect(new Set(hotTexts).size).toBe(hotTexts.length);
  });

  it('sends decoded page text to a text-only model, recalled pages first, when the caller sends only new messages', async () => {
    const scope = { userId: 'daniel' };
    await memory.add(history, scope);
    await memory.flush();
    const { pages } = await memory.list(scope);
    expect(pages.length).toBeGreaterThan(0);
    const mock = replying('You fly out of Boston.');
    const reports: OpticMemContextReport[] = [];
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope, onContext: (r) => reports.push(r) }) });

    await generateText({ model, prompt: 'Which city do we fly out of, Boston?' });
    const sent = mock.doGenerateCalls[0]!.prompt;
    expect(fileParts(sent)).toEqual([]);
    const preamble = textOf(sent).find((t) => t.startsWith('Earlier conversation, decoded from opticmem pages'));
    expect(preamble).toBeDefined();
    expect(preamble).toContain('Boston');
    expect(reports[0]!.pages.some((p) => p.recalled && p.as === 'text')).toBe(true);
    // Whatever came in whole or as recalled turns, every recalled turn is one of this scope's pages.
    const held = new Set(pages.map((p) => p.id));
    for (const t of reports[0]!.recalledTurns) expect(held.has(t.pageId)).toBe(true);
    const { hot } = await heldTurns(memory, scope);
    expect(hot.slice(-2).map((t) => [t.role, t.content])).toEqual([
      ['user', 'Which city do we fly out of, Boston?'],
      ['assistant', 'You fly out of Boston.'],
    ]);
  });

  it('stores a multi-step tool call once, when the turn ends, and keeps its tool messages intact for the model', async () => {
    const scope = { userId: 'iris', sessionId: 'ferry' };
    const mock = new MockLanguageModelV3({
      doGenerate: [
        {
          content: [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'ferryTimes', input: JSON.stringify({ day: '4 April' }) }],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage,
          warnings: [],
        },
        { content: [{ type: 'text', text: 'The first ferry leaves at 08:15.' }], finishReason: stop, usage, warnings: [] },
      ],
    });
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope }) });
    const result = await generateText({
      model,
      prompt: 'When is the first ferry to Cacilhas on 4 April?',
      tools: { ferryTimes: tool({ inputSchema: z.object({ day: z.string() }), execute: async ({ day }) => ({ day, first: '08:15' }) }) },
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe('The first ferry leaves at 08:15.');
    expect(result.steps[0]!.providerMetadata?.['opticmem']).toMatchObject({ storedTurns: 0 });
    expect(result.steps[1]!.providerMetadata?.['opticmem']).toMatchObject({ storedTurns: 4 });

    const step2 = mock.doGenerateCalls[1]!.prompt;
    expect(step2.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(step2[1]!.content).toEqual([expect.objectContaining({ type: 'tool-call', toolCallId: 'call-1', toolName: 'ferryTimes' })]);
    expect(step2[2]!.content).toEqual([expect.objectContaining({ type: 'tool-result', toolCallId: 'call-1' })]);

    const { hot } = await heldTurns(memory, scope);
    expect(hot.map((t) => t.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(hot[1]!.content).toBe('[tool call ferryTimes {"day":"4 April"}]');
    expect(hot[2]!.content).toBe('[tool result ferryTimes] {"day":"4 April","first":"08:15"}');
    expect(hot[3]!.content).toBe('The first ferry leaves at 08:15.');
  });

  it('keeps scopes apart when each call names its own scope', async () => {
    const mock = replying('A', 'B');
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory }) });
    await generateText({ model, prompt: 'The locker code is 4471.', providerOptions: { opticmem: { scope: { userId: 'ana' } } } });
    await generateText({ model, prompt: 'What is the locker code?', providerOptions: { opticmem: { scope: { userId: 'ben' } } } });
    const sent = mock.doGenerateCalls[1]!;
    expect(textOf(sent.prompt).join('\n')).not.toContain('4471');
    expect(sent.providerOptions?.['opticmem']).toBeUndefined(); // opticmem's own options never reach the provider
    expect((await memory.list({ userId: 'ben' })).turns.map((t) => t.content)).toEqual(['What is the locker code?', 'B']);
  });
});

describe('opticmemMiddleware with streamText', () => {
  it('streams through, shows the model page images, and stores the turn when the stream ends', async () => {
    const scope = { userId: 'stream' };
    await memory.add(history, scope);
    await memory.flush();
    const chunks = ['The ', 'return flight ', 'leaves at 11:40.'];
    const mock = new MockLanguageModelV3({
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: 'stream-start' as const, warnings: [] },
          { type: 'text-start' as const, id: 't1' },
          ...chunks.map((delta) => ({ type: 'text-delta' as const, id: 't1', delta })),
          { type: 'text-end' as const, id: 't1' },
          { type: 'finish' as const, finishReason: stop, usage },
        ]),
      }),
    });
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope, consumer: 'qwen2.5-vl' }) });
    const result = streamText({ model, messages: [{ role: 'user', content: 'When does the return flight leave?' }] });
    const streamed: string[] = [];
    for await (const delta of result.textStream) streamed.push(delta);
    expect(streamed.join('')).toBe(chunks.join(''));

    const sent = mock.doStreamCalls[0]!.prompt;
    expect(fileParts(sent).length).toBeGreaterThan(0);
    expect(sent.at(-1)).toEqual({ role: 'user', content: [{ type: 'text', text: 'When does the return flight leave?' }] });
    expect(await result.providerMetadata).toMatchObject({ opticmem: { storedTurns: 2 } });
    const { hot } = await heldTurns(memory, scope);
    expect(hot.slice(-2).map((t) => t.content)).toEqual(['When does the return flight leave?', 'The return flight leaves at 11:40.']);
  });

  it('stores nothing when the stream errors', async () => {
    const scope = { userId: 'broken-stream' };
    const mock = new MockLanguageModelV3({
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: 'stream-start' as const, warnings: [] },
          { type: 'error' as const, error: new Error('connection reset') },
          { type: 'finish' as const, finishReason: { unified: 'error' as const, raw: undefined }, usage },
        ]),
      }),
    });
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope }) });
    const errors: unknown[] = [];
    const result = streamText({ model, prompt: 'Hello?', onError: ({ error }) => void errors.push(error) });
    await result.consumeStream();
    expect(errors).toHaveLength(1);
    expect((await memory.list(scope)).turns).toEqual([]);
  });
});

describe('opticmemMiddleware input errors', () => {
  it('rejects bad options when the middleware is made, naming the field', () => {
    expect(() => opticmemMiddleware({ memory, scope: {} })).toThrowError(/'scope' is empty/);
    expect(() => opticmemMiddleware({ memory: {} as Memory, scope: { userId: 'u' } })).toThrowError(
      expect.objectContaining({ name: 'InvalidInputError', field: 'options.memory' }),
    );
    expect(() => opticmemMiddleware({ memory, scope: { userId: 'u' }, consumer: 'gpt-9' })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidInputError: Unknown vision-token profile 'gpt-9' in 'consumer'. Use 'text' for a text-only model, or one of: claude, claude:high-res, deepseek-ocr-2, deepseek-ocr:base, deepseek-ocr:gundam, deepseek-ocr:large, deepseek-ocr:small, deepseek-ocr:tiny, gemini, gpt-4.1, gpt-4o, gpt-5, internvl2, qwen2-vl, qwen2.5-vl, qwen3-vl, vary.]`,
    );
    expect(() => opticmemMiddleware({ memory, scope: { userId: 'u' }, asImages: true })).toThrowError(
      expect.objectContaining({ field: 'asImages', message: expect.stringContaining("consumer: 'gpt-4o'") }),
    );
  });

  it('surfaces a missing or malformed scope and oversized messages through the SDK call, losing nothing stored', async () => {
    const scope = { userId: 'careful' };
    const mock = replying('First answer.', 'never sent');
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory }) });
    await generateText({ model, prompt: 'Remember: the ferry pier is Cais do Sodré.', providerOptions: { opticmem: { scope } } });
    const before = await memory.list(scope);
    expect(before.turns).toHaveLength(2);

    const missing = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(InvalidInputError.isInstance(missing)).toBe(true);
    expect(missing).toMatchObject({ field: 'scope', message: expect.stringContaining('providerOptions: { opticmem: { scope') });

    const malformed = await generateText({ model, prompt: 'hi', maxRetries: 0, providerOptions: { opticmem: { scope: { userId: '' } } } }).catch((e: unknown) => e);
    expect(malformed).toMatchObject({ name: 'InvalidInputError', field: 'providerOptions.opticmem.scope.userId' });

    const typo = await generateText({ model, prompt: 'hi', maxRetries: 0, providerOptions: { opticmem: { scop: scope } } }).catch((e: unknown) => e);
    expect(typo).toMatchObject({ name: 'InvalidInputError', field: 'providerOptions.opticmem', message: expect.stringContaining('scop') });

    const huge = 'x'.repeat(MAX_MESSAGE_CHARS + 1);
    const tooLong = await generateText({ model, messages: [{ role: 'user', content: huge }], maxRetries: 0, providerOptions: { opticmem: { scope } } }).catch((e: unknown) => e);
    expect(tooLong).toMatchObject({ name: 'InvalidInputError', field: 'prompt.0.content', message: expect.stringContaining('Split it') });

    const streamErrors: unknown[] = [];
    await streamText({ model, prompt: 'hi', onError: ({ error }) => void streamErrors.push(error) }).consumeStream();
    expect(streamErrors).toEqual([expect.objectContaining({ name: 'InvalidInputError', field: 'scope' })]);

    expect(mock.doGenerateCalls).toHaveLength(1); // no failed call reached the model
    const after = await memory.list(scope);
    expect(after.turns).toEqual(before.turns);
  });

  it('rejects a malformed prompt sent straight to the wrapped model', async () => {
    const mock = replying('never sent');
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope: { userId: 'direct' } }) });
    const bad = { prompt: [{ role: 'user', content: 'not an array of parts' }] } as unknown as Parameters<typeof model.doGenerate>[0];
    const error = await Promise.resolve(model.doGenerate(bad)).catch((e: unknown) => e);
    expect(OpticMemError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ name: 'InvalidInputError', field: 'prompt.0.content', message: expect.stringContaining("{ type: 'text'") });
    expect(mock.doGenerateCalls).toHaveLength(0);
  });

  it('stores nothing when the model call fails', async () => {
    const scope = { userId: 'offline' };
    await memory.add({ role: 'user', content: 'Our hotel is in Campo de Ourique.' }, scope);
    const mock = new MockLanguageModelV3({
      doGenerate: async () => {
        throw new Error('model unavailable');
      },
    });
    const model = wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory, scope }) });
    await expect(generateText({ model, prompt: 'Where is our hotel?', maxRetries: 0 })).rejects.toThrow('model unavailable');
    expect((await memory.list(scope)).turns.map((t) => t.content)).toEqual(['Our hotel is in Campo de Ourique.']);
  });
});

describe('opticmemMiddleware when background compaction fails after the turn is stored', () => {
  const failingMemory = useFailingCompaction();

  it('answers at once, says compaction was queued, and the memory reports the failure', async () => {
    const scope = { userId: 'ines' };
    const events: string[] = [];
    const stop = failingMemory().onCompaction((e) => events.push(e.type === 'failed' ? `failed ${e.attempt} ${e.willRetry}` : e.type), scope);
    try {
      const model = wrapLanguageModel({ model: replying('Every twenty minutes.'), middleware: opticmemMiddleware({ memory: failingMemory(), scope }) });
      const result = await generateText({ model, prompt: OVER_BUDGET, maxRetries: 0 });
      expect(result.text).toBe('Every twenty minutes.');
      expect(result.providerMetadata?.opticmem).toMatchObject({ storedTurns: 2, compactionQueued: true });
      const flushed = await failingMemory().flush();
      expect(flushed.errors.map((e) => e.name)).toEqual(['RemoteServiceError']);
      expect(events).toEqual(['failed 1 true', 'failed 2 true', 'failed 3 false']);
      expect((await failingMemory().list(scope)).turns.map((t) => t.content)).toEqual([OVER_BUDGET, 'Every twenty minutes.']);
    } finally {
      stop();
    }
  });
});

describe('opticmemMiddleware when inline compaction fails after the turn is stored', () => {
  const failingMemory = useFailingCompaction(60, 'inline');

  it('answers, keeps the turn and says why in providerMetadata, for generate and stream', async () => {
    const scope = { userId: 'ines' };
    const model = wrapLanguageModel({ model: replying('Every twenty minutes.'), middleware: opticmemMiddleware({ memory: failingMemory(), scope }) });
    const result = await generateText({ model, prompt: OVER_BUDGET, maxRetries: 0 });
    expect(result.text).toBe('Every twenty minutes.');
    expect(result.providerMetadata?.opticmem).toMatchObject({ storedTurns: 2, compactionFailed: expect.stringMatching(/^RemoteServiceError \(remote_failed\)/) });

    const mock = new MockLanguageModelV3({
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: 'stream-start' as const, warnings: [] },
          { type: 'text-start' as const, id: 't1' },
          { type: 'text-delta' as const, id: 't1', delta: 'Yes, until 01:20.' },
          { type: 'text-end' as const, id: 't1' },
          { type: 'finish' as const, finishReason: stop, usage },
        ]),
      }),
    });
    const streamed = streamText({ model: wrapLanguageModel({ model: mock, middleware: opticmemMiddleware({ memory: failingMemory(), scope }) }), prompt: `${OVER_BUDGET} At night too?` });
    expect(await streamed.text).toBe('Yes, until 01:20.');
    expect((await streamed.providerMetadata)?.opticmem).toMatchObject({ storedTurns: 2, compactionFailed: expect.stringContaining('HTTP 500') });
    expect((await failingMemory().list(scope)).turns.map((t) => t.content)).toEqual([OVER_BUDGET, 'Every twenty minutes.', `${OVER_BUDGET} At night too?`, 'Yes, until 01:20.']);
  });
});

describe('the opticmem/ai-sdk entry point', () => {
  it('resolves through package.json exports and loads neither the framework nor a native module', () => {
    const blocked = ['ai', '@napi-rs/canvas', 'onnxruntime-node', '@lancedb/lancedb'];
    const result = importWithBlocked('opticmem/ai-sdk', blocked, 'ai');
    expect(result.probeBlocked).toBe(true);
    expect(result.names).toEqual(['opticmemMiddleware']);
  });
});
