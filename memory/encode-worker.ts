/**
 * A worker thread that draws and verifies pages: the codec's `encode` with the local reader,
 * off the thread that serves `Memory.add`, recall and every integration (drawing and reading
 * are synchronous CPU work, so on that thread they would stall every other call). Started by
 * `EncodeThread`; one request at a time.
 */
import { parentPort } from 'node:worker_threads';
import { encode, type EncodedPage } from '../src/codec/codec.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import type { RenderTurn } from '../renderers/text-layout.js';

export interface EncodeRequest {
  readonly id: number;
  readonly turns: readonly RenderTurn[];
  readonly ratio: number;
  readonly profile: string;
  readonly minGlyphPx: number;
  readonly minFidelity: number;
}

export type EncodeReply =
  | { readonly id: number; readonly pages: EncodedPage[] }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly code?: string; readonly field?: string } };

let decoder: Decoder | undefined;
const port = parentPort!;
port.on('message', (message: EncodeRequest | 'close') => {
  if (message === 'close') {
    void (decoder?.close() ?? Promise.resolve()).finally(() => port.close());
    return;
  }
  void (async () => {
    try {
      decoder ??= createLocalDecoder();
      const pages = await encode(message.turns, {
        ratio: message.ratio,
        profile: message.profile,
        minGlyphPx: message.minGlyphPx,
        verify: { decoder, minFidelity: message.minFidelity },
      });
      port.postMessage({ id: message.id, pages } satisfies EncodeReply, pages.map((p) => p.png.buffer as ArrayBuffer));
    } catch (error) {
      const e = error as { name?: string; message?: string; code?: string; field?: string };
      port.postMessage({ id: message.id, error: { name: e?.name ?? 'Error', message: String(e?.message ?? error), ...(e?.code ? { code: e.code } : {}), ...(e?.field ? { field: e.field } : {}) } } satisfies EncodeReply);
    }
  })();
});
