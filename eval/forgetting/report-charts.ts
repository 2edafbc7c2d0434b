/** The forgetting report's three PNG charts: retention by page age, tokens held over time, evidence recall against tokens. */
import { getRetentionCurve } from '../../memory/retention.js';
import { renderLineChart, writeChart, type LineSeries } from '../lib/chart.js';
import type { ForgettingResults } from './results.js';
import { ladderOf } from './policies.js';
import { type BucketRow, type CheckpointRow, lastSnapshot, recencyBuckets, recencyCurve, recencyTimeline } from './report-rows.js';
import { curveName, int, shortDay, strengthText } from './report-summary.js';

/** Percent on y against a log-scaled x, the layout of the two age/tokens charts. */
const PERCENT_VS_LOG_AXES = { yDomain: [0, 100] as const, logX: true, width: 1000, height: 640 };

const MODEL_GREY = ['#9a9a9a', '#5f5f5f'];

export async function retentionChart(r: ForgettingResults, buckets: BucketRow[], path: string): Promise<void> {
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

export async function tokensChart(r: ForgettingResults, path: string): Promise<string | undefined> {
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

export async function recallChart(r: ForgettingResults, rows: CheckpointRow[], path: string): Promise<void> {
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
