/**
 * OpenAI tile-based image tokens ("detail": "high").
 *
 * Source: OpenAI API docs, Images and vision, "Calculating costs" / tile-based image
 * tokenization: scale to fit in 2048x2048, scale so the shortest side is 768 px, count 512 px
 * tiles, add the base tokens. Base / tile tokens: gpt-4o, gpt-4.1, gpt-4.5 85 / 170;
 * gpt-5 70 / 140. Worked examples there: 1024x1024 costs 765, 2048x4096 costs 1105 (gpt-4o).
 *
 * Both scalings only shrink: billed counts reported on the OpenAI community forum ("Vision
 * Pricing calculator: inaccurate resizing/rounding vs API costs") show small images billed as
 * one tile and 2049x513 vs 2050x513 differing by four tiles, which also shows the sizes are
 * rounded to the nearest pixel.
 */
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';

const FIT_SIDE = 2048;
const SHORT_SIDE = 768;
const TILE = 512;

export interface OpenAiTileProfileOptions {
  readonly name: string;
  readonly baseTokens: number;
  readonly tileTokens: number;
  readonly description?: string;
}

function scaled(size: CanvasSize, scale: number): CanvasSize {
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}

/** The high-detail resize: fit in 2048x2048, then shortest side down to 768. */
function highDetailSize(width: number, height: number): CanvasSize {
  let size: CanvasSize = { width, height };
  const long = Math.max(width, height);
  if (long > FIT_SIDE) size = scaled(size, FIT_SIDE / long);
  const short = Math.min(size.width, size.height);
  if (short > SHORT_SIDE) size = scaled(size, SHORT_SIDE / short);
  return size;
}

/** Page canvases on the 512 px tile grid that the resize leaves alone, 1 to 8 tiles. */
const LADDER: readonly CanvasSize[] = [
  { width: 512, height: 512 },
  { width: 512, height: 1024 },
  { width: 768, height: 1024 },
  { width: 768, height: 1536 },
  { width: 768, height: 2048 },
];

export function createOpenAiTileProfile(options: OpenAiTileProfileOptions): VisionTokenProfile {
  const tokensFor = (width: number, height: number): number => {
    const size = highDetailSize(width, height);
    const tiles = Math.ceil(size.width / TILE) * Math.ceil(size.height / TILE);
    return options.baseTokens + options.tileTokens * tiles;
  };
  const sizes = Object.freeze(LADDER.map((s) => Object.freeze({ ...s })));
  return {
    specificationVersion: 'v1',
    name: options.name,
    description:
      options.description ??
      `${options.name} (detail high): fit in 2048x2048, shortest side to 768, ${options.baseTokens} + ${options.tileTokens} per 512x512 tile.`,
    tokensFor,
    effectiveSize: highDetailSize,
    sizes: () => sizes,
  };
}

export function createOpenAiProfiles(): VisionTokenProfile[] {
  return [
    createOpenAiTileProfile({ name: 'gpt-4o', baseTokens: 85, tileTokens: 170 }),
    createOpenAiTileProfile({ name: 'gpt-4.1', baseTokens: 85, tileTokens: 170 }),
    createOpenAiTileProfile({ name: 'gpt-5', baseTokens: 70, tileTokens: 140 }),
  ];
}
