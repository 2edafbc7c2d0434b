/**
 * InternVL2: dynamic tiling into 448x448 tiles of 256 tokens.
 *
 * Source: the InternVL2 model cards' preprocessing code (`load_image` calls
 * `dynamic_preprocess(image, image_size=448, use_thumbnail=True, max_num=12)` with min_num=1):
 * the grid of 1..12 tiles whose aspect is closest to the page's (ties go to the larger grid when
 * the page covers more than half of it), plus a 448x448 thumbnail when more than one tile is used.
 * Each tile is 448 / 14 = 32 patches per side, pixel-shuffled by 0.5 to 16 x 16 = 256 tokens
 * (`num_image_token`).
 */
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';

const TILE = 448;
const TOKENS_PER_TILE = 256;
const MIN_TILES = 1;
const MAX_TILES = 12;

interface TileGrid {
  readonly columns: number;
  readonly rows: number;
}

/** `target_ratios`: every grid with MIN..MAX tiles, fewest tiles first. */
const GRIDS: readonly TileGrid[] = (() => {
  const grids: TileGrid[] = [];
  for (let columns = 1; columns <= MAX_TILES; columns++) {
    for (let rows = 1; rows <= MAX_TILES; rows++) {
      const tiles = columns * rows;
      if (tiles >= MIN_TILES && tiles <= MAX_TILES) grids.push({ columns, rows });
    }
  }
  return grids.sort((a, b) => a.columns * a.rows - b.columns * b.rows);
})();

/** `find_closest_aspect_ratio`. */
function closestGrid(width: number, height: number): TileGrid {
  const aspect = width / height;
  const area = width * height;
  let best: TileGrid = { columns: 1, rows: 1 };
  let bestDiff = Number.POSITIVE_INFINITY;
  for (const grid of GRIDS) {
    const diff = Math.abs(aspect - grid.columns / grid.rows);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = grid;
    } else if (diff === bestDiff && area > 0.5 * TILE * TILE * grid.columns * grid.rows) {
      best = grid;
    }
  }
  return best;
}

function tilesFor(width: number, height: number): number {
  const grid = closestGrid(width, height);
  const blocks = grid.columns * grid.rows;
  return blocks === 1 ? 1 : blocks + 1;
}

export function createInternVl2Profile(): VisionTokenProfile {
  const tokensFor = (width: number, height: number): number => tilesFor(width, height) * TOKENS_PER_TILE;
  // Square to 1:2 portrait grids, so each canvas is cut into whole tiles.
  const sizes: readonly CanvasSize[] = Object.freeze(
    GRIDS.filter((g) => g.columns <= g.rows && g.rows <= 2 * g.columns)
      .map((g) => Object.freeze({ width: g.columns * TILE, height: g.rows * TILE }))
      .sort((a, b) => tokensFor(a.width, a.height) - tokensFor(b.width, b.height)),
  );
  return {
    specificationVersion: 'v1',
    name: 'internvl2',
    description:
      'InternVL2: 1..12 448x448 tiles of 256 tokens chosen by closest aspect ratio, plus a thumbnail tile when more than one tile is used (dynamic_preprocess, max_num=12).',
    tokensFor,
    // The tiles are the page stretched onto the chosen grid.
    effectiveSize: (width, height) => {
      const grid = closestGrid(width, height);
      return { width: grid.columns * TILE, height: grid.rows * TILE };
    },
    sizes: () => sizes,
  };
}
