/**
 * What the integrations say after `memory.add`: the turns are stored once `add` resolves, even
 * when compacting older turns into pages fails afterwards (the turns stay hot, and the next
 * `add` or `compact` tries again). Such a failure is reported, never turned into a failed call.
 * Compaction usually runs in the memory's background queue, so no model call waits for it; its
 * outcome reaches the caller's handler when the job ends.
 */
import type { AddResult, Memory } from '../../memory/memory.js';
import type { Scope } from '../../memory/store/store.js';
import { scopeKey } from '../../memory/scope.js';
import { OpticMemError } from '../errors.js';

/** One line for people and logs: `StoreError (store_failed): ...`. */
export function describeFailure(error: Error): string {
  return OpticMemError.isInstance(error) ? `${error.name} (${error.code}${error.field ? `, field '${error.field}'` : ''}): ${error.message}` : `${error.name}: ${error.message}`;
}

/** Handlers already waiting for a scope's queued compaction, so one failure is reported once per handler. */
const waiting = new WeakMap<Memory, Map<string, Set<(error: Error) => void>>>();

/**
 * Hands a compaction failure to the caller's handler: at once when compaction ran inline, or
 * when the queued background job gives up. Without a handler an inline failure becomes a process
 * warning (the memory's queue warns for background failures nobody listens to).
 */
export function reportCompactionFailure(memory: Memory, scope: Scope, result: AddResult, onCompactionError: ((error: Error) => void) | undefined): Error | undefined {
  const error = result.compactionError;
  if (error) {
    if (onCompactionError) onCompactionError(error);
    else process.emitWarning(`opticmem stored the turns but could not compact older turns into pages; they stay as text and the next add retries. ${describeFailure(error)}`, { code: 'OPTICMEM_COMPACTION_FAILED' });
    return error;
  }
  if (result.compactionQueued && onCompactionError) {
    const key = scopeKey(scope);
    const byScope = waiting.get(memory) ?? new Map<string, Set<(error: Error) => void>>();
    waiting.set(memory, byScope);
    const handlers = byScope.get(key) ?? new Set();
    byScope.set(key, handlers);
    if (handlers.has(onCompactionError)) return undefined;
    handlers.add(onCompactionError);
    const stop = memory.onCompaction((e) => {
      if (e.type === 'failed' && e.willRetry) return;
      stop();
      handlers.delete(onCompactionError);
      if (e.type === 'failed') onCompactionError(e.error);
    }, scope);
  }
  return undefined;
}
