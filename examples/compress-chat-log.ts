/**
 * Compress a chat log into opticmem pages through the library API, offline: the support thread
 * in `examples/data/support-chat.jsonl` goes into a temporary store, older turns are rendered to
 * page images and checked by decoding them on the CPU, a table compares tokens before and after,
 * and a question is answered by recall.
 *
 *   npx tsx examples/compress-chat-log.ts
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Memory, type ChatMessage } from 'opticmem';

/** A fact this example shows; a false one fails the run (exit code 1). */
function check(ok: boolean, fact: string): void {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${fact}`);
  if (!ok) process.exitCode = 1;
}

const log = await readFile(new URL('./data/support-chat.jsonl', import.meta.url), 'utf8');
const messages = log
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as ChatMessage);

const dir = await mkdtemp(join(tmpdir(), 'opticmem-compress-'));
const scope = { userId: 'customer-3571', sessionId: 'SUP-90417' };
// Pages planned for DeepSeek-OCR Small (640 x 640 = 100 visual tokens); the last 400 text
// tokens stay as plain text.
const memory = await Memory.open({ path: dir, profile: 'deepseek-ocr:small', tiers: { hotBudgetTokens: 400 }, autoCompact: false });

function table(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log([line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n'));
}

try {
  await memory.add(messages, scope);
  const before = (await memory.list(scope)).turns.reduce((a, t) => a + t.textTokens, 0);
  const t0 = performance.now();
  const result = await memory.compact(scope);
  const seconds = (performance.now() - t0) / 1000;

  const { turns, pages } = await memory.list(scope);
  const hot = turns.reduce((a, t) => a + t.textTokens, 0);
  const after = hot + result.visualTokens;
  console.log(`${messages.length} messages, ${result.turnsCompacted} compacted into ${result.pagesWritten} pages in ${seconds.toFixed(1)} s\n`);
  table(
    ['page', 'turns', 'text tok', 'visual tok', 'ratio', 'fidelity'],
    pages
      .sort((a, b) => a.firstSeq - b.firstSeq)
      .map((p, i) => [i + 1, p.turnIds.length, p.textTokens, p.visualTokens, `${p.ratio.toFixed(2)}x`, `${(p.fidelity * 100).toFixed(1)}%`]),
  );
  console.log();
  table(
    ['', 'tokens'],
    [
      ['whole log as text', before],
      ['opticmem: pages (visual)', result.visualTokens],
      ['opticmem: recent turns (text)', hot],
      ['opticmem: total', after],
      ['saved', `${before - after} (${(((before - after) / before) * 100).toFixed(1)}%)`],
      ['mean page fidelity', result.meanFidelity === undefined ? '-' : `${(result.meanFidelity * 100).toFixed(2)}%`],
    ],
  );

  const question = 'derailleur hanger part number';
  const [hit] = await memory.recall(question, { scope, k: 1 });
  const answer = hit?.text?.match(/CH-\d+-[A-Z]+/)?.[0];
  console.log(`\nrecall "${question}": page ${hit?.pageId ?? '-'} -> ${answer ?? 'not found'}\n`);
  check(result.pagesWritten > 0 && after < before, `the log takes fewer tokens as pages plus recent text (${after} vs ${before})`);
  check((result.meanFidelity ?? 0) >= 0.98, 'the pages read back at 98% fidelity or better');
  check(answer !== undefined, 'recall answers the question from a page');
} finally {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
}
