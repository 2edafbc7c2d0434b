/** `opticmem export` and `opticmem import`: a store's rows as one JSON document, and back. */
import { writeFile } from 'node:fs/promises';
import { Memory, type MemoryExport } from '../../../memory/memory.js';
import type { Scope } from '../../../memory/store/store.js';
import { InvalidInputError } from '../../errors.js';
import { requireExistingStore } from '../existing-store.js';
import { followProgress, printJson, progressBar } from '../output.js';
import { readInput } from '../read-chat.js';
import { storedScope } from '../../../memory/scope.js';
import { scopeOf, storeLocation, type ScopeFlags } from './memory-commands.js';

export interface ExportCommandOptions extends ScopeFlags {
  db: string;
  out?: string;
  json?: boolean;
}

export async function exportCommand(options: ExportCommandOptions): Promise<number> {
  // Flags left out span (--user maya is all of maya's rows); without flags the whole store is
  // exported, scope by scope.
  const given = scopeOf(options, 'read');
  requireExistingStore(options.db);
  const memory = await Memory.open({ ...storeLocation(options.db), autoCompact: false });
  try {
    const scopes: Scope[] = Object.keys(given).length ? [given] : (await memory.store.scopes()).map((s) => storedScope(s.scope));
    const turns = new Map<string, MemoryExport['turns'][number]>();
    const pages = new Map<string, MemoryExport['pages'][number]>();
    // Keep each row once, whatever the scopes listed.
    for (const scope of scopes) {
      const part = await memory.export(scope);
      for (const t of part.turns) turns.set(t.id, t);
      for (const p of part.pages) pages.set(p.id, p);
    }
    const data: MemoryExport = { format: 'opticmem-export', version: 1, turns: [...turns.values()], pages: [...pages.values()] };
    const text = JSON.stringify(data, null, 2) + '\n';
    if (!options.out) {
      process.stdout.write(text);
      return 0;
    }
    try {
      await writeFile(options.out, text);
    } catch (cause) {
      throw new InvalidInputError('out', `Cannot write '${options.out}': ${(cause as NodeJS.ErrnoException).code ?? String(cause)}. Pass a path in an existing, writable folder.`, { cause });
    }
    const summary = { out: options.out, turns: data.turns.length, pages: data.pages.length, bytes: Buffer.byteLength(text) };
    if (options.json) printJson(summary);
    else process.stdout.write(`exported ${summary.turns} turns and ${summary.pages} pages to ${summary.out} (${summary.bytes} bytes)\n`);
    return 0;
  } finally {
    await memory.close();
  }
}

export interface ImportCommandOptions {
  db: string;
  json?: boolean;
}

export async function importCommand(file: string, options: ImportCommandOptions): Promise<number> {
  const text = await readInput(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError('file', `'${file}' is not JSON. Pass a file written by 'opticmem export'.`, { cause });
  }
  const memory = await Memory.open({ ...storeLocation(options.db), autoCompact: false });
  try {
    const bar = progressBar('import', 1, !options.json && process.stderr.isTTY === true);
    const added = await memory.import(data as MemoryExport, { onProgress: followProgress(bar) }).finally(() => bar.stop());
    const d = data as MemoryExport;
    const summary = { db: options.db, turns: added.turns, pages: added.pages, skipped: { turns: d.turns.length - added.turns, pages: d.pages.length - added.pages } };
    if (options.json) printJson(summary);
    else {
      const skipped = summary.skipped.turns + summary.skipped.pages;
      process.stdout.write(`imported ${added.turns} turns and ${added.pages} pages into ${options.db}${skipped ? ` (${skipped} rows already there, skipped)` : ''}\n`);
    }
    return 0;
  } finally {
    await memory.close();
  }
}
