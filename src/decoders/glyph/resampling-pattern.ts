/**
 * The repeating pattern of a resampling from a drawn size to a stored one: 1024 px to 640 px
 * maps every 8 drawn pixels onto 5 stored ones the same way, so anything computed for a glyph at
 * one place in the pattern holds, shifted, wherever the pattern repeats. Caches of resampled
 * glyph images (resampled-glyphs.ts) and of ideograph signatures (resampled-signatures.ts) key
 * on that place.
 */
import type { AxisWeights } from '../onnx/gray-image.js';

/** Patterns longer than this are not cached by (a resampling between sizes with no small common divisor). */
const MAX_PERIOD = 64;

export interface Period {
  readonly drawn: number;
  readonly stored: number;
}

/** A pen cell's place in the pattern (`cell`), and the stored offset of the repetition it is in. */
export interface PatternPlace {
  readonly cell: number;
  readonly col: number;
  readonly row: number;
}

export class ResamplingPattern {
  readonly hp: Period;
  readonly vp: Period;

  /** `h` and `v` map drawn width and height to the stored content's. */
  constructor(
    readonly h: AxisWeights,
    readonly v: AxisWeights,
    readonly drawnWidth: number,
    readonly drawnHeight: number,
  ) {
    this.hp = period(drawnWidth, h.first.length);
    this.vp = period(drawnHeight, v.first.length);
  }

  /** Where the pen at drawn (`whole`, `baseline`) falls in the pattern, or undefined when the pattern is too long to key by. */
  place(whole: number, baseline: number): PatternPlace | undefined {
    const { hp, vp } = this;
    if (hp.drawn > MAX_PERIOD || vp.drawn > MAX_PERIOD) return undefined;
    const hq = Math.floor(whole / hp.drawn);
    const vq = Math.floor(baseline / vp.drawn);
    return { cell: (whole - hq * hp.drawn) * MAX_PERIOD + (baseline - vq * vp.drawn), col: hq * hp.stored, row: vq * vp.stored };
  }
}

function period(drawn: number, stored: number): Period {
  let a = drawn;
  let b = stored;
  while (b) [a, b] = [b, a % b];
  return { drawn: drawn / a, stored: stored / a };
}
