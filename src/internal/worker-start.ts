/**
 * Starts a worker thread from a module beside the caller: the compiled `.js` in a build, or the
 * `.ts` source (tests and benchmarks run from sources) loaded through tsx, a development
 * dependency.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Ask a worker started this way to close ('close' message) and wait for it to exit, at most
 * `graceMs`, then terminate it. The worker is held (ref) meanwhile: an idle, unref'd worker alone
 * would let the process end before it has closed.
 */
export async function stopWorker(worker: Worker, graceMs: number): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.ref();
  worker.postMessage('close');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  await worker.terminate();
}

/** `name` without its extension (e.g. 'encode-worker'), resolved beside `base` (the caller's import.meta.url). */
export function startWorker(base: string, name: string): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base));
  // The ES module build of tsx's API (require.resolve finds its CommonJS twin beside it).
  const tsx = createRequire(base).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const entry = new URL(`./${name}.ts`, base).href;
  const boot = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}
