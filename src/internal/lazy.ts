import { ModelLoadError } from '../errors.js';

/**
 * Heavy native parts (canvas, onnxruntime, LanceDB) load on first use, once, so importing the
 * package root stays cheap and a missing platform binary fails with a message that says why.
 */
export function lazyImport<T>(specifier: string, load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((cause: unknown) => {
      pending = undefined;
      throw new ModelLoadError(
        `Could not load '${specifier}'. Reinstall dependencies with 'npm install'; if it still fails, '${specifier}' has no prebuilt binary for ${process.platform}-${process.arch}.`,
        { cause },
      );
    });
    return pending;
  };
}

export const loadCanvas = lazyImport('@napi-rs/canvas', () => import('@napi-rs/canvas'));
export const loadOnnxRuntime = lazyImport('onnxruntime-node', async () => {
  const mod = await import('onnxruntime-node');
  // CommonJS package: under ESM its API may sit on `default`.
  return ((mod as unknown as { default?: typeof mod }).default ?? mod) as typeof mod;
});
export const loadLanceDb: () => Promise<typeof import('@lancedb/lancedb')> = lazyImport('@lancedb/lancedb', () => import('@lancedb/lancedb'));
