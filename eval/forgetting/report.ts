/**
 * Tables, charts and a written summary of a forgetting-experiment run, all derived from the
 * measured snapshots: `<name>.md`, `<name>.json` and three PNG charts. Every sentence of the
 * summary names the conversations its numbers cover: tokens and pages are over every
 * conversation, evidence recall only over those with evidence questions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DAY_MS } from '../../memory/ageing.js';
import { compactionProfile } from '../../memory/forgetting-policy.js';
import { DEEPSEEK_MODE_LADDER, RATIO_LADDER, type Ladder } from '../../memory/ladder.js';
import { getRetentionCurve, type RetentionCurve } from '../../memory/retention.js';
import { TiersSchema } from '../../memory/tiers.js';
import { getProfile } from '../../src/tokens/profiles/index.js';
import { renderLineChart, writeChart, type LineSeries } from '../lib/chart.js';
import { formatNumber, formatPercent, markdownTable } from '../lib/table.js';
import { AGE_BUCKETS, bucketOf, type ForgettingResults, type PageState, type Snapshot } from './experiment.js';
import { ladderOf, NO_FORGETTING, type LadderId, type OpticalPolicy } from './policies.js';
import { keepMostRecent } from './recency-truncation.js';

/** Percent on y against a log-scaled x, the layout of the two age/tokens charts. */
const PERCENT_VS_LOG_AXES = { yDomain: [0, 100] as const, logX: true, width: 1000, height: 640 };

const LADDERS: Record<LadderId, { readonly name: string; readonly ladder: Ladder }> = {
  ratio: { name: 'ratio ladder', ladder: RATIO_LADDER },
  'deepseek-modes': { name: 'mode ladder', ladder: DEEPSEEK_MODE_LADDER },
};

/** Tier names in ladder order, for tables. */
const TIER_ORDER = [...new Set([...RATIO_LADDER.steps, ...DEEPSEEK_MODE_LADDER.steps].map((s) => s.name)), 'dropped'];

export interface CheckpointRow {
  readonly policy: string;
  readonly ladder: LadderId;
  readonly days: number;
  readonly conversations: number;
  /** Means per conversation, over every conversation. */
  readonly tokens: number;
  readonly hotTokens: number;
  readonly visualTokens: number;
  /** tokens / the tokens of the same pages never aged (hot text + pages as written). */
  readonly vsUnaged: number;
  /** tokens / no forgetting's tokens at the same checkpoint (the ratio ladder's pages, never aged). */
  readonly vsNoForgetting: number;
  /** Pages summed over every conversation. */
  readonly pagesWritten: number;
  readonly pagesHeld: number;
  /** Held pages whose image ageing made smaller than compaction wrote it. */
  readonly pagesShrunk: number;
  readonly tiers: Record<string, number>;
  /** Achieved text tokens per visual token of the held pages on each tier. */
  readonly tierRatios: Record<string, number>;
  /** Achieved text tokens per visual token over every held page. */
  readonly pagedRatio: number;
  /** Token-weighted fidelity of the held pages' reads. */
  readonly fidelityHeld: number;
  /** Token-weighted fidelity over every page written, dropped pages counting 0. */
  readonly retained: number;
  /** Questions with evidence, over the conversations that have them. */
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
  /** Held observations whose image ageing had made smaller. */
  readonly shrunk: number;
  readonly meanAgeDays: number;
  readonly fidelityHeld: number;
  readonly retained: number;
  /** Achieved text tokens per visual token of the held observations. */
  readonly ratioHeld: number;
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

/** Held pages made smaller by ageing, by the strategy that made them: the comparison on real shrinks. */
export interface StrategyRow {
  readonly curve: string;
  readonly ladder: LadderId;
  readonly strategy: string;
  readonly policy: string;
  /** Current canvas profile, or 'all'. */
  readonly profile: string;
  /** Page observations (pages x checkpoints) held with an image smaller than written. */
  readonly observations: number;
  readonly fidelity: number;
  readonly ratio: number;
}

export interface ForgettingReport {
  readonly markdown: string;
  readonly json: unknown;
  readonly files: readonly string[];
}

const pct = (v: number) => formatPercent(v, 1);
const int = (v: number) => formatNumber(Number.isFinite(v) ? Math.round(v) : v);
const ratioText = (v: number) => (Number.isFinite(v) ? `${formatNumber(v, { digits: 1 })}x` : '—');
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : Number.NaN);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const dayLabel = (d: number) => (d === 1 ? '1 day' : d === 7 ? '1 week' : d === 30 ? '1 month' : d === 91 ? '3 months' : d === 365 ? '1 year' : `${d} days`);
const shortDay = (d: number) => (d === 1 ? '1d' : d === 7 ? '1w' : d === 30 ? '1mo' : d === 91 ? '3mo' : d === 365 ? '1y' : `${d}d`);
const mode = (profile: string) => profile.replace(/^deepseek-ocr:/, '');
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const curveName = (c: string | undefined) => (c === 'fsrs' ? 'FSRS' : c === 'ebbinghaus' ? 'Ebbinghaus' : String(c));

/** Text tokens per visual token over `pages` (held ones only). */
function ratioOf(pages: readonly PageState[]): number {
  const held = pages.filter((p) => p.held);
  return sum(held.map((p) => p.textTokens)) / sum(held.map((p) => p.visualTokens));
}

/** DeepSeek-OCR canvases from largest to smallest. */
const CANVAS_ORDER = ['gundam', 'large', 'base', 'small', 'tiny'];
const byCanvas = (profile: string) => {
  const i = CANVAS_ORDER.indexOf(mode(profile));
  return i === -1 ? CANVAS_ORDER.length : i;
};

const shrunk = (p: PageState) => p.held && p.visualTokens < p.writtenVisualTokens;
const unagedTokens = (s: Snapshot) => s.hotTokens + sum(s.pages.map((p) => p.writtenVisualTokens));

// ---------------------------------------------------------------- aggregation

function policyOf(r: ForgettingResults, id: string): OpticalPolicy | undefined {
  return r.settings.policies.find((p) => p.id === id);
}

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
      const tierRatios: Record<string, number> = {};
      for (const tier of Object.keys(tiers)) if (tier !== 'dropped') tierRatios[tier] = ratioOf(held.filter((p) => p.tier === tier));
      const questions = sum(snaps.map((s) => s.questions));
      rows.push({
        policy: policy.id,
        ladder: ladderOf(policy),
        days,
        conversations: snaps.length,
        tokens: mean(snaps.map((s) => s.tokens)),
        hotTokens: mean(snaps.map((s) => s.hotTokens)),
        visualTokens: mean(snaps.map((s) => s.visualTokens)),
        vsUnaged: sum(snaps.map((s) => s.tokens)) / sum(snaps.map(unagedTokens)),
        vsNoForgetting: sum(snaps.map((s) => s.tokens)) / sum(none.map((s) => s.tokens)),
        pagesWritten: pages.length,
        pagesHeld: held.length,
        pagesShrunk: pages.filter(shrunk).length,
        tiers,
        tierRatios,
        pagedRatio: ratioOf(held),
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
        shrunk: obs.filter(shrunk).length,
        meanAgeDays: sum(obs.map((p) => p.ageDays * p.textTokens)) / sum(obs.map((p) => p.textTokens)),
        fidelityHeld: sum(held.map((p) => p.fidelity * p.textTokens)) / sum(held.map((p) => p.textTokens)),
        retained: sum(obs.map((p) => p.fidelity * p.textTokens)) / sum(obs.map((p) => p.textTokens)),
        ratioHeld: ratioOf(held),
        sampled: sampled.length,
        sampledFidelity: mean(sampled.map((s) => s.fidelity)),
        sampledAgree: sampled.filter((s) => s.agrees).length,
      });
    });
  }
  return rows;
}

/**
 * Downsampling against re-rendering, on pages ageing really made smaller: for every curve and
 * ladder run with both strategies (and rehearsal), the held observations whose image is smaller
 * than written, pooled over checkpoints, overall and by current canvas.
 */
export function strategyRows(r: ForgettingResults): StrategyRow[] {
  const rows: StrategyRow[] = [];
  const rehearsed = r.settings.policies.filter((p) => p.curve && p.rehearsal && p.strategy);
  for (const p of rehearsed) {
    const twin = rehearsed.find((x) => x.curve === p.curve && ladderOf(x) === ladderOf(p) && x.strategy !== p.strategy);
    if (!twin) continue;
    const obs = r.snapshots.filter((s) => s.policy === p.id).flatMap((s) => s.pages).filter(shrunk);
    const row = (profile: string, pages: readonly PageState[]): StrategyRow => ({
      curve: p.curve!,
      ladder: ladderOf(p),
      strategy: p.strategy!,
      policy: p.id,
      profile,
      observations: pages.length,
      fidelity: sum(pages.map((x) => x.fidelity * x.textTokens)) / sum(pages.map((x) => x.textTokens)),
      ratio: ratioOf(pages),
    });
    rows.push(row('all', obs));
    for (const profile of [...new Set(obs.map((x) => x.profile))].sort((a, b) => byCanvas(a) - byCanvas(b))) {
      rows.push(row(profile, obs.filter((x) => x.profile === profile)));
    }
  }
  return rows;
}

function lastSnapshot(r: ForgettingResults, policy: string, conversation: string): Snapshot | undefined {
  const days = r.settings.checkpointDays.at(-1);
  return r.snapshots.find((s) => s.policy === policy && s.conversation === conversation && s.days === days);
}

/** Conversations with evidence questions: the ones evidence recall is measured on. */
function qaConversations(r: ForgettingResults): string[] {
  return r.recency.filter((c) => c.questions.length > 0).map((c) => c.conversation);
}

/** Recency truncation of every conversation with evidence questions at `budgetOf(conversation)` text tokens. */
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

/** Days until a never-recalled page's retention falls below `minRetention` (Infinity past a century). */
export function daysUntilBelow(curve: RetentionCurve, minRetention: number): number {
  const R = (t: number) => curve.retention(t, { strength: curve.initialStrength, importance: 1 });
  let hi = 1;
  while (R(hi) >= minRetention) {
    hi *= 2;
    if (hi > 36_500) return Number.POSITIVE_INFINITY;
  }
  let lo = 0;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (R(mid) >= minRetention) lo = mid;
    else hi = mid;
  }
  return hi;
}

// ---------------------------------------------------------------- summary text

function label(r: ForgettingResults, id: string): string {
  return policyOf(r, id)?.label ?? id;
}

function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

interface ConversationsText {
  /** With the ids: "all 4 conversations (a, b, c, d)". */
  readonly full: string;
  /** Once the ids were given: "all 4 conversations". */
  readonly short: string;
}

function conversationsText(ids: readonly string[]): ConversationsText {
  const short = ids.length === 1 ? 'the one conversation' : ids.length === 2 ? 'both conversations' : `all ${ids.length} conversations`;
  return { full: `${short} (${ids.join(', ')})`, short };
}

/** The conversations evidence recall covers (those with evidence questions). */
function qaText(ids: readonly string[], all: number): ConversationsText {
  if (ids.length === all) return conversationsText(ids);
  const short = ids.length === 1 ? 'the one conversation with evidence questions' : `the ${ids.length} conversations with evidence questions`;
  return { full: `${short} (${ids.join(', ')})`, short };
}

const strengthText = (days: number) => (days === 1 ? '1 day' : `${formatNumber(days, { digits: 1 })} days`);

function daysText(d: number): string {
  if (!Number.isFinite(d)) return 'more than a century';
  if (d >= 730) return `${formatNumber(d / 365, { digits: 1 })} years`;
  return `${formatNumber(d, { digits: d < 10 ? 1 : 0 })} days`;
}

/** "lossless 4 at 7.9x, 15x 6 at 20.3x" for the held pages. */
function tiersWithRatios(row: CheckpointRow): string {
  return TIER_ORDER.filter((t) => t !== 'dropped' && row.tiers[t]).map((t) => `${t} ${row.tiers[t]} at ${ratioText(row.tierRatios[t]!)}`).join(', ');
}

function compare(a: number, b: number, more = 'more than', less = 'less than', same = 'as much as'): string {
  return a > b + 0.0005 ? more : a < b - 0.0005 ? less : same;
}

function summaryParagraph(r: ForgettingResults, rows: CheckpointRow[], buckets: BucketRow[], recency: RecencyRow[], strategies: StrategyRow[]): string {
  const s = r.settings;
  const last = s.checkpointDays.at(-1)!;
  const at = (policy: string, days = last) => rows.find((x) => x.policy === policy && x.days === days);
  const all = conversationsText(r.conversations.map((c) => c.id));
  const qa = qaText(qaConversations(r), r.conversations.length);
  const hasQa = rows.some((x) => x.questions > 0);
  const none = at(NO_FORGETTING.id);
  const shown = s.policies.filter((p) => p.curve && p.rehearsal && p.strategy === 'downsample');
  const name = (id: string) => (id === NO_FORGETTING.id ? 'no forgetting' : label(r, id));
  const parts: string[] = [];

  // What compaction wrote, per ladder (names every conversation once; later sentences say "all n").
  const target = TiersSchema.parse({}).lossless.ratio;
  const written = [...new Set(s.policies.map(ladderOf))].map((ladder) => {
    const cs = r.conversations.flatMap((c) => c.compactions.filter((x) => x.ladder === ladder));
    const profiles: Record<string, number> = {};
    for (const c of cs) for (const [p, n] of Object.entries(c.profiles)) profiles[p] = (profiles[p] ?? 0) + n;
    const pages = sum(cs.map((c) => c.pagesWritten));
    const kinds = Object.keys(profiles).sort((a, b) => byCanvas(a) - byCanvas(b)).map((p) => cap(mode(p))).join('/');
    return `${plural(pages, `${kinds} page`)} at ${ratioText(sum(cs.map((c) => c.pageTextTokens)) / sum(cs.map((c) => c.pageVisualTokens)))} for the ${LADDERS[ladder].name}`;
  });
  parts.push(
    `Over ${all.full}, compaction wrote ${list(written)} (text tokens per visual token; target ${target}x, lower where a batch does not fill its page or the closed loop needs larger glyphs).`,
  );

  // Tokens, pages and readability at the last checkpoint: every conversation.
  if (none) {
    parts.push(`${cap(dayLabel(last))} after the last session, over ${all.short}, no forgetting holds ${int(none.tokens)} tokens per conversation (hot text plus pages at ${ratioText(none.pagedRatio)}, ${none.pagesHeld} pages in all).`);
  }
  for (const p of shown) {
    const row = at(p.id);
    if (!row) continue;
    const vsNone = ladderOf(p) !== 'ratio' && none ? `, ${pct(row.vsNoForgetting)} of no forgetting` : '';
    parts.push(
      `${p.label} holds ${int(row.tokens)} (${pct(row.vsUnaged)} of its pages unaged${vsNone}) and keeps ${row.pagesHeld} of its ${row.pagesWritten} pages` +
        (row.pagesHeld ? ` (${tiersWithRatios(row)}), ${pct(row.retained)} of the paged text readable.` : ', so none of the paged text is readable.'),
    );
  }

  // Tokens over time: from the end of the last session to the last checkpoint.
  const heldAt = (policy: string, afterLast: number) =>
    mean(r.conversations.flatMap((c) => r.timeline.filter((t) => t.policy === policy && t.conversation === c.id && Math.abs(t.daysAfterLast - afterLast) < 1e-9).map((t) => t.tokens)));
  const falls = shown.flatMap((p) => {
    const from = heldAt(p.id, 0);
    const to = heldAt(p.id, last);
    if (!Number.isFinite(from) || !Number.isFinite(to)) return [];
    return [Math.round(from) === Math.round(to) ? `stay at ${int(to)} under ${p.label}` : `go from ${int(from)} to ${int(to)} under ${p.label}`];
  });
  if (falls.length) parts.push(`Between the last session and ${dayLabel(last)} after it, tokens held per conversation (${all.short}, the tokens chart) ${list(falls)}.`);

  // Evidence recall: only the conversations with evidence questions.
  if (hasQa && none) {
    const recalls = [NO_FORGETTING, ...shown].flatMap((p) => {
      const row = at(p.id);
      return row ? [`${pct(row.evidenceRecall)} for ${name(p.id)} (${int(row.tokensQa)} tokens per conversation)`] : [];
    });
    parts.push(`On ${qa.full}, ${dayLabel(last)} after the last session, the evidence recalled (hot text plus the top ${s.k} pages per question) is ${list(recalls)}.`);
    const rec = recency.map((x) => `${pct(x.evidenceRecall)} at ${name(x.matchedTo)}'s (${compare(x.evidenceRecall, x.policyEvidenceRecall)} its ${pct(x.policyEvidenceRecall)})`);
    if (rec.length) parts.push(`On ${qa.short}, recency truncation of plain text at the same per-conversation budgets recalls ${list(rec)}.`);
  }

  // Downsample against re-render, on pages ageing made smaller.
  const pairs = new Map<string, StrategyRow[]>();
  for (const x of strategies.filter((x) => x.profile === 'all')) pairs.set(`${x.curve}:${x.ladder}`, [...(pairs.get(`${x.curve}:${x.ladder}`) ?? []), x]);
  for (const pair of pairs.values()) {
    const down = pair.find((x) => x.strategy === 'downsample');
    const rer = pair.find((x) => x.strategy === 'rerender');
    if (!down || !rer) continue;
    const where = `${curveName(down.curve)} on the ${LADDERS[down.ladder].name}`;
    const act = (id: string) => r.activity.find((a) => a.policy === id);
    const shrinks = `${act(down.policy)?.shrinks ?? 0} and ${act(rer.policy)?.shrinks ?? 0} re-encodings`;
    if (down.observations === 0 && rer.observations === 0) {
      parts.push(`Under ${where}, over ${all.short}, no held page had an image smaller than written at any checkpoint (${shrinks}), so the two ageing strategies are not compared there.`);
      continue;
    }
    const byCanvasText = [...new Set(strategies.filter((x) => (x.policy === down.policy || x.policy === rer.policy) && x.profile !== 'all').map((x) => x.profile))]
      .sort((a, b) => byCanvas(a) - byCanvas(b))
      .map((profile) => {
        const f = (policy: string) => strategies.find((x) => x.policy === policy && x.profile === profile);
        return `${cap(mode(profile))} ${f(down.policy) ? pct(f(down.policy)!.fidelity) : '—'} vs ${f(rer.policy) ? pct(f(rer.policy)!.fidelity) : '—'}`;
      });
    const fell = act(rer.policy)?.fellBack ?? 0;
    parts.push(
      `On pages ageing made smaller under ${where} (${all.short}, checkpoints pooled), downsampled images read back at ${pct(down.fidelity)} and re-rendered ones at ${pct(rer.fidelity)}` +
        ` (${down.observations} and ${rer.observations} page observations from ${shrinks}; by canvas, downsample vs re-render: ${byCanvasText.join(', ')})` +
        (fell ? `; ${plural(fell, 're-render')} fell back to downsampling because the text would not fit the smaller canvas legibly.` : '.'),
    );
  }

  // What rehearsal buys.
  for (const p of s.policies.filter((x) => x.curve && !x.rehearsal)) {
    const twin = s.policies.find((x) => x.curve === p.curve && x.strategy === p.strategy && ladderOf(x) === ladderOf(p) && x.rehearsal);
    const a = at(p.id);
    const b = twin ? at(twin.id) : undefined;
    if (!a || !b || !twin) continue;
    const sa = r.activity.find((x) => x.policy === p.id)!;
    const sb = r.activity.find((x) => x.policy === twin.id)!;
    if (a.pagesHeld === 0 && b.pagesHeld === 0) {
      parts.push(`Over ${all.short}, ${twin.label} keeps no page ${dayLabel(last)} after the last session with or without rehearsal.`);
      continue;
    }
    parts.push(
      `Rehearsal, over ${all.short}: with the checkpoint questions asked through \`recall\`, ${twin.label} holds ${plural(b.pagesHeld, 'page')} (mean strength ${formatNumber(sb.meanStrength, { digits: 1 })} days) ` +
        `against ${a.pagesHeld} (${formatNumber(sa.meanStrength, { digits: 1 })} days) when the same questions only search` +
        (hasQa ? `; on ${qa.short} it recalls ${pct(b.evidenceRecall)} of the evidence against ${pct(a.evidenceRecall)}.` : '.'),
    );
  }

  // The curves: when an unrecalled page leaves each ladder, and what the pages did.
  const leaves: string[] = [];
  for (const ladder of [...new Set(s.policies.filter((p) => p.curve).map(ladderOf))]) {
    const floor = LADDERS[ladder].ladder.steps.at(-1)!.minRetention;
    const curves = [...new Set(s.policies.filter((p) => p.curve && ladderOf(p) === ladder).map((p) => p.curve!))];
    const times = curves.map((c) => {
      const curve = getRetentionCurve(c);
      return `${daysText(daysUntilBelow(curve, floor))} under ${curveName(c)} (S = ${strengthText(curve.initialStrength)})`;
    });
    leaves.push(`the ${LADDERS[ladder].name}'s last step (R < ${floor}) after ${list(times)}`);
  }
  if (leaves.length) parts.push(`Without a recall, a page falls below ${list(leaves)}, counted from its last turn.`);
  const shapes = shown.flatMap((p) => {
    const bs = buckets.filter((b) => b.policy === p.id);
    const young = bs[0];
    const old = bs.at(-1);
    if (!young || !old || young === old) return [];
    return [`from ${pct(young.retained)} (${young.bucket}) to ${pct(old.retained)} (${old.bucket}, ${pct(old.held / old.observations)} of those pages held) under ${p.label}`];
  });
  if (shapes.length) parts.push(`Over ${all.short}, readable paged text by page age (the retention chart, checkpoints pooled) goes ${list(shapes)}.`);
  return parts.join(' ');
}

// ---------------------------------------------------------------- charts

const MODEL_GREY = ['#9a9a9a', '#5f5f5f'];

async function retentionChart(r: ForgettingResults, buckets: BucketRow[], path: string): Promise<void> {
  const series: LineSeries[] = r.settings.policies.map((p) => ({
    name: p.label,
    points: buckets.filter((b) => b.policy === p.id).map((b) => ({ x: b.meanAgeDays, y: b.retained * 100 })),
  }));
  const fsrsMatch = r.settings.policies.find((p) => p.curve === 'fsrs' && p.rehearsal && p.strategy === 'downsample' && ladderOf(p) === 'ratio');
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
  (['ebbinghaus', 'fsrs'] as const).forEach((name, i) => {
    const curve = getRetentionCurve(name);
    series.push({
      name: `${curveName(name)} R(t), S = ${strengthText(curve.initialStrength)}, no recall`,
      style: 'dashed',
      color: MODEL_GREY[i]!,
      points: grid.map((t) => ({ x: t, y: curve.retention(t, { strength: curve.initialStrength, importance: 1 }) * 100 })),
    });
  });
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
  const fsrsMatch = r.settings.policies.find((p) => p.curve === 'fsrs' && p.rehearsal && p.strategy === 'downsample' && ladderOf(p) === 'ratio');
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
    xLabel: 'tokens held per conversation with evidence questions (log scale)',
    yLabel: 'evidence recalled (%)',
    series,
    ...PERCENT_VS_LOG_AXES,
  });
  await writeChart(path, png);
}

// ---------------------------------------------------------------- files

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
