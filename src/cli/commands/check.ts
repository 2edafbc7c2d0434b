/** `opticmem check`: a store's integrity report, and `--repair` for what can be repaired. */
import { Memory } from '../../../memory/memory.js';
import { requireExistingStore } from '../existing-store.js';
import { printJson, printTable } from '../output.js';
import { storeLocation } from './memory-commands.js';

export interface CheckCommandOptions {
  db: string;
  repair?: boolean;
  json?: boolean;
}

/** Exit 0 when the store is sound (after repair, with --repair); 4 when problems remain. */
export async function checkCommand(options: CheckCommandOptions): Promise<number> {
  requireExistingStore(options.db);
  const repair = options.repair === true;
  // A look opens the store read-only: checking never changes it unless --repair is given.
  const memory = await Memory.open({ ...storeLocation(options.db), autoCompact: false, ...(repair ? {} : { readOnly: true }) });
  try {
    const report = await memory.check({ repair });
    if (options.json) printJson(report);
    else {
      process.stdout.write(`${report.scopes} scope(s), ${report.turns} hot turn(s), ${report.pages} page(s): ${report.problems.length === 0 ? 'no problems' : `${report.problems.length} problem(s)`}\n`);
      if (report.problems.length) {
        printTable(
          ['problem', 'scope', 'page', 'turns', 'detail', 'repaired'],
          report.problems.map((p) => [p.kind, p.scope ? [p.scope.userId, p.scope.agentId, p.scope.sessionId].join('/') : '', p.pageId ?? '', p.turnIds?.length ?? '', p.detail, p.repaired ? 'yes' : 'no']),
        );
        if (!repair && report.problems.some((p) => p.kind === 'half_done_compaction' || p.kind === 'page_copies')) process.stdout.write('Run again with --repair to finish half-done compactions and remove duplicate page rows.\n');
      }
    }
    return report.ok ? 0 : 4;
  } finally {
    await memory.close();
  }
}
