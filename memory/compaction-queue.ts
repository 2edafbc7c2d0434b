/**
 * Background compaction for one memory: `add` stores its turns and queues the scope here, so no
 * caller waits while pages are drawn and read. One job per scope at a time (a scope queued
 * twice runs once), failures retried with backoff and reported, never lost: the turns stay hot
 * until their pages are committed, and the next `add` queues the scope again.
 */
import { OpticMemError } from '../src/errors.js';
import type { CompactResult } from './compaction.js';
import { scopeKey } from './scope.js';
import type { Scope } from './store/store.js';
import { tracePhase } from '../src/internal/phase-trace.js';

export type CompactionEvent =
  | { readonly type: 'compacted'; readonly scope: Required<Scope>; readonly result: CompactResult; readonly ms: number }
  | {
      readonly type: 'failed';
      readonly scope: Required<Scope>;
      readonly error: OpticMemError;
      /** 1 for the first try. */
      readonly attempt: number;
      /** False once the retries are spent: the turns stay hot and the next `add` queues the scope again. */
      readonly willRetry: boolean;
    };

export interface FlushResult {
  /** Background compactions finished since the last flush. */
  readonly compactions: number;
  readonly turnsCompacted: number;
  readonly pagesWritten: number;
  /** Failures whose retries were spent since the last flush (the turns are still stored, hot). */
  readonly errors: readonly OpticMemError[];
}

export interface CompactionQueueOptions {
  /** Tries per job, the first included. Default 3. */
  readonly attempts?: number;
  /** Wait before retry n (ms): backoffMs * 4^(n-1). Default 200. */
  readonly backoffMs?: number;
}

export function asCompactionError(cause: unknown): OpticMemError {
  return OpticMemError.isInstance(cause)
    ? cause
    : new OpticMemError('compaction_failed', `Compaction failed: ${String((cause as Error)?.message ?? cause)}. The turns are stored and stay hot; compaction runs again on the next add() or compact().`, { cause });
}

export class CompactionQueue {
  readonly #pending = new Map<string, Required<Scope>>();
  readonly #listeners = new Map<(e: CompactionEvent) => void, string | undefined>();
  #running: Promise<void> | undefined;
  #idle: (() => void)[] = [];
  #finished = { compactions: 0, turnsCompacted: 0, pagesWritten: 0, errors: [] as OpticMemError[] };
  #stopped = false;
  readonly #attempts: number;
  readonly #backoffMs: number;

  constructor(
    private readonly run: (scope: Required<Scope>) => Promise<CompactResult>,
    options: CompactionQueueOptions = {},
  ) {
    this.#attempts = Math.max(1, options.attempts ?? 3);
    this.#backoffMs = Math.max(0, options.backoffMs ?? 200);
  }

  /** Listen to every job's outcome (or one scope's); returns the function that stops listening. */
  subscribe(listener: (e: CompactionEvent) => void, scope?: Required<Scope>): () => void {
    this.#listeners.set(listener, scope ? scopeKey(scope) : undefined);
    return () => this.#listeners.delete(listener);
  }

  /** Queue `scope` (once: a scope already waiting is not queued again). */
  enqueue(scope: Required<Scope>): void {
    if (this.#stopped) return;
    this.#pending.set(scopeKey(scope), scope);
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#pending.size && !this.#stopped) this.enqueue([...this.#pending.values()][0]!);
      else for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Wait until every queued job has run (retries included); what finished since the last flush. */
  async flush(): Promise<FlushResult> {
    if (this.#running) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const done = this.#finished;
    this.#finished = { compactions: 0, turnsCompacted: 0, pagesWritten: 0, errors: [] };
    return done;
  }

  /** Run what is queued, then accept no more jobs. */
  async close(): Promise<FlushResult> {
    const done = await this.flush();
    this.#stopped = true;
    return done;
  }

  async #loop(): Promise<void> {
    for (;;) {
      const next = this.#pending.entries().next();
      if (next.done) return;
      const [key, scope] = next.value;
      this.#pending.delete(key);
      await this.#job(scope);
    }
  }

  async #job(scope: Required<Scope>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        tracePhase('background compaction');
        const result = await this.run(scope);
        this.#finished.compactions++;
        this.#finished.turnsCompacted += result.turnsCompacted;
        this.#finished.pagesWritten += result.pagesWritten;
        this.#emit({ type: 'compacted', scope, result, ms: performance.now() - started });
        return;
      } catch (cause) {
        const error = asCompactionError(cause);
        const willRetry = attempt < this.#attempts && !this.#stopped;
        if (!willRetry) this.#finished.errors.push(error);
        const heard = this.#emit({ type: 'failed', scope, error, attempt, willRetry });
        if (!willRetry) {
          if (!heard) {
            process.emitWarning(`opticmem stored the turns but could not compact older turns into pages; they stay as text and the next add retries. ${error.name} (${error.code}): ${error.message}`, {
              code: 'OPTICMEM_COMPACTION_FAILED',
            });
          }
          return;
        }
        await new Promise((r) => setTimeout(r, this.#backoffMs * 4 ** (attempt - 1)));
      }
    }
  }

  /** True when someone listened. A listener that throws does not stop the queue. */
  #emit(event: CompactionEvent): boolean {
    const key = scopeKey(event.scope);
    let heard = false;
    for (const [listener, only] of [...this.#listeners]) {
      if (only !== undefined && only !== key) continue;
      heard = true;
      try {
        listener(event);
      } catch {
        // A listener's own failure is its business; the queue goes on.
      }
    }
    return heard;
  }
}
