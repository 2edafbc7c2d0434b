/**
 * Starts a worker thread from a module beside the caller: the compiled `.js` in a build, or the
 * `.ts` source (tests and benchmarks run from sources) loaded through tsx, a development
 * dependency.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** `name` without its extension (e.g. 'encode-worker'), resolved beside `base` (the caller's import.meta.url). */
export function startWorker(base: string, name: string): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base));
  // The ES module build of tsx's API (require.resolve finds its CommonJS twin beside it).
  const tsx = createRequire(base).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const entry = new URL(`./${name}.ts`, base).href;
  const boot = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}
