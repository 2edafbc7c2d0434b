/**
 * `npm run eval:context [-- --quick] [--consumers text,gpt-4o] [--out DIR]`: the context benchmark
 * (see context-benchmark.ts). Prints its tables and writes context.md, context.json and a chart.
 * `--consumers` keeps only those consumers' rows (and floor checks), for a quicker look.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Memory } from '../../memory/memory.js';
import { renderBarChart, writeChart } from '../lib/chart.js';
import { markdownTable, printTable } from '../lib/table.js';
import { getProfile } from '../../src/tokens/profiles/index.js';
import { legibilityOf } from '../../src/tokens/legibility.js';
import {
  BUDGET_SHARE, CONSUMERS, contextSample, FLOOR_CONSUMERS, HOT_BUDGET, imagesOf, ingest, K_VALUES, loadLoCoMo, PAGE_PROFILES, questionsOf, recallAt, recallSamples,
  sourceConversations, sourcesAvailable, tempStore, turnBaseline, type ContextSample, type Ingested, type Origins, type RecallSample,
} from './context-benchmark.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, consumers: { type: 'string' } }, strict: true });
const quick = values.quick === true;
const outDir = values.out ?? 'eval/results';
const only = values.consumers ? new Set(values.consumers.split(',').map((c) => c.trim())) : undefined;
const wanted = (consumer: string) => !only || only.has(consumer);
/** Pages a source must give the floor check, and the hot tier that lets short conversations be paged. */
const FLOOR_PAGES = quick ? 4 : 10;
const FLOOR_HOT_BUDGET = 200;
const TARGETS = { text: 0.85, vision: 0.85, deepseek: 0.95 };
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const progress = (line: string) => process.stderr.write(`\r\x1b[2K${line}`);
const wilson = (p: number, n: number): [number, number] => {
  const z = 1.96;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const m = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [(c - m) / d, (c + m) / d];
};

const locomo = await loadLoCoMo();
if (locomo.length === 0) throw new Error('LoCoMo (locomo-dev.json) not found in the data folder; set OPTICMEM_DATA_DIR.');
const conversations = quick ? locomo.slice(0, 2) : locomo;
const samples: ContextSample[] = [];
const recall: RecallSample[] = [];
const started = Date.now();

for (const profile of PAGE_PROFILES) {
  const store = await tempStore();
  const memory = await Memory.open({ path: store.path, profile, autoCompact: false, tiers: { hotBudgetTokens: HOT_BUDGET } });
  try {
    const origins: Origins = { turnDia: new Map(), pageDia: new Map(), turnConv: new Map(), pageConv: new Map() };
    const ingested: Ingested[] = [];
    for (const conv of conversations) {
      progress(`${profile}: compacting ${conv.id}`);
      ingested.push(await ingest(memory, conv, origins));
    }
    for (const ing of ingested) {
      const questions = questionsOf(ing.conv).slice(0, quick ? 15 : undefined);
      for (const consumer of CONSUMERS[profile].filter(wanted)) {
        for (const [i, q] of questions.entries()) {
          progress(`${profile} ${ing.conv.id} ${consumer}: question ${i + 1}/${questions.length}, ${((Date.now() - started) / 60000).toFixed(1)} min`);
          samples.push(await contextSample(memory, profile, consumer, ing, q, origins));
        }
      }
    }
    if (profile === 'deepseek-ocr:base') {
      // Turn-level recall beside page-level, pooled over every conversation, and BM25 over the same turns.
      const rows: { turnId: string; conv: string; text: string }[] = [];
      for (const ing of ingested) {
        const byDia = new Map(ing.conv.turns.map((t) => [t.id ?? '', t]));
        for (const p of (await memory.list(ing.scope)).pages) {
          for (const id of p.turnIds) {
            const t = byDia.get(origins.turnDia.get(id) ?? '');
            if (t && !rows.some((r) => r.turnId === id)) rows.push({ turnId: id, conv: ing.conv.id, text: t.speaker ? `${t.speaker}: ${t.content}` : t.content });
          }
        }
      }
      const baseline = await turnBaseline(store.path, rows);
      try {
        for (const ing of ingested) {
          const questions = questionsOf(ing.conv).slice(0, quick ? 15 : undefined);
          for (const [i, q] of questions.entries()) {
            progress(`turn recall ${ing.conv.id}: ${i + 1}/${questions.length}`);
            recall.push(...(await recallSamples(memory, q, ing.conv.id, origins, baseline)));
          }
        }
      } finally {
        baseline.close();
      }
    }
  } finally {
    await memory.close();
    await store.remove();
  }
}

// Floors on every source: each consumer's context over Base pages of the source.
interface FloorRow { source: string; pages: number; consumer: string; contexts: number; images: number; below: number; minGlyph: number | undefined; ratio: number | undefined }
const floorRows: FloorRow[] = [];
for (const source of FLOOR_CONSUMERS.some(wanted) ? sourcesAvailable() : []) {
  const store = await tempStore();
  // A small hot tier, so short conversations (OASST threads, KdConv dialogues) are paged too.
  const memory = await Memory.open({ path: store.path, autoCompact: false, tiers: { hotBudgetTokens: FLOOR_HOT_BUDGET } });
  try {
    const origins: Origins = { turnDia: new Map(), pageDia: new Map(), turnConv: new Map(), pageConv: new Map() };
    const ingested: Ingested[] = [];
    let pages = 0;
    for (const conv of await sourceConversations(source)) {
      if (pages >= FLOOR_PAGES) break;
      progress(`floors ${source}: compacting ${conv.id}, ${pages} pages`);
      ingested.push(await ingest(memory, conv, origins, 'floors'));
      pages = (await memory.list({ userId: 'floors', sessionId: '*' })).pages.length;
    }
    for (const consumer of FLOOR_CONSUMERS.filter(wanted)) {
      const row: FloorRow = { source, pages, consumer, contexts: 0, images: 0, below: 0, minGlyph: undefined, ratio: undefined };
      let text = 0;
      let tokens = 0;
      for (const ing of ingested) {
        const query = ing.conv.turns.find((t) => t.role === 'user')?.content.slice(0, 200) ?? '';
        for (const budget of [Math.floor(ing.fullTokens * BUDGET_SHARE), ing.fullTokens]) {
          progress(`floors ${source} ${consumer} ${ing.conv.id}`);
          const ctx = await memory.buildContext({ scope: ing.scope, budgetTokens: Math.max(500, budget), consumer, query });
          const imgs = imagesOf(ctx.messages, consumer);
          const floor = memory.legibilityOf(consumer).minGlyphPx;
          row.contexts++;
          row.images += imgs.length;
          row.below += imgs.filter((i) => i.seen < floor - 1e-9).length;
          for (const i of imgs) row.minGlyph = Math.min(row.minGlyph ?? Infinity, i.seen);
          for (const p of ctx.pages.filter((x) => x.as === 'image')) {
            text += p.textTokens;
            tokens += p.tokens;
          }
          text += ctx.recalledTurnTokens.drawn?.text ?? 0;
          tokens += ctx.recalledTurnTokens.drawn?.tokens ?? 0;
        }
      }
      row.ratio = tokens ? text / tokens : undefined;
      floorRows.push(row);
    }
  } finally {
    await memory.close();
    await store.remove();
  }
}
process.stderr.write('\r\x1b[2K');

// ---------------------------------------------------------------- tables
const contextRows = PAGE_PROFILES.flatMap((profile) =>
  CONSUMERS[profile].filter(wanted).map((consumer) => {
    const list = samples.filter((s) => s.profile === profile && s.consumer === consumer);
    const n = list.length;
    const share = list.filter((s) => s.evidenceInContext).length / Math.max(1, n);
    const [lo, hi] = wilson(share, Math.max(1, n));
    const target = consumer === 'text' ? TARGETS.text : consumer.startsWith('deepseek') ? TARGETS.deepseek : TARGETS.vision;
    const imageText = list.reduce((a, s) => a + s.imageText, 0);
    const imageTokens = list.reduce((a, s) => a + s.imageTokens, 0);
    const build = list.map((s) => s.buildMs).sort((a, b) => a - b);
    return {
      profile, consumer, n, share, lo, hi, target,
      usedShare: list.reduce((a, s) => a + s.usedTokens / s.fullTokens, 0) / Math.max(1, n),
      maxShare: Math.max(0, ...list.map((s) => s.usedTokens / s.fullTokens)),
      viaTurns: list.filter((s) => s.evidenceInRecalledTurns).length / Math.max(1, n),
      images: list.reduce((a, s) => a + s.images, 0),
      below: list.reduce((a, s) => a + s.imagesBelowFloor, 0),
      minGlyph: list.some((s) => s.minGlyphPx !== undefined) ? Math.min(...list.flatMap((s) => (s.minGlyphPx === undefined ? [] : [s.minGlyphPx]))) : undefined,
      ratio: imageTokens ? imageText / imageTokens : undefined,
      buildP50: build[Math.floor(build.length / 2)] ?? 0,
      buildP95: build[Math.min(build.length - 1, Math.floor(build.length * 0.95))] ?? 0,
    };
  }),
);
const pageLabel = (p: string) => (p === 'deepseek-ocr:base' ? 'Base' : 'Small');
const contextHeaders = ['pages stored', 'consumer', 'questions', 'used / full (mean)', 'used / full (max)', 'evidence in context', 'via recalled turns', 'images', 'below floor', 'smallest glyph seen', 'real ratio of images', 'build ms p50 / p95', 'target', 'status'];
const contextTable = contextRows.map((r) => [
  pageLabel(r.profile), r.consumer, r.n, pct(r.usedShare), pct(r.maxShare), `${pct(r.share)} (95% CI ${pct(r.lo)}-${pct(r.hi)})`, pct(r.viaTurns), r.images, r.below,
  r.minGlyph === undefined ? '—' : `${r.minGlyph.toFixed(2)} px`, r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}x`, `${r.buildP50.toFixed(0)} / ${r.buildP95.toFixed(0)}`,
  `>= ${pct(r.target)}${r.consumer === 'text' ? '' : ', 0 below floor'}`, r.share >= r.target && r.below === 0 ? 'met' : 'not met',
]);
const recallHeaders = ['retrieval (all conversations pooled, Base pages)', 'questions', ...K_VALUES.map((k) => `recall@${k}`)];
const methods: [RecallSample['method'], string][] = [
  ['turns', 'opticmem `Memory.recallTurns` (turn-level index of decoded pages)'],
  ['pages', 'opticmem `Memory.recall` (page level)'],
  ['bm25-turns', 'plain-text BM25 over the source text of the same turns'],
];
const recallTable = methods.map(([m, label]) => [label, recall.filter((s) => s.method === m).length, ...K_VALUES.map((k) => pct(recallAt(recall, m, k)))]);
const floorHeaders = ['source', 'Base pages', 'consumer', 'floor', 'contexts', 'images', 'below floor', 'smallest glyph seen', 'real ratio of images'];
const floorTable = floorRows.map((r) => [r.source, r.pages, r.consumer, `${legibilityOf(getProfile(r.consumer)).minGlyphPx} px`, r.contexts, r.images, r.below, r.minGlyph === undefined ? '—' : `${r.minGlyph.toFixed(2)} px`, r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}x`]);

for (const [title, headers, rows] of [
  ['Evidence in context at 15% of each conversation', contextHeaders, contextTable],
  ['Turn-level vs page-level recall', recallHeaders, recallTable],
  ['Legibility floors on every source', floorHeaders, floorTable],
] as const) {
  console.log(`\n${title}`);
  printTable(headers, rows);
}

const machine = `${process.arch}, ${cpus().length} CPU cores, Node ${process.version}`;
const md = [
  '# Context every consumer can read',
  '',
  `Command: \`npm run eval:context${quick ? ' -- --quick' : ''}\`. Machine: ${machine}. ${((Date.now() - started) / 60000).toFixed(1)} min.`,
  `Data: LoCoMo (${conversations.length} conversations, every question with evidence${quick ? ', 15 per conversation (quick)' : ''}); floors on ${sourcesAvailable().join(', ')}. Pages: DeepSeek-OCR Base (1024x1024) and Small (640x640) at the lossless tier (10x, verified), hot tier ${HOT_BUDGET} tokens, read by the local reader. Text tokens are o200k.`,
  '',
  '## 1. Evidence in context at 15% of the conversation',
  '',
  `\`Memory.buildContext({ scope, budgetTokens: 15% of the conversation's text tokens, consumer, query: question })\`. "evidence in context": an evidence turn is on an included page, among the recalled turns, or among the kept recent turns. "via recalled turns": among the recalled turns. Images are checked against the consumer's legibility floor from each PNG's own geometry chunk (font size x the consumer's resize), not from what buildContext reports. "real ratio of images": text tokens the images stand for / their visual tokens as the consumer counts them.`,
  '',
  markdownTable(contextHeaders, contextTable),
  '',
  '## 2. Turn-level recall',
  '',
  'Every question with evidence, searched over all conversations at once (`{ userId, sessionId: "*" }`); a hit is a turn (or page) of the question\'s own conversation holding an evidence turn.',
  '',
  markdownTable(recallHeaders, recallTable),
  '',
  '![Evidence in context](context-evidence.png)',
  '',
  '## 3. Legibility floors on every source',
  '',
  `Base pages of each source (conversations taken in order until at least ${FLOOR_PAGES} pages, with a ${FLOOR_HOT_BUDGET}-token hot tier so short threads are paged), contexts at 15% and at 100% of each conversation's text (at least 500 tokens), queried with the conversation's first user turn, for each consumer; every image's smallest glyph as the consumer sees it, read from the PNG.`,
  '',
  markdownTable(floorHeaders, floorTable),
  '',
].join('\n');
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'context.md'), md);
await writeFile(join(outDir, 'context.json'), JSON.stringify({ machine, quick, contextRows, recall: methods.map(([m]) => ({ method: m, ...Object.fromEntries(K_VALUES.map((k) => [`recall@${k}`, recallAt(recall, m, k)])) })), floorRows }, null, 2));
await writeChart(
  join(outDir, 'context-evidence.png'),
  await renderBarChart({
    title: 'Evidence in context at 15% of the conversation (LoCoMo)',
    yLabel: 'questions with evidence in context',
    categories: contextRows.map((r) => `${pageLabel(r.profile)}: ${r.consumer}`),
    series: [{ name: 'evidence in context', values: contextRows.map((r) => r.share) }],
    yDomain: [0, 1],
  }),
);
console.log(`Wrote ${join(outDir, 'context.md')}`);
