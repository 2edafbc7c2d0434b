/**
 * Gemini: 258 tokens per 768x768 tile.
 *
 * Sources:
 * - Gemini API docs, "Understand and count tokens": "image inputs with both dimensions <=384
 *   pixels are counted as 258 tokens. Images larger in one or both dimensions are cropped and
 *   scaled as needed into tiles of 768x768 pixels, each counted as 258 tokens."
 * - Gemini API / Vertex AI image docs, for how the tiles are cut: "the image is cropped into
 *   tiles. Each tile size defaults to the smallest dimension (width or height) divided by 1.5. If
 *   necessary, each tile is adjusted so that it's not smaller than 256 pixels and not greater than
 *   768 pixels. Each tile is then resized to 768x768 and uses 258 tokens."
 * - Vertex AI image requirements: larger images are scaled down to fit 3072x3072, keeping their
 *   aspect ratio.
 * Gemini 3's `media_resolution` budgets are not modelled here.
 */
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';

const SMALL_SIDE = 384;
const TOKENS_PER_TILE = 258;
const MIN_CROP = 256;
const MAX_CROP = 768;
const MAX_SIDE = 3072;

function fitted(width: number, height: number): CanvasSize {
  const long = Math.max(width, height);
  if (long <= MAX_SIDE) return { width, height };
  const scale = MAX_SIDE / long;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Tiles covering one side. The crop unit is short / 1.5 clamped to 256..768; side / (short / 1.5)
 * is computed as 3 * side / (2 * short) so exact multiples do not round up.
 */
function tilesAlong(side: number, short: number): number {
  if (short * 2 < MIN_CROP * 3) return Math.ceil(side / MIN_CROP);
  if (short * 2 > MAX_CROP * 3) return Math.ceil(side / MAX_CROP);
  return Math.ceil((3 * side) / (2 * short));
}

function tokensFor(width: number, height: number): number {
  const size = fitted(width, height);
  if (size.width <= SMALL_SIDE && size.height <= SMALL_SIDE) return TOKENS_PER_TILE;
  const short = Math.min(size.width, size.height);
  return tilesAlong(size.width, short) * tilesAlong(size.height, short) * TOKENS_PER_TILE;
}

/** One 384 px image, then canvases cut into whole 768 px crops (short side >= 1152). */
const LADDER: readonly CanvasSize[] = [
  { width: 384, height: 384 },
  { width: 1536, height: 1536 },
  { width: 1536, height: 2304 },
  { width: 2304, height: 2304 },
  { width: 2304, height: 3072 },
  { width: 3072, height: 3072 },
];

export function createGeminiProfile(): VisionTokenProfile {
  const sizes = Object.freeze(LADDER.map((s) => Object.freeze({ ...s })));
  return {
    specificationVersion: 'v1',
    name: 'gemini',
    description:
      'Gemini: 258 tokens when both sides <= 384 px, otherwise 258 per tile, crops of min(w,h)/1.5 clamped to 256..768 px (Gemini API token and image docs).',
    tokensFor,
    effectiveSize: fitted,
    sizes: () => sizes,
  };
}
