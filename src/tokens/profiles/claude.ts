/**
 * Claude: one visual token per 28x28 patch.
 *
 * Source: Claude docs, "Vision" (platform.claude.com/docs/en/build-with-claude/vision):
 * "An image therefore costs ceil(width / 28) x ceil(height / 28) visual tokens". Images larger
 * than the model's native resolution are first resized to the largest aspect-preserving size
 * that fits both limits, then padded to multiples of 28 px (the padding adds no tokens). Limits:
 * 1568 px long edge and 1568 visual tokens for most models; 2576 px and 4784 tokens for Claude
 * Opus 4.7 and later. The resize follows the docs' reference `resized_size` (section "How Claude
 * resizes and pads images"). The older rule of width x height / 750 is superseded.
 */
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';
import { roundHalfEven } from './round-half-even.js';

const PATCH = 28;

export interface ClaudeProfileOptions {
  readonly name: string;
  readonly maxEdge: number;
  readonly maxTokens: number;
  readonly description?: string;
}


function patchTokens(width: number, height: number): number {
  return Math.ceil(width / PATCH) * Math.ceil(height / PATCH);
}

/** The docs' `resized_size`: binary search along the long edge for the largest size that fits. */
function resizedSize(width: number, height: number, maxEdge: number, maxTokens: number): CanvasSize {
  const fits = (w: number, h: number): boolean =>
    Math.ceil(w / PATCH) * PATCH <= maxEdge && Math.ceil(h / PATCH) * PATCH <= maxEdge && patchTokens(w, h) <= maxTokens;
  if (fits(width, height)) return { width, height };
  if (height > width) {
    const turned = resizedSize(height, width, maxEdge, maxTokens);
    return { width: turned.height, height: turned.width };
  }
  const aspect = width / height;
  let lo = 1; // always fits
  let hi = width; // never fits
  while (lo + 1 < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid, Math.max(roundHalfEven(mid / aspect), 1))) lo = mid;
    else hi = mid;
  }
  return { width: lo, height: Math.max(roundHalfEven(lo / aspect), 1) };
}

/** Tokens per side: squares and 3:4 portraits on the patch grid, so no padding is wasted. */
const LADDER_PATCHES: readonly (readonly [number, number])[] = [
  [6, 8], [8, 8], [12, 16], [16, 16], [18, 24], [24, 24], [24, 32], [32, 32], [30, 40], [33, 44], [39, 39],
  [42, 56], [48, 48], [48, 64], [57, 76], [69, 69],
];

export function createClaudeProfile(options: ClaudeProfileOptions): VisionTokenProfile {
  const { maxEdge, maxTokens } = options;
  const effectiveSize = (width: number, height: number): CanvasSize => resizedSize(width, height, maxEdge, maxTokens);
  const sizes = Object.freeze(
    LADDER_PATCHES.map(([columns, rows]) => ({ width: columns * PATCH, height: rows * PATCH }))
      .filter((s) => s.width <= maxEdge && s.height <= maxEdge && patchTokens(s.width, s.height) <= maxTokens)
      .sort((a, b) => patchTokens(a.width, a.height) - patchTokens(b.width, b.height))
      .map((s) => Object.freeze(s)),
  );
  return {
    specificationVersion: 'v1',
    name: options.name,
    description:
      options.description ??
      `${options.name}: ceil(w/28) x ceil(h/28) visual tokens after resizing to at most ${maxEdge} px long edge and ${maxTokens} tokens.`,
    tokensFor: (width, height) => {
      const size = effectiveSize(width, height);
      return patchTokens(size.width, size.height);
    },
    effectiveSize,
    sizes: () => sizes,
  };
}

export function createClaudeProfiles(): VisionTokenProfile[] {
  return [
    createClaudeProfile({
      name: 'claude',
      maxEdge: 1568,
      maxTokens: 1568,
      description:
        'Claude (standard resolution, most models): ceil(w/28) x ceil(h/28) visual tokens, resized to at most 1568 px long edge and 1568 tokens.',
    }),
    createClaudeProfile({
      name: 'claude:high-res',
      maxEdge: 2576,
      maxTokens: 4784,
      description:
        'Claude Opus 4.7 and later (high resolution): ceil(w/28) x ceil(h/28) visual tokens, resized to at most 2576 px long edge and 4784 tokens.',
    }),
  ];
}
