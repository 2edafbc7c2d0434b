/**
 * A worker thread that reads some lines of a resampled page by glyph matching (PageReader's
 * readPart), so the lines of one page are searched on every core (reader-threads.ts). Keeps
 * its PageReader, and so its glyph indexes and resampled glyph images, from page to page.
 */
import { parentPort } from 'node:worker_threads';
import type { PageGeometry } from '../../../renderers/page.js';
import type { GrayImage } from '../onnx/gray-image.js';
import { PageReader, type PagePart, type PartReading } from './page-reader.js';

export interface ReadPartRequest {
  readonly id: number;
  readonly page: GrayImage;
  readonly geometry: PageGeometry;
  readonly part: PagePart;
  readonly tolerance?: number;
}

export type ReadPartReply = { readonly id: number; readonly reading: PartReading } | { readonly id: number; readonly error: string };

const port = parentPort!;
/** One reader: a worker belongs to one ReaderThreads, whose tolerance every request carries. */
let reader: Promise<PageReader> | undefined;

port.on('message', (message: ReadPartRequest | 'close') => {
  if (message === 'close') {
    port.close();
    return;
  }
  void (async () => {
    try {
      reader ??= PageReader.create(message.tolerance === undefined ? {} : { tolerance: message.tolerance });
      const reading = (await reader).readPart(message.page, message.geometry, message.part);
      port.postMessage({ id: message.id, reading } satisfies ReadPartReply);
    } catch (error) {
      port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies ReadPartReply);
    }
  })();
});
