/**
 * Reads the lines of a resampled page on several worker threads at once (reader-worker.ts):
 * searching an aged page is seconds of CPU, and its lines can be searched side by side. The
 * page's lines are cut into contiguous runs of about equal width, one a thread; each run first
 * reads the line above it (only so that line's ink reaching into the run is known, as reading
 * top to bottom would have it), and a line no run could explain is tried once more with every
 * other reading painted, as the single-threaded reader's later passes try it.
 */
import type { Worker } from 'node:worker_threads';
import type { PageGeometry } from '../../../renderers/page.js';
import { startWorker, stopWorker } from '../../internal/worker-start.js';
import type { GrayImage } from '../onnx/gray-image.js';
import type { PagePart, PartReading, ReadLineResult } from './page-reader.js';
import { drawnGeometry, readableBox } from './resampled-geometry.js';
import type { ReadPartReply, ReadPartRequest } from './reader-worker.js';

interface Waiter {
  readonly resolve: (reading: PartReading) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly waiting: Map<number, Waiter>;
}

export class ReaderThreads {
  readonly #slots: (Slot | undefined)[];
  #next = 0;
  #closed = false;

  /** `threads` workers (started on first use), each reading with `tolerance` (PageReaderOptions). */
  constructor(
    readonly threads: number,
    private readonly tolerance?: number,
  ) {
    this.#slots = Array.from({ length: threads }, () => undefined);
  }

  /** One entry per geometry line, as PageReader.read gives them for a resampled page. */
  async read(page: GrayImage, geometry: PageGeometry): Promise<(ReadLineResult | undefined)[]> {
    const plan = drawnGeometry(geometry);
    const results: (ReadLineResult | undefined)[] = geometry.lines.map(() => undefined);
    if (!plan) return results;
    const lines = plan.lines.map((_, i) => i).filter((i) => readableBox(plan.lines[i]));
    const runs = splitByWidth(lines, (i) => plan.lines[i]!.width, this.threads);
    const parts = await Promise.all(runs.map((run, k) => this.#call(k, page, geometry, { lines: run, context: run[0]! > 0 ? [run[0]! - 1] : [] })));
    const glyphs = geometry.lines.map(() => undefined as PartReading['glyphs'][number]);
    runs.forEach((run, k) => {
      for (const i of run) {
        results[i] = parts[k]!.lines[i];
        glyphs[i] = parts[k]!.glyphs[i];
      }
    });
    const unread = lines.filter((i) => results[i] === undefined);
    if (unread.length > 0 && runs.length > 1) {
      const known = lines.flatMap((i) => (glyphs[i] ? [{ line: i, glyphs: glyphs[i]! }] : []));
      const last = await this.#call(0, page, geometry, { lines: unread, known });
      for (const i of unread) results[i] = last.lines[i];
    }
    return results;
  }

  /** Stop every worker; a later read starts them again. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots];
    this.#slots.fill(undefined);
    await Promise.all(slots.map((slot) => slot && stopWorker(slot.worker, 2_000)));
    this.#closed = false;
  }

  #call(k: number, page: GrayImage, geometry: PageGeometry, part: PagePart): Promise<PartReading> {
    if (this.#closed) return Promise.reject(new Error('the reader threads are closing'));
    const slot = this.#start(k);
    const id = this.#next++;
    return new Promise<PartReading>((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject });
      slot.worker.ref(); // a page in flight keeps the process alive until it is read
      slot.worker.postMessage({ id, page, geometry, part, ...(this.tolerance !== undefined ? { tolerance: this.tolerance } : {}) } satisfies ReadPartRequest);
    });
  }

  #start(k: number): Slot {
    const found = this.#slots[k];
    if (found) return found;
    const worker = startWorker(import.meta.url, 'reader-worker');
    worker.unref();
    const slot: Slot = { worker, waiting: new Map() };
    worker.on('message', (reply: ReadPartReply) => {
      const waiter = slot.waiting.get(reply.id);
      if (!waiter) return;
      slot.waiting.delete(reply.id);
      if (slot.waiting.size === 0) worker.unref();
      if ('reading' in reply) waiter.resolve(reply.reading);
      else waiter.reject(new Error(reply.error));
    });
    const fail = (error: Error) => {
      for (const w of slot.waiting.values()) w.reject(error);
      slot.waiting.clear();
      if (this.#slots[k] === slot) this.#slots[k] = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a reader thread exited with code ${code}`)));
    this.#slots[k] = slot;
    return slot;
  }
}

/** Cut `items` (in order) into at most `n` contiguous runs of about equal total `size`; no run is empty. */
export function splitByWidth(items: readonly number[], size: (item: number) => number, n: number): number[][] {
  const total = items.reduce((a, i) => a + size(i), 0);
  const runs: number[][] = [];
  let run: number[] = [];
  let sum = 0;
  for (const item of items) {
    run.push(item);
    sum += size(item);
    // Close a run once the runs so far hold their shares of the total.
    if (runs.length < n - 1 && sum >= (total * (runs.length + 1)) / n) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
