/**
 * An OpenAI Agents JS agent whose session lives in opticmem, offline: a scripted `Model` stands
 * in for the LLM and reports what it was sent. Older turns are compacted into page images the
 * model receives as `input_image` items; tool calls stay intact while they are recent; the
 * history survives closing and reopening the store.
 *
 *   npx tsx examples/openai-agents-session.ts
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, run, setTracingDisabled, tool, Usage, type AgentInputItem, type AgentOutputItem, type Model, type ModelRequest, type ModelResponse } from '@openai/agents';
import { z } from 'zod';
import { Memory } from 'opticmem';
import { OpticMemSession, type OpticMemSessionReport } from 'opticmem/openai-agents';

setTracingDisabled(true); // nothing leaves the machine

/** A fact this example shows; a false one fails the run (exit code 1). */
function check(ok: boolean, fact: string): void {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${fact}`);
  if (!ok) process.exitCode = 1;
}

const conversation = JSON.parse(await readFile(new URL('./data/demo-conversation.json', import.meta.url), 'utf8')) as { role: 'user' | 'assistant'; content: string }[];
const dir = await mkdtemp(join(tmpdir(), 'opticmem-agents-session-'));
const scope = { userId: 'maya', sessionId: 'portugal' };
const memoryOptions = { path: dir, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 500 } };

/** Answers from a script, as a live model would answer; remembers what it was sent. */
class ScriptedModel implements Model {
  lastInput: AgentInputItem[] = [];
  constructor(private readonly script: AgentOutputItem[][]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.lastInput = typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input;
    return { usage: new Usage(), output: this.script.shift() ?? [say('Noted.')] };
  }
  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('This example does not stream.');
  }
}

function say(text: string): AgentOutputItem {
  return { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] };
}

/** "1 message with 3 input_image + 5 items: message, function_call, ..." */
function describeInput(items: AgentInputItem[]): string {
  return items
    .map((item) => {
      const content = 'content' in item && Array.isArray(item.content) ? (item.content as { type: string }[]) : [];
      const images = content.filter((p) => p.type === 'input_image').length;
      return images ? `pages(${images} input_image)` : 'role' in item ? item.role : item.type;
    })
    .join(', ');
}

const questions = conversation.filter((m) => m.role === 'user').map((m) => m.content).slice(0, 5);
const answers = conversation.filter((m) => m.role === 'assistant').map((m) => m.content);
const ferryTimes = tool({
  name: 'ferry_times',
  description: 'First and last ferry across the Tagus on a day',
  parameters: z.object({ day: z.string() }),
  execute: async ({ day }) => `First ferry 06:00, last 01:20 on ${day}.`,
});

let memory = await Memory.open(memoryOptions);
try {
  let report: OpticMemSessionReport | undefined;
  const session = new OpticMemSession({ memory, scope, consumer: 'deepseek-ocr:small', onContext: (r) => (report = r) });
  const model = new ScriptedModel([
    ...answers.slice(0, questions.length).map((a) => [say(a)]),
    [{ type: 'function_call', callId: 'call_ferry', name: 'ferry_times', arguments: '{"day":"17 May"}', status: 'completed' }],
    [say('The ferry to Cacilhas runs from 06:00 to 01:20 on 17 May.')],
  ]);
  const agent = new Agent({ name: 'trip planner', instructions: 'You help families plan trips.', model, tools: [ferryTimes] });

  let sawPages = false;
  let lastReply = '';
  for (const [i, question] of [...questions, 'Can we take a ferry across the river on 17 May?'].entries()) {
    const result = await run(agent, question, { session });
    await memory.flush(); // background compaction, waited for so the scripted run is the same every time
    sawPages ||= describeInput(model.lastInput).includes('input_image');
    lastReply = String(result.finalOutput);
    const r = report!;
    console.log(`run ${i + 1}: the model's last request held [${describeInput(model.lastInput)}]`);
    console.log(`       history: ${r.usedTokens} tokens for ${r.representedTokens} tokens of conversation (${r.savedTokens} saved); reply: ${String(result.finalOutput).replace(/\s+/g, ' ').slice(0, 50)}...`);
  }

  const items = await session.getItems();
  const call = items.find((i) => i.type === 'function_call');
  console.log(`\nrecent items keep tool calls intact: ${JSON.stringify(call)}`);

  await memory.close();
  memory = await Memory.open(memoryOptions);
  const reopened = await new OpticMemSession({ memory, scope }).getItems();
  console.log(`after reopening the store: ${reopened.length} items [${describeInput(reopened)}]\n`);
  check(sawPages, "older turns reached the model as page images (input_image items)");
  check(call !== undefined && lastReply.includes('01:20'), 'the tool call is kept intact and its result reached the answer');
  check(JSON.stringify(reopened) === JSON.stringify(items), 'the session reads back the same items after the store is closed and reopened');
} finally {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
}
