/**
 * What the integrations say after `memory.add`: the turns are stored once `add` resolves, even
 * when compacting older turns into pages failed afterwards (the turns stay hot, and the next
 * `add` or `compact` tries again). Such a failure is reported, never turned into a failed call.
 */
import type { AddResult } from '../../memory/memory.js';
import { OpticMemError } from '../errors.js';

/** One line for people and logs: `StoreError (store_failed): ...`. */
export function describeFailure(error: Error): string {
  return OpticMemError.isInstance(error) ? `${error.name} (${error.code}${error.field ? `, field '${error.field}'` : ''}): ${error.message}` : `${error.name}: ${error.message}`;
}

/**
 * Hands a compaction failure to the caller's handler; without one it becomes a process warning,
 * so it is seen without failing a call whose turns were stored.
 */
export function reportCompactionFailure(result: AddResult, onCompactionError: ((error: Error) => void) | undefined): Error | undefined {
  const error = result.compactionError;
  if (!error) return undefined;
  if (onCompactionError) onCompactionError(error);
  else process.emitWarning(`opticmem stored the turns but could not compact older turns into pages; they stay as text and the next add retries. ${describeFailure(error)}`, { code: 'OPTICMEM_COMPACTION_FAILED' });
  return error;
}
