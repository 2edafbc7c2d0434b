/**
 * Text-line recognition with PP-OCRv4 rec: crop each line region from the page, scale it to
 * the model's 48 px height, batch lines of similar width into one run, and CTC-decode.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { fixConfusions } from './confusions.js';
import { ctcGreedyDecode, type CtcCharset } from './ctc.js';
import { blankColumns, cropPadded, resize, type GrayImage, type Rect } from './gray-image.js';
import { restoreSpaces, type SpaceGaps } from './spaces.js';
import type { OnnxRuntime } from './session.js';

/** The recognition model's fixed input height. */
export const REC_HEIGHT = 48;
/** Width of the image per output step of the model. */
const REC_STRIDE = 8;

/**
 * Run time is proportional to the total input width, so every knob that shrinks glyphs in
 * the 48 px input trades accuracy for speed. Defaults favour accuracy; the numbers below were
 * measured on 1024 px pages of 11 px DejaVu Sans.
 */
export interface RecognizerTuning {
  /**
   * White rows added above and below each region, as a fraction of its height. 0.1: 0 read
   * 0.25 points better but ran 14% longer; 0.2 ran 20% faster but read 0.25 points worse.
   */
  readonly padY: number;
  /** White columns added left and right, as a fraction of the region's height. */
  readonly padX: number;
  /**
   * Horizontal scale relative to the vertical one. Below 1 narrows glyphs and shortens the
   * run in proportion, but accuracy falls fast (0.85: -0.3 points, 0.7: -2, 0.6: -25).
   */
  readonly squash: number;
  /**
   * Widest piece (model input px) read in one go; longer lines are cut at blank columns.
   * Whole 3000+ px lines ran up to twice as slow and read no better.
   */
  readonly maxWidth: number;
  /**
   * Budget of batch items x width per run. Batches of ~3000-6400 columns ran fastest per
   * column on 2 vCPUs: single lines pay per-run overhead, big batches fall out of cache.
   */
  readonly batchColumns: number;
  /** A batch only takes items at least this fraction of its widest item's width. */
  readonly batchFill: number;
}

export const DEFAULT_RECOGNIZER_TUNING: RecognizerTuning = {
  padY: 0.1,
  padX: 0.3,
  squash: 1,
  maxWidth: 2400,
  batchColumns: 6400,
  batchFill: 0.8,
};

/** A region of the page to read, in integer page px. */
export interface LineRegion extends Rect {
  /**
   * Blank gaps (page px) that do and do not make a word space, when the font is known: the
   * model's spacing is corrected from the ink. Undefined leaves it alone.
   */
  readonly spaceGaps?: SpaceGaps;
}

export interface RecognizedRegion {
  readonly text: string;
  /** Per character of `text`. */
  readonly confidences: readonly number[];
  /** Per character of `text`: the model's runner-ups (see CtcResult). */
  readonly alternatives: readonly (readonly string[])[];
}

/** One model input: a piece of a region (long regions yield several), resized when batched. */
interface Piece {
  readonly region: number;
  /** Put a space between this piece and the previous one of the same region. */
  readonly spaceBefore: boolean;
  /** The padded crop at page resolution. */
  readonly source: GrayImage;
  /** Width once resized to the model's height. */
  readonly width: number;
  readonly spaceGaps: SpaceGaps | undefined;
}

interface PreparedBatch {
  readonly pieces: readonly Piece[];
  /** Padded batch width (model input px). */
  readonly width: number;
  readonly input: Float32Array;
}

export interface Recognizer {
  /**
   * Read each region (integer page px; may reach past the page edge, which reads as white).
   * Results are in the order of `regions`; an empty region reads as ''.
   */
  recognize(page: GrayImage, regions: readonly LineRegion[], signal?: AbortSignal): Promise<RecognizedRegion[]>;
}

export function createRecognizer(
  ort: OnnxRuntime,
  session: InferenceSession,
  io: { input: string; output: string },
  charset: CtcCharset,
  tuning: RecognizerTuning = DEFAULT_RECOGNIZER_TUNING,
): Recognizer {
  const run = async (batch: PreparedBatch): Promise<Float32Array> => {
    const feeds = { [io.input]: new ort.Tensor('float32', batch.input, [batch.pieces.length, 3, REC_HEIGHT, batch.width]) };
    const output = (await session.run(feeds))[io.output];
    if (!output || output.dims.length !== 3) throw new Error(`recognition output has shape [${output?.dims.join(', ') ?? ''}], expected [batch, steps, classes]`);
    if (output.dims[2] !== charset.length) {
      throw new Error(`recognition model emits ${output.dims[2]} classes but the dictionary has ${charset.length}; use the dictionary that belongs to the model`);
    }
    return output.data as Float32Array;
  };

  return {
    async recognize(page, regions, signal) {
      const pieces: Piece[] = [];
      regions.forEach((rect, region) => {
        if (rect.width > 0 && rect.height > 0) pieces.push(...cutRegion(page, rect, region, tuning));
      });
      const batches = makeBatches(pieces, tuning);
      const texts = new Map<Piece, RecognizedRegion>();
      let next = batches[0] && prepareBatch(batches[0]);
      for (let b = 0; next; b++) {
        signal?.throwIfAborted();
        const current = next;
        const running = run(current);
        // The model runs off the main thread: prepare the next batch meanwhile.
        next = batches[b + 1] && prepareBatch(batches[b + 1]!);
        const probs = await running;
        readBatch(probs, current, charset).forEach((read, i) => texts.set(current.pieces[i]!, read));
      }
      const out: RecognizedRegion[] = regions.map(() => ({ text: '', confidences: [], alternatives: [] }));
      for (const piece of pieces) {
        const read = texts.get(piece)!;
        const prev = out[piece.region]!;
        const space = piece.spaceBefore && prev.text !== '' && read.text !== '' && !prev.text.endsWith(' ') && !read.text.startsWith(' ');
        out[piece.region] = {
          text: prev.text + (space ? ' ' : '') + read.text,
          confidences: [...prev.confidences, ...(space ? [1] : []), ...read.confidences],
          alternatives: [...prev.alternatives, ...(space ? [[]] : []), ...read.alternatives],
        };
      }
      return out;
    },
  };
}

/** Crop `rect`, pad it, and cut it into pieces no wider than `maxWidth` once resized. */
function cutRegion(page: GrayImage, rect: LineRegion, region: number, tuning: RecognizerTuning): Piece[] {
  const padY = Math.round(rect.height * tuning.padY);
  const padX = Math.round(rect.height * tuning.padX);
  const crop = cropPadded(page, rect, padX, padY);
  const scaleX = (REC_HEIGHT / crop.height) * tuning.squash;
  const maxSource = Math.max(crop.height, Math.floor(tuning.maxWidth / scaleX));
  const spans = crop.width <= maxSource ? [{ start: 0, end: crop.width, spaceBefore: false }] : splitAtBlanks(crop, maxSource, rect.spaceGaps?.space ?? rect.height * 0.2);
  return spans.map((span) => {
    const source = span.start === 0 && span.end === crop.width ? crop : cropPadded(crop, { x: span.start, y: 0, width: span.end - span.start, height: crop.height }, 0, 0);
    return { region, spaceBefore: span.spaceBefore, source, width: Math.max(REC_STRIDE, Math.round(source.width * scaleX)), spaceGaps: rect.spaceGaps };
  });
}

/**
 * Spans of at most `maxSource` columns, cut in the middle of the widest blank gap in the last
 * 40% of each span (a word space, usually). A gap of `spaceGap` or more is taken as a space
 * between the pieces.
 */
function splitAtBlanks(crop: GrayImage, maxSource: number, spaceGap: number): { start: number; end: number; spaceBefore: boolean }[] {
  const blank = blankColumns(crop);
  const spans: { start: number; end: number; spaceBefore: boolean }[] = [];
  let start = 0;
  let spaceBefore = false;
  while (crop.width - start > maxSource) {
    const lo = start + Math.floor(maxSource * 0.6);
    const hi = start + maxSource;
    let bestStart = -1;
    let bestLen = 0;
    for (let x = lo; x < hi; ) {
      if (!blank[x]) {
        x++;
        continue;
      }
      let end = x;
      while (end < crop.width && blank[end]) end++;
      if (end - x > bestLen) {
        bestLen = end - x;
        bestStart = x;
      }
      x = end;
    }
    const cut = bestLen > 0 ? bestStart + Math.floor(bestLen / 2) : hi;
    spans.push({ start, end: cut, spaceBefore });
    spaceBefore = bestLen >= spaceGap;
    start = cut;
  }
  spans.push({ start, end: crop.width, spaceBefore });
  return spans;
}

/** Group pieces of similar width, widest first, within the column budget. */
function makeBatches(pieces: readonly Piece[], tuning: RecognizerTuning): Piece[][] {
  const sorted = [...pieces].sort((a, b) => b.width - a.width);
  const batches: Piece[][] = [];
  let current: Piece[] = [];
  let widest = 0;
  for (const piece of sorted) {
    const fits = current.length > 0 && piece.width >= widest * tuning.batchFill && (current.length + 1) * widest <= tuning.batchColumns;
    if (!fits) {
      if (current.length > 0) batches.push(current);
      current = [];
      widest = piece.width;
    }
    current.push(piece);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Resize each piece into one NCHW tensor, normalised to -1..1, padded with white to the widest. */
function prepareBatch(pieces: readonly Piece[]): PreparedBatch {
  const width = Math.ceil(Math.max(...pieces.map((p) => p.width)) / REC_STRIDE) * REC_STRIDE;
  const plane = REC_HEIGHT * width;
  // White (1 after normalisation) reads as blank steps.
  const input = new Float32Array(pieces.length * 3 * plane).fill(1);
  pieces.forEach((piece, n) => {
    const { data, width: w } = resize(piece.source, piece.width, REC_HEIGHT);
    const base = n * 3 * plane;
    for (let y = 0; y < REC_HEIGHT; y++) {
      for (let x = 0; x < w; x++) {
        const v = data[y * w + x]! / 127.5 - 1;
        const at = base + y * width + x;
        input[at] = v;
        input[at + plane] = v;
        input[at + 2 * plane] = v;
      }
    }
  });
  return { pieces, width, input };
}

/** CTC-decode each piece of a batch from the model's [batch, steps, classes] output. */
function readBatch(probs: Float32Array, batch: PreparedBatch, charset: CtcCharset): RecognizedRegion[] {
  const classes = charset.length;
  const steps = probs.length / (batch.pieces.length * classes);
  return batch.pieces.map((piece, n) => {
    // Only the steps that cover this piece; the padded tail is ignored.
    const own = Math.min(steps, Math.ceil((steps * piece.width) / batch.width) + 1);
    const raw = ctcGreedyDecode(probs, n * steps * classes, own, classes, charset);
    // Repairs map character to character, so confidences and steps stay aligned; they come
    // first so that a repaired '）' counts as Latin when spaces are restored.
    const read = { ...raw, text: fixConfusions(raw.text) };
    if (piece.spaceGaps === undefined) return read;
    // Model columns per output step, over model columns per page px.
    const stride = batch.width / steps / (piece.width / piece.source.width);
    return restoreSpaces(read, blankColumns(piece.source), piece.spaceGaps, stride);
  });
}
