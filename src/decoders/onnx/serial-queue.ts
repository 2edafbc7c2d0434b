/**
 * Runs jobs one at a time, in call order. An onnxruntime session must not run two requests
 * at once, and closing must wait for the job in flight.
 */
export interface SerialQueue {
  run<T>(job: () => Promise<T>): Promise<T>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(job) {
      const result = tail.then(job);
      // A failed job must not stop the ones queued behind it.
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
