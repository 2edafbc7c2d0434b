/**
 * DeepSeek-OCR and DeepSeek-OCR-2.
 *
 * Sources:
 * - DeepSeek-OCR paper (arXiv 2510.18234, sec. 3.2.2): native modes Tiny 512 (64 tokens),
 *   Small 640 (100), Base 1024 (256), Large 1280 (400); Tiny/Small resize, Base/Large pad;
 *   N_valid = ceil(N x [1 - (max(w,h) - min(w,h)) / max(w,h)]); Gundam = n x 100 + 256 with
 *   n in 2..9 and n = 0 for small images.
 * - deepseek-ai/DeepSeek-OCR code (DeepSeek-OCR-vllm/process/image_process.py and the
 *   HuggingFace modeling_deepseekocr.py `infer`): tokens per side = (size / 16 patch) / 4
 *   downsample; no tiles when both sides are <= 640; InternVL-style `dynamic_preprocess` with
 *   MIN_CROPS 2 and max 9 (`infer`; the vLLM config ships 6 for small GPUs); global view is
 *   `ImageOps.pad` to the base size.
 * - deepseek-ai/DeepSeek-OCR-2 (DeepSeek-OCR2-vllm/process/image_process.py): 1024 global view
 *   (256 tokens) plus k 768x768 tiles of 144 tokens, no tiles when both sides are <= 768,
 *   otherwise MIN_CROPS 2 .. MAX_CROPS 6 (so 256..1120 tokens).
 *
 * Counts are the encoder's vision tokens as the papers count them. The prompt also carries a view
 * separator (and, in DeepSeek-OCR, one newline token per token row), which they leave out.
 */
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';
import { roundHalfEven } from './round-half-even.js';

const PATCH_SIZE = 16;
const DOWNSAMPLE = 4;

/** Vision tokens for one square view, as `num_queries` in the processor. */
function squareViewTokens(side: number): number {
  const perSide = Math.ceil(Math.floor(side / PATCH_SIZE) / DOWNSAMPLE);
  return perSide * perSide;
}


/** PIL `ImageOps.contain` into a square: the page's size inside the padded canvas. */
function containInSquare(width: number, height: number, side: number): CanvasSize {
  if (width === height) return { width: side, height: side };
  if (width > height) return { width: side, height: Math.max(1, roundHalfEven((height / width) * side)) };
  return { width: Math.max(1, roundHalfEven((width / height) * side)), height: side };
}

/**
 * Paper eq. (1), in integers: 1 - (max - min) / max is min / max, so N_valid is
 * ceil(N * min / max) without floating-point error.
 */
function validPaddedTokens(tokens: number, width: number, height: number): number {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  return Math.floor((tokens * short + long - 1) / long);
}

interface TileGrid {
  readonly columns: number;
  readonly rows: number;
}

/** `target_ratios` of `dynamic_preprocess`: every grid with min..max tiles, fewest tiles first. */
function candidateGrids(minTiles: number, maxTiles: number): TileGrid[] {
  const grids: TileGrid[] = [];
  for (let columns = 1; columns <= maxTiles; columns++) {
    for (let rows = 1; rows <= maxTiles; rows++) {
      const tiles = columns * rows;
      if (tiles >= minTiles && tiles <= maxTiles) grids.push({ columns, rows });
    }
  }
  return grids.sort((a, b) => a.columns * a.rows - b.columns * b.rows);
}

/**
 * `find_closest_aspect_ratio`: the grid whose aspect is nearest the page's; on a tie the larger
 * grid wins when the page covers more than half of its tiles.
 */
function closestGrid(width: number, height: number, tileSize: number, grids: readonly TileGrid[]): TileGrid {
  const aspect = width / height;
  const area = width * height;
  let best: TileGrid = { columns: 1, rows: 1 };
  let bestDiff = Number.POSITIVE_INFINITY;
  for (const grid of grids) {
    const diff = Math.abs(aspect - grid.columns / grid.rows);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = grid;
    } else if (diff === bestDiff && area > 0.5 * tileSize * tileSize * grid.columns * grid.rows) {
      best = grid;
    }
  }
  return best;
}

function fixedSquare(side: number): readonly CanvasSize[] {
  return Object.freeze([Object.freeze({ width: side, height: side })]);
}

type NativeFit = 'resize' | 'pad';

/** One native-resolution mode: the page is resized (Tiny, Small) or padded (Base, Large). */
function nativeMode(mode: string, side: number, fit: NativeFit): VisionTokenProfile {
  const tokens = squareViewTokens(side);
  const sizes = fixedSquare(side);
  return {
    specificationVersion: 'v1',
    name: `deepseek-ocr:${mode}`,
    description:
      `DeepSeek-OCR ${mode} mode: ${side}x${side}, ${tokens} vision tokens; the page is ` +
      (fit === 'resize' ? 'resized to the square' : 'padded to the square, see validTokensFor') +
      ' (DeepSeek-OCR paper sec. 3.2.2).',
    tokensFor: () => tokens,
    effectiveSize: (width, height) =>
      fit === 'resize' ? { width: side, height: side } : containInSquare(width, height, side),
    validTokensFor: (width, height) => (fit === 'resize' ? tokens : validPaddedTokens(tokens, width, height)),
    sizes: () => sizes,
  };
}

interface TiledModeSpec {
  readonly name: string;
  readonly description: string;
  /** Side of the padded global view. */
  readonly globalSide: number;
  /** Side of one local tile. */
  readonly tileSide: number;
  /** Pages with both sides at or under this get the global view only. */
  readonly noTilesUpTo: number;
  readonly minTiles: number;
  readonly maxTiles: number;
}

/** Global view plus `dynamic_preprocess` tiles (Gundam, DeepSeek-OCR-2). */
function tiledMode(spec: TiledModeSpec): VisionTokenProfile {
  const globalTokens = squareViewTokens(spec.globalSide);
  const tileTokens = squareViewTokens(spec.tileSide);
  const grids = candidateGrids(spec.minTiles, spec.maxTiles);

  const gridFor = (width: number, height: number): TileGrid | undefined =>
    width <= spec.noTilesUpTo && height <= spec.noTilesUpTo
      ? undefined
      : closestGrid(width, height, spec.tileSide, grids);

  const tokensFor = (width: number, height: number): number => {
    const grid = gridFor(width, height);
    return globalTokens + (grid ? grid.columns * grid.rows * tileTokens : 0);
  };

  // A ladder of grids from square to 1:2 portrait, so each canvas is cut into whole tiles.
  const ladder: CanvasSize[] = [{ width: spec.noTilesUpTo, height: spec.noTilesUpTo }];
  for (const grid of grids) {
    if (grid.columns <= grid.rows && grid.rows <= 2 * grid.columns) {
      ladder.push({ width: grid.columns * spec.tileSide, height: grid.rows * spec.tileSide });
    }
  }
  const sizes = Object.freeze(
    ladder.sort((a, b) => tokensFor(a.width, a.height) - tokensFor(b.width, b.height)).map((s) => Object.freeze(s)),
  );

  return {
    specificationVersion: 'v1',
    name: spec.name,
    description: spec.description,
    tokensFor,
    // Tiles are the page stretched onto whole tiles; a page with no tiles is only the global view.
    effectiveSize: (width, height) => {
      const grid = gridFor(width, height);
      return grid ? { width: grid.columns * spec.tileSide, height: grid.rows * spec.tileSide } : { width, height };
    },
    // Tiles are cropped from the stretched page and carry content; only the global view is padded
    // (as `infer` counts valid tokens, though it floors where the paper's eq. (1) rounds up).
    validTokensFor: (width, height) => {
      const grid = gridFor(width, height);
      return validPaddedTokens(globalTokens, width, height) + (grid ? grid.columns * grid.rows * tileTokens : 0);
    },
    sizes: () => sizes,
  };
}

export interface DeepseekOcrGundamOptions {
  /** Most tiles per page: 9 in the paper and the HuggingFace `infer`, 6 in the vLLM config. */
  readonly maxTiles?: number;
}

/** Gundam: n 640x640 tiles (n x 100 tokens) plus one 1024x1024 global view (256 tokens). */
export function createDeepseekOcrGundamProfile(options: DeepseekOcrGundamOptions = {}): VisionTokenProfile {
  const maxTiles = options.maxTiles ?? 9;
  return tiledMode({
    name: 'deepseek-ocr:gundam',
    description:
      `DeepSeek-OCR Gundam mode: n x 100 + 256 tokens, n 640x640 tiles (2..${maxTiles}, none when both sides ` +
      '<= 640) plus a padded 1024x1024 global view (DeepSeek-OCR paper sec. 3.2.2, dynamic_preprocess).',
    globalSide: 1024,
    tileSide: 640,
    noTilesUpTo: 640,
    minTiles: 2,
    maxTiles,
  });
}

/** DeepSeek-OCR-2: 256 + k x 144 tokens, k 768x768 tiles (0 or 2..6). */
export function createDeepseekOcr2Profile(): VisionTokenProfile {
  return tiledMode({
    name: 'deepseek-ocr-2',
    description:
      'DeepSeek-OCR-2: 256 + k x 144 tokens, k 768x768 tiles (2..6, none when both sides <= 768) plus a ' +
      'padded 1024x1024 global view (DeepSeek-OCR-2 image_process.py).',
    globalSide: 1024,
    tileSide: 768,
    noTilesUpTo: 768,
    minTiles: 2,
    maxTiles: 6,
  });
}

export function createDeepseekOcrProfiles(): VisionTokenProfile[] {
  return [
    nativeMode('tiny', 512, 'resize'),
    nativeMode('small', 640, 'resize'),
    nativeMode('base', 1024, 'pad'),
    nativeMode('large', 1280, 'pad'),
    createDeepseekOcrGundamProfile(),
    createDeepseekOcr2Profile(),
  ];
}
