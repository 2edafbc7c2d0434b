import { CorruptPageError, OpticMemError } from '../src/errors.js';

/** Errors that belong to one page (its image or checksum): recall, context and ageing skip that page, name it, and serve the rest. */
export function pageFault(error: unknown): error is OpticMemError {
  return CorruptPageError.isInstance(error) || (OpticMemError.isInstance(error) && ['invalid_image', 'missing_geometry', 'decode_failed'].includes(error.code));
}
