/**
 * Ageing: each page's retention under the forgetting curve decides its step on the ladder;
 * pages move down (never up) by downsampling the stored image (blur-like forgetting, geometry
 * scaled with it) or by re-rendering their decoded text at the lower resolution, and are
 * dropped below the last step, leaving a one-line tombstone unless the caller purges.
 */
import { randomUUID } from 'node:crypto';
import type { PageGeometry } from '../renderers/page.js';
import { fitFontSize, lineHeightFor, marginFor } from '../renderers/page-planner.js';
import { renderPage } from '../renderers/page-renderer.js';
import { encodeGrayPng, GEOMETRY_KEYWORD } from '../renderers/png.js';
import { decode } from '../src/codec/codec.js';
import { fidelity } from '../src/codec/fidelity.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { resize } from '../src/decoders/onnx/gray-image.js';
import { decodePngToGray } from '../src/decoders/onnx/png-pixels.js';
import { InvalidInputError } from '../src/errors.js';
import { getProfile } from '../src/tokens/profiles/index.js';
import type { CanvasSize, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { stepFor, type Ladder, type LadderStep } from './ladder.js';
import type { RetentionCurve } from './retention.js';
import type { MemoryStore, PageMoveRow, PageRow, PageUpdate, Scope } from './store/store.js';

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
}

/** A page's step down the ladder: the stored move record without its id, scope and time. */
export type PageMove = Pick<PageMoveRow, 'pageId' | 'from' | 'to' | 'retention' | 'visualTokensBefore' | 'visualTokensAfter'>;

export interface AgeResult {
  readonly now: number;
  readonly examined: number;
  readonly pinned: number;
  readonly unchanged: number;
  readonly moved: readonly PageMove[];
  readonly dropped: readonly { pageId: string; tier: string; retention: number }[];
}

export interface AgeingContext {
  readonly store: MemoryStore;
  readonly decoder: () => Decoder;
  readonly curve: RetentionCurve;
  readonly ladder: Ladder;
  readonly clock: () => number;
}

const LAST_AGED_KEY = 'last_aged_at';

export function resolveNow(input: number | Date | undefined, clock: () => number): number {
  const now = input === undefined ? clock() : input instanceof Date ? input.getTime() : input;
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new InvalidInputError('now', `'now' must be a valid time (ms since epoch or a Date); got ${String(input)}.`);
  }
  return now;
}

/** Retention of a page at `now`: time runs from its last recall, or from when it was said. */
export function pageRetention(page: Pick<PageRow, 'lastRecalledAt' | 'endTime' | 'strength' | 'importance'>, now: number, curve: RetentionCurve): number {
  const since = Math.max(page.lastRecalledAt, page.endTime);
  return curve.retention(Math.max(0, now - since) / DAY_MS, { strength: page.strength, importance: page.importance });
}

/** The canvas a page moves to for a ladder step, or undefined when it is already that small. */
function targetCanvas(page: PageRow, step: LadderStep): { profile: VisionTokenProfile; size: CanvasSize; tokens: number } | undefined {
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
  if (options.length === 0) return undefined;
  // Ratio steps: the fewest tokens that keep the ratio at or below the step's target.
  // Mode steps: the mode's largest canvas below the current one.
  return step.ratio ? (options.find((o) => o.tokens >= need) ?? options[options.length - 1]) : options[options.length - 1];
}

async function downsample(page: PageRow, size: CanvasSize): Promise<{ png: Uint8Array; geometry: PageGeometry }> {
  const geometry = JSON.parse(page.geometry) as PageGeometry;
  const gray = await decodePngToGray(page.png);
  const f = Math.min(size.width / gray.width, size.height / gray.height);
  const w = Math.max(1, Math.round(gray.width * f));
  const h = Math.max(1, Math.round(gray.height * f));
  const small = resize(gray, w, h);
  const out = new Uint8Array(size.width * size.height).fill(255);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * size.width + x] = Math.max(0, Math.min(255, Math.round(small.data[y * w + x]!)));
  const scale = (v: number) => Math.round(v * f * 100) / 100;
  const scaled: PageGeometry = {
    ...geometry,
    width: size.width,
    height: size.height,
    fontSize: scale(geometry.fontSize),
    lineHeight: scale(geometry.lineHeight),
    margin: scale(geometry.margin),
    ...(geometry.gutter !== undefined ? { gutter: scale(geometry.gutter) } : {}),
    lines: geometry.lines.map((l) => ({ ...l, x: scale(l.x), y: scale(l.y), width: scale(l.width), height: scale(l.height), fontSize: scale(l.fontSize) })),
  };
  return { png: encodeGrayPng(out, size.width, size.height, { [GEOMETRY_KEYWORD]: JSON.stringify(scaled) }), geometry: scaled };
}

async function rerender(text: string, size: CanvasSize): Promise<{ png: Uint8Array; geometry: PageGeometry } | undefined> {
  const turns = [{ role: 'text', content: text, label: '' }];
  let best: { fontSize: number; columns: number } | undefined;
  for (let columns = 1; columns <= 3 && size.width / columns >= 160; columns++) {
    const fontSize = fitFontSize(turns, size, 'auto', 3, 28, columns);
    if (fontSize !== undefined && (!best || fontSize > best.fontSize)) best = { fontSize, columns };
  }
  if (!best) return undefined;
  const page = await renderPage(turns, { ...size, fontSize: best.fontSize, lineHeight: lineHeightFor(best.fontSize), margin: marginFor(best.fontSize), font: 'auto', columns: best.columns });
  return { png: page.png, geometry: page.geometry };
}

export async function agePages(ctx: AgeingContext, options: AgeOptions = {}): Promise<AgeResult> {
  const now = resolveNow(options.now, ctx.clock);
  const last = Number((await ctx.store.getMeta(LAST_AGED_KEY)) ?? '0');
  if (now < last) {
    throw new InvalidInputError('now', `'now' (${new Date(now).toISOString()}) is before the last ageing (${new Date(last).toISOString()}). Memories cannot be aged backwards; pass a later time.`);
  }
  const strategy = options.strategy ?? 'downsample';
  if (strategy !== 'downsample' && strategy !== 'rerender') throw new InvalidInputError('strategy', "'strategy' must be 'downsample' or 'rerender'.");
  const scopes = options.scope
    ? [options.scope]
    : (await ctx.store.scopes()).filter((s) => s.pages > 0).map((s) => s.scope as Scope);
  const steps = ctx.ladder.steps;
  const result = { now, examined: 0, pinned: 0, unchanged: 0, moved: [] as PageMove[], dropped: [] as AgeResult['dropped'][number][] };
  for (const scope of scopes) {
    const history: PageMoveRow[] = [];
    const pages = (await ctx.store.listPages(scope)).filter((p) => !options.scope ? p.userId === (scope.userId ?? '') && p.agentId === (scope.agentId ?? '') && p.sessionId === (scope.sessionId ?? '') : true);
    for (const page of pages) {
      result.examined++;
      if (page.pinned) {
        result.pinned++;
        continue;
      }
      const retention = pageRetention(page, now, ctx.curve);
      const target = stepFor(ctx.ladder, retention);
      const current = steps.findIndex((s) => s.name === page.tier);
      const exact = { userId: page.userId, agentId: page.agentId, sessionId: page.sessionId };
      if (target === -1) {
        await ctx.store.deletePages(exact, [page.id]);
        if (!options.purge) {
          await ctx.store.addTombstones([
            {
              id: randomUUID(), ...exact, pageId: page.id, turnCount: page.turnIds.length, startTime: page.startTime, endTime: page.endTime,
              tier: page.tier, reason: `retention ${retention.toFixed(3)} below ${steps[steps.length - 1]!.minRetention} (${ctx.curve.name})`, droppedAt: now,
            },
          ]);
        }
        result.dropped.push({ pageId: page.id, tier: page.tier, retention });
        continue;
      }
      if (target <= current) {
        result.unchanged++;
        continue;
      }
      const step = steps[target]!;
      const canvas = targetCanvas(page, step);
      const update: { -readonly [K in keyof PageUpdate]: PageUpdate[K] } = { tier: step.name, updatedAt: now };
      if (canvas) {
        const previousText = page.decodedText || (await decode(page.png, { decoder: ctx.decoder(), geometry: JSON.parse(page.geometry) })).text;
        const made = (strategy === 'rerender' ? await rerender(previousText, canvas.size) : undefined) ?? (await downsample(page, canvas.size));
        const decoded = (await decode(made.png, { decoder: ctx.decoder(), geometry: made.geometry })).text;
        // We no longer hold the source: fidelity is carried forward through the previous read.
        const carried = (page.fidelity >= 0 ? page.fidelity : 1) * fidelity(decoded, previousText);
        Object.assign(update, {
          png: made.png,
          geometry: JSON.stringify(made.geometry),
          width: canvas.size.width,
          height: canvas.size.height,
          profile: canvas.profile.name,
          visualTokens: canvas.tokens,
          ratio: page.textTokens / canvas.tokens,
          decodedText: decoded,
          fidelity: carried,
        });
      }
      await ctx.store.updatePage(exact, page.id, update);
      const move: PageMove = { pageId: page.id, from: page.tier, to: step.name, retention, visualTokensBefore: page.visualTokens, visualTokensAfter: canvas?.tokens ?? page.visualTokens };
      result.moved.push(move);
      history.push({ id: randomUUID(), ...exact, ...move, movedAt: now });
    }
    // One commit per scope keeps the moves table from fragmenting into a file per page.
    if (history.length) await ctx.store.addMoves?.(history);
  }
  await ctx.store.setMeta(LAST_AGED_KEY, String(now));
  return result;
}
