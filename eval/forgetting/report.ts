/**
 * Tables, charts and a written summary of a forgetting-experiment run, all derived from the
 * measured snapshots: `<name>.md`, `<name>.json` and three PNG charts (rows from
 * report-rows.ts, the summary from report-summary.ts, charts from report-charts.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { compactionProfile } from '../../memory/forgetting-policy.js';
import { DEEPSEEK_MODE_LADDER, RATIO_LADDER, type Ladder } from '../../memory/ladder.js';
import { getRetentionCurve } from '../../memory/retention.js';
import { TiersSchema } from '../../memory/tiers.js';
import { getProfile } from '../../src/tokens/profiles/index.js';
import { formatNumber, markdownTable } from '../lib/table.js';
import type { ForgettingResults } from './results.js';
import { ladderOf } from './policies.js';
import { type CheckpointRow, LADDERS, TIER_ORDER, bucketRows, byCanvas, checkpointRows, mode, qaConversations, recencyCurve, recencyRows, strategyRows } from './report-rows.js';
import { cap, conversationsText, dayLabel, int, label, pct, qaText, ratioText, strengthText, summaryParagraph } from './report-summary.js';
import { recallChart, retentionChart, tokensChart } from './report-charts.js';

export interface ForgettingReport {
  readonly markdown: string;
  readonly json: unknown;
  readonly files: readonly string[];
}

function ladderText(ladder: Ladder, profile: string): string {
  // A mode ladder's first step is planned on its costlier canvases only (see compactionProfile).
  const first = compactionProfile(ladder, getProfile(profile));
  return (
    ladder.steps
      .map((x, i) => {
        if (x.ratio !== undefined) return `${x.name} (${x.ratio}x, R ≥ ${x.minRetention})`;
        const p = i === 0 ? first : getProfile(x.profile!);
        const tokens = p.sizes().map((size) => p.tokensFor(size.width, size.height));
        const least = Math.min(...tokens);
        return `${x.name} (${least}${Math.max(...tokens) > least ? '+' : ''} tokens, R ≥ ${x.minRetention})`;
      })
      .join(' → ') + ' → dropped'
  );
}

export async function writeForgettingReport(r: ForgettingResults, options: { outDir: string; name: string }): Promise<ForgettingReport> {
  await mkdir(options.outDir, { recursive: true });
  const rows = checkpointRows(r);
  const pooled = bucketRows(r);
  const recency = recencyRows(r);
  const curve = recencyCurve(r);
  const strategies = strategyRows(r);
  const s = r.settings;
  const hasQa = rows.some((x) => x.questions > 0);
  const last = s.checkpointDays.at(-1)!;
  const ladders = [...new Set(s.policies.map(ladderOf))];
  const all = conversationsText(r.conversations.map((c) => c.id));
  const qa = qaText(qaConversations(r), r.conversations.length);
  const files = [`${options.name}.md`, `${options.name}.json`, `${options.name}-retention.png`, `${options.name}-tokens.png`, `${options.name}-recall-vs-tokens.png`];

  const tierText = (row: CheckpointRow) =>
    TIER_ORDER.filter((t) => row.tiers[t]).map((t) => (t === 'dropped' ? `dropped ${row.tiers[t]}` : `${t} ${row.tiers[t]} (${ratioText(row.tierRatios[t]!)})`)).join(' · ');
  const checkpointTable = markdownTable(
    [
      'policy',
      'after last session',
      'tokens held',
      'vs unaged',
      'vs no forgetting',
      'pages held',
      'tiers (achieved ratio)',
      'paged ratio',
      'fidelity (held)',
      'readable',
      ...(hasQa ? [`evidence recalled @${s.k}`, 'evidence held', 'tokens (QA conversations)'] : []),
    ],
    rows.map((x) => [
      label(r, x.policy),
      dayLabel(x.days),
      int(x.tokens),
      pct(x.vsUnaged),
      pct(x.vsNoForgetting),
      `${x.pagesHeld}/${x.pagesWritten}`,
      tierText(x),
      ratioText(x.pagedRatio),
      pct(x.fidelityHeld),
      pct(x.retained),
      ...(hasQa ? [pct(x.evidenceRecall), pct(x.evidenceHeld), int(x.tokensQa)] : []),
    ]),
  );
  const recencyTable = markdownTable(
    ['recency truncation matched to', 'N (text tokens, mean)', 'tokens kept', 'evidence recalled', 'that policy: tokens', 'that policy: evidence recalled', 'questions'],
    recency.map((x) => [label(r, x.matchedTo), int(x.budget), int(x.tokens), pct(x.evidenceRecall), int(x.policyTokens), pct(x.policyEvidenceRecall), x.questions]),
  );
  const strategyTable = markdownTable(
    ['policy', 'current canvas', 'page observations', 'fidelity', 'achieved ratio'],
    strategies.map((x) => [label(r, x.policy), x.profile === 'all' ? 'all smaller than written' : cap(mode(x.profile)), x.observations, pct(x.fidelity), ratioText(x.ratio)]),
  );
  const bucketTable = markdownTable(
    ['policy', 'page age', 'observations', 'held', 'smaller than written', 'mean age (days)', 'achieved ratio (held)', 'fidelity (held)', 'readable', 'fresh decodes', 'fresh fidelity', 'fresh = stored'],
    pooled.map((b) => [
      label(r, b.policy),
      b.bucket,
      b.observations,
      b.held,
      b.shrunk,
      formatNumber(b.meanAgeDays, { digits: 1 }),
      ratioText(b.ratioHeld),
      pct(b.fidelityHeld),
      pct(b.retained),
      b.sampled,
      pct(b.sampledFidelity),
      b.sampled ? `${b.sampledAgree}/${b.sampled}` : '—',
    ]),
  );
  const stepsTable = markdownTable(
    ['policy', 'step', 'canvas', 'made by', 'moves', 'mean achieved ratio after'],
    r.activity.flatMap((a) =>
      [...a.steps]
        .sort((x, y) => TIER_ORDER.indexOf(x.to) - TIER_ORDER.indexOf(y.to) || TIER_ORDER.indexOf(x.from) - TIER_ORDER.indexOf(y.from) || x.strategy.localeCompare(y.strategy))
        .map((t) => [
          label(r, a.policy),
          `${t.from} → ${t.to}`,
          t.profileBefore === t.profileAfter ? `${cap(mode(t.profileBefore))} (kept)` : `${cap(mode(t.profileBefore))} → ${cap(mode(t.profileAfter))}`,
          t.strategy === 'kept' ? 'relabel only' : t.strategy,
          t.moves,
          ratioText(t.ratioAfterSum / t.moves),
        ]),
    ),
  );
  const activityTable = markdownTable(
    ['policy', 'ladder moves', 're-encoded smaller', 'relabelled only', 'steps skipped (no smaller canvas)', 're-renders fallen back', 'pages dropped', 'ageing s', 'recalls', 'pages returned', 'mean strength at end (days)', 'mean recalls per held page'],
    r.activity.map((a) => [
      label(r, a.policy),
      a.moves,
      a.shrinks,
      a.moves - a.shrinks,
      a.cannotShrink,
      a.fellBack,
      a.drops,
      formatNumber(a.ageingSeconds, { digits: 1 }),
      a.recalls,
      a.pagesReturned,
      formatNumber(a.meanStrength, { digits: 1 }),
      formatNumber(a.meanRecallCount, { digits: 1 }),
    ]),
  );
  const convTable = markdownTable(
    ['conversation', 'source', 'lang', 'sessions', 'turns', 'text tokens', 'span', 'questions (with evidence)'],
    r.conversations.map((c) => [c.id, c.source, c.lang, c.sessions, c.turns, int(c.textTokens), `${c.firstSession} – ${c.lastSession}`, `${c.questions} (${c.questionsWithEvidence})`]),
  );
  const compactionTable = markdownTable(
    ['conversation', 'ladder', 'pages', 'page ratio', 'written fidelity', 'compaction s'],
    r.conversations.flatMap((c) =>
      c.compactions.map((x) => [
        c.id,
        LADDERS[x.ladder].name,
        Object.entries(x.profiles).sort(([a], [b]) => byCanvas(a) - byCanvas(b)).map(([p, n]) => `${n} ${cap(mode(p))}`).join(' · ') || '0',
        ratioText(x.pageTextTokens / x.pageVisualTokens),
        pct(x.writtenFidelity),
        formatNumber(x.seconds, { digits: 0 }),
      ]),
    ),
  );
  const fixtureNote = s.fixture
    ? `\n> **Fixture run.** ${s.data.includes('asked for') ? 'The repo fixture was asked for' : 'The shared data folder was missing'}; these numbers come from one small conversation written for the project and are not comparable to a run on LoCoMo and MemoryBank.\n`
    : '';
  const summary = summaryParagraph(r, rows, pooled, recency, strategies);
  const tokensConv = await tokensChart(r, join(options.outDir, `${options.name}-tokens.png`));
  await retentionChart(r, pooled, join(options.outDir, `${options.name}-retention.png`));
  await recallChart(r, rows, join(options.outDir, `${options.name}-recall-vs-tokens.png`));
  const ebb = getRetentionCurve('ebbinghaus');
  const fsrs = getRetentionCurve('fsrs');
  const lossless = TiersSchema.parse({}).lossless;
  const baseProfile = getProfile(s.profile);
  const [baseSize] = baseProfile.sizes();

  const md = [
    `# Forgetting-curve experiment${s.mode === 'quick' ? ' (quick)' : ''}`,
    '',
    `Command: \`npm run eval:forgetting${s.mode === 'quick' ? ' -- --quick' : ''}\`. Machine: ${process.arch}, ${cpus().length} CPU cores, Node ${process.version}. ` +
      `Run time ${formatNumber(r.seconds.total / 60, { digits: 1 })} min (compaction ${int(r.seconds.ingest)} s, ageing ${int(r.seconds.ageing)} s, fresh decodes ${int(r.seconds.samples)} s, questions ${int(r.seconds.questions)} s).`,
    fixtureNote,
    `Data: ${s.data}.`,
    '',
    '## What was run',
    '',
    `- Each conversation is replayed session by session at its own dates into a real \`Memory\` (LanceDB in a temp folder, the canvas renderer, the local PP-OCR ONNX decoder) with an injected clock. ` +
      `The hot tier keeps ${s.hotBudgetTokens} text tokens; when a session ends over that budget, compaction leaves half of it hot, as automatic compaction does, so each batch of older turns is paged at once and pages are not always full. ` +
      `Compaction (closed loop to ${pct(lossless.minFidelity)} fidelity, target ${lossless.ratio}x) is identical for every policy on one ladder, so it runs once per conversation and ladder, and each policy's store replays its ladder's turns and pages.`,
    `- Ratio ladder: ${ladderText(RATIO_LADDER, s.profile)}. Its lossless pages are ${s.profile} (${baseSize!.width}x${baseSize!.height}, ${baseProfile.tokensFor(baseSize!.width, baseSize!.height)} visual tokens). ` +
      'A step re-encodes a page to the DeepSeek-OCR canvas with the fewest tokens that keeps it at or below the step\'s ratio (the smallest canvas below the current one when none does), only relabels a page whose ratio already meets the step, and is skipped (counted) when no smaller canvas exists; the tier labels therefore name the step, and the tables give the ratio each tier actually holds (text tokens / visual tokens held).' +
      (ladders.includes('deepseek-modes')
        ? ` Mode ladder (the DeepSeek-OCR paper's Fig. 13): ${ladderText(DEEPSEEK_MODE_LADDER, s.profile)}; its pages are compacted by a memory opened with \`forgetting: { ladder: 'deepseek-modes' }\`, at Gundam canvases of more than Large's 400 tokens, and every step re-encodes to the next mode.`
        : ''),
    `- Optical policies: no forgetting (pages stay as written); Ebbinghaus R = e^(-t/S) (S starts at ${strengthText(ebb.initialStrength)}, up to +1 day per recall in proportion to the time since the previous one, so massed recalls do not stack) ` +
      `and FSRS-style R = (1 + 19/81 · t/S)^-0.5 (S starts at ${strengthText(fsrs.initialStrength)}, FSRS-4.5 stability update), each with both ageing strategies (downsample the stored image, or re-render the decoded text at the smaller size)` +
      (ladders.includes('deepseek-modes') ? ', and FSRS on the mode ladder.' : '.') +
      ` Policies: ${s.policies.map((p) => p.label).join('; ')}.`,
    `- Ageing runs at every session date (as a periodic job would) and at each checkpoint: ${s.checkpointDays.map(dayLabel).join(', ')} after the last session.`,
    `- Rehearsal: at each checkpoint every question is asked through \`Memory.recall(question, { k: ${s.k} })\`, which strengthens every page it returns and restarts its clock — that is how the curves are meant to be used. ` +
      (s.policies.some((p) => !p.rehearsal) ? 'The "no rehearsal" rows ask the same questions through the store\'s search, which changes nothing. ' : '') +
      'Questions are asked after the checkpoint is measured, so they strengthen pages for the next ageing.',
    `- Evidence recalled: per question, the share of its evidence turns that are in the hot tier (always in context) or on one of the top-${s.k} pages returned (LoCoMo categories 1–4; MemoryBank probes have no evidence ids and are asked only as rehearsal), so it covers ${qa.full} only. Evidence held: the share still in the hot tier or on any held page, whatever search finds.`,
    `- Fidelity: 1 − character edit distance / reference length of a page's current read (the read the decoder made of its current image, stored on the page) against the page's source text; a page cut inside a turn is cut where its verified read at compaction aligns best. Readable = token-weighted fidelity over every page written, dropped pages counting 0. ` +
      `Fresh decodes: ${s.samplesPerBucket} held page per age bucket, policy and checkpoint is decoded again (identical images once) to check the stored read.`,
    `- Vs unaged: tokens held / the tokens of the same pages never aged (hot text plus the pages as compaction wrote them); vs no forgetting: / what no forgetting holds (the ratio ladder's pages).`,
    `- Recency truncation keeps the most recent whole turns up to N text tokens. N is matched per conversation to the tokens (text + visual) a policy holds at the last checkpoint, so both spend the same context budget; the chart sweeps N.`,
    '',
    '## Summary',
    '',
    summary,
    '',
    `## At each checkpoint (tokens: means per conversation over ${all.short}; pages: summed over them${hasQa ? `; evidence: ${qa.short}` : ''})`,
    '',
    checkpointTable,
    '',
    ...(hasQa ? [`## Recency truncation at matched budgets (${dayLabel(last)} after the last session; ${qa.short})`, '', recencyTable, ''] : []),
    `## Downsample vs re-render on pages made smaller (${all.short}, all checkpoints pooled)`,
    '',
    strategies.length ? strategyTable : 'No curve and ladder ran with both strategies.',
    '',
    `## By page age (${all.short}, all checkpoints pooled)`,
    '',
    bucketTable,
    '',
    `## Ladder steps taken (${all.short})`,
    '',
    stepsTable,
    '',
    '## Ladder and rehearsal activity',
    '',
    activityTable,
    '',
    '## Conversations',
    '',
    convTable,
    '',
    compactionTable,
    '',
    '## Charts',
    '',
    `- \`${options.name}-retention.png\`: readable paged text vs page age per policy (${all.short}), with the curves' R(t) for a page never recalled.`,
    `- \`${options.name}-tokens.png\`: tokens held over time${tokensConv ? ` for ${tokensConv}` : ''}, through the sessions and the checkpoints.`,
    `- \`${options.name}-recall-vs-tokens.png\`: evidence recalled vs tokens held at each checkpoint (${qa.short}), against recency truncation over a range of budgets.`,
    '',
  ].join('\n');

  const json = {
    settings: s,
    summary,
    checkpoints: rows,
    buckets: pooled,
    bucketsByCheckpoint: s.checkpointDays.map((days) => ({ days, rows: bucketRows(r, days) })),
    strategies,
    recency: { matched: recency, curve },
    activity: r.activity,
    conversations: r.conversations,
    timeline: r.timeline,
    samples: r.samples,
    seconds: r.seconds,
  };
  await writeFile(join(options.outDir, `${options.name}.md`), md);
  await writeFile(join(options.outDir, `${options.name}.json`), JSON.stringify(json, null, 2) + '\n');
  return { markdown: md, json, files: files.map((f) => join(options.outDir, f)) };
}
