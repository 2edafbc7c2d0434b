/**
 * Legibility floors: the smallest glyph, in a model's own input pixels (after its resize
 * rules), at which that model reads rendered text reliably. A page whose glyphs the consumer
 * would see smaller than its floor is never handed to it; it is drawn again for it, from the
 * page's decoded text, at the highest ratio the floor allows.
 *
 * A glyph's size is the font size (em) the line was drawn at, times the scale the model's
 * resize applies to the page (`effectiveSize` / page size, the smaller axis).
 */
import { z } from 'zod';
import { InvalidInputError, parseInput } from '../errors.js';
import type { Legibility, VisionTokenProfile } from './vision-token-profile.js';

export type { Legibility };

const DEEPSEEK: Legibility = {
  minGlyphPx: 9,
  source:
    'DeepSeek-OCR (arXiv 2510.18234, Table 2): ~97% precision below 10x compression, ~60% at 20x. On opticmem\'s layout a 10x page draws 10.25-10.75 px glyphs and a 20x page 7 px, on every mode; the floor sits at 9 px (about 12x), between the two.',
};
const GENERAL_VLM: Legibility = {
  minGlyphPx: 13,
  source:
    'General VLMs are not trained on compressed pages: Text or Pixels (arXiv 2510.18279) finds gpt-4o-mini reliable at about 2x, and VTCBench renders ~13 px glyphs on 768x768 pages for GPT-5 and Qwen3-VL at 2x. 13 px (about 1.5-2x on opticmem\'s layout) until a calibration run says otherwise.',
};
const UNPUBLISHED: Legibility = {
  minGlyphPx: 13,
  source: 'No published legibility figure for this model: the conservative general-VLM floor (13 px, as VTCBench renders for GPT-5 and Qwen3-VL). Run `opticmem calibrate` to measure it.',
};

/** Built-in floors, by profile name. */
const DEFAULTS: Readonly<Record<string, Legibility>> = Object.freeze({
  'deepseek-ocr:tiny': DEEPSEEK,
  'deepseek-ocr:small': DEEPSEEK,
  'deepseek-ocr:base': DEEPSEEK,
  'deepseek-ocr:large': DEEPSEEK,
  'deepseek-ocr:gundam': DEEPSEEK,
  'deepseek-ocr-2': { ...DEEPSEEK, source: `Same as DeepSeek-OCR, whose compression results DeepSeek-OCR 2 reports matching or exceeding. ${DEEPSEEK.source}` },
  'gpt-4o': GENERAL_VLM,
  'gpt-4.1': GENERAL_VLM,
  'gpt-5': GENERAL_VLM,
  'qwen3-vl': GENERAL_VLM,
  'qwen2.5-vl': UNPUBLISHED,
  'qwen2-vl': UNPUBLISHED,
  internvl2: UNPUBLISHED,
  vary: UNPUBLISHED,
  claude: UNPUBLISHED,
  'claude:high-res': UNPUBLISHED,
  gemini: UNPUBLISHED,
});

/** A calibration run's result, as `opticmem calibrate` writes it and `Memory.open({ legibility })` reads it. */
export const LegibilityPresetSchema = z
  .object({
    format: z.literal('opticmem-legibility', { error: "format must be 'opticmem-legibility' (a file written by `opticmem calibrate`)" }),
    version: z.literal(1, { error: 'version must be 1' }),
    /** Vision-token profile the floor belongs to. */
    profile: z.string().min(1, 'profile must name a vision-token profile, e.g. gpt-4o'),
    /** The model that was calibrated (as the endpoint names it). */
    model: z.string().min(1, 'model must name the calibrated model'),
    minGlyphPx: z.number({ error: 'minGlyphPx must be a number of pixels' }).positive('minGlyphPx must be > 0').max(256, 'minGlyphPx must be <= 256'),
    /** Fidelity a glyph size had to reach to count as legible. */
    minFidelity: z.number().min(0).max(1),
    measuredAt: z.string(),
    source: z.string(),
    rows: z.array(
      z
        .object({
          glyphPx: z.number().positive(),
          ratio: z.number().nonnegative(),
          pages: z.number().int().nonnegative(),
          fidelity: z.number().min(0).max(1),
        })
        .strict(),
    ),
  })
  .strict();

export type LegibilityPreset = z.infer<typeof LegibilityPresetSchema>;

/** A floor given by hand for one profile. */
export interface LegibilityOverride {
  readonly profile: string;
  readonly minGlyphPx: number;
  readonly source?: string;
}

const OverrideSchema = z
  .object({
    profile: z.string().min(1, 'profile must name a vision-token profile, e.g. gpt-4o'),
    minGlyphPx: z.number({ error: 'minGlyphPx must be a number of pixels' }).positive('minGlyphPx must be > 0').max(256, 'minGlyphPx must be <= 256'),
    source: z.string().optional(),
  })
  .strict();

export type LegibilityInput = readonly (LegibilityPreset | LegibilityOverride)[];

/** Floors by profile name from presets and overrides; a later entry for a profile wins. */
export function parseLegibility(input: unknown, field = 'legibility'): ReadonlyMap<string, Legibility> {
  if (!Array.isArray(input)) {
    throw new InvalidInputError(field, `'${field}' must be an array of calibration presets (files written by \`opticmem calibrate\`) or { profile, minGlyphPx } entries.`);
  }
  const out = new Map<string, Legibility>();
  input.forEach((entry: unknown, i) => {
    const isPreset = typeof entry === 'object' && entry !== null && 'format' in entry;
    if (isPreset) {
      const p = parseInput(LegibilityPresetSchema, entry, `${field}.${i}`);
      out.set(p.profile, { minGlyphPx: p.minGlyphPx, source: `Calibrated for ${p.model} on ${p.measuredAt}: ${p.source}` });
    } else {
      const o = parseInput(OverrideSchema, entry, `${field}.${i}`);
      out.set(o.profile, { minGlyphPx: o.minGlyphPx, source: o.source ?? 'Set by the user.' });
    }
  });
  return out;
}

/** The floor for `profile`: an override, else what the profile declares, else the built-in default. */
export function legibilityOf(profile: VisionTokenProfile, overrides?: ReadonlyMap<string, Legibility>): Legibility {
  return overrides?.get(profile.name) ?? profile.legibility ?? DEFAULTS[profile.name] ?? UNPUBLISHED;
}

/** How much the model's resize scales a page of this size (1 = seen at its own pixels). */
export function seenScale(profile: VisionTokenProfile, width: number, height: number): number {
  const e = profile.effectiveSize(width, height);
  return Math.min(e.width / width, e.height / height);
}

/** The glyph size the model sees for a font of `fontSize` px on a page of this size. */
export function seenGlyphPx(profile: VisionTokenProfile, fontSize: number, width: number, height: number): number {
  return fontSize * seenScale(profile, width, height);
}

/** Smallest font size (in the planner's 0.25 px steps) a page of this size may use so the model sees at least `minGlyphPx`. */
export function minFontSizeFor(profile: VisionTokenProfile, minGlyphPx: number, width: number, height: number): number {
  return Math.ceil((minGlyphPx / seenScale(profile, width, height)) * 4 - 1e-9) / 4;
}
