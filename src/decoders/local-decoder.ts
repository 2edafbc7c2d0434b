/**
 * The one place that chooses the local reader. By default ('auto') pages opticmem drew are read
 * by glyph matching, which proves each line against the page's pixels, and whatever matching
 * cannot explain (resampled pages, PNGs without geometry, damaged or foreign lines) is read by
 * the PP-OCRv4 model, loaded only when first needed. 'glyph' and 'model' force one reader.
 */
import { z } from 'zod';
import { parseInput } from '../errors.js';
import type { Decoder } from './decoder.js';
import { createGlyphDecoder } from './glyph/glyph-decoder.js';
import { createOnnxDecoder, type OnnxDecoderOptions } from './onnx/onnx-decoder.js';

export const LOCAL_READERS = ['auto', 'glyph', 'model'] as const;
export type LocalReader = (typeof LOCAL_READERS)[number];

export interface LocalDecoderOptions extends OnnxDecoderOptions {
  /** 'auto' (default): glyph matching, the OCR model for the rest; 'glyph': matching only; 'model': the OCR model only. */
  readonly reader?: LocalReader;
  /** Per-pixel difference glyph matching accepts on pages that are not pixel-exact. Default 24. */
  readonly tolerance?: number;
}

const ReaderSchema = z.object({
  reader: z.enum(LOCAL_READERS, { error: "must be 'auto', 'glyph' or 'model'" }).optional(),
  tolerance: z.number().optional(),
});

export function createLocalDecoder(options: LocalDecoderOptions = {}): Decoder {
  parseInput(ReaderSchema, { reader: options.reader, tolerance: options.tolerance }, 'options');
  const { reader = 'auto', tolerance, ...onnx } = options;
  const glyph = tolerance !== undefined ? { tolerance } : {};
  if (reader === 'model') return createOnnxDecoder(onnx);
  if (reader === 'glyph') return createGlyphDecoder(glyph);
  return createGlyphDecoder({ ...glyph, fallback: createOnnxDecoder(onnx) });
}
