import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, run, setTracingDisabled, tool, Usage, type AgentInputItem, type AgentOutputItem, type Model, type ModelRequest, type ModelResponse, type StreamEvent } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Memory, type MemoryOptions } from '../memory/memory.js';
import { MAX_MESSAGE_CHARS } from '../memory/messages.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { OVER_BUDGET, useFailingCompaction } from './support/failing-compaction.js';
import { importWithBlocked } from './support/import-blocking.js';
import { InvalidInputError } from '../src/errors.js';
import { OpticMemSession, type OpticMemSessionReport } from '../src/integrations/openai-agents.js';

// No trace exporter: the model is a local stub and nothing may leave the machine.
setTracingDisabled(true);

const trip = JSON.parse(await readFile(new URL('./fixtures/conversation-en.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];

const say = (text: string): AgentOutputItem => ({ type: 'message', role: 'assistant', status: 'completed', id: `msg_${text.length}`, content: [{ type: 'output_text', text }] });

/** A `Model` that answers from a script and keeps the input of every request it was sent. */
class ScriptedModel implements Model {
  readonly inputs: AgentInputItem[][] = [];
  readonly #script: AgentOutputItem[][];
  constructor(script: AgentOutputItem[][]) {
    this.#script = script;
  }
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.inputs.push(structuredClone(typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input));
    const output = this.#script.shift();
    if (!output) throw new Error('The scripted model ran out of replies.');
    return { usage: new Usage(), output };
  }
  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('These tests run without streaming.');
  }
}

/** A `Model` that streams its scripted replies word by word, as the Responses API streams text. */
class StreamingModel implements Model {
  readonly inputs: AgentInputItem[][] = [];
  readonly #replies: string[];
  constructor(replies: string[]) {
    this.#replies = replies;
  }
  async getResponse(): Promise<ModelResponse> {
    throw new Error('This model only streams.');
  }
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    this.inputs.push(structuredClone(typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input));
    const text = this.#replies.shift();
    if (text === undefined) throw new Error('The streaming model ran out of replies.');
    yield { type: 'response_started' };
    for (const word of text.split(/(?<= )/)) yield { type: 'output_text_delta', delta: word };
    yield { type: 'response_done', response: { id: `resp_${this.inputs.length}`, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] }] } };
  }
}

/** Records what the runner hands the session, to compare with what comes back. */
class RecordingSession extends OpticMemSession {
  readonly added: AgentInputItem[] = [];
  override async addItems(items: AgentInputItem[]): Promise<void> {
    this.added.push(...structuredClone(items));
    await super.addItems(items);
  }
}

const ferryTimes = tool({
  name: 'ferry_times',
  description: 'First and last ferry of a day',
  parameters: z.object({ day: z.string() }),
  execute: async ({ day }) => `First ferry 08:15, last 23:40 on ${day}.`,
});

const decoder = createOnnxDecoder();
const dirs: string[] = [];
async function openMemory(path?: string): Promise<{ memory: Memory; path: string }> {
  const dir = path ?? (await mkdtemp(join(tmpdir(), 'opticmem-agents-')));
  if (!path) dirs.push(dir);
  const options: MemoryOptions = { path: dir, tiers: { hotBudgetTokens: 400 }, profile: 'deepseek-ocr:small', decoder };
  return { memory: await Memory.open(options), path: dir };
}
afterAll(async () => {
  await decoder.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('OpticMemSession with run()', () => {
  let memory: Memory;
  let path: string;
  beforeAll(async () => ({ memory, path } = await openMemory()));
  afterAll(async () => memory?.close());

  it('stores tool calls losslessly, feeds the history back to the model, and keeps it across a reopen', async () => {
    const scope = { userId: 'maya', sessionId: 'ferry' };
    const model = new ScriptedModel([
      [{ type: 'function_call', id: 'fc_1', callId: 'call_1', name: 'ferry_times', arguments: '{"day":"4 April"}', status: 'completed' }],
      [say('The first ferry to Cacilhas leaves at 08:15.')],
      [say('The last one leaves at 23:40.')],
    ]);
    const agent = new Agent({ name: 'planner', instructions: 'Plan ferry trips.', model, tools: [ferryTimes] });
    const session = new RecordingSession({ memory, scope });

    const first = await run(agent, 'When is the first ferry to Cacilhas on 4 April?', { session });
    expect(first.finalOutput).toBe('The first ferry to Cacilhas leaves at 08:15.');
    const stored = await session.getItems();
    expect(stored.map((i) => i.type)).toEqual(['message', 'function_call', 'function_call_result', 'message']);
    // Tool items come back exactly as the runner handed them over.
    expect(stored[1]).toEqual(session.added[1]);
    expect(stored[2]).toEqual(session.added[2]);
    expect(stored[2]).toMatchObject({ callId: 'call_1', output: { type: 'text', text: 'First ferry 08:15, last 23:40 on 4 April.' } });
    // Plain messages come back in the SDK's canonical shape, without provider ids.
    expect(stored[0]).toEqual({ type: 'message', role: 'user', content: 'When is the first ferry to Cacilhas on 4 April?' });
    expect(stored[3]).toEqual({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'The first ferry to Cacilhas leaves at 08:15.' }] });

    const second = await run(agent, 'And the last one?', { session });
    expect(second.finalOutput).toBe('The last one leaves at 23:40.');
    const sent = model.inputs[2]!;
    expect(sent.slice(0, 4)).toEqual(stored);
    expect(sent[4]).toMatchObject({ role: 'user', content: 'And the last one?' });
    expect(sent).toHaveLength(5);

    // The turns live in the LanceDB folder: a new Memory on the same path serves the same items.
    const before = await session.getItems();
    expect(before).toHaveLength(6);
    await memory.close();
    ({ memory } = await openMemory(path));
    const reopened = new OpticMemSession({ memory, scope });
    expect(await reopened.getItems()).toEqual(before);
    const model2 = new ScriptedModel([[say('Yes, 08:15 on 4 April.')]]);
    await run(new Agent({ name: 'planner', instructions: 'Plan ferry trips.', model: model2, tools: [ferryTimes] }), 'Still 08:15?', { session: reopened });
    expect(model2.inputs[0]!.slice(0, 6)).toEqual(before);
  });

  it('streams a run: the text arrives in pieces and the turn is stored when the stream completes', async () => {
    const scope = { userId: 'maya', sessionId: 'stream' };
    const model = new StreamingModel(['The tram 28 leaves Martim Moniz every ten minutes.', 'Yes, until about 22:30.']);
    const agent = new Agent({ name: 'planner', instructions: 'Plan tram rides.', model });
    const session = new OpticMemSession({ memory, scope });

    const streamed = await run(agent, 'How often does the 28 run?', { session, stream: true });
    const pieces: string[] = [];
    for await (const piece of streamed.toTextStream()) pieces.push(piece);
    await streamed.completed;
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('The tram 28 leaves Martim Moniz every ten minutes.');
    expect(streamed.finalOutput).toBe('The tram 28 leaves Martim Moniz every ten minutes.');
    expect((await memory.list(scope)).turns.map((t) => [t.role, t.content])).toEqual([
      ['user', 'How often does the 28 run?'],
      ['assistant', 'The tram 28 leaves Martim Moniz every ten minutes.'],
    ]);

    // The next streamed run is sent the stored turns first.
    const next = await run(agent, 'In the evening too?', { session, stream: true });
    await next.completed;
    expect(next.finalOutput).toBe('Yes, until about 22:30.');
    expect(model.inputs[1]!.map((i) => (i as { content: unknown }).content)).toEqual([
      'How often does the 28 run?',
      [{ type: 'output_text', text: 'The tram 28 leaves Martim Moniz every ten minutes.' }],
      'In the evening too?',
    ]);
  });

  it('hands the model compacted pages as input_image items, or as decoded text', async () => {
    const scope = { userId: 'daniel', sessionId: 'lisbon' };
    await memory.add(trip.slice(0, 4), scope); // about 550 tokens: the oldest overflow the 400-token hot tier
    await memory.flush();
    const { pages, turns } = await memory.list(scope);
    expect(pages.length).toBeGreaterThan(0);

    const model = new ScriptedModel([[say('You fly from Boston.')], [say('Boston, on 16 May.')]]);
    const agent = new Agent({ name: 'planner', instructions: 'Plan the trip.', model });
    const reports: OpticMemSessionReport[] = [];
    const session = new OpticMemSession({ memory, scope, consumer: 'deepseek-ocr:small', imageDetail: 'high', onContext: (r) => reports.push(r) });
    await run(agent, 'Where do we fly from?', { session });
    expect(reports[0]).toMatchObject({ scope, turns: turns.length, omitted: { pages: 0, turns: 0 } });
    expect(reports[0]!.pages).toHaveLength(pages.length);
    expect(reports[0]!.savedTokens).toBeGreaterThan(0);
    const [pagesItem, ...rest] = model.inputs[0]!;
    expect(pagesItem).toMatchObject({ type: 'message', role: 'user' });
    const parts = (pagesItem as { content: { type: string; image?: string; detail?: string; text?: string }[] }).content;
    expect(parts[0]).toMatchObject({ type: 'input_text', text: expect.stringContaining('rendered pages') });
    const images = parts.filter((p) => p.type === 'input_image');
    expect(images).toHaveLength(pages.length);
    for (const image of images) {
      expect(image.image).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
      expect(image.detail).toBe('high');
    }
    // The hot turns follow as text, then the new question.
    expect(rest.map((i) => (i as { content: unknown }).content)).toEqual([
      ...turns.map((t) => (t.role === 'user' ? t.content : [{ type: 'output_text', text: t.content }])),
      'Where do we fly from?',
    ]);

    await run(agent, 'Which date?', { session: new OpticMemSession({ memory, scope, asImages: false }) });
    const [textItem] = model.inputs[1]!;
    expect(textItem).toMatchObject({ type: 'message', role: 'user', content: expect.stringMatching(/^Earlier conversation, decoded from opticmem pages[\s\S]*Boston/) });
  });

  it('keeps image bytes in tool outputs, pops the newest item, clears only its own scope', async () => {
    const scope = { userId: 'iris', sessionId: 'drawings' };
    const other = new OpticMemSession({ memory, scope: { userId: 'iris', sessionId: 'homework' } });
    await other.addItems([{ role: 'user', content: 'Spelling list: ferry, tram, castle.' }]);
    const session = new OpticMemSession({ memory, scope });
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255, 7]);
    const items: AgentInputItem[] = [
      { role: 'user', content: [{ type: 'input_text', text: 'Draw the tram.' }] },
      { type: 'function_call', callId: 'c9', name: 'draw', arguments: '{"what":"tram"}', status: 'completed', providerData: { seed: 3 } },
      { type: 'function_call_result', callId: 'c9', name: 'draw', status: 'completed', output: { type: 'image', image: { data: bytes, mediaType: 'image/png' } } },
      { type: 'reasoning', content: [{ type: 'input_text', text: 'The drawing is done.' }] },
    ];
    await session.addItems(items);
    const back = await session.getItems();
    expect(back.slice(1)).toEqual(items.slice(1));
    expect(back[0]).toEqual({ type: 'message', role: 'user', content: 'Draw the tram.' });
    expect(await session.getSessionId()).toBe('drawings');

    // A limit that leaves the call behind turns its output into text: no provider takes an output without its call.
    const lastTwo = await session.getItems(2);
    expect(lastTwo[0]).toEqual({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: expect.stringMatching(/^\[tool output draw\] /) }] });
    expect(lastTwo[1]).toEqual(items[3]);
    expect(await session.getItems(0)).toEqual([]);

    expect(await session.popItem()).toEqual(items[3]);
    expect((await session.getItems()).map((i) => i.type)).toEqual(['message', 'function_call', 'function_call_result']);

    await session.clearSession();
    expect(await session.getItems()).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    expect(await other.getItems()).toEqual([{ type: 'message', role: 'user', content: 'Spelling list: ferry, tram, castle.' }]);
  });

  it('rejects bad input with typed errors and loses nothing already stored', async () => {
    expect(() => new OpticMemSession({ memory, scope: {} })).toThrowError(expect.objectContaining({ name: 'InvalidInputError', field: 'scope' }));
    expect(() => new OpticMemSession({ memory, scope: { userId: 'u' }, consumer: 'gpt-9' })).toThrowError(expect.objectContaining({ field: 'consumer' }));
    expect(() => new OpticMemSession({ memory: undefined as unknown as Memory, scope: { userId: 'u' } })).toThrowError(expect.objectContaining({ field: 'options.memory' }));

    const scope = { userId: 'ben', sessionId: 'errors' };
    const session = new OpticMemSession({ memory, scope });
    await session.addItems([{ role: 'user', content: 'The locker code is 4471.' }]);
    const before = await session.getItems();

    await expect(session.addItems('hello' as unknown as AgentInputItem[])).rejects.toMatchObject({ name: 'InvalidInputError', field: 'items' });
    await expect(session.addItems([{ role: 'user', content: 'fine' }, { nope: 1 } as unknown as AgentInputItem])).rejects.toMatchObject({
      name: 'InvalidInputError',
      field: 'items.1',
      message: expect.stringContaining("'type' or 'role'"),
    });
    await expect(session.getItems(-1)).rejects.toMatchObject({ field: 'limit' });

    // Through the runner: an input too large to store fails the run with the typed error.
    const model = new ScriptedModel([[say('ok')]]);
    const agent = new Agent({ name: 'a', instructions: 'Answer.', model });
    const error = await run(agent, 'x'.repeat(MAX_MESSAGE_CHARS + 1), { session }).catch((e: unknown) => e);
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: 'items.0', message: expect.stringContaining('Split it into several messages') });

    expect(await session.getItems()).toEqual(before);
  });
});

describe('OpticMemSession when compaction fails after the items are stored', () => {
  const failingMemory = useFailingCompaction();

  it('the run succeeds, the items are kept and the failure is reported', async () => {
    const errors: Error[] = [];
    const session = new OpticMemSession({ memory: failingMemory(), scope: { userId: 'ines' }, onCompactionError: (e) => errors.push(e) });
    const agent = new Agent({ name: 'a', instructions: 'Answer.', model: new ScriptedModel([[say('Every twenty minutes.')]]) });
    const result = await run(agent, OVER_BUDGET, { session });
    expect(result.finalOutput).toBe('Every twenty minutes.');
    await failingMemory().flush(); // compaction runs in the background; its failure reaches the handler
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.name).toBe('RemoteServiceError');
    expect((await failingMemory().list({ userId: 'ines' })).turns.map((t) => t.content)).toEqual([OVER_BUDGET, 'Every twenty minutes.']);
  });
});

describe('the opticmem/openai-agents entry point', () => {
  it('resolves through package.json exports and loads neither the framework nor a native module', () => {
    const blocked = ['@openai/agents', '@napi-rs/canvas', 'onnxruntime-node', '@lancedb/lancedb'];
    const result = importWithBlocked('opticmem/openai-agents', blocked, '@openai/agents');
    expect(result.probeBlocked).toBe(true);
    expect(result.names).toEqual(['OpticMemSession']);
  });
});
