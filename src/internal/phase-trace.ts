/**
 * Where a writing operation is, for the reliability campaigns: with OPTICMEM_PHASE_TRACE naming
 * a file, each phase that writes (adding turns, rendering, verifying, committing pages, removing
 * replaced turns, ageing, dropping pages, import, background compaction) appends its name as a
 * line as it starts, so a campaign can kill a process inside a chosen phase and record where the
 * kill landed. Unset (always, in normal use), this does nothing.
 */
import { appendFileSync } from 'node:fs';

export type Phase = 'adding turns' | 'rendering' | 'verifying' | 'committing pages' | 'removing replaced turns' | 'ageing' | 'dropping pages' | 'import' | 'background compaction';

export function tracePhase(phase: Phase): void {
  const file = process.env.OPTICMEM_PHASE_TRACE;
  if (!file) return;
  try {
    appendFileSync(file, `${phase}\n`);
  } catch {
    // Tracing never stops the work it traces.
  }
}
