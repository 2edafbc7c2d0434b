/**
 * The written summary of a forgetting-experiment run (report.ts puts it first), and the number
 * and date wording the report's tables share. Every sentence names the conversations its numbers
 * cover: tokens and pages are over every conversation, evidence recall only over those with
 * evidence questions.
 */
import { getRetentionCurve } from '../../memory/retention.js';
import { TiersSchema } from '../../memory/tiers.js';
import { formatNumber, formatPercent } from '../lib/table.js';
import type { ForgettingResults } from './results.js';
import { ladderOf, NO_FORGETTING } from './policies.js';
import { type BucketRow, type CheckpointRow, LADDERS, type RecencyRow, type StrategyRow, TIER_ORDER, byCanvas, daysUntilBelow, mean, mode, policyOf, qaConversations, sum } from './report-rows.js';

export const pct = (v: number) => formatPercent(v, 1);
export const int = (v: number) => formatNumber(Number.isFinite(v) ? Math.round(v) : v);
export const ratioText = (v: number) => (Number.isFinite(v) ? `${formatNumber(v, { digits: 1 })}x` : '—');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
export const dayLabel = (d: number) => (d === 1 ? '1 day' : d === 7 ? '1 week' : d === 30 ? '1 month' : d === 91 ? '3 months' : d === 365 ? '1 year' : `${d} days`);
export const shortDay = (d: number) => (d === 1 ? '1d' : d === 7 ? '1w' : d === 30 ? '1mo' : d === 91 ? '3mo' : d === 365 ? '1y' : `${d}d`);
export const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
export const curveName = (c: string | undefined) => (c === 'fsrs' ? 'FSRS' : c === 'ebbinghaus' ? 'Ebbinghaus' : String(c));

export function label(r: ForgettingResults, id: string): string {
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

export function conversationsText(ids: readonly string[]): ConversationsText {
  const short = ids.length === 1 ? 'the one conversation' : ids.length === 2 ? 'both conversations' : `all ${ids.length} conversations`;
  return { full: `${short} (${ids.join(', ')})`, short };
}

/** The conversations evidence recall covers (those with evidence questions). */
export function qaText(ids: readonly string[], all: number): ConversationsText {
  if (ids.length === all) return conversationsText(ids);
  const short = ids.length === 1 ? 'the one conversation with evidence questions' : `the ${ids.length} conversations with evidence questions`;
  return { full: `${short} (${ids.join(', ')})`, short };
}

export const strengthText = (days: number) => (days === 1 ? '1 day' : `${formatNumber(days, { digits: 1 })} days`);

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

export function summaryParagraph(r: ForgettingResults, rows: CheckpointRow[], buckets: BucketRow[], recency: RecencyRow[], strategies: StrategyRow[]): string {
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
