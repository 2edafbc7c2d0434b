/** Abort handling shared by decoders: a typed error, an early check, and an early settle. */
import { DecodeError } from '../errors.js';

export function abortError(signal: AbortSignal): DecodeError {
  return new DecodeError('Decoding was aborted by the caller (options.signal). Decode again without an aborted signal to read the page.', {
    cause: signal.reason,
    field: 'signal',
  });
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Settle as soon as `signal` aborts, while the job winds down on its own. */
export function rejectOnAbort<T>(job: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    job.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
