/**
 * Tables, charts and a written summary of a forgetting-experiment run, all derived from the
 * measured snapshots: `<name>.md`, `<name>.json` and three PNG charts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DAY_MS } from '../../memory/ageing.js';
import { RATIO_LADDER } from '../../memory/ladder.js';
import { createEbbinghausCurve, createFsrsCurve } from '../../memory/retention.js';
import { renderLineChart, writeChart, type LineSeries } from '../lib/chart.js';
import { formatNumber, formatPercent, markdownTable } from '../lib/table.js';
import { AGE_BUCKETS, bucketOf, type ForgettingResults, type Snapshot } from './experiment.js';
import { NO_FORGETTING, type OpticalPolicy } from './policies.js';
import { keepMostRecent } from './recency-truncation.js';

/** Percent on y against a log-scaled x, the layout of the two age/tokens charts. */
const PERCENT_VS_LOG_AXES = { yDomain: [0, 100] as const, logX: true, width: 1000, height: 640 };

export interface CheckpointRow {
  readonly policy: string;
  readonly days: number;
  readonly conversations: number;
  /** Means per conversation. */
  readonly tokens: number;
  readonly hotTokens: number;
  readonly visualTokens: number;
  /** tokens / no forgetting's tokens at the same checkpoint. */
  readonly vsNoForgetting: number;
  readonly pagesWritten: number;
  readonly pagesHeld: number;
  readonly tiers: Record<string, number>;
  /** Token-weighted fidelity of the held pages' reads. */
  readonly fidelityHeld: number;
  /** Token-weighted fidelity over every page written, dropped pages counting 0. */
  readonly retained: number;
  readonly questions: number;
  readonly evidenceRecall: number;
  readonly evidenceHeld: number;
  /** Mean tokens per conversation over the conversations that have evidence questions. */
  readonly tokensQa: number;
}

export interface BucketRow {
  readonly policy: string;
  readonly bucket: string;
  /** Page observations (pages x checkpoints) falling in the bucket. */
  readonly observations: number;
  readonly held: number;
  readonly meanAgeDays: number;
  readonly fidelityHeld: number;
  readonly retained: number;
  readonly sampled: number;
  readonly sampledFidelity: number;
  readonly sampledAgree: number;
}

export interface RecencyRow {
  /** The policy whose tokens at the last checkpoint set the budget, per conversation. */
  readonly matchedTo: string;
  readonly budget: number;
  readonly tokens: number;
  readonly evidenceRecall: number;
  readonly policyTokens: number;
  readonly policyEvidenceRecall: number;
  readonly questions: number;
}

export interface ForgettingReport {
  readonly markdown: string;
  readonly json: unknown;
  readonly files: readonly string[];
}

const pct = (v: number) => formatPercent(v, 1);
const int = (v: number) => formatNumber(Number.isFinite(v) ? Math.round(v) : v);
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : Number.NaN);
const dayLabel = (d: number) => (d === 1 ? '1 day' : d === 7 ? '1 week' : d === 30 ? '1 month' : d === 91 ? '3 months' : d === 365 ? '1 year' : `${d} days`);
const shortDay = (d: number) => (d === 1 ? '1d' : d === 7 ? '1w' : d === 30 ? '1mo' : d === 91 ? '3mo' : d === 365 ? '1y' : `${d}d`);

// ---------------------------------------------------------------- aggregation

export function checkpointRows(r: ForgettingResults): CheckpointRow[] {
  const rows: CheckpointRow[] = [];
  for (const policy of r.settings.policies) {
    for (const days of r.settings.checkpointDays) {
      const snaps = r.snapshots.filter((s) => s.policy === policy.id && s.days === days);
      const none = r.snapshots.filter((s) => s.policy === NO_FORGETTING.id && s.days === days);
      const pages = snaps.flatMap((s) => s.pages);
      const held = pages.filter((p) => p.held);
      const tiers: Record<string, number> = {};
      for (const p of pages) tiers[p.tier] = (tiers[p.tier] ?? 0) + 1;
      const questions = sum(snaps.map((s) => s.questions));
      rows.push({
        policy: policy.id,
        days,
        conversations: snaps.length,
        tokens: mean(snaps.map((s) => s.tokens)),
        hotTokens: mean(snaps.map((s) => s.hotTokens)),
        visualTokens: mean(snaps.map((s) => s.visualTokens)),
        vsNoForgetting: sum(snaps.map((s) => s.tokens)) / sum(none.map((s) => s.tokens)),
        pagesWritten: pages.length,
        pagesHeld: held.length,
        tiers,
        fidelityHeld: sum(held.map((p) => p.fidelity * p.textTokens)) / sum(held.map((p) => p.textTokens)),
        retained: sum(pages.map((p) => p.fidelity * p.textTokens)) / sum(pages.map((p) => p.textTokens)),
        questions,
        evidenceRecall: questions ? sum(snaps.map((s) => s.evidenceRecalled)) / questions : Number.NaN,
        evidenceHeld: questions ? sum(snaps.map((s) => s.evidenceHeld)) / questions : Number.NaN,
        tokensQa: mean(snaps.filter((s) => s.questions > 0).map((s) => s.tokens)),
      });
    }
  }
  return rows;
}

export function bucketRows(r: ForgettingResults, days?: number): BucketRow[] {
  const rows: BucketRow[] = [];
  for (const policy of r.settings.policies) {
    const snaps = r.snapshots.filter((s) => s.policy === policy.id && (days === undefined || s.days === days));
    const samples = r.samples.filter((s) => s.policy === policy.id && (days === undefined || s.days === days));
    AGE_BUCKETS.forEach((bucket, b) => {
      const obs = snaps.flatMap((s) => s.pages).filter((p) => bucketOf(p.ageDays) === b);
      if (obs.length === 0) return;
      const held = obs.filter((p) => p.held);
      const sampled = samples.filter((s) => s.bucket === b);
      rows.push({
        policy: policy.id,
        bucket: bucket.label,
        observations: obs.length,
        held: held.length,
        meanAgeDays: sum(obs.map((p) => p.ageDays * p.textTokens)) / sum(obs.map((p) => p.textTokens)),
        fidelityHeld: sum(held.map((p) => p.fidelity * p.textTokens)) / sum(held.map((p) => p.textTokens)),
        retained: sum(obs.map((p) => p.fidelity * p.textTokens)) / sum(obs.map((p) => p.textTokens)),
        sampled: sampled.length,
        sampledFidelity: mean(sampled.map((s) => s.fidelity)),
        sampledAgree: sampled.filter((s) => s.agrees).length,
      });
    });
  }
  return rows;
}

function lastSnapshot(r: ForgettingResults, policy: string, conversation: string): Snapshot | undefined {
  const days = r.settings.checkpointDays.at(-1);
  return r.snapshots.find((s) => s.policy === policy && s.conversation === conversation && s.days === days);
}

/** Recency truncation of every conversation at `budgetOf(conversation)` text tokens. */
function recencyAt(r: ForgettingResults, budgetOf: (conversation: string) => number): { tokens: number; evidenceRecall: number; questions: number; budget: number } {
  let questions = 0;
  let recalled = 0;
  const tokens: number[] = [];
  const budgets: number[] = [];
  // Only conversations with evidence questions, so the budgets and tokens match the recall.
  for (const c of r.recency.filter((x) => x.questions.length > 0)) {
    const budget = budgetOf(c.conversation);
    const kept = keepMostRecent(c.turns, budget);
    tokens.push(kept.tokens);
    budgets.push(budget);
    for (const q of c.questions) {
      questions++;
      recalled += q.evidence.filter((e) => kept.kept.has(e)).length / q.evidence.length;
    }
  }
  return { tokens: mean(tokens), evidenceRecall: questions ? recalled / questions : Number.NaN, questions, budget: mean(budgets) };
}

/** Policies recency truncation is matched to: no forgetting and the rehearsed downsample curves. */
function matchedPolicies(r: ForgettingResults): OpticalPolicy[] {
  return r.settings.policies.filter((p) => p.id === NO_FORGETTING.id || (p.rehearsal && p.strategy === 'downsample'));
}

export function recencyRows(r: ForgettingResults): RecencyRow[] {
  const last = r.settings.checkpointDays.at(-1)!;
  const rows = checkpointRows(r);
  return matchedPolicies(r).map((p) => {
    // N per conversation = what this policy holds for it at the last checkpoint (text + visual).
    const at = recencyAt(r, (c) => lastSnapshot(r, p.id, c)?.tokens ?? 0);
    const row = rows.find((x) => x.policy === p.id && x.days === last)!;
    return { matchedTo: p.id, budget: at.budget, tokens: at.tokens, evidenceRecall: at.evidenceRecall, policyTokens: row.tokensQa, policyEvidenceRecall: row.evidenceRecall, questions: at.questions };
  });
}

/** Evidence recall of recency truncation over a range of budgets (same budget for every conversation). */
export function recencyCurve(r: ForgettingResults): { budget: number; tokens: number; evidenceRecall: number }[] {
  const total = Math.max(...r.recency.filter((c) => c.questions.length > 0).map((c) => sum(c.turns.map((t) => t.tokens))), 1);
  const out: { budget: number; tokens: number; evidenceRecall: number }[] = [];
  for (let budget = 100; ; budget = Math.round(budget * 1.4)) {
    const b = Math.min(budget, total);
    const at = recencyAt(r, () => b);
    out.push({ budget: b, tokens: at.tokens, evidenceRecall: at.evidenceRecall });
    if (b >= total) break;
  }
  return out;
}

/** Share of text (token-weighted) recency truncation keeps per age bucket, pooled over checkpoints. */
function recencyBuckets(r: ForgettingResults, matchedTo: string): { bucket: number; meanAgeDays: number; retained: number }[] {
  const acc = AGE_BUCKETS.map(() => ({ tokens: 0, kept: 0, age: 0 }));
  for (const c of r.recency) {
    const kept = keepMostRecent(c.turns, lastSnapshot(r, matchedTo, c.conversation)?.tokens ?? 0).kept;
    const last = Math.max(...c.turns.map((t) => t.time));
    for (const days of r.settings.checkpointDays) {
      const now = last + days * DAY_MS;
      for (const t of c.turns) {
        const age = (now - t.time) / DAY_MS;
        const a = acc[bucketOf(age)]!;
        a.tokens += t.tokens;
        a.age += age * t.tokens;
        if (kept.has(t.id)) a.kept += t.tokens;
      }
    }
  }
  return acc.flatMap((a, bucket) => (a.tokens ? [{ bucket, meanAgeDays: a.age / a.tokens, retained: a.kept / a.tokens }] : []));
}

/** Recency truncation's tokens over the conversation's own timeline, for the tokens chart. */
function recencyTimeline(r: ForgettingResults, conversation: string, budget: number, days: readonly number[]): { x: number; y: number }[] {
  const c = r.recency.find((x) => x.conversation === conversation);
  if (!c) return [];
  const first = Math.min(...c.turns.map((t) => t.time));
  return days.map((day) => {
    const said = c.turns.filter((t) => t.time <= first + day * DAY_MS + DAY_MS / 2);
    return { x: day, y: keepMostRecent(said, budget).tokens };
  });
}

// ---------------------------------------------------------------- summary text

function label(r: ForgettingResults, id: string): string {
  return r.settings.policies.find((p) => p.id === id)?.label ?? id;
}

function summaryParagraph(r: ForgettingResults, rows: CheckpointRow[], buckets: BucketRow[], recency: RecencyRow[]): string {
  const last = r.settings.checkpointDays.at(-1)!;
  const at = (policy: string, days = last) => rows.find((x) => x.policy === policy && x.days === days);
  const none = at(NO_FORGETTING.id);
  const parts: string[] = [];
  const hasQa = rows.some((x) => x.questions > 0);
  if (none) {
    parts.push(
      `${dayLabel(last)} after the last session, no forgetting holds ${int(none.tokens)} tokens per conversation` +
        (hasQa ? ` and recalls ${pct(none.evidenceRecall)} of the evidence (k = ${r.settings.k})` : '') +
        '.',
    );
  }
  for (const p of r.settings.policies.filter((x) => x.curve && x.rehearsal && x.strategy === 'downsample')) {
    const row = at(p.id);
    if (!row || !none) continue;
    parts.push(
      `${p.label} holds ${int(row.tokens)} (${pct(row.vsNoForgetting)} of no forgetting), keeps ${row.pagesHeld} of ${row.pagesWritten} pages` +
        ` with ${pct(row.retained)} of the paged text still readable` +
        (hasQa ? ` and recalls ${pct(row.evidenceRecall)} of the evidence` : '') +
        '.',
    );
  }
  for (const rec of recency.filter((x) => x.matchedTo !== NO_FORGETTING.id)) {
    if (!hasQa) break;
    const cmp = rec.evidenceRecall > rec.policyEvidenceRecall + 0.005 ? 'more than' : rec.evidenceRecall < rec.policyEvidenceRecall - 0.005 ? 'less than' : 'as much as';
    parts.push(
      `Recency truncation at the same budget (${int(rec.budget)} text tokens) recalls ${pct(rec.evidenceRecall)}, ${cmp} ${label(r, rec.matchedTo)}` +
        (cmp === 'as much as' ? '' : ` (${pct(rec.policyEvidenceRecall)})`) +
        '.',
    );
  }
  const noneRec = recency.find((x) => x.matchedTo === NO_FORGETTING.id);
  if (noneRec && hasQa && none) {
    parts.push(`Spent on text instead, no forgetting's ${int(noneRec.budget)} tokens would keep ${pct(noneRec.evidenceRecall)} of the evidence against ${pct(none.evidenceRecall)} as 10x pages.`);
  }
  for (const curve of ['ebbinghaus', 'fsrs'] as const) {
    const down = r.settings.policies.find((p) => p.curve === curve && p.strategy === 'downsample' && p.rehearsal);
    const rer = r.settings.policies.find((p) => p.curve === curve && p.strategy === 'rerender' && p.rehearsal);
    if (!down || !rer) continue;
    const fid = (id: string) => {
      const bs = buckets.filter((b) => b.policy === id && b.held > 0);
      return sum(bs.map((b) => b.fidelityHeld * b.held)) / sum(bs.map((b) => b.held));
    };
    const moved = (id: string) => r.activity.find((a) => a.policy === id)?.moves ?? 0;
    if (!Number.isFinite(fid(down.id)) || !Number.isFinite(fid(rer.id))) {
      parts.push(`Under ${curve === 'fsrs' ? 'FSRS' : 'Ebbinghaus'} no page was left to read by the checkpoints (${moved(down.id)} and ${moved(rer.id)} ladder moves before the drops).`);
      continue;
    }
    parts.push(
      `Held pages read back at ${pct(fid(down.id))} after downsampling and ${pct(fid(rer.id))} after re-rendering under ${curve === 'fsrs' ? 'FSRS' : 'Ebbinghaus'}` +
        ` (${moved(down.id)} and ${moved(rer.id)} ladder moves).`,
    );
  }
  for (const p of r.settings.policies.filter((x) => x.curve && !x.rehearsal)) {
    const twin = r.settings.policies.find((x) => x.curve === p.curve && x.strategy === p.strategy && x.rehearsal);
    const a = at(p.id);
    const b = twin ? at(twin.id) : undefined;
    if (!a || !b || !twin) continue;
    const sa = r.activity.find((x) => x.policy === p.id)!;
    const sb = r.activity.find((x) => x.policy === twin.id)!;
    if (a.pagesHeld === 0 && b.pagesHeld === 0) {
      parts.push(`${twin.label} keeps no page with or without rehearsal: the checkpoint recalls come after the pages were dropped.`);
      continue;
    }
    parts.push(
      `Rehearsal: with the checkpoint questions answered through \`recall\`, ${twin.label} holds ${b.pagesHeld} page${b.pagesHeld === 1 ? '' : 's'} (mean strength ${formatNumber(sb.meanStrength, { digits: 1 })} days) ` +
        `against ${a.pagesHeld} (${formatNumber(sa.meanStrength, { digits: 1 })} days) when the same questions only search` +
        (hasQa ? `, and recalls ${pct(b.evidenceRecall)} against ${pct(a.evidenceRecall)}.` : '.'),
    );
  }
  const ebb = buckets.filter((b) => b.policy.startsWith('ebbinghaus-downsample') && !b.policy.endsWith('no-rehearsal'));
  const fsrs = buckets.filter((b) => b.policy === 'fsrs-downsample');
  const oldest = (bs: BucketRow[]) => bs.at(-1);
  const e = oldest(ebb);
  const f = oldest(fsrs);
  if (e && f) {
    parts.push(
      `In the oldest bucket (${f.bucket}), Ebbinghaus with MemoryBank's one-day strength keeps ${pct(e.held / e.observations)} of the pages and FSRS ${pct(f.held / f.observations)}: ` +
        'e^(-t/S) falls below the last ladder step (0.08) within days unless a recall restarts it, while the power curve still sits on a ladder step after a year.',
    );
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------- charts

const MODEL_GREY = ['#9a9a9a', '#5f5f5f'];

async function retentionChart(r: ForgettingResults, buckets: BucketRow[], path: string): Promise<void> {
  const series: LineSeries[] = r.settings.policies.map((p) => ({
    name: p.label,
    points: buckets.filter((b) => b.policy === p.id).map((b) => ({ x: b.meanAgeDays, y: b.retained * 100 })),
  }));
  const fsrsMatch = r.settings.policies.find((p) => p.curve === 'fsrs' && p.rehearsal && p.strategy === 'downsample');
  if (fsrsMatch && r.recency.length) {
    series.push({
      name: `recency truncation (budget of ${fsrsMatch.label})`,
      style: 'dashed',
      points: recencyBuckets(r, fsrsMatch.id).map((b) => ({ x: b.meanAgeDays, y: b.retained * 100 })),
    });
  }
  const ages = buckets.map((b) => b.meanAgeDays).filter((x) => x > 0);
  const lo = Math.max(0.1, Math.min(...ages, 1) / 2);
  const hi = Math.max(...ages, 30) * 1.5;
  const grid = Array.from({ length: 40 }, (_, i) => lo * Math.pow(hi / lo, i / 39));
  const models = [
    { name: 'Ebbinghaus R(t), S = 1 day, no recall', curve: createEbbinghausCurve() },
    { name: 'FSRS R(t), S = 3.7 days, no recall', curve: createFsrsCurve() },
  ];
  models.forEach((m, i) =>
    series.push({
      name: m.name,
      style: 'dashed',
      color: MODEL_GREY[i]!,
      points: grid.map((t) => ({ x: t, y: m.curve.retention(t, { strength: m.curve.initialStrength, importance: 1 }) * 100 })),
    }),
  );
  const png = await renderLineChart({
    title: 'Paged text still readable vs page age (fidelity x held, all checkpoints)',
    xLabel: 'page age: days since its last turn was said (log scale)',
    yLabel: 'readable text (%)',
    series,
    ...PERCENT_VS_LOG_AXES,
  });
  await writeChart(path, png);
}

async function tokensChart(r: ForgettingResults, path: string): Promise<string | undefined> {
  // The conversation with the longest timeline shows both the replay and the checkpoints.
  const span = (c: { firstSession: string; lastSession: string }) => Date.parse(c.lastSession) - Date.parse(c.firstSession);
  const conv = [...r.conversations].sort((a, b) => span(b) - span(a))[0];
  if (!conv) return undefined;
  const series: LineSeries[] = r.settings.policies.map((p) => ({
    name: p.label,
    points: r.timeline.filter((t) => t.policy === p.id && t.conversation === conv.id).map((t) => ({ x: t.day, y: t.tokens })),
  }));
  const fsrsMatch = r.settings.policies.find((p) => p.curve === 'fsrs' && p.rehearsal && p.strategy === 'downsample');
  const budget = fsrsMatch ? lastSnapshot(r, fsrsMatch.id, conv.id)?.tokens : undefined;
  if (fsrsMatch && budget !== undefined) {
    const days = [...new Set(r.timeline.filter((t) => t.conversation === conv.id).map((t) => t.day))].sort((a, b) => a - b);
    series.push({ name: `recency truncation (N = ${int(budget)})`, style: 'dashed', points: recencyTimeline(r, conv.id, budget, days) });
  }
  const png = await renderLineChart({
    title: `Tokens held over time: ${conv.id} (${conv.firstSession} to ${conv.lastSession}, then checkpoints)`,
    xLabel: 'days since the first session',
    yLabel: 'tokens held (hot text + visual)',
    series,
    width: 1000,
    height: 600,
  });
  await writeChart(path, png);
  return conv.id;
}

async function recallChart(r: ForgettingResults, rows: CheckpointRow[], path: string): Promise<void> {
  const first = r.settings.checkpointDays[0];
  const last = r.settings.checkpointDays.at(-1);
  const series: LineSeries[] = r.settings.policies.map((p) => ({
    name: p.label,
    points: rows
      .filter((x) => x.policy === p.id && x.questions > 0)
      .map((x) => ({ x: x.tokensQa, y: x.evidenceRecall * 100, ...(x.days === first || x.days === last ? { label: shortDay(x.days) } : {}) })),
  }));
  series.push({ name: 'recency truncation at budget N (x = tokens kept)', style: 'dashed', points: recencyCurve(r).map((c) => ({ x: c.tokens, y: c.evidenceRecall * 100 })) });
  const png = await renderLineChart({
    title: `Evidence recalled (hot text + top-${r.settings.k} pages) vs tokens held, per checkpoint`,
    xLabel: 'tokens held per conversation (log scale)',
    yLabel: 'evidence recalled (%)',
    series,
    ...PERCENT_VS_LOG_AXES,
  });
  await writeChart(path, png);
}

// ---------------------------------------------------------------- files

export async function writeForgettingReport(r: ForgettingResults, options: { outDir: string; name: string }): Promise<ForgettingReport> {
  await mkdir(options.outDir, { recursive: true });
  const rows = checkpointRows(r);
  const pooled = bucketRows(r);
  const recency = recencyRows(r);
  const curve = recencyCurve(r);
  const s = r.settings;
  const hasQa = rows.some((x) => x.questions > 0);
  const last = s.checkpointDays.at(-1)!;
  const files = [`${options.name}.md`, `${options.name}.json`, `${options.name}-retention.png`, `${options.name}-tokens.png`, `${options.name}-recall-vs-tokens.png`];

  const tierText = (tiers: Record<string, number>) =>
    [...RATIO_LADDER.steps.map((x) => x.name), 'dropped'].filter((t) => tiers[t]).map((t) => `${t} ${tiers[t]}`).join(' · ');
  const checkpointTable = markdownTable(
    ['policy', 'after last session', 'tokens held', 'vs none', 'pages held', 'tiers', 'fidelity (held)', 'readable', ...(hasQa ? [`evidence recalled @${s.k}`, 'evidence held'] : [])],
    rows.map((x) => [
      label(r, x.policy),
      dayLabel(x.days),
      int(x.tokens),
      pct(x.vsNoForgetting),
      `${x.pagesHeld}/${x.pagesWritten}`,
      tierText(x.tiers),
      pct(x.fidelityHeld),
      pct(x.retained),
      ...(hasQa ? [pct(x.evidenceRecall), pct(x.evidenceHeld)] : []),
    ]),
  );
  const recencyTable = markdownTable(
    ['recency truncation matched to', 'N (text tokens, mean)', 'tokens kept', 'evidence recalled', 'that policy: tokens', 'that policy: evidence recalled', 'questions'],
    recency.map((x) => [label(r, x.matchedTo), int(x.budget), int(x.tokens), pct(x.evidenceRecall), int(x.policyTokens), pct(x.policyEvidenceRecall), x.questions]),
  );
  const bucketTable = markdownTable(
    ['policy', 'page age', 'observations', 'held', 'mean age (days)', 'fidelity (held)', 'readable', 'fresh decodes', 'fresh fidelity', 'fresh = stored'],
    pooled.map((b) => [
      label(r, b.policy),
      b.bucket,
      b.observations,
      b.held,
      formatNumber(b.meanAgeDays, { digits: 1 }),
      pct(b.fidelityHeld),
      pct(b.retained),
      b.sampled,
      pct(b.sampledFidelity),
      b.sampled ? `${b.sampledAgree}/${b.sampled}` : '—',
    ]),
  );
  const activityTable = markdownTable(
    ['policy', 'ladder moves', 'pages dropped', 'ageing s', 'recalls', 'pages returned', 'mean strength at end (days)', 'mean recalls per held page'],
    r.activity.map((a) => [
      label(r, a.policy),
      a.moves,
      a.drops,
      formatNumber(a.ageingSeconds, { digits: 1 }),
      a.recalls,
      a.pagesReturned,
      formatNumber(a.meanStrength, { digits: 1 }),
      formatNumber(a.meanRecallCount, { digits: 1 }),
    ]),
  );
  const convTable = markdownTable(
    ['conversation', 'source', 'lang', 'sessions', 'turns', 'text tokens', 'span', 'pages', 'page ratio', 'written fidelity', 'questions (with evidence)', 'compaction s'],
    r.conversations.map((c) => [
      c.id,
      c.source,
      c.lang,
      c.sessions,
      c.turns,
      int(c.textTokens),
      `${c.firstSession} – ${c.lastSession}`,
      c.pagesWritten,
      `${formatNumber(c.pageTextTokens / c.pageVisualTokens, { digits: 1 })}x`,
      pct(c.writtenFidelity),
      `${c.questions} (${c.questionsWithEvidence})`,
      formatNumber(c.ingestSeconds, { digits: 0 }),
    ]),
  );
  const ladder = RATIO_LADDER.steps.map((x) => `${x.name} (${x.ratio}x, R ≥ ${x.minRetention})`).join(' → ') + ' → dropped';
  const fixtureNote = s.fixture
    ? `\n> **Fixture run.** ${s.data.includes('asked for') ? 'The repo fixture was asked for' : 'The shared data folder was missing'}; these numbers come from one small conversation written for the project and are not comparable to a run on LoCoMo and MemoryBank.\n`
    : '';
  const summary = summaryParagraph(r, rows, pooled, recency);
  const tokensConv = await tokensChart(r, join(options.outDir, `${options.name}-tokens.png`));
  await retentionChart(r, pooled, join(options.outDir, `${options.name}-retention.png`));
  await recallChart(r, rows, join(options.outDir, `${options.name}-recall-vs-tokens.png`));

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
    `- Each conversation is replayed session by session at its own dates into a real \`Memory\` (LanceDB in a temp folder, ${s.profile} pages, the local PP-OCR ONNX decoder) with an injected clock. ` +
      `The hot tier keeps ${s.hotBudgetTokens} text tokens; older turns are compacted into lossless pages (target 10x, closed loop to 98% fidelity). Compaction is identical for every policy, so it runs once and each policy's store replays the same turns and pages. ` +
      'When a session ends over the budget, compaction leaves half the budget hot, as automatic compaction does; pages are therefore not always full (see the page ratio of each conversation).',
    `- Optical policies: no forgetting (pages stay at 10x); Ebbinghaus R = e^(-t/S) (S starts at 1 day, up to +1 day per recall in proportion to the time since the previous one, so massed recalls do not stack) and FSRS-style R = (1 + 19/81 · t/S)^-0.5 (S starts at 3.7 days, FSRS-4.5 stability update), each with both ageing strategies (downsample the stored image, or re-render the decoded text at the smaller size). Ladder: ${ladder}. ` +
      `With Small pages (640x640, 100 visual tokens) the only smaller DeepSeek-OCR canvas is Tiny (512x512, 64 tokens), so the 15x step re-encodes the page and the 20x and 30x steps only relabel it.`,
    `- Ageing runs at every session date (as a periodic job would) and at each checkpoint: ${s.checkpointDays.map(dayLabel).join(', ')} after the last session.`,
    `- Rehearsal: at each checkpoint every question is asked through \`Memory.recall(question, { k: ${s.k} })\`, which strengthens every page it returns and restarts its clock — that is how the curves are meant to be used. ` +
      (s.policies.some((p) => !p.rehearsal) ? 'The "no rehearsal" rows ask the same questions through the store\'s search, which changes nothing. ' : '') +
      'Questions are asked after the checkpoint is measured, so they strengthen pages for the next ageing.',
    `- Evidence recalled: per question, the share of its evidence turns that are in the hot tier (always in context) or on one of the top-${s.k} pages returned (LoCoMo categories 1–4; MemoryBank probes have no evidence ids and are asked only as rehearsal). Evidence held: the share still in the hot tier or on any held page, whatever search finds.`,
    `- Fidelity: 1 − character edit distance / reference length of a page's current read (the read the decoder made of its current image, stored on the page) against the page's source text; a page cut inside a turn is cut where its verified read at compaction aligns best. Readable = token-weighted fidelity over every page written, dropped pages counting 0. ` +
      `Fresh decodes: ${s.samplesPerBucket} held page per age bucket, policy and checkpoint is decoded again (identical images once) to check the stored read.`,
    `- Recency truncation keeps the most recent whole turns up to N text tokens. N is matched per conversation to the tokens (text + visual) a policy holds at the last checkpoint, so both spend the same context budget; the chart sweeps N.`,
    '',
    '## Summary',
    '',
    summary,
    '',
    '## At each checkpoint (means per conversation)',
    '',
    checkpointTable,
    '',
    ...(hasQa ? [`## Recency truncation at matched budgets (${dayLabel(last)} after the last session)`, '', recencyTable, ''] : []),
    '## By page age (all checkpoints pooled)',
    '',
    bucketTable,
    '',
    '## Ladder and rehearsal activity',
    '',
    activityTable,
    '',
    '## Conversations',
    '',
    convTable,
    '',
    '## Charts',
    '',
    `- \`${options.name}-retention.png\`: readable paged text vs page age per policy, with the curves' R(t) for a page never recalled.`,
    `- \`${options.name}-tokens.png\`: tokens held over time${tokensConv ? ` for ${tokensConv}` : ''}, through the sessions and the checkpoints.`,
    `- \`${options.name}-recall-vs-tokens.png\`: evidence recalled vs tokens held at each checkpoint, against recency truncation over a range of budgets.`,
    '',
  ].join('\n');

  const json = {
    settings: s,
    summary,
    checkpoints: rows,
    buckets: pooled,
    bucketsByCheckpoint: s.checkpointDays.map((days) => ({ days, rows: bucketRows(r, days) })),
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
