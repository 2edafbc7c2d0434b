/**
 * Ageing: each page's retention under the forgetting curve decides its step on the ladder;
 * pages move down (never up) by downsampling the stored image (blur-like forgetting, geometry
 * scaled with it) or by re-rendering their decoded text at the lower resolution, and are
 * dropped below the last step, leaving a one-line tombstone unless the caller purges.
 *
 * A step only renames a page when its image already meets the step (a ratio step the page's
 * ratio reaches, or the mode it is already in). A step that cannot make the image smaller (no
 * smaller canvas in the profile's family) is not taken: the page keeps its tier and image,
 * counted in `cannotShrink`, until its retention reaches a step that can, or it is dropped.
 */
import { mapLimit } from '../src/internal/map-limit.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { PageGeometry } from '../renderers/page.js';
import { decode } from '../src/codec/codec.js';
import { fidelity } from '../src/codec/fidelity.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { InvalidInputError, type OpticMemError, parseInput } from '../src/errors.js';
import { pageFault } from './page-fault.js';
import { getProfile } from '../src/tokens/profiles/index.js';
import type { CanvasSize, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { resolveNow } from './clock.js';
import { downsample, rerender } from './page-shrink.js';
import { stepFor, type Ladder, type LadderStep } from './ladder.js';
import type { RetentionCurve } from './retention.js';
import { scopeKey } from './scope.js';
import type { MemoryStore, PageMoveRow, PageRow, PageUpdate, Scope, TombstoneRow } from './store/store.js';
import { tracePhase } from '../src/internal/phase-trace.js';

export { resolveNow } from './clock.js';

export const DAY_MS = 86_400_000;
export type AgeingStrategy = 'downsample' | 'rerender';

export interface AgeOptions {
  /** The time to age to, ms since epoch or a Date. Default: the memory's clock. */
  readonly now?: number | Date;
  /** Only this scope; default every scope in the store. */
  readonly scope?: Scope;
  readonly strategy?: AgeingStrategy;
  /** Drop pages without leaving tombstones. */
  readonly purge?: boolean;
  /** Called after each page moved or dropped, with how many of the decided changes are done (for progress bars). */
  readonly onProgress?: (done: number, total: number) => void;
}

const AgeOptionsSchema = z
  .object({
    // Checked by resolveNow, which names the field 'now' for every bad clock alike.
    now: z.unknown().optional(),
    scope: z.unknown().optional(),
    strategy: z.enum(['downsample', 'rerender'], { error: "must be 'downsample' or 'rerender'" }).optional(),
    purge: z.boolean({ error: 'must be true or false' }).optional(),
    onProgress: z.function().optional(),
  })
  .strict();

/** Age options checked strictly: unknown keys and non-boolean `purge` are refused. */
export function parseAgeOptions(options: unknown): AgeOptions {
  return parseInput(AgeOptionsSchema, options ?? {}, 'options') as AgeOptions;
}

/**
 * How a move made the page's new image: 'downsample' or 'rerender' as asked ('downsample' when
 * the text would not fit the smaller canvas legibly, so a re-render was impossible), or 'kept'
 * when the image already met the step and only the tier changed.
 */
export type MoveStrategy = AgeingStrategy | 'kept';

/** A page's step down the ladder: the stored move record without its id, scope and time, and how it was made. */
export type PageMove = Pick<PageMoveRow, 'pageId' | 'from' | 'to' | 'retention' | 'visualTokensBefore' | 'visualTokensAfter'> & {
  readonly strategy: MoveStrategy;
  readonly profileBefore: string;
  readonly profileAfter: string;
  /** Text tokens per visual token after the move. */
  readonly ratioAfter: number;
};

export interface AgeResult {
  readonly now: number;
  readonly examined: number;
  readonly pinned: number;
  /** Pages already on the step their retention calls for (or below it). */
  readonly unchanged: number;
  /** Pages whose step could not make their image smaller; they kept tier and image. */
  readonly cannotShrink: number;
  readonly moved: readonly PageMove[];
  readonly dropped: readonly { pageId: string; tier: string; retention: number }[];
  /** Pages whose stored strength or importance was not a number > 0, reset to the curve's start / 1. */
  readonly repaired: readonly string[];
  /** Pages left as they were because their image cannot be read (a failed checksum, a broken PNG), with why. */
  readonly skipped: readonly { readonly pageId: string; readonly error: OpticMemError }[];
}

export interface AgeingContext {
  readonly store: MemoryStore;
  readonly decoder: () => Decoder;
  readonly curve: RetentionCurve;
  readonly ladder: Ladder;
  readonly clock: () => number;
}

const LAST_AGED_KEY = 'last_aged_at';

/** When a page's clock starts: its last recall, or when its last turn was said. */
function clockStart(page: Pick<PageRow, 'lastRecalledAt' | 'endTime'>): number {
  return Math.max(page.lastRecalledAt, page.endTime);
}

/** Retention of a page at `now`: time runs from its last recall, or from when it was said. */
export function pageRetention(page: Pick<PageRow, 'lastRecalledAt' | 'endTime' | 'strength' | 'importance'>, now: number, curve: RetentionCurve): number {
  return curve.retention(Math.max(0, now - clockStart(page)) / DAY_MS, { strength: page.strength, importance: page.importance });
}

export type AgeingTarget =
  | { readonly kind: 'kept' }
  | { readonly kind: 'none' }
  | { readonly kind: 'shrink'; readonly profile: VisionTokenProfile; readonly size: CanvasSize; readonly tokens: number };

/** What a ladder step does to a page's image. */
export function targetFor(page: Pick<PageRow, 'profile' | 'textTokens' | 'visualTokens'>, step: LadderStep): AgeingTarget {
  if (step.profile ? page.profile === step.profile : page.visualTokens <= page.textTokens / step.ratio!) return { kind: 'kept' };
  const family = step.profile
    ? [getProfile(step.profile)]
    : page.profile.startsWith('deepseek-ocr:') && page.profile !== 'deepseek-ocr:gundam'
      ? ['tiny', 'small', 'base', 'large'].map((m) => getProfile(`deepseek-ocr:${m}`))
      : [getProfile(page.profile)];
  const need = step.ratio ? page.textTokens / step.ratio : 0;
  const options = family
    .flatMap((profile) => profile.sizes().filter((s) => Math.max(s.width, s.height) <= 2048).map((size) => ({ profile, size, tokens: profile.tokensFor(size.width, size.height) })))
    .filter((o) => o.tokens < page.visualTokens)
    .sort((a, b) => a.tokens - b.tokens);
  if (options.length === 0) return { kind: 'none' };
  // Ratio steps: the fewest tokens that keep the ratio at or below the step's target.
  // Mode steps: the mode's largest canvas below the current one.
  const o = step.ratio ? (options.find((x) => x.tokens >= need) ?? options[options.length - 1]!) : options[options.length - 1]!;
  return { kind: 'shrink', ...o };
}

type Meta = Omit<PageRow, 'png'>;
type Plan =
  | { readonly kind: 'drop'; readonly page: Meta; readonly retention: number }
  | { readonly kind: 'move'; readonly page: Meta; readonly retention: number; readonly step: LadderStep; readonly target: Exclude<AgeingTarget, { kind: 'none' }> };

const exactOf = (p: Pick<PageRow, 'userId' | 'agentId' | 'sessionId'>) => ({ userId: p.userId, agentId: p.agentId, sessionId: p.sessionId });
const validPositive = (v: number) => Number.isFinite(v) && v > 0;

export async function agePages(ctx: AgeingContext, options: AgeOptions = {}): Promise<AgeResult> {
  const now = resolveNow(options.now, ctx.clock);
  // The last ageing of the whole store, or of this scope. An explicit 'now' before it is a
  // mistaken clock and refused; the memory's own clock may fall just behind another process
  // that aged a moment later, which is harmless (ageing only moves pages down) and not refused.
  const markerKey = options.scope ? `${LAST_AGED_KEY}:${scopeKey(options.scope)}` : LAST_AGED_KEY;
  const markers = [LAST_AGED_KEY, ...(options.scope ? [markerKey] : [])];
  const last = Math.max(0, ...(await Promise.all(markers.map(async (k) => Number((await ctx.store.getMeta(k)) ?? '0') || 0))));
  if (now < last && options.now !== undefined) {
    throw new InvalidInputError('now', `'now' (${new Date(now).toISOString()}) is before the last ageing (${new Date(last).toISOString()}). Memories cannot be aged backwards; pass a later time.`);
  }
  const strategy = options.strategy ?? 'downsample';
  const scopes = options.scope
    ? [options.scope]
    : (await ctx.store.scopes()).filter((s) => s.pages > 0).map((s) => s.scope as Scope);
  const steps = ctx.ladder.steps;

  // Pass 1, metadata only: check every page's times, then decide. Nothing is written until the
  // whole store has been checked, so a bad `now` changes nothing.
  const plans: Plan[] = [];
  const damaged: { pageId: string; error: OpticMemError }[] = [];
  const repairs = new Map<string, { page: Meta; update: PageUpdate }>();
  let examined = 0;
  let pinned = 0;
  let unchanged = 0;
  let cannotShrink = 0;
  for (const scope of scopes) {
    // A page whose row is damaged is left as it is and reported in `skipped`.
    const all = await ctx.store.listPages(scope, { withPng: false, onDamaged: (pageId, error) => damaged.some((d) => d.pageId === pageId) || damaged.push({ pageId, error }) });
    const pages = options.scope ? all : all.filter((p) => p.userId === (scope.userId ?? '') && p.agentId === (scope.agentId ?? '') && p.sessionId === (scope.sessionId ?? ''));
    for (const stored of pages) {
      examined++;
      if (now < clockStart(stored)) {
        throw new InvalidInputError(
          'now',
          `'now' (${new Date(now).toISOString()}) is before page '${stored.id}' was last said or recalled (${new Date(clockStart(stored)).toISOString()}). Pass a 'now' at or after that time, or fix the clock that stamped it.`,
        );
      }
      let page: Meta = stored;
      if (!validPositive(page.strength) || !validPositive(page.importance)) {
        // A NaN would read as "forgotten" and drop the page; start it over instead, as if never recalled.
        const update = { ...(validPositive(page.strength) ? {} : { strength: ctx.curve.initialStrength }), ...(validPositive(page.importance) ? {} : { importance: 1 }) };
        page = { ...page, ...update };
        repairs.set(page.id, { page, update });
      }
      if (page.pinned) {
        pinned++;
        continue;
      }
      const retention = pageRetention(page, now, ctx.curve);
      const target = stepFor(ctx.ladder, retention);
      if (target === -1) {
        plans.push({ kind: 'drop', page, retention });
        continue;
      }
      // A tier not on this ladder counts as its last step: it may be dropped, never moved up.
      const known = steps.findIndex((s) => s.name === page.tier);
      const current = known === -1 ? steps.length - 1 : known;
      if (target <= current) {
        unchanged++;
        continue;
      }
      const step = steps[target]!;
      const t = targetFor(page, step);
      if (t.kind === 'none') {
        cannotShrink++;
        continue;
      }
      plans.push({ kind: 'move', page, retention, step, target: t });
    }
  }

  const repaired = [...repairs.keys()];

  // Pass 2, per exact scope: tombstones before deletes (a crash in between leaves a tombstone
  // whose page a rerun deletes without writing a second one), then the moves.
  const moved: PageMove[] = [];
  const dropped: AgeResult['dropped'][number][] = [];
  const skipped: { pageId: string; error: OpticMemError }[] = [...damaged];
  const groups = new Map<string, Plan[]>();
  for (const p of plans) groups.set(scopeKey(exactOf(p.page)), [...(groups.get(scopeKey(exactOf(p.page))) ?? []), p]);
  for (const group of groups.values()) {
    const exact = exactOf(group[0]!.page);
    const drops = group.filter((p) => p.kind === 'drop');
    if (drops.length) {
      if (!options.purge) {
        const stoned = new Set((await ctx.store.listTombstones(exact)).map((t) => t.pageId));
        const stones: TombstoneRow[] = drops
          .filter((d) => !stoned.has(d.page.id))
          .map((d) => ({
            id: randomUUID(), ...exact, pageId: d.page.id, turnCount: d.page.turnIds.length, startTime: d.page.startTime, endTime: d.page.endTime,
            tier: d.page.tier, reason: `retention ${d.retention.toFixed(3)} below ${steps[steps.length - 1]!.minRetention} (${ctx.curve.name})`, droppedAt: now,
          }));
        await ctx.store.addTombstones(stones);
      }
      tracePhase('dropping pages');
      await ctx.store.deletePages(exact, drops.map((d) => d.page.id));
      for (const d of drops) {
        repairs.delete(d.page.id);
        dropped.push({ pageId: d.page.id, tier: d.page.tier, retention: d.retention });
      }
      options.onProgress?.(moved.length + dropped.length, plans.length);
    }
    const history: PageMoveRow[] = [];
    // Pages are read as many at once as the decoder serves (a remote endpoint many, the local readers one).
    const moves = group.filter((p): p is Extract<typeof p, { kind: 'move' }> => p.kind === 'move');
    await mapLimit(moves, ctx.decoder().concurrency ?? 1, async (plan) => {
      let move: PageMove;
      try {
        move = await movePage(ctx, plan, strategy, now, repairs.get(plan.page.id)?.update ?? {});
      } catch (error) {
        // A page whose image cannot be read stays as it is, named; the others still age.
        if (!pageFault(error)) throw error;
        skipped.push({ pageId: plan.page.id, error });
        return;
      }
      repairs.delete(plan.page.id);
      moved.push(move);
      options.onProgress?.(moved.length + dropped.length, plans.length);
      history.push({ id: randomUUID(), ...exact, pageId: move.pageId, from: move.from, to: move.to, retention: move.retention, visualTokensBefore: move.visualTokensBefore, visualTokensAfter: move.visualTokensAfter, movedAt: now });
    });
    // One commit per scope keeps the moves table from fragmenting into a file per page.
    if (history.length) await ctx.store.addMoves?.(history);
  }
  for (const { page, update } of repairs.values()) await ctx.store.updatePage(exactOf(page), page.id, { ...update, updatedAt: now });
  // Never moved back: a concurrent ageing may have recorded a later time meanwhile.
  const latest = Number((await ctx.store.getMeta(markerKey)) ?? '0') || 0;
  if (now > latest) await ctx.store.setMeta(markerKey, String(now));
  return { now, examined, pinned, unchanged, cannotShrink, moved, dropped, repaired, skipped };
}

/** Re-encode one page for its new step (or only rename it when its image already meets the step). */
async function movePage(ctx: AgeingContext, plan: Extract<Plan, { kind: 'move' }>, strategy: AgeingStrategy, now: number, repair: PageUpdate): Promise<PageMove> {
  const { page, step, target } = plan;
  const exact = exactOf(page);
  const update: { -readonly [K in keyof PageUpdate]: PageUpdate[K] } = { ...repair, tier: step.name, updatedAt: now };
  let strategyUsed: MoveStrategy = 'kept';
  if (target.kind === 'shrink') {
    const full = await ctx.store.getPage(exact, page.id);
    if (!full) throw new InvalidInputError('scope', `Page '${page.id}' was deleted while it was being aged. Age again.`);
    const previousText = full.decodedText || (await decode(full.png, { decoder: ctx.decoder(), geometry: JSON.parse(full.geometry) })).text;
    tracePhase('ageing');
    const rendered = strategy === 'rerender' ? await rerender(previousText, target.size) : undefined;
    const made = rendered ?? (await downsample(full.png, JSON.parse(full.geometry) as PageGeometry, target.size));
    strategyUsed = rendered ? 'rerender' : 'downsample';
    const decoded = (await decode(made.png, { decoder: ctx.decoder(), geometry: made.geometry })).text;
    // We no longer hold the source: fidelity is carried forward through the previous read.
    const carried = (full.fidelity >= 0 ? full.fidelity : 1) * fidelity(decoded, previousText);
    Object.assign(update, {
      png: made.png,
      geometry: JSON.stringify(made.geometry),
      width: target.size.width,
      height: target.size.height,
      profile: target.profile.name,
      visualTokens: target.tokens,
      ratio: page.textTokens / target.tokens,
      decodedText: decoded,
      fidelity: carried,
    });
  }
  tracePhase('committing pages');
  await ctx.store.updatePage(exact, page.id, update);
  const visualTokensAfter = target.kind === 'shrink' ? target.tokens : page.visualTokens;
  return {
    pageId: page.id,
    from: page.tier,
    to: step.name,
    retention: plan.retention,
    visualTokensBefore: page.visualTokens,
    visualTokensAfter,
    strategy: strategyUsed,
    profileBefore: page.profile,
    profileAfter: target.kind === 'shrink' ? target.profile.name : page.profile,
    ratioAfter: page.textTokens / visualTokensAfter,
  };
}
