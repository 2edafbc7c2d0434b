/**
 * 8-bit grayscale images and the few operations the OCR models need: cropping with white
 * padding, antialiased resampling, and finding blank columns.
 */

import { axisWeights, horizontalColumn, verticalSum } from './resize-kernel.js';

export { axisWeights, type AxisWeights } from './resize-kernel.js';

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

/**
 * Resample to `outWidth` x `outHeight` with the triangle filter of `axisWeights`, separably,
 * with the arithmetic of resize-kernel.ts (which the glyph reader repeats).
 */
export function resize(image: GrayImage, outWidth: number, outHeight: number): FloatImage {
  const { width: inW, height: inH, data } = image;
  const h = axisWeights(inW, outWidth);
  const v = axisWeights(inH, outHeight);
  // Column by column: the horizontal results of output column x over every input row, then its pixels.
  const column = new Float64Array(inH);
  const out = new Float32Array(outWidth * outHeight);
  for (let x = 0; x < outWidth; x++) {
    horizontalColumn(h, x, data, 0, inW, inH, column, 0);
    for (let y = 0; y < outHeight; y++) out[y * outWidth + x] = verticalSum(v, y, column, 0, 1);
  }
  return { width: outWidth, height: outHeight, data: out };
}
