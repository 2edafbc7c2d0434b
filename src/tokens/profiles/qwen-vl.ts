/**
 * Qwen2-VL, Qwen2.5-VL and Qwen3-VL: native dynamic resolution.
 *
 * Sources:
 * - HuggingFace transformers `smart_resize` (models/qwen2_vl/image_processing_qwen2_vl.py): both
 *   sides rounded to a multiple of `factor` = patch_size x merge_size, then scaled into
 *   [min_pixels, max_pixels]; one token per factor x factor block after the 2x2 merge; aspect
 *   ratios above 200 are rejected.
 * - Qwen2-VL / Qwen2.5-VL checkpoints' preprocessor_config.json: patch 14, merge 2,
 *   min_pixels 3136, max_pixels 12845056, which the model card states as "4-16384 visual tokens
 *   per image" (the processor class alone would default to 28*28*1280).
 * - Qwen3-VL checkpoints' preprocessor_config.json: patch 16, merge 2 (32 px per token),
 *   size.shortest_edge 65536 and size.longest_edge 16777216 pixels (64..16384 tokens).
 */
import { InvalidInputError } from '../../errors.js';
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';
import { roundHalfEven } from './round-half-even.js';

const MAX_ASPECT_RATIO = 200;

export interface QwenVlProfileOptions {
  readonly name: string;
  readonly description?: string;
  /** Pixels per token side: patch_size x merge_size. */
  readonly factor: number;
  readonly minPixels: number;
  readonly maxPixels: number;
}


/** transformers' `smart_resize`, operation for operation so the floats round the same way. */
function smartResize(width: number, height: number, options: QwenVlProfileOptions): CanvasSize {
  const { factor, minPixels, maxPixels } = options;
  if (Math.max(width, height) / Math.min(width, height) > MAX_ASPECT_RATIO) {
    const field = width > height ? 'width' : 'height';
    throw new InvalidInputError(
      field,
      `'${field}' makes the aspect ratio ${width}:${height}, above the ${MAX_ASPECT_RATIO}:1 that ${options.name} accepts; split the page.`,
    );
  }
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { width: w, height: h };
}

/** Ladder in tokens per side: squares and 3:4 portraits, kept inside the pixel limits. */
const LADDER_BLOCKS: readonly (readonly [number, number])[] = [
  [6, 8], [8, 8], [12, 16], [16, 16], [18, 24], [24, 24], [24, 32], [32, 32], [36, 48], [48, 48],
  [48, 64], [64, 64], [72, 96], [96, 96], [96, 128], [128, 128],
];

export function createQwenVlProfile(options: QwenVlProfileOptions): VisionTokenProfile {
  const { factor, minPixels, maxPixels } = options;
  const tokensFor = (width: number, height: number): number => {
    const size = smartResize(width, height, options);
    return (size.width / factor) * (size.height / factor);
  };
  const sizes = Object.freeze(
    LADDER_BLOCKS.map(([columns, rows]) => ({ width: columns * factor, height: rows * factor }))
      .filter((s) => s.width * s.height >= minPixels && s.width * s.height <= maxPixels)
      .map((s) => Object.freeze(s)),
  );
  return {
    specificationVersion: 'v1',
    name: options.name,
    description:
      options.description ??
      `${options.name}: smart_resize to multiples of ${factor} px within ${minPixels}..${maxPixels} pixels, one token per ${factor}x${factor} block.`,
    tokensFor,
    effectiveSize: (width, height) => smartResize(width, height, options),
    sizes: () => sizes,
  };
}

export function createQwenVlProfiles(): VisionTokenProfile[] {
  const qwen2 = { factor: 28, minPixels: 56 * 56, maxPixels: 16384 * 28 * 28 } as const;
  return [
    createQwenVlProfile({
      name: 'qwen2-vl',
      ...qwen2,
      description:
        'Qwen2-VL: smart_resize to multiples of 28 px within 3136..12845056 pixels (4-16384 tokens per the model card), one token per 28x28 block after the 2x2 merge.',
    }),
    createQwenVlProfile({
      name: 'qwen2.5-vl',
      ...qwen2,
      description:
        'Qwen2.5-VL: smart_resize to multiples of 28 px within 3136..12845056 pixels (preprocessor_config.json), one token per 28x28 block after the 2x2 merge.',
    }),
    createQwenVlProfile({
      name: 'qwen3-vl',
      factor: 32,
      minPixels: 65536,
      maxPixels: 16777216,
      description:
        'Qwen3-VL: smart_resize to multiples of 32 px within 65536..16777216 pixels (preprocessor_config.json), one token per 32x32 block after the 2x2 merge.',
    }),
  ];
}
