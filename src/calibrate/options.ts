/**
 * Options of a calibration run, checked with zod at the boundary: every refusal names the
 * option at fault and what to pass instead.
 */
import { z } from 'zod';
import type { RenderTurn, FontChoice } from '../../renderers/text-layout.js';
import type { Decoder } from '../decoders/decoder.js';
import { GLYPH_DECODER_NAME } from '../decoders/glyph/glyph-decoder.js';
import { ONNX_DECODER_NAME } from '../decoders/onnx/index.js';
import { InvalidInputError, parseInput } from '../errors.js';
import { resolveProfile, validateTurns } from '../codec/codec.js';
import type { TextTokenizer } from '../tokens/text-tokenizer.js';
import type { CanvasSize, VisionTokenProfile } from '../tokens/vision-token-profile.js';
import type { CostEstimate } from './estimate.js';
import type { NeedleAsker } from './needles.js';

/** Glyph sizes (px, as the model sees them) measured by default. */
export const DEFAULT_SIZES: readonly number[] = Object.freeze([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18, 20]);
/** Pages read at every glyph size by default. */
export const DEFAULT_PAGES = 4;
/** Mean fidelity a glyph size must reach to count as legible by default. */
export const DEFAULT_MIN_FIDELITY = 0.95;
/** Estimated tokens (input + output) a run may spend on a billed decoder without `yes`. */
export const DEFAULT_MAX_TOKENS = 1_000_000;
/** Tokens of the text prompt and message framing sent with every page, for the estimate. */
export const DEFAULT_PROMPT_TOKENS = 40;
/** Canvases up to this many pixels are the default calibration page (see `defaultCanvas`). */
export const DEFAULT_CANVAS_PIXELS = 1024 * 1024;

/** The decoders opticmem runs on this machine: they cost nothing per page. */
const LOCAL_DECODER_NAMES = new Set([GLYPH_DECODER_NAME, ONNX_DECODER_NAME, `${GLYPH_DECODER_NAME}+${ONNX_DECODER_NAME}`]);

/** One page read at one glyph size: what `onPage` reports. */
export interface CalibrationProgress {
  readonly glyphPx: number;
  readonly page: number;
  readonly fidelity: number;
  /** Pages finished (read now or found in the state file) of `total`. */
  readonly done: number;
  readonly total: number;
  /** True when the result came from the state file of an earlier run. */
  readonly resumed: boolean;
}

export interface CalibrateOptions {
  /** Vision-token profile of the consuming model: its canvases and token counts. */
  readonly profile: string | VisionTokenProfile;
  /** The consumer: reads each page back (e.g. `createOpenAIDecoder({ model: 'gpt-4o' })`). */
  readonly decoder: Decoder;
  /** The model's name as the preset records it. Default: the decoder's name (without `openai:`). */
  readonly model?: string;
  /** Held-out chat text the pages are filled from (cycled when a page needs more). */
  readonly turns: readonly RenderTurn[];
  /** Where the text came from, for the preset's `source` (e.g. a file name). */
  readonly textSource?: string;
  /** Glyph sizes to measure, px as the model sees them. Default `DEFAULT_SIZES`. */
  readonly sizes?: readonly number[];
  /** Pages read at every size. Default 4. */
  readonly pages?: number;
  /** Mean fidelity a size must reach (and every larger size too) to be legible. Default 0.95. */
  readonly minFidelity?: number;
  /** The canvas pages are drawn on: one of the profile's `sizes()`. Default: see `defaultCanvas`. */
  readonly canvas?: CanvasSize;
  readonly font?: FontChoice;
  /**
   * Plant a fact sentence in the middle of every page and ask it back with this asker (one more
   * request a page), e.g. `createOpenAINeedleAsker({ model: 'gpt-4o' })`. Reported beside
   * fidelity; the floor is chosen by fidelity alone.
   */
  readonly needles?: NeedleAsker;
  /** Folder for the state file (resumable runs), the report, the chart and the preset. */
  readonly outDir?: string;
  /** Whether pages cost money. Default: true unless the decoder is one of opticmem's local readers. */
  readonly billed?: boolean;
  /** USD per million tokens, for the cost line of the estimate. */
  readonly prices?: { readonly inputPerMTok?: number; readonly outputPerMTok?: number };
  /** A billed run whose estimate exceeds this many tokens needs `yes`. Default 1,000,000. */
  readonly maxTokens?: number;
  /** Proceed with a billed run whatever the estimate (the CLI's `--yes`). */
  readonly yes?: boolean;
  /**
   * A person watching a terminal saw the estimate (the CLI sets it when stdin and stderr are
   * terminals): a billed run within `maxTokens` then proceeds without `yes` if `confirm` agrees.
   * Default false, so a billed run from code or a script needs `yes`.
   */
  readonly interactive?: boolean;
  /**
   * Asked, when the run is interactive, billed, within `maxTokens` and not confirmed by `yes`,
   * whether to go ahead (the CLI asks "Proceed? [y/N]" on the terminal). Absent: go ahead.
   */
  readonly confirm?: (estimate: CostEstimate) => boolean | Promise<boolean>;
  /** Prompt tokens per page for the estimate. Default 40. */
  readonly promptTokens?: number;
  readonly tokenizer?: TextTokenizer;
  /** Called once, before any page is read, with what the run will cost. */
  readonly onEstimate?: (estimate: CostEstimate) => void;
  /** Called after every page (also for pages taken from the state file). */
  readonly onPage?: (progress: CalibrationProgress) => void;
  readonly signal?: AbortSignal;
  /** Clock for `measuredAt`. Default `() => new Date()`. */
  readonly now?: () => Date;
}

const glyphSize = z
  .number({ error: 'each size must be a number of pixels, e.g. 6,8,10,12' })
  .finite()
  .min(3, 'sizes must be >= 3 px: no reader reads smaller glyphs')
  .max(64, 'sizes must be <= 64 px: larger glyphs tell nothing about a floor');

const Schema = z
  .object({
    profile: z.union([z.string().min(1, 'profile must name a vision-token profile, e.g. gpt-4o'), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)], {
      error: 'profile must name a vision-token profile, e.g. gpt-4o',
    }),
    decoder: z.custom<Decoder>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Decoder).decode === 'function',
      'decoder must be a Decoder, e.g. createOpenAIDecoder({ baseURL, model }) or createLocalDecoder({ reader: "model" })',
    ),
    model: z.string().min(1, 'model must not be empty; name the model, e.g. gpt-4o').optional(),
    turns: z.array(z.unknown(), { error: 'turns must be an array of { role, content } chat turns' }),
    textSource: z.string().optional(),
    sizes: z.array(glyphSize, { error: 'sizes must be an array of pixel sizes, e.g. [6, 8, 10, 12]' }).min(1, 'sizes must list at least one glyph size').max(64, 'sizes must list at most 64 glyph sizes').optional(),
    pages: z.number({ error: 'pages must be a whole number of pages per size' }).int('pages must be a whole number').min(1, 'pages must be >= 1').max(1000, 'pages must be <= 1000').optional(),
    minFidelity: z.number({ error: 'minFidelity must be a number in (0, 1], e.g. 0.95' }).gt(0, 'minFidelity must be > 0').max(1, 'minFidelity must be <= 1 (a fraction, e.g. 0.95, not a percentage)').optional(),
    canvas: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }, { error: 'canvas must be { width, height } in whole pixels' }).optional(),
    font: z.enum(['sans', 'mono', 'auto'], { error: "font must be 'sans', 'mono' or 'auto'" }).optional(),
    needles: z.custom<NeedleAsker>((v) => typeof v === 'object' && v !== null && typeof (v as NeedleAsker).ask === 'function', 'needles must be a NeedleAsker, e.g. createOpenAINeedleAsker({ model })').optional(),
    outDir: z.string().min(1, 'outDir must name a folder').optional(),
    billed: z.boolean().optional(),
    prices: z
      .object({
        inputPerMTok: z.number().finite().nonnegative('prices.inputPerMTok must be >= 0 USD per million tokens').optional(),
        outputPerMTok: z.number().finite().nonnegative('prices.outputPerMTok must be >= 0 USD per million tokens').optional(),
      })
      .strict()
      .optional(),
    maxTokens: z.number({ error: 'maxTokens must be a number of tokens' }).int().positive('maxTokens must be > 0').optional(),
    yes: z.boolean().optional(),
    interactive: z.boolean().optional(),
    promptTokens: z.number().int().nonnegative().optional(),
    tokenizer: z.custom<TextTokenizer>((v) => typeof v === 'object' && v !== null && 'count' in v, 'tokenizer must be a TextTokenizer').optional(),
    onEstimate: z.function().optional(),
    confirm: z.function().optional(),
    onPage: z.function().optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'signal must be an AbortSignal').optional(),
    now: z.function().optional(),
  })
  .strict();

/** Options with every default applied. */
export interface ResolvedCalibration {
  readonly profile: VisionTokenProfile;
  readonly decoder: Decoder;
  readonly model: string;
  readonly turns: readonly RenderTurn[];
  readonly textSource: string;
  /** Sorted, without repeats. */
  readonly sizes: readonly number[];
  readonly pages: number;
  readonly minFidelity: number;
  readonly canvas: CanvasSize;
  readonly font: FontChoice;
  readonly needles: NeedleAsker | undefined;
  readonly outDir: string | undefined;
  readonly billed: boolean;
  readonly prices: { readonly inputPerMTok?: number; readonly outputPerMTok?: number };
  readonly maxTokens: number;
  readonly yes: boolean;
  readonly interactive: boolean;
  readonly promptTokens: number;
}

/**
 * The default calibration canvas: the largest of the profile's canvases (by pixels, then
 * tokens) with at most 1024x1024 pixels, else its smallest. A page that size holds a few
 * thousand to tens of thousands of characters, enough to measure a glyph size, while keeping a
 * transcription within a chat model's output limit.
 */
export function defaultCanvas(profile: VisionTokenProfile): CanvasSize {
  const sizes = [...profile.sizes()];
  const area = (s: CanvasSize) => s.width * s.height;
  const small = sizes.filter((s) => area(s) <= DEFAULT_CANVAS_PIXELS);
  const pool = small.length > 0 ? small : [sizes.reduce((a, b) => (area(b) < area(a) ? b : a))];
  return pool.reduce((a, b) => (area(b) > area(a) || (area(b) === area(a) && profile.tokensFor(b.width, b.height) > profile.tokensFor(a.width, a.height)) ? b : a));
}

/** The name a preset records for a decoder: an OpenAI-compatible decoder's model, else the decoder's name. */
export function modelName(decoder: Decoder): string {
  return decoder.name.startsWith('openai:') ? decoder.name.slice('openai:'.length) : decoder.name;
}

export function isLocalDecoder(decoder: Decoder): boolean {
  return LOCAL_DECODER_NAMES.has(decoder.name);
}

export function resolveCalibration(options: CalibrateOptions): ResolvedCalibration {
  const o = parseInput(Schema, options, 'options');
  const profile = resolveProfile(o.profile as string | VisionTokenProfile);
  const canvases = profile.sizes();
  let canvas: CanvasSize;
  if (o.canvas) {
    const match = canvases.find((s) => s.width === o.canvas!.width && s.height === o.canvas!.height);
    if (!match) {
      throw new InvalidInputError(
        'canvas',
        `'canvas' ${o.canvas.width}x${o.canvas.height} is not a ${profile.name} canvas. Use one of: ${canvases.map((s) => `${s.width}x${s.height}`).join(', ')}; or leave it out for ${sizeText(defaultCanvas(profile))}.`,
      );
    }
    canvas = match;
  } else canvas = defaultCanvas(profile);
  const turns = validateTurns(o.turns).filter((t) => t.content.trim() !== '');
  const sizes = [...new Set(o.sizes ?? DEFAULT_SIZES)].sort((a, b) => a - b);
  const decoder = options.decoder;
  return {
    profile,
    decoder,
    model: o.model ?? modelName(decoder),
    turns,
    textSource: o.textSource ?? `${turns.length} chat turns`,
    sizes,
    pages: o.pages ?? DEFAULT_PAGES,
    minFidelity: o.minFidelity ?? DEFAULT_MIN_FIDELITY,
    canvas,
    font: o.font ?? 'auto',
    needles: options.needles,
    outDir: o.outDir,
    billed: o.billed ?? !isLocalDecoder(decoder),
    prices: o.prices ?? {},
    maxTokens: o.maxTokens ?? DEFAULT_MAX_TOKENS,
    yes: o.yes === true,
    interactive: o.interactive === true,
    promptTokens: o.promptTokens ?? DEFAULT_PROMPT_TOKENS,
  };
}

export function sizeText(size: CanvasSize): string {
  return `${size.width}x${size.height}`;
}
