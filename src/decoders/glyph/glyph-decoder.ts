/**
 * The glyph-matching decoder: reads pages opticmem drew by finding the text whose rendering
 * gives their pixels (see page-reader.ts), using only the PNG's pixels and its geometry chunk.
 * Pages ageing shrank are matched through the same resampling. Lines that matching cannot
 * explain, pages without geometry and pages resampled more than once go to the `fallback`
 * decoder (the OCR model), line by line where it can.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { PageGeometry } from '../../../renderers/page.js';
import { readGeometry } from '../../../renderers/png.js';
import { DecodeError, MissingGeometryError, parseInput } from '../../errors.js';
import { checkAborted } from '../abort.js';
import { queuedDecode } from '../decode-guards.js';
import type { DecodedLine, DecodedText, DecodeOptions, Decoder, DecoderInput } from '../decoder.js';
import { createSerialQueue } from '../onnx/serial-queue.js';
import { readGrayPixels } from './gray-png.js';
import { PageReader, type ReadLineResult } from './page-reader.js';
import { ReaderThreads } from './reader-threads.js';
import { drawnGeometry } from './resampled-geometry.js';

export const GLYPH_DECODER_NAME = 'glyph-match';

export interface GlyphDecoderOptions {
  /**
   * Reads what glyph matching cannot: lines no reading explains, PNGs without geometry, pages
   * resampled more than once. Without one, such lines come back empty with confidence 0 and a PNG without
   * geometry is refused with MissingGeometryError.
   */
  readonly fallback?: Decoder;
  /** Per-pixel difference accepted on pages that are not pixel-exact (re-encoded, another canvas build). Default 24. */
  readonly tolerance?: number;
  /**
   * Worker threads that read the lines of an aged (resampled) page side by side: such a page is
   * seconds of search on one core. Default: the machine's cores, at most 4; 1 reads on the
   * calling thread. Pages as drawn take tens of milliseconds and are read on the calling thread.
   */
  readonly threads?: number;
}

const OptionsSchema = z.strictObject({
  fallback: z.custom<Decoder>((v) => typeof v === 'object' && v !== null && typeof (v as Decoder).decode === 'function', 'fallback must be a Decoder, e.g. createOnnxDecoder()').optional(),
  tolerance: z.number().int().min(0).max(128).optional(),
  threads: z.number().int('threads must be a whole number of worker threads, e.g. 2').min(1, 'threads must be at least 1 (1 reads on the calling thread)').max(64).optional(),
});

export function createGlyphDecoder(options: GlyphDecoderOptions = {}): Decoder {
  const opts = parseInput(OptionsSchema, options, 'options');
  const fallback = opts.fallback;
  const name = fallback ? `${GLYPH_DECODER_NAME}+${fallback.name}` : GLYPH_DECODER_NAME;
  const queue = createSerialQueue();
  let reader: Promise<PageReader> | undefined;
  const threads = opts.threads ?? Math.min(4, availableParallelism());
  let pool = threads > 1 ? new ReaderThreads(threads, opts.tolerance) : undefined;
  const readerOptions = opts.tolerance !== undefined ? { tolerance: opts.tolerance } : {};

  async function decodeNow(input: DecoderInput, options: DecodeOptions): Promise<DecodedText> {
    const started = performance.now();
    const geometry = options.useGeometry === false ? undefined : (input.geometry ?? readGeometry(input.png, 'png'));
    // A page resampled more than once is not one resampling of a drawing: matching cannot repeat it.
    if (!geometry || (geometry.resampled && !drawnGeometry(geometry))) {
      if (!fallback) {
        if (geometry) throw new DecodeError(`This page was resampled more than once after it was drawn, so its glyphs cannot be matched. Read it with a decoder that has a fallback, e.g. createLocalDecoder().`, { field: 'png' });
        throw new MissingGeometryError('png');
      }
      const out = await fallback.decode(input, options);
      return { ...out, decoder: name, elapsedMs: performance.now() - started };
    }
    const page = await readGrayPixels(input.png, 'png');
    checkAborted(options.signal);
    let results: (ReadLineResult | undefined)[] | undefined;
    if (geometry.resampled && pool) {
      // A worker that fails (out of memory, say) costs the threads, not the page: it is read here.
      results = await pool.read(page, geometry).catch(async () => {
        const broken = pool;
        pool = undefined;
        await broken?.close();
        return undefined;
      });
      checkAborted(options.signal);
    }
    results ??= (await (reader ??= PageReader.create(readerOptions))).read(page, geometry);
    const lines: DecodedLine[] = geometry.lines.map((box, i) => ({
      text: results[i]?.text ?? '',
      confidence: results[i]?.confidence ?? 0,
      box: { x: box.x, y: box.y, width: box.width, height: box.height },
    }));
    const missing = geometry.lines.map((_, i) => i).filter((i) => results[i] === undefined);
    if (missing.length > 0 && fallback) {
      checkAborted(options.signal);
      const subset: PageGeometry = { ...geometry, lines: missing.map((i) => geometry.lines[i]!) };
      const read = await fallback.decode({ png: input.png, geometry: subset }, { ...options, useGeometry: true });
      missing.forEach((i, k) => {
        const line = read.lines[k];
        if (line) lines[i] = { ...line, box: lines[i]!.box };
      });
    }
    return { text: lines.map((l) => l.text).join('\n'), lines, path: 'geometry', decoder: name, elapsedMs: performance.now() - started };
  }

  return {
    specificationVersion: 'v1',
    name,
    decode(input, options = {}) {
      return queuedDecode(
        queue,
        input,
        options,
        () => decodeNow(input, options),
        (reason) => `Glyph matching failed on this page: ${reason}. Read it with createOnnxDecoder() instead, and report the page.`,
      );
    },
    close() {
      return queue.run(async () => {
        reader = undefined;
        await pool?.close();
        await fallback?.close();
      });
    },
  };
}
