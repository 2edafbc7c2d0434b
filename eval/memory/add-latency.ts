/**
 * Memory.add latency and compaction throughput as a user meets them: each LoCoMo conversation
 * is added turn by turn to a fresh local store with the default reader and tiers (2,000 hot
 * tokens, 10x lossless pages verified by reading them back), timing every add; the adds that
 * overflow the hot tier compact inline. Prints a table and writes eval/results/add-latency.md.
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
const all: number[] = [];
let compactedTokens = 0;
let compactMs = 0;
for (const conv of (await loadDataset('locomo')).slice(0, conversations)) {
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-add-'));
  const memory = await Memory.open({ path: dir });
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
  await memory.close();
  await rm(dir, { recursive: true, force: true });
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  rows.push([conv.id, String(times.length), String(tokens), String(pages), q(0.5).toFixed(0), q(0.99).toFixed(0), sorted[sorted.length - 1]!.toFixed(0)]);
  all.push(...times);
  process.stderr.write(`${conv.id}: ${times.length} adds, p99 ${q(0.99).toFixed(0)} ms\n`);
}
const sorted = all.sort((a, b) => a - b);
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
rows.push(['all', String(sorted.length), '', '', q(0.5).toFixed(0), q(0.99).toFixed(0), sorted[sorted.length - 1]!.toFixed(0)]);
const md = [
  '# Memory.add latency (LoCoMo, turn by turn)',
  '',
  'Command: `npm run eval:add`. Default reader and tiers; adds that overflow the hot tier compact inline (render, verify by reading back, commit).',
  '',
  markdownTable(['conversation', 'adds', 'text tokens', 'pages', 'p50 ms', 'p99 ms', 'max ms'], rows),
  '',
  `Compaction inside those adds: ${compactedTokens} text tokens in ${(compactMs / 1000).toFixed(1)} s = ${(compactedTokens / Math.max(1e-9, compactMs / 1000)).toFixed(0)} tokens/s; 1M tokens at that rate: ${(1e6 / Math.max(1, compactedTokens / (compactMs / 1000)) / 60).toFixed(1)} min.`,
  '',
].join('\n');
await mkdir('eval/results', { recursive: true });
await writeFile('eval/results/add-latency.md', md);
process.stdout.write(md);
