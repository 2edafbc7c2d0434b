/**
 * The optical codec: turns -> pages (plan, render, optionally verify by decoding and re-plan
 * at a lower ratio until the fidelity target holds) and pages -> text.
 */
import { mapLimit } from '../internal/map-limit.js';
import { z } from 'zod';
import type { PageGeometry } from '../../renderers/page.js';
import { renderPage } from '../../renderers/page-renderer.js';
import { pageSourceText, planPages, type PagePlan, type TurnSlice } from '../../renderers/page-planner.js';
import { readGeometry } from '../../renderers/png.js';
import { unescapeUnreadable, type RenderTurn } from '../../renderers/text-layout.js';
import type { Decoder, DecodedText } from '../decoders/decoder.js';
import { InvalidInputError, MissingGeometryError, parseInput } from '../errors.js';
import { getProfile } from '../tokens/profiles/index.js';
import { createO200kTokenizer, type TextTokenizer } from '../tokens/text-tokenizer.js';
import type { VisionTokenProfile } from '../tokens/vision-token-profile.js';
import { assembleText, type AssembledText } from './assemble-text.js';
import { fidelity } from './fidelity.js';
import { tracePhase } from '../internal/phase-trace.js';

export const DEFAULT_PROFILE = 'deepseek-ocr:base';
export const DEFAULT_MAX_TURN_CHARS = 256 * 1024;

export interface VerifyOptions {
  readonly decoder: Decoder;
  /** Fidelity every page must reach; pages below it are re-planned at a lower ratio. Default 0.98. */
  readonly minFidelity?: number;
  /** Lowest ratio the loop may fall back to before keeping the best page it has. Default 2. */
  readonly minRatio?: number;
  /** Factor applied to the ratio on each retry. Default 0.8. */
  readonly step?: number;
}

export interface EncodeOptions {
  /** Target text tokens per visual token: 10 = lossless tier, 20 = forgetting tier. */
  readonly ratio: number;
  /** Vision-token profile name or object. Default 'deepseek-ocr:base'. */
  readonly profile?: string | VisionTokenProfile;
  readonly tokenizer?: TextTokenizer;
  readonly font?: 'sans' | 'mono' | 'auto';
  readonly minFontSize?: number;
  readonly maxFontSize?: number;
  readonly maxSide?: number;
  readonly maxTurnChars?: number;
  /**
   * Legibility floor: the smallest glyph the profile's model must see, in its own input pixels
   * (see `legibilityOf`). Pages then come out at the highest ratio the floor allows when that
   * is below `ratio`. Default: none (the ratio alone decides, as the forgetting tier wants).
   */
  readonly minGlyphPx?: number;
  /** Closed loop: decode each page and re-plan until `minFidelity` holds. */
  readonly verify?: VerifyOptions;
  /** Called after each page is finished (for progress bars). */
  /** Each page as it is finished; `index` counts finished pages (pages verified at once may finish out of order). */
  readonly onPage?: (page: EncodedPage, index: number) => void;
}

export interface EncodedPage {
  readonly png: Uint8Array;
  readonly geometry: PageGeometry;
  readonly turns: readonly RenderTurn[];
  /** Source turn index and content range of each turn on the page. */
  readonly slices: readonly TurnSlice[];
  /** The text the page stands for (labels and content). */
  readonly sourceText: string;
  readonly textTokens: number;
  readonly visualTokens: number;
  /** Achieved textTokens / visualTokens. */
  readonly ratio: number;
  /** Ratio the caller asked for. */
  readonly targetRatio: number;
  readonly profile: string;
  /** Measured when the closed loop ran. */
  readonly fidelity?: number;
  readonly decodedText?: string;
}

const TurnSchema = z
  .object({
    role: z.string().min(1, 'role must be a non-empty string such as "user" or "assistant"'),
    content: z.string({ error: 'content must be a string' }),
    label: z.string().optional(),
  })
  .strict();

const EncodeOptionsSchema = z
  .object({
    ratio: z.number({ error: 'ratio must be a number' }).finite().positive('ratio must be > 0 (10 = lossless tier, 20 = forgetting tier)'),
    profile: z.union([z.string().min(1), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    tokenizer: z.custom<TextTokenizer>((v) => typeof v === 'object' && v !== null && 'count' in v).optional(),
    font: z.enum(['sans', 'mono', 'auto']).optional(),
    minFontSize: z.number().min(3).max(64).optional(),
    maxFontSize: z.number().min(3).max(128).optional(),
    maxSide: z.number().int().min(64).optional(),
    maxTurnChars: z.number().int().positive().optional(),
    minGlyphPx: z.number({ error: 'minGlyphPx must be a number of pixels' }).positive('minGlyphPx must be > 0').max(256, 'minGlyphPx must be <= 256').optional(),
    verify: z
      .object({
        decoder: z.custom<Decoder>((v) => typeof v === 'object' && v !== null && 'decode' in v, 'verify.decoder must be a Decoder'),
        minFidelity: z.number().min(0).max(1).optional(),
        minRatio: z.number().positive().optional(),
        step: z.number().gt(0).lt(1).optional(),
      })
      .strict()
      .optional(),
    onPage: z.function().optional(),
  })
  .strict();

export function resolveProfile(profile: string | VisionTokenProfile | undefined): VisionTokenProfile {
  if (profile === undefined) return getProfile(DEFAULT_PROFILE);
  return typeof profile === 'string' ? getProfile(profile) : profile;
}

/** Validate turns for the codec: strings only, some text, no turn over the size limit. */
export function validateTurns(turns: unknown, maxTurnChars = DEFAULT_MAX_TURN_CHARS): RenderTurn[] {
  const parsed = parseInput(z.array(TurnSchema), turns, 'turns');
  if (parsed.length === 0 || parsed.every((t) => t.content.trim().length === 0)) {
    throw new InvalidInputError('turns', "'turns' holds no text. Pass at least one turn with non-empty 'content'.");
  }
  parsed.forEach((t, i) => {
    if (t.content.length > maxTurnChars) {
      throw new InvalidInputError(
        `turns.${i}.content`,
        `'turns.${i}.content' is ${t.content.length} characters; the limit is ${maxTurnChars}. Split the turn into smaller turns or raise 'maxTurnChars'.`,
      );
    }
  });
  return parsed;
}

/** Render turns into pages at the target ratio. */
export async function encode(turns: readonly RenderTurn[], options: EncodeOptions): Promise<EncodedPage[]> {
  const opts = parseInput(EncodeOptionsSchema, options, 'options') as EncodeOptions;
  const source = validateTurns(turns, opts.maxTurnChars);
  const profile = resolveProfile(opts.profile);
  const tokenizer = opts.tokenizer ?? createO200kTokenizer();
  const planOpts = {
    profile,
    tokenizer,
    ...(opts.font ? { font: opts.font } : {}),
    ...(opts.minFontSize ? { minFontSize: opts.minFontSize } : {}),
    ...(opts.maxFontSize ? { maxFontSize: opts.maxFontSize } : {}),
    ...(opts.maxSide ? { maxSide: opts.maxSide } : {}),
    ...(opts.minGlyphPx ? { minGlyphPx: opts.minGlyphPx } : {}),
  };
  let done = 0;
  const emit = (page: EncodedPage): EncodedPage => {
    opts.onPage?.(page, done++);
    return page;
  };
  // Pages are verified concurrently up to what the decoder serves at once (a remote endpoint
  // keeps many in flight; the local readers one), and come back in source order.
  const width = Math.max(1, Math.floor(opts.verify?.decoder.concurrency ?? 1));

  const encodePlans = async (plans: readonly PagePlan[], ratio: number, offset: (s: TurnSlice) => TurnSlice): Promise<EncodedPage[]> => {
    const encodeOne = async (plan: PagePlan): Promise<EncodedPage[]> => {
      const slices = plan.slices.map(offset);
      tracePhase('rendering');
      const page = await renderPlan(plan, slices, opts.ratio);
      const verify = opts.verify;
      if (!verify) return [emit(page)];
      tracePhase('verifying');
      const decoded = await decode(page.png, { decoder: verify.decoder, geometry: page.geometry });
      const f = fidelity(decoded.text, page.sourceText);
      const checked = { ...page, fidelity: f, decodedText: decoded.text };
      // Step down from what the page achieved: a plan held back by font-size limits would come out the same.
      const next = Math.min(ratio, page.ratio) * (verify.step ?? 0.8);
      if (f >= (verify.minFidelity ?? 0.98) || next < (verify.minRatio ?? 2)) return [emit(checked)];
      // Re-plan just this page's turns at a lower ratio; slices stay relative to the source.
      const subPlans = planPages(plan.turns, { ...planOpts, ratio: next });
      return encodePlans(subPlans, next, (s) => {
        const parent = slices[s.turn]!;
        return { turn: parent.turn, start: parent.start + s.start, end: parent.start + s.end };
      });
    };
    return (await mapLimit(plans, width, encodeOne)).flat();
  };
  return encodePlans(planPages(source, { ...planOpts, ratio: opts.ratio }), opts.ratio, (s) => s);
}


async function renderPlan(plan: PagePlan, slices: readonly TurnSlice[], targetRatio: number): Promise<EncodedPage> {
  const rendered = await renderPage(plan.turns, plan);
  return {
    png: rendered.png,
    geometry: rendered.geometry,
    turns: plan.turns,
    slices,
    sourceText: pageSourceText(plan.turns),
    textTokens: plan.textTokens,
    visualTokens: plan.visualTokens,
    ratio: plan.ratio,
    targetRatio,
    profile: plan.profile,
  };
}

export interface DecodePageOptions {
  readonly decoder: Decoder;
  /** Geometry, when the caller has it already (otherwise read from the PNG). */
  readonly geometry?: PageGeometry;
  /** false: ignore any embedded geometry and run text detection. */
  readonly useGeometry?: boolean;
  readonly signal?: AbortSignal;
}

export interface DecodedPage extends AssembledText {
  readonly raw: DecodedText;
}

const DecodePageOptionsSchema = z
  .object({
    decoder: z.custom<Decoder>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Decoder).decode === 'function',
      "decoder must be a Decoder, e.g. createOnnxDecoder() or createOpenAIDecoder({ baseURL, model })",
    ),
    geometry: z.custom<PageGeometry>((v) => typeof v === 'object' && v !== null && Array.isArray((v as PageGeometry).lines), 'geometry must be the PageGeometry of the page').optional(),
    useGeometry: z.boolean().optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'signal must be an AbortSignal').optional(),
  })
  .strict();

/** Read a page back into text, rejoining wrapped lines and restoring indentation. */
export async function decode(png: Uint8Array, options: DecodePageOptions): Promise<DecodedPage> {
  parseInput(DecodePageOptionsSchema, options, 'options');
  const geometry = options.useGeometry === false ? undefined : (options.geometry ?? readGeometry(png, 'png'));
  const raw = await options.decoder.decode(geometry ? { png, geometry } : { png }, {
    ...(options.useGeometry === false ? { useGeometry: false } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (geometry && raw.path === 'geometry') return { ...assembleText(raw.lines, geometry), raw };
  const text = unescapeUnreadable(raw.text);
  return { text, turns: [{ turn: 0, text }], raw };
}

export { MissingGeometryError };
