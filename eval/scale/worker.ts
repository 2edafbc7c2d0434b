/**
 * One worker process of the scale benchmark. argv[2] is a file holding a JSON job:
 *   { op: 'compact', location, storageOptions?, items: [{ scope, turns? }], lock }  for each item,
 *       store its turns (if any) in one add, then compact its scope; prints ids and results.
 *   { op: 'add', ... }  add each item's turns one by one with background compaction, then flush
 *       and close; prints the ids and each add's time.
 * Everything it prints is one JSON line on stdout.
 */
import { readFile } from 'node:fs/promises';
import { Memory } from '../../memory/memory.js';
import type { Scope } from '../../memory/store/store.js';

interface Job {
  readonly op: 'compact' | 'add';
  readonly location: string;
  readonly storageOptions?: Record<string, string>;
  readonly items: { readonly scope: Scope; readonly turns?: { role: 'user' | 'assistant'; content: string }[] }[];
  readonly lock: boolean;
  readonly hotBudgetTokens: number;
}

const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Job;
const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(job.location);
const memory = await Memory.open({
  ...(remote ? { uri: job.location, ...(job.storageOptions ? { storageOptions: job.storageOptions } : {}) } : { path: job.location }),
  compactionLock: job.lock,
  tiers: { hotBudgetTokens: job.hotBudgetTokens },
  ...(job.op === 'compact' ? { autoCompact: false } : {}),
});
const started = performance.now();
try {
  const ids: string[] = [];
  if (job.op === 'compact') {
    let tokens = 0;
    let pages = 0;
    for (const item of job.items) {
      if (item.turns?.length) ids.push(...(await memory.add(item.turns, item.scope)).turnIds);
      const result = await memory.compact(item.scope, { all: true });
      tokens += result.textTokens;
      pages += result.pagesWritten;
    }
    process.stdout.write(`${JSON.stringify({ ids, tokens, pages, ms: performance.now() - started })}\n`);
  } else {
    const times: number[] = [];
    for (const item of job.items) {
      for (const t of item.turns ?? []) {
        const t0 = performance.now();
        ids.push(...(await memory.add(t, item.scope)).turnIds);
        times.push(performance.now() - t0);
      }
    }
    const flushed = await memory.flush();
    process.stdout.write(`${JSON.stringify({ ids, times, pages: flushed.pagesWritten, errors: flushed.errors.map((e) => e.message), ms: performance.now() - started })}\n`);
  }
} finally {
  await memory.close();
}
