/**
 * The main thread's side of the encode worker (encode-worker.ts): `encode` for compaction, run
 * in a worker thread started on first use, so drawing and reading pages never stall the thread
 * that answers `add`, recall and the integrations. Only for what can cross threads: a built-in
 * profile, the default tokenizer and the default local reader (compaction with a custom decoder,
 * tokenizer or profile object draws on the calling thread).
 */
import type { Worker } from 'node:worker_threads';
import type { EncodedPage } from '../src/codec/codec.js';
import { OpticMemError } from '../src/errors.js';
import { startWorker, stopWorker } from '../src/internal/worker-start.js';
import type { RenderTurn } from '../renderers/text-layout.js';
import type { EncodeReply, EncodeRequest } from './encode-worker.js';

export class EncodeThread {
  #worker: Worker | undefined;
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (pages: EncodedPage[]) => void; reject: (error: Error) => void }>();

  encode(turns: readonly RenderTurn[], options: Omit<EncodeRequest, 'id' | 'turns'>): Promise<EncodedPage[]> {
    const worker = this.#start();
    const id = this.#next++;
    return new Promise<EncodedPage[]>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.ref(); // a job in flight keeps the process alive until it lands
      worker.postMessage({ id, turns, ...options } satisfies EncodeRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    await stopWorker(worker, 5_000);
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker(import.meta.url, 'encode-worker');
    worker.unref();
    worker.on('message', (reply: EncodeReply) => {
      const waiter = this.#waiting.get(reply.id);
      if (!waiter) return;
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) worker.unref();
      if ('pages' in reply) waiter.resolve(reply.pages.map((p) => ({ ...p, png: new Uint8Array(p.png) })));
      else waiter.reject(Object.assign(new OpticMemError(reply.error.code ?? 'compaction_failed', reply.error.message, reply.error.field ? { field: reply.error.field } : {}), { name: reply.error.name }));
    });
    const fail = (error: Error) => {
      for (const w of this.#waiting.values()) w.reject(new OpticMemError('compaction_failed', `The page-drawing worker failed: ${error.message}. The turns are stored and stay hot.`, { cause: error }));
      this.#waiting.clear();
      this.#worker = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.#waiting.size) fail(new Error(`it exited with code ${code}`));
      if (this.#worker === worker) this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }
}
