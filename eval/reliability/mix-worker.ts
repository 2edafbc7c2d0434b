/**
 * A worker of the concurrency campaign (concurrency.ts): adds its messages one at a time with
 * background compaction, and between adds recalls (counting rehearsals), builds a context and
 * ages the store 400 days ahead, while other workers do the same on the same store. Prints one
 * JSON line: the errors it met (message and class).
 * Usage: node --import tsx eval/reliability/mix-worker.ts <db> <job.json>
 *   job: { userId, worker, messages: [{ id, role, content }], everyMessages }
 */
import { readFile } from 'node:fs/promises';
import { Memory } from '../../memory/memory.js';

const [db, jobFile] = process.argv.slice(2);
if (!db || !jobFile) {
  process.stderr.write('usage: mix-worker.ts <db> <job.json>\n');
  process.exit(2);
}
interface Job {
  readonly userId: string;
  readonly worker: number;
  readonly messages: readonly { id: string; role: 'user' | 'assistant'; content: string }[];
  /** Recall, context and ageing after every this many messages. */
  readonly everyMessages: number;
}
const job = JSON.parse(await readFile(jobFile, 'utf8')) as Job;
const DAY = 86_400_000;
const errors: string[] = [];
const attempt = async (what: string, fn: () => Promise<unknown>) => {
  try {
    await fn();
  } catch (error) {
    errors.push(`${what}: ${(error as Error).name}: ${(error as Error).message}`.slice(0, 400));
  }
};
// The memory's clock runs 400 days ahead while it ages, as a process would whose clock reached
// that day: concurrent workers' clocks then differ by moments, as they do in production.
let offset = 0;
const memory = await Memory.open({ path: db, profile: 'deepseek-ocr:tiny', tiers: { hotBudgetTokens: 300 }, now: () => Date.now() + offset });
const scope = { userId: job.userId };
try {
  for (const [i, m] of job.messages.entries()) {
    await attempt('add', () => memory.add([m], scope));
    if ((i + 1) % job.everyMessages !== 0) continue;
    const query = `island ${(i + job.worker) % 7} ferry`;
    await attempt('recall', () => memory.recall(query, { scope, k: 3 }));
    await attempt('context', () => memory.buildContext({ scope, budgetTokens: 800, query }));
    offset = 400 * DAY;
    await attempt('age', () => memory.age({ scope, strategy: i % 2 ? 'rerender' : 'downsample' }));
    offset = 0;
  }
  await attempt('flush', async () => {
    const r = await memory.flush();
    errors.push(...r.errors.map((e) => `flush: ${e.name}: ${e.message}`.slice(0, 400)));
  });
} finally {
  await memory.close();
}
process.stdout.write(`${JSON.stringify({ errors })}\n`);
