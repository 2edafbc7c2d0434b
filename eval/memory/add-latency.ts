/**
 * Memory.add latency and compaction throughput as a user meets them: each LoCoMo conversation
 * is added turn by turn to a fresh local store with the default reader and tiers (2,000 hot
 * tokens, 10x lossless pages verified by reading them back), timing every add, once with the
 * default background compaction (pages drawn and read on a worker thread while adds go on) and
 * once with `compaction: 'inline'` (the adds that overflow the hot tier wait for their pages),
 * side by side. Then bulk compaction, as `opticmem compress` and the
 * memory benchmark run it: every conversation in one `add` (autoCompact off), then `compact`
 * per conversation, on Base and Small pages; compacted tokens per second over add + compact,
 * and 1M tokens extrapolated. Prints tables and writes eval/results/add-latency.md.
 *
 * `npm run eval:add [N]`: N conversations turn by turn (default 3); bulk uses them all.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory } from '../../memory/memory.js';
import { createO200kTokenizer } from '../../src/tokens/text-tokenizer.js';
import { loadDataset } from '../lib/datasets.js';
import { markdownTable } from '../lib/table.js';

const conversations = Number(process.argv[2] ?? 3);
const tokenizer = createO200kTokenizer();
const rows: string[][] = [];
let compactedTokens = 0;
let compactMs = 0;

/** Every turn of `conv` added one at a time to a fresh store compacting as `mode` says: each add's ms, and the pages written. */
async function addTurnByTurn(conv: { id: string; turns: readonly { role: string; content: string }[] }, mode: 'background' | 'inline') {
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-add-'));
  const memory = await Memory.open({ path: dir, compaction: mode });
  const times: number[] = [];
  let tokens = 0;
  let pages = 0;
  for (const t of conv.turns) {
    if (!t.content.trim()) continue;
    const t0 = performance.now();
    const r = await memory.add([{ role: t.role === 'assistant' ? 'assistant' : 'user', content: t.content }], { userId: conv.id });
    const ms = performance.now() - t0;
    times.push(ms);
    tokens += tokenizer.count(t.content);
    if (r.compacted && r.compacted.pagesWritten > 0) {
      pages += r.compacted.pagesWritten;
      compactedTokens += r.compacted.textTokens;
      compactMs += ms;
    }
  }
  // Background pages are counted once the queue has drawn them (not timed: no add waits for it).
  if (mode === 'background') pages += (await memory.flush()).pagesWritten;
  await memory.close();
  await rm(dir, { recursive: true, force: true });
  return { times, tokens, pages };
}

const quantile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
for (const mode of ['background', 'inline'] as const) {
  const all: number[] = [];
  for (const conv of (await loadDataset('locomo')).slice(0, conversations)) {
    const { times, tokens, pages } = await addTurnByTurn(conv, mode);
    const sorted = [...times].sort((a, b) => a - b);
    rows.push([mode, conv.id, String(times.length), String(tokens), String(pages), quantile(sorted, 0.5).toFixed(0), quantile(sorted, 0.99).toFixed(0), sorted[sorted.length - 1]!.toFixed(0)]);
    all.push(...times);
    process.stderr.write(`${mode} ${conv.id}: ${times.length} adds, p99 ${quantile(sorted, 0.99).toFixed(0)} ms\n`);
  }
  const sorted = all.sort((a, b) => a - b);
  rows.push([mode, 'all', String(sorted.length), '', '', quantile(sorted, 0.5).toFixed(0), quantile(sorted, 0.99).toFixed(0), sorted[sorted.length - 1]!.toFixed(0)]);
}
// Bulk: add + compact, every conversation, per page size.
const bulkRows: string[][] = [];
const bulk: { profile: string; tokPerS: number }[] = [];
const everything = await loadDataset('locomo');
for (const profile of ['deepseek-ocr:base', 'deepseek-ocr:small']) {
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-bulk-'));
  const memory = await Memory.open({ path: dir, autoCompact: false, profile });
  let tokens = 0;
  let pages = 0;
  const t0 = performance.now();
  for (const conv of everything) {
    const messages = conv.turns.filter((t) => t.content.trim()).map((t) => ({ role: t.role === 'assistant' ? ('assistant' as const) : ('user' as const), content: t.content }));
    await memory.add(messages, { userId: 'locomo', sessionId: conv.id });
    const r = await memory.compact({ userId: 'locomo', sessionId: conv.id });
    tokens += r.textTokens;
    pages += r.pagesWritten;
  }
  const seconds = (performance.now() - t0) / 1000;
  await memory.close();
  await rm(dir, { recursive: true, force: true });
  bulk.push({ profile, tokPerS: tokens / seconds });
  bulkRows.push([profile, String(everything.length), String(tokens), String(pages), seconds.toFixed(1), (tokens / seconds).toFixed(0), (1e6 / (tokens / seconds) / 60).toFixed(2)]);
  process.stderr.write(`bulk ${profile}: ${tokens} tokens, ${pages} pages in ${seconds.toFixed(1)} s\n`);
}

const md = [
  '# Memory.add latency (LoCoMo, turn by turn)',
  '',
  'Command: `npm run eval:add`. Default reader and tiers. `background` (the default): adds that overflow the hot tier queue their scope, and pages are drawn and verified on a worker thread while adds go on. `inline`: those adds wait for compaction (render, verify by reading back, commit).',
  '',
  markdownTable(['compaction', 'conversation', 'adds', 'text tokens', 'pages', 'p50 ms', 'p99 ms', 'max ms'], rows),
  '',
  `Compaction inside those adds: ${compactedTokens} text tokens in ${(compactMs / 1000).toFixed(1)} s = ${(compactedTokens / Math.max(1e-9, compactMs / 1000)).toFixed(0)} tokens/s; 1M tokens at that rate: ${(1e6 / Math.max(1, compactedTokens / (compactMs / 1000)) / 60).toFixed(1)} min. (Inline adds only; inline compaction pages about one hot tier at a time, so each commit carries one or two pages.)`,
  '',
  '## Bulk compaction (add + compact, every LoCoMo conversation)',
  '',
  'Each page size gets a fresh local store; each conversation goes in with one `Memory.add` (autoCompact off) and is then compacted: plan, render, verify by reading back (re-planning any page under 98%), commit. Throughput counts compacted tokens over add + compact wall time, the reader loaded on first use.',
  '',
  markdownTable(['pages', 'conversations', 'compacted tokens', 'pages written', 'add + compact s', 'compacted tok/s', 'min per 1M tokens'], bulkRows),
  '',
].join('\n');
await mkdir('eval/results', { recursive: true });
await writeFile('eval/results/add-latency.md', md);
process.stdout.write(md);
