/** Input checks and error mapping shared by the local decoders. */
import type { PageGeometry } from '../../renderers/page.js';
import { DecodeError, InvalidInputError, OpticMemError } from '../errors.js';
import { abortError, checkAborted, rejectOnAbort } from './abort.js';
import type { DecodedText, DecodeOptions, DecoderInput } from './decoder.js';
import type { SerialQueue } from './onnx/serial-queue.js';

function checkInput(input: DecoderInput): void {
  if (typeof input !== 'object' || input === null) throw new InvalidInputError('input', "'input' must be an object { png, geometry? }.");
  const g = input.geometry as Partial<PageGeometry> | undefined;
  if (g !== undefined && (typeof g !== 'object' || g === null || !Array.isArray(g.lines) || typeof g.width !== 'number' || typeof g.height !== 'number')) {
    throw new InvalidInputError('input.geometry', "'input.geometry' must be the PageGeometry of the page (with width, height and lines), or left out to read it from the PNG.");
  }
}

/**
 * Typed errors pass through; an abort becomes DecodeError; anything else (a runtime failure)
 * becomes a DecodeError whose message `explain` writes from the failure's reason.
 */
async function withDecodeErrors<T>(run: () => Promise<T>, signal: AbortSignal | undefined, explain: (reason: string) => string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    if (OpticMemError.isInstance(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DecodeError(explain(reason), { cause: error });
  }
}

/**
 * A local decoder's `decode`: input and signal checked at once, the work queued behind any
 * decode in flight, its failures typed (`explain` words a runtime failure), and the promise
 * settled as soon as the signal aborts.
 */
export function queuedDecode(
  queue: SerialQueue,
  input: DecoderInput,
  options: DecodeOptions,
  run: () => Promise<DecodedText>,
  explain: (reason: string) => string,
): Promise<DecodedText> {
  try {
    checkInput(input);
    checkAborted(options.signal);
  } catch (error) {
    return Promise.reject(error);
  }
  const job = queue.run(() => withDecodeErrors(run, options.signal, explain));
  return options.signal ? rejectOnAbort(job, options.signal) : job;
}
