/**
 * The forgetting experiment's measurements aggregated into rows (report.ts prints them): tokens,
 * pages and evidence per policy and checkpoint, pages by age bucket, the two ageing strategies on
 * real shrinks, and the recency-truncation baseline at matched budgets.
 */
import { DAY_MS } from '../../memory/ageing.js';
import { DEEPSEEK_MODE_LADDER, RATIO_LADDER, type Ladder } from '../../memory/ladder.js';
import type { RetentionCurve } from '../../memory/retention.js';
import { AGE_BUCKETS, bucketOf, type ForgettingResults, type PageState, type Snapshot } from './results.js';
import { ladderOf, NO_FORGETTING, type LadderId, type OpticalPolicy } from './policies.js';
import { keepMostRecent } from './recency-truncation.js';

export const LADDERS: Record<LadderId, { readonly name: string; readonly ladder: Ladder }> = {
  ratio: { name: 'ratio ladder', ladder: RATIO_LADDER },
  'deepseek-modes': { name: 'mode ladder', ladder: DEEPSEEK_MODE_LADDER },
};

/** Tier names in ladder order, for tables. */
export const TIER_ORDER = [...new Set([...RATIO_LADDER.steps, ...DEEPSEEK_MODE_LADDER.steps].map((s) => s.name)), 'dropped'];

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

export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : Number.NaN);
export const mode = (profile: string) => profile.replace(/^deepseek-ocr:/, '');

/** Text tokens per visual token over `pages` (held ones only). */
function ratioOf(pages: readonly PageState[]): number {
  const held = pages.filter((p) => p.held);
  return sum(held.map((p) => p.textTokens)) / sum(held.map((p) => p.visualTokens));
}

/** DeepSeek-OCR canvases from largest to smallest. */
const CANVAS_ORDER = ['gundam', 'large', 'base', 'small', 'tiny'];
export const byCanvas = (profile: string) => {
  const i = CANVAS_ORDER.indexOf(mode(profile));
  return i === -1 ? CANVAS_ORDER.length : i;
};

const shrunk = (p: PageState) => p.held && p.visualTokens < p.writtenVisualTokens;
const unagedTokens = (s: Snapshot) => s.hotTokens + sum(s.pages.map((p) => p.writtenVisualTokens));

export function policyOf(r: ForgettingResults, id: string): OpticalPolicy | undefined {
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

export function lastSnapshot(r: ForgettingResults, policy: string, conversation: string): Snapshot | undefined {
  const days = r.settings.checkpointDays.at(-1);
  return r.snapshots.find((s) => s.policy === policy && s.conversation === conversation && s.days === days);
}

/** Conversations with evidence questions: the ones evidence recall is measured on. */
export function qaConversations(r: ForgettingResults): string[] {
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
export function recencyBuckets(r: ForgettingResults, matchedTo: string): { bucket: number; meanAgeDays: number; retained: number }[] {
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
export function recencyTimeline(r: ForgettingResults, conversation: string, budget: number, days: readonly number[]): { x: number; y: number }[] {
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
