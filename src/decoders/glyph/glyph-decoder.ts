/**
 * The glyph-matching decoder: reads pages opticmem drew by finding the text whose rendering
 * gives their pixels (see page-reader.ts), using only the PNG's pixels and its geometry chunk.
 * Pages ageing shrank are matched through the same resampling. Lines that matching cannot
 * explain, pages without geometry and pages resampled more than once go to the `fallback`
 * decoder (the OCR model), line by line where it can.
 */
import { z } from 'zod';
import type { PageGeometry } from '../../../renderers/page.js';
import { readGeometry } from '../../../renderers/png.js';
import { DecodeError, MissingGeometryError, parseInput } from '../../errors.js';
import { checkAborted } from '../abort.js';
import { queuedDecode } from '../decode-guards.js';
import type { DecodedLine, DecodedText, DecodeOptions, Decoder, DecoderInput } from '../decoder.js';
import { createSerialQueue } from '../onnx/serial-queue.js';
import { readGrayPixels } from './gray-png.js';
import { PageReader } from './page-reader.js';
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
}

const OptionsSchema = z.strictObject({
  fallback: z.custom<Decoder>((v) => typeof v === 'object' && v !== null && typeof (v as Decoder).decode === 'function', 'fallback must be a Decoder, e.g. createOnnxDecoder()').optional(),
  tolerance: z.number().int().min(0).max(128).optional(),
});

export function createGlyphDecoder(options: GlyphDecoderOptions = {}): Decoder {
  const opts = parseInput(OptionsSchema, options, 'options');
  const fallback = opts.fallback;
  const name = fallback ? `${GLYPH_DECODER_NAME}+${fallback.name}` : GLYPH_DECODER_NAME;
  const queue = createSerialQueue();
  let reader: Promise<PageReader> | undefined;

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
    const results = (await (reader ??= PageReader.create({ ...(opts.tolerance !== undefined ? { tolerance: opts.tolerance } : {}) }))).read(page, geometry);
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
        await fallback?.close();
      });
    },
  };
}
