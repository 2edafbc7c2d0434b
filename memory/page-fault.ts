import { CorruptPageError, OpticMemError } from '../src/errors.js';

/** Errors that belong to one page (its image or checksum): recall, context and ageing skip that page, name it, and serve the rest. */
export function pageFault(error: unknown): error is OpticMemError {
  return CorruptPageError.isInstance(error) || (OpticMemError.isInstance(error) && ['invalid_image', 'missing_geometry', 'decode_failed'].includes(error.code));
}

/** A page left out of a result because it cannot be read (its image fails its checksum or does not decode). */
export interface SkippedPage {
  readonly pageId: string;
  readonly error: OpticMemError;
}
