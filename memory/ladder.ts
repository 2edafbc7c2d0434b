/**
 * The resolution ladder: which representation a page should have at a given retention.
 * Steps run from crisp to blurry; below the last step a page is dropped.
 */
import { z } from 'zod';
import { parseInput } from '../src/errors.js';

export interface LadderStep {
  /** Tier name stored on the page. */
  readonly name: string;
  /** Target compression ratio for the step (ratio ladders). */
  readonly ratio?: number;
  /** Vision-token profile for the step (mode ladders, e.g. deepseek-ocr:large -> :tiny). */
  readonly profile?: string;
  /** A page stays on this step or above while its retention is at least this. */
  readonly minRetention: number;
}

export interface Ladder {
  readonly steps: readonly LadderStep[];
}

const StepSchema = z
  .object({
    name: z.string().min(1),
    ratio: z.number().positive().optional(),
    profile: z.string().min(1).optional(),
    minRetention: z.number().min(0).max(1),
  })
  .strict()
  .refine((s) => s.ratio !== undefined || s.profile !== undefined, 'each step needs a ratio or a profile');

export const LadderSchema = z
  .object({ steps: z.array(StepSchema).min(1) })
  .strict()
  .refine((l) => l.steps.every((s, i) => i === 0 || s.minRetention < l.steps[i - 1]!.minRetention), {
    message: 'steps must run from crisp to blurry with strictly decreasing minRetention',
    path: ['steps'],
  });

/** Text -> lossless (10x) -> 15x -> 20x -> 30x -> dropped. */
export const RATIO_LADDER: Ladder = {
  steps: [
    { name: 'lossless', ratio: 10, minRetention: 0.7 },
    { name: '15x', ratio: 15, minRetention: 0.45 },
    { name: 'forgetting', ratio: 20, minRetention: 0.25 },
    { name: '30x', ratio: 30, minRetention: 0.08 },
  ],
};

/** The DeepSeek-OCR paper's Fig. 13: Gundam -> Large -> Base -> Small -> Tiny as memories age. */
export const DEEPSEEK_MODE_LADDER: Ladder = {
  steps: [
    { name: 'gundam', profile: 'deepseek-ocr:gundam', minRetention: 0.8 },
    { name: 'large', profile: 'deepseek-ocr:large', minRetention: 0.6 },
    { name: 'base', profile: 'deepseek-ocr:base', minRetention: 0.4 },
    { name: 'small', profile: 'deepseek-ocr:small', minRetention: 0.2 },
    { name: 'tiny', profile: 'deepseek-ocr:tiny', minRetention: 0.05 },
  ],
};

export function parseLadder(input: unknown): Ladder {
  return parseInput(LadderSchema, input, 'ladder');
}

/** Index of the step a page with this retention belongs on, or -1 when it should be dropped. */
export function stepFor(ladder: Ladder, retention: number): number {
  return ladder.steps.findIndex((s) => retention >= s.minRetention);
}
