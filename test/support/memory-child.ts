/**
 * A separate process that drives a Memory on a store folder, for crash and concurrency tests.
 * argv: <mode> <dbPath> <userId> [count] [stopAt]
 *   crash-compact: add turns, then compact; at progress phase <stopAt> ('pages-committed' by
 *                  default, or 'rendering': after the first page is rendered) print the phase
 *                  and hang, so the parent's SIGKILL lands there.
 *   add:           add <count> turns one by one with automatic compaction; print the ids.
 */
import { Memory } from '../../memory/memory.js';

const [mode, path, userId, countArg, stopAt = 'pages-committed'] = process.argv.slice(2);
const count = Number(countArg ?? 20);
const tiers = { hotBudgetTokens: 120 };
const profile = 'deepseek-ocr:small';

function sentence(i: number): string {
  return `Turn ${i} from ${userId}: the ferry to island ${i % 7} leaves at ${8 + (i % 10)}:30 and costs ${10 + i} euros.`;
}

if (mode === 'crash-compact') {
  const memory = await Memory.open({ path: path!, tiers, profile, autoCompact: false });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(...(await memory.add({ role: i % 2 ? 'assistant' : 'user', content: sentence(i) }, { userId: userId! })).turnIds);
  process.stdout.write(`ids ${JSON.stringify(ids)}\n`);
  await memory.compact({ userId: userId! }, {
    onProgress(e) {
      process.stdout.write(e.phase === 'rendering' ? `rendering ${e.pages}\n` : `${e.phase}\n`);
      if (e.phase === stopAt) {
        // Hang here so the parent's SIGKILL lands in this phase.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
      }
    },
  });
  process.stdout.write('finished\n');
} else if (mode === 'add') {
  const memory = await Memory.open({ path: path!, tiers, profile });
  for (let i = 0; i < count; i++) {
    const { turnIds } = await memory.add({ role: i % 2 ? 'assistant' : 'user', content: sentence(i) }, { userId: userId! });
    process.stdout.write(`id ${turnIds[0]}\n`);
  }
  await memory.close();
  process.stdout.write('done\n');
}
