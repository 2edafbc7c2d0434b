/**
 * The arithmetic of `resize` (gray-image.ts), one sample at a time. Ageing shrinks pages with
 * `resize` and the glyph reader repeats it to the bit on candidate drawings (the strip of a
 * line, each glyph alone, ideograph signatures), so every caller computes a sample here:
 * the horizontal pass sums in double precision and keeps the result as Float32; the vertical
 * pass accumulates in Float32 (as a Float32Array accumulates); ageing stores the result
 * rounded to 8 bits.
 */

export interface AxisWeights {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `taps` weights per output index. */
  readonly weights: Float32Array;
  readonly taps: number;
}

/**
 * Triangle-filter weights mapping `inSize` samples to `outSize`: bilinear when enlarging,
 * an area-like average when shrinking (the filter widens with the scale), so small text
 * keeps its strokes either way. Exported so a reader can repeat `resize`'s arithmetic exactly.
 */
export function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const taps = Math.ceil(support) * 2 + 2;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inSize, Math.ceil(center + support));
    let sum = 0;
    let n = 0;
    for (let i = lo; i < hi && n < taps; i++, n++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - center) / support));
      weights[o * taps + n] = w;
      sum += w;
    }
    if (sum === 0) {
      // Degenerate (output wider than the filter reaches): nearest sample.
      weights[o * taps] = 1;
      first[o] = Math.min(inSize - 1, Math.max(0, Math.floor(center)));
      count[o] = 1;
      continue;
    }
    for (let k = 0; k < n; k++) weights[o * taps + k]! /= sum;
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, weights, taps };
}

/**
 * Horizontal pass, output column `x`, over `rows` input rows (row `i` starts at
 * `src[offset + i * stride]`): each weighted sum kept as Float32, into `out[outOffset + i]`.
 */
export function horizontalColumn(h: AxisWeights, x: number, src: Uint8Array, offset: number, stride: number, rows: number, out: Float64Array, outOffset: number): void {
  const f = offset + h.first[x]!;
  const n = h.count[x]!;
  const base = x * h.taps;
  for (let i = 0; i < rows; i++) {
    const row = f + i * stride;
    let acc = 0;
    for (let k = 0; k < n; k++) acc += h.weights[base + k]! * src[row + k]!;
    out[outOffset + i] = Math.fround(acc);
  }
}

/**
 * Vertical pass, output row `y`, over horizontal results laid out `stride` apart: input row
 * `r` is at `src[offset + r * stride]`. (Callers keep those in a Float64Array; the values are
 * Float32 already, and one array type keeps this loop monomorphic.)
 */
export function verticalSum(v: AxisWeights, y: number, src: Float64Array, offset: number, stride: number): number {
  const f = v.first[y]!;
  const base = y * v.taps;
  let acc = 0;
  for (let k = 0, n = v.count[y]!; k < n; k++) acc = Math.fround(acc + v.weights[base + k]! * src[offset + (f + k) * stride]!);
  return acc;
}

/** A resampled value as ageing stores it. */
export function storedByte(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}
