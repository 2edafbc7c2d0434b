/**
 * A writer for the crash campaign (crash.ts): adds a chat log's messages one at a time through
 * the Memory API with background compaction, then closes (which waits for it). Messages carry
 * ids, so running it again after a kill stores nothing twice.
 * Usage: node --import tsx eval/reliability/add-worker.ts <db> <chat.jsonl>
 */
import { readFile } from 'node:fs/promises';
import { Memory } from '../../memory/memory.js';

const [db, log] = process.argv.slice(2);
if (!db || !log) {
  process.stderr.write('usage: add-worker.ts <db> <chat.jsonl>\n');
  process.exit(2);
}
const messages = (await readFile(log, 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { id: string; role: 'user' | 'assistant'; content: string });
const memory = await Memory.open({ path: db, profile: 'deepseek-ocr:tiny', tiers: { hotBudgetTokens: 300 } });
try {
  for (const m of messages) await memory.add([m], { userId: 'u' });
} finally {
  await memory.close();
}
