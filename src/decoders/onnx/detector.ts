/**
 * Text detection with PP-OCRv4 det (DB: a per-pixel text probability map), for pages that
 * carry no line geometry. Our pages are never rotated, so boxes stay axis-aligned.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { resize, type FloatImage, type GrayImage, type Rect } from './gray-image.js';
import type { OnnxRuntime } from './session.js';

export interface DetectorTuning {
  /** Longest side fed to the model on the first pass; larger pages are scaled down. */
  readonly maxSide: number;
  /**
   * Small text (median box under `smallText` page px high) is detected again on the page
   * enlarged up to 2x, within this longest side: at 1x, DB merges lines of 8-10 px text.
   */
  readonly upscaleSide: number;
  readonly smallText: number;
  /** Probability above which a pixel counts as text. */
  readonly threshold: number;
  /** Mean probability a box needs to be kept. */
  readonly boxThreshold: number;
  /** DB shrinks text regions when training; boxes grow back by area x ratio / perimeter. */
  readonly unclipRatio: number;
  /** Boxes with a side shorter than this (map px) are noise. */
  readonly minSize: number;
}

/**
 * Measured on DejaVu Sans pages of 8-20 px text: a 0.5 threshold keeps adjacent lines apart
 * (0.3 merged some at 12 px), and an unclip ratio of 2 leaves room for ascenders and
 * descenders that 1.5 clipped at 16 px.
 */
export const DEFAULT_DETECTOR_TUNING: DetectorTuning = {
  maxSide: 1280,
  upscaleSide: 2048,
  smallText: 24,
  threshold: 0.5,
  boxThreshold: 0.6,
  unclipRatio: 2,
  minSize: 3,
};

// ImageNet statistics, which the detection model was trained with.
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

export interface Detector {
  /** Text boxes (page px) grouped into rows, top to bottom, each row left to right. */
  detect(page: GrayImage, signal?: AbortSignal): Promise<Rect[][]>;
}

export function createDetector(
  ort: OnnxRuntime,
  session: InferenceSession,
  io: { input: string; output: string },
  tuning: DetectorTuning = DEFAULT_DETECTOR_TUNING,
): Detector {
  const detectAt = async (page: GrayImage, scale: number): Promise<Rect[]> => {
    const { input, width, height } = modelInput(page, scale);
    const result = await session.run({ [io.input]: new ort.Tensor('float32', input, [1, 3, height, width]) });
    const output = result[io.output];
    if (!output || output.dims.length !== 4 || output.dims[2] !== height || output.dims[3] !== width) {
      throw new Error(`detection output has shape [${output?.dims.join(', ') ?? ''}], expected [1, 1, ${height}, ${width}]`);
    }
    return findBoxes(output.data as Float32Array, width, height, tuning)
      .map((b) => {
        const x0 = Math.max(0, Math.floor(b.x0 / scale));
        const y0 = Math.max(0, Math.floor(b.y0 / scale));
        const x1 = Math.min(page.width, Math.ceil(b.x1 / scale));
        const y1 = Math.min(page.height, Math.ceil(b.y1 / scale));
        return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
      })
      .filter((b) => b.width > 0 && b.height > 0);
  };

  return {
    async detect(page, signal) {
      signal?.throwIfAborted();
      const longest = Math.max(page.width, page.height);
      const scale = Math.min(1, tuning.maxSide / longest);
      let boxes = await detectAt(page, scale);
      const upscale = Math.min(2, tuning.upscaleSide / longest);
      if (boxes.length > 0 && median(boxes.map((b) => b.height)) < tuning.smallText && upscale >= 1.25 * scale) {
        signal?.throwIfAborted();
        boxes = await detectAt(page, upscale);
      }
      return readingOrder(boxes);
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * Scale by `scale`, then pad with white to sides that are multiples of 32 (the network's
 * stride). Padding rather than stretching keeps glyph shapes, which matters for short pages
 * of small text. Returns normalised CHW floats.
 */
function modelInput(page: GrayImage, scale: number): { input: Float32Array; width: number; height: number } {
  const scaled: GrayImage | FloatImage =
    scale === 1 ? page : resize(page, Math.max(1, Math.round(page.width * scale)), Math.max(1, Math.round(page.height * scale)));
  const width = Math.ceil(scaled.width / 32) * 32;
  const height = Math.ceil(scaled.height / 32) * 32;
  const plane = width * height;
  const input = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = MEAN[c]!;
    const std = STD[c]!;
    const base = c * plane;
    input.fill((1 - mean) / std, base, base + plane);
    for (let y = 0; y < scaled.height; y++) {
      const src = y * scaled.width;
      const dst = base + y * width;
      for (let x = 0; x < scaled.width; x++) input[dst + x] = (scaled.data[src + x]! / 255 - mean) / std;
    }
  }
  return { input, width, height };
}

interface MapBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/**
 * DB post-processing: threshold the map, take 4-connected components (4, not 8, so touching
 * corners of neighbouring lines stay apart), score each box by the mean probability inside
 * it, and grow the survivors back to full text size.
 */
function findBoxes(prob: Float32Array, width: number, height: number, tuning: DetectorTuning): MapBox[] {
  const size = width * height;
  const seen = new Uint8Array(size);
  const stack = new Int32Array(size);
  const boxes: MapBox[] = [];
  for (let start = 0; start < size; start++) {
    if (seen[start] || prob[start]! <= tuning.threshold) continue;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    let top = 0;
    const visit = (q: number): void => {
      if (!seen[q] && prob[q]! > tuning.threshold) {
        seen[q] = 1;
        stack[top++] = q;
      }
    };
    visit(start);
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (x > 0) visit(p - 1);
      if (x < width - 1) visit(p + 1);
      if (y > 0) visit(p - width);
      if (y < height - 1) visit(p + width);
    }
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (Math.min(w, h) < tuning.minSize) continue;
    if (meanInBox(prob, width, x0, y0, x1 + 1, y1 + 1) < tuning.boxThreshold) continue;
    const d = (w * h * tuning.unclipRatio) / (2 * (w + h));
    if (Math.min(w, h) + 2 * d < tuning.minSize + 2) continue;
    boxes.push({ x0: x0 - d, y0: y0 - d, x1: x1 + 1 + d, y1: y1 + 1 + d });
  }
  return boxes;
}

function meanInBox(prob: Float32Array, width: number, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0, row = y * width; x < x1; x++) sum += prob[row + x]!;
  return sum / ((x1 - x0) * (y1 - y0));
}

/**
 * Columns left to right, then rows top to bottom within each column. A column break is a
 * vertical band, wider than a line height, that no box crosses and that has text on both
 * sides over at least three lines (a page gutter); without one the page is a single column.
 */
export function readingOrder(boxes: readonly Rect[]): Rect[][] {
  if (boxes.length < 2) return rowsOf(boxes);
  const lineHeight = median(boxes.map((b) => b.height));
  const spans = [...boxes].map((b) => [b.x, b.x + b.width] as const).sort((a, b) => a[0] - b[0]);
  const cuts: number[] = [];
  let reach = spans[0]![1];
  for (const [start, end] of spans.slice(1)) {
    if (start - reach > lineHeight) cuts.push((start + reach) / 2);
    reach = Math.max(reach, end);
  }
  if (cuts.length === 0) return rowsOf(boxes);
  const columns: Rect[][] = Array.from({ length: cuts.length + 1 }, () => []);
  for (const b of boxes) columns[cuts.filter((c) => b.x > c).length]!.push(b);
  // A gutter has several lines on each side; one wide gap on a line or two is just spacing.
  if (columns.some((c) => c.length < 3)) return rowsOf(boxes);
  return columns.flatMap(rowsOf);
}

/**
 * Rows top to bottom: a box joins the current row when its vertical centre falls inside the
 * row's first box; within a row, left to right.
 */
function rowsOf(boxes: readonly Rect[]): Rect[][] {
  const sorted = [...boxes].sort((a, b) => a.y + a.height / 2 - (b.y + b.height / 2) || a.x - b.x);
  const rows: Rect[][] = [];
  let anchor: Rect | undefined;
  for (const box of sorted) {
    const centre = box.y + box.height / 2;
    if (anchor && centre >= anchor.y && centre <= anchor.y + anchor.height) rows[rows.length - 1]!.push(box);
    else {
      rows.push([box]);
      anchor = box;
    }
  }
  for (const row of rows) row.sort((a, b) => a.x - b.x);
  return rows;
}
