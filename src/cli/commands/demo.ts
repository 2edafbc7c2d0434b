/**
 * `opticmem demo`: the whole story offline. A shipped conversation is rendered at the lossless
 * (10x) and forgetting (20x) tiers and read back on the CPU; then it goes into a LanceDB store
 * where older turns become pages, a question is recalled, a context is built for a vision model,
 * and simulated months make the pages fade down the forgetting ladder.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DAY_MS } from '../../../memory/ageing.js';
import { Memory } from '../../../memory/memory.js';
import { labelFor } from '../../../renderers/text-layout.js';
import { decode, encode } from '../../codec/codec.js';
import { fidelity } from '../../codec/fidelity.js';
import { createLocalDecoder } from '../../decoders/local-decoder.js';
import { packageRoot } from '../../internal/package-root.js';
import { createO200kTokenizer } from '../../tokens/text-tokenizer.js';
import { parseChat } from '../read-chat.js';
import { pct, printJson, printTable, progressBar } from '../output.js';

export interface DemoOptions {
  out: string;
  profile: string;
  json?: boolean;
}

export const DEMO_CONVERSATION = 'examples/data/demo-conversation.json';
export const DEMO_QUESTION = 'How much does the apartment in Campo de Ourique cost per night?';
/** Memory pages start in Base mode so that ageing can walk them down to Small and Tiny. */
const MEMORY_PROFILE = 'deepseek-ocr:base';

interface TierRow {
  stage: string;
  pages: number;
  textTokens: number;
  visualTokens: number;
  ratio: number;
  saved: number;
  fidelity: number | undefined;
  decodeSeconds: number | undefined;
}

/** The sentence of `text` that shares most words with `query`, for a short recall excerpt. */
function excerpt(text: string, query: string): string {
  const wordsOf = (s: string) => new Set((s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 3).map((w) => w.replace(/s$/, '')));
  const words = wordsOf(query);
  const sentences = text.replace(/\s+/g, ' ').split(/(?<=[.!?])\s+/).filter((s) => s.trim());
  let best = sentences[0] ?? '';
  let bestScore = -1;
  for (const s of sentences) {
    const score = [...wordsOf(s)].filter((w) => words.has(w)).length;
    if (score > bestScore) [best, bestScore] = [s, score];
  }
  return best.length > 160 ? `${best.slice(0, 157)}...` : best.trim();
}

export async function demoCommand(options: DemoOptions): Promise<number> {
  const started = performance.now();
  const outDir = resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const turns = parseChat(await readFile(join(packageRoot(), DEMO_CONVERSATION), 'utf8'));
  const tokenizer = createO200kTokenizer();
  const fullTokens = turns.reduce((a, t) => a + tokenizer.count(t.content), 0);
  const decoder = createLocalDecoder();
  const log = (s = '') => {
    if (!options.json) process.stdout.write(s + '\n');
  };
  const rows: TierRow[] = [];
  const story: Record<string, unknown> = {};
  log(`opticmem demo: ${turns.length} turns (${fullTokens.toLocaleString('en-US')} text tokens) from ${DEMO_CONVERSATION}, profile ${options.profile}`);
  log(`files in ${outDir}\n`);
  try {
    // 1. The codec alone: render at both tiers, decode every page, compare with the source.
    log('1. Render and read back');
    for (const [tier, ratio] of [['lossless', 10], ['forgetting', 20]] as const) {
      const pages = await encode(turns, { ratio, profile: options.profile, tokenizer });
      const bar = progressBar(`decode ${tier}`, pages.length, !options.json && process.stderr.isTTY === true);
      let decodedText = '';
      let sourceText = '';
      let decodeMs = 0;
      for (const [i, page] of pages.entries()) {
        const path = join(outDir, `${tier}-${ratio}x-page-${i + 1}.png`);
        await writeFile(path, page.png);
        const t0 = performance.now();
        const d = await decode(page.png, { decoder, geometry: page.geometry });
        decodeMs += performance.now() - t0;
        decodedText += d.text + '\n';
        sourceText += page.sourceText + '\n';
        bar.tick();
        log(`   ${path}  ${page.geometry.width}x${page.geometry.height}  ${page.textTokens} text tok -> ${page.visualTokens} visual tok (${page.ratio.toFixed(1)}x)`);
      }
      bar.stop();
      const textTokens = pages.reduce((a, p) => a + p.textTokens, 0);
      const visualTokens = pages.reduce((a, p) => a + p.visualTokens, 0);
      rows.push({
        stage: `render ${tier} (${ratio}x)`,
        pages: pages.length,
        textTokens,
        visualTokens,
        ratio: textTokens / visualTokens,
        saved: 1 - visualTokens / textTokens,
        fidelity: fidelity(decodedText, sourceText),
        decodeSeconds: decodeMs / 1000,
      });
    }

    // 2. Memory: the same conversation in a store; everything past a small hot budget becomes pages.
    const storeDir = join(outDir, 'store');
    await rm(storeDir, { recursive: true, force: true }); // a fresh store on every run, never duplicates
    let clock = Date.UTC(2026, 4, 10, 9, 0);
    const memory = await Memory.open({ path: storeDir, profile: MEMORY_PROFILE, decoder, tokenizer, tiers: { hotBudgetTokens: 400 }, autoCompact: false, now: () => clock, forgetting: { curve: 'fsrs' } });
    try {
      const scope = { userId: 'maya', sessionId: 'portugal-trip' };
      log(`\n2. Store and compact (LanceDB at ${storeDir}, ${MEMORY_PROFILE} pages, hot budget 400 tokens)`);
      await memory.add(turns.map((t, i) => ({ role: t.role as 'user' | 'assistant', content: t.content, createdAt: clock - (turns.length - i) * 600_000 })), scope);
      const showBar = !options.json && process.stderr.isTTY === true;
      const bar = progressBar('compact', Math.ceil(Math.max(0, fullTokens - 400) / (memory.tiers.lossless.ratio * 256)), showBar);
      const compacted = await memory.compact(scope, { onProgress: (e) => e.phase === 'rendering' && bar.tick() });
      bar.stop();
      const listed = await memory.list(scope);
      const compactedTurns = turns.slice(0, compacted.turnsCompacted);
      const sourceOfPages = compactedTurns.map((t) => `${labelFor(t)} ${t.content}`).join('\n');
      const pagesText = listed.pages.map((p) => p.decodedText).join('\n');
      const lossless = fidelity(pagesText, sourceOfPages);
      log(`   ${compacted.turnsCompacted} turns (${compacted.textTokens} tokens) -> ${compacted.pagesWritten} page(s), ${compacted.visualTokens} visual tokens, verified at ${pct(lossless)}; ${listed.turns.length} turns stay as text`);
      rows.push({
        stage: 'memory pages (10x, verified)',
        pages: compacted.pagesWritten,
        textTokens: compacted.textTokens,
        visualTokens: compacted.visualTokens,
        ratio: compacted.textTokens / compacted.visualTokens,
        saved: 1 - compacted.visualTokens / compacted.textTokens,
        fidelity: lossless,
        decodeSeconds: undefined,
      });

      // 3. Recall: full-text search over the decoded pages, scoped to this user.
      log(`\n3. Recall: "${DEMO_QUESTION}"`);
      const hits = await memory.recall(DEMO_QUESTION, { scope, k: 1, as: 'text' });
      const hit = hits[0];
      if (hit) log(`   page ${hit.pageId.slice(0, 8)} (${hit.tier}, score ${hit.score.toFixed(2)}): "${excerpt(hit.text ?? '', DEMO_QUESTION)}"`);
      else log('   no page matched');
      story.recall = { question: DEMO_QUESTION, pageId: hit?.pageId, excerpt: hit ? excerpt(hit.text ?? '', DEMO_QUESTION) : undefined };

      // 4. Context for the next call to a vision model: pages go in as images.
      const ctx = await memory.buildContext({ scope, budgetTokens: 2000, consumer: 'gpt-4o', query: DEMO_QUESTION });
      log(`\n4. Context for gpt-4o within 2,000 tokens: ${ctx.pages.length} page image(s) + ${ctx.turns} recent turns = ${ctx.usedTokens} tokens for ${ctx.representedTokens} tokens of history (${ctx.savedTokens} saved)`);
      story.context = { consumer: 'gpt-4o', usedTokens: ctx.usedTokens, representedTokens: ctx.representedTokens, savedTokens: ctx.savedTokens };

      // 5. Forgetting: the simulated clock moves on; pages fade down the ladder or drop.
      log('\n5. Ageing with the FSRS-style power curve (simulated clock, images downsampled)');
      const ageing: Record<string, unknown>[] = [];
      const lastTurnAt = clock;
      for (const days of [30, 90, 365]) {
        clock = lastTurnAt + days * DAY_MS;
        const result = await memory.age({ now: clock, strategy: 'downsample' });
        const now = await memory.list(scope);
        const visual = now.pages.reduce((a, p) => a + p.visualTokens, 0);
        const moves = result.moved.map((m) => `${m.from} -> ${m.to} (${m.visualTokensBefore} -> ${m.visualTokensAfter} visual tokens)`);
        const drops = result.dropped.length ? [`${result.dropped.length} page(s) dropped`] : [];
        // Ageing reads each faded page back; its fidelity is carried from the source through every step.
        const faded = now.pages.length ? now.pages.reduce((a, p) => a + p.fidelity * p.textTokens, 0) / now.pages.reduce((a, p) => a + p.textTokens, 0) : undefined;
        log(`   day ${days}: ${[...moves, ...drops].join(', ') || 'no change'}; ${visual} visual tokens held${faded === undefined ? '' : `, reads back ${pct(faded)}`}`);
        const first = now.pages[0] ? await memory.get(now.pages[0].id, scope) : undefined;
        if (first && result.moved.length > 0) {
          const path = join(outDir, `aged-day-${days}-page-1.png`);
          await writeFile(path, first.png);
          log(`   ${path}  ${first.width}x${first.height}`);
        }
        rows.push({
          stage: `memory, day ${days} (${[...new Set(now.pages.map((p) => p.tier))].join(', ') || 'dropped'})`,
          pages: now.pages.length,
          textTokens: compacted.textTokens,
          visualTokens: visual,
          ratio: visual ? compacted.textTokens / visual : Number.POSITIVE_INFINITY,
          saved: 1 - visual / compacted.textTokens,
          fidelity: faded,
          decodeSeconds: undefined,
        });
        ageing.push({ days, moved: moves, dropped: drops, pages: now.pages.length, visualTokens: visual, fidelity: faded });
      }
      const tombstones = await memory.store.listTombstones(scope);
      if (tombstones.length) log(`   tombstones kept: ${tombstones.map((t) => `${t.turnCount} turns from ${new Date(t.startTime).toISOString().slice(0, 10)} (${t.reason})`).join('; ')}`);
      story.ageing = ageing;
    } finally {
      await memory.close();
    }
  } finally {
    await decoder.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (options.json) printJson({ outDir, fullTokens, rows, ...story, seconds });
  else {
    log('');
    printTable(
      ['stage', 'pages', 'text tok', 'visual tok', 'ratio', 'tokens saved', 'fidelity', 'decode s'],
      rows.map((r) => [r.stage, r.pages, r.textTokens, r.visualTokens, `${r.ratio.toFixed(1)}x`, pct(r.saved), pct(r.fidelity, 2), r.decodeSeconds === undefined ? '-' : r.decodeSeconds.toFixed(1)]),
    );
    log(`\ndone in ${seconds.toFixed(0)} s`);
  }
  return 0;
}
