/**
 * 8-bit grayscale images and the few operations the OCR models need: cropping with white
 * padding, antialiased resampling, and finding blank columns.
 */

export interface GrayImage {
  readonly width: number;
  readonly height: number;
  /** Row-major, one byte per pixel, 0 = black, 255 = white. */
  readonly data: Uint8Array;
}

/** A float image (0..255 per pixel, row-major), as resampling produces it. */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const WHITE = 255;

/**
 * Copy `rect` (integer px, may reach outside the image) and surround it with `padX`/`padY`
 * white pixels. Pixels outside the image are white, so neighbouring text never leaks in.
 */
export function cropPadded(image: GrayImage, rect: Rect, padX: number, padY: number): GrayImage {
  const width = rect.width + 2 * padX;
  const height = rect.height + 2 * padY;
  const data = new Uint8Array(width * height).fill(WHITE);
  const x0 = Math.max(0, rect.x);
  const x1 = Math.min(image.width, rect.x + rect.width);
  const y0 = Math.max(0, rect.y);
  const y1 = Math.min(image.height, rect.y + rect.height);
  if (x1 > x0) {
    for (let y = y0; y < y1; y++) {
      const src = y * image.width;
      const dst = (y - rect.y + padY) * width + (x0 - rect.x + padX);
      data.set(image.data.subarray(src + x0, src + x1), dst);
    }
  }
  return { width, height, data };
}

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

/** Resample to `outWidth` x `outHeight` (separable: rows first, then columns). */
export function resize(image: GrayImage, outWidth: number, outHeight: number): FloatImage {
  const { width: inW, height: inH, data } = image;
  const h = axisWeights(inW, outWidth);
  const v = axisWeights(inH, outHeight);
  const rows = new Float32Array(outWidth * inH);
  for (let y = 0; y < inH; y++) {
    const src = y * inW;
    const dst = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const f = h.first[x]!;
      const base = x * h.taps;
      let acc = 0;
      for (let k = 0, n = h.count[x]!; k < n; k++) acc += h.weights[base + k]! * data[src + f + k]!;
      rows[dst + x] = acc;
    }
  }
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const f = v.first[y]!;
    const base = y * v.taps;
    const dst = y * outWidth;
    for (let k = 0, n = v.count[y]!; k < n; k++) {
      const w = v.weights[base + k]!;
      const src = (f + k) * outWidth;
      for (let x = 0; x < outWidth; x++) out[dst + x]! += w * rows[src + x]!;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

/** For each column, whether every pixel in it is at least `threshold` (paper, no ink). */
export function blankColumns(image: GrayImage | FloatImage, threshold = 200): Uint8Array {
  const blank = new Uint8Array(image.width).fill(1);
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width;
    for (let x = 0; x < image.width; x++) if (image.data[row + x]! < threshold) blank[x] = 0;
  }
  return blank;
}

/** Rows [top, bottom) that hold ink inside `rect`, or undefined if the region is blank. */
export function inkRows(image: GrayImage, rect: Rect, threshold = 200): { top: number; bottom: number } | undefined {
  let top = -1;
  let bottom = -1;
  const x0 = Math.max(0, rect.x);
  const x1 = Math.min(image.width, rect.x + rect.width);
  for (let y = Math.max(0, rect.y), y1 = Math.min(image.height, rect.y + rect.height); y < y1; y++) {
    const row = y * image.width;
    for (let x = x0; x < x1; x++) {
      if (image.data[row + x]! < threshold) {
        if (top < 0) top = y;
        bottom = y + 1;
        break;
      }
    }
  }
  return top < 0 ? undefined : { top, bottom };
}
