/**
 * A store's integrity check, the way `PRAGMA integrity_check` checks a database: the schema
 * version, every page's image (checksum and PNG) and geometry, hot turns that a committed page
 * already holds (a compaction a crash cut short), turns on pages of two compactions, page rows
 * written twice by workers committing at once, and tombstones of pages still present.
 * `repair` finishes half-done compactions and removes extra page copies; it never deletes a
 * readable page or a turn no page holds.
 */
import { readPngInfo } from '../renderers/png.js';
import { OpticMemError } from '../src/errors.js';
import type { MemoryStore, Scope } from './store/store.js';
import { storedScope } from './scope.js';
import { parseStoredGeometry } from './store/stored-geometry.js';
import { SCHEMA_VERSION } from './store/schema.js';

export type CheckProblemKind = 'schema_version' | 'page_unreadable' | 'page_geometry' | 'half_done_compaction' | 'turn_on_two_pages' | 'page_copies' | 'tombstone_of_live_page';

export interface CheckProblem {
  readonly kind: CheckProblemKind;
  readonly scope?: Required<Scope>;
  readonly pageId?: string;
  readonly turnIds?: readonly string[];
  readonly detail: string;
  /** True when `repair` fixed it in this run. */
  readonly repaired: boolean;
}

export interface CheckReport {
  /** No problem left (after repair, when asked). */
  readonly ok: boolean;
  readonly scopes: number;
  readonly turns: number;
  readonly pages: number;
  readonly problems: readonly CheckProblem[];
}

export interface CheckDeps {
  readonly store: MemoryStore;
  /** Finish an interrupted compaction of a scope (turns held by committed pages are removed). */
  readonly recover: (scope: Scope) => Promise<void>;
  readonly onProgress?: (done: number, total: number) => void;
}


export async function checkStore(deps: CheckDeps, options: { repair?: boolean } = {}): Promise<CheckReport> {
  const { store } = deps;
  const repair = options.repair === true;
  const problems: CheckProblem[] = [];
  const version = await store.getMeta('schema_version');
  if (version !== undefined && Number(version) !== SCHEMA_VERSION) {
    problems.push({ kind: 'schema_version', detail: `meta records schema ${version}; this opticmem writes ${SCHEMA_VERSION}. Open the store writable once to migrate it.`, repaired: false });
  }
  const scopes = await store.scopes();
  let turns = 0;
  let pages = 0;
  let done = 0;
  for (const { scope } of scopes) {
    const s = storedScope(scope);
    const listed = await store.listPages(s, { withPng: false });
    const hot = await store.listTurns(s);
    turns += hot.length;
    pages += listed.length;
    for (const page of listed) {
      const problem = await pageProblem(store, s, page.id, page.geometry);
      if (problem) problems.push({ ...problem, scope, pageId: page.id, repaired: false });
      deps.onProgress?.(++done, 0);
    }
    // Hot turns that a committed page holds: the compaction stopped between its two phases.
    const onPages = new Map<string, Set<number>>();
    for (const p of listed) for (const t of p.turnIds) onPages.set(t, (onPages.get(t) ?? new Set()).add(p.createdAt));
    const half = hot.filter((t) => onPages.has(t.id)).map((t) => t.id);
    if (half.length) {
      if (repair) await deps.recover(s);
      problems.push({ kind: 'half_done_compaction', scope, turnIds: half, detail: `${half.length} hot turn(s) are also on committed pages`, repaired: repair });
    }
    const twice = [...onPages].filter(([, batches]) => batches.size > 1).map(([t]) => t);
    if (twice.length) problems.push({ kind: 'turn_on_two_pages', scope, turnIds: twice, detail: `${twice.length} turn(s) are on pages of two different compactions`, repaired: false });
    const live = new Set(listed.map((p) => p.id));
    for (const stone of (await store.listTombstones?.(s)) ?? []) {
      if (live.has(stone.pageId)) problems.push({ kind: 'tombstone_of_live_page', scope, pageId: stone.pageId, detail: 'a tombstone names a page that is still stored', repaired: false });
    }
  }
  const copies = (await store.pageCopies?.()) ?? [];
  if (copies.length) {
    if (repair) await store.removePageCopies?.(copies.map((c) => c.id));
    for (const c of copies) problems.push({ kind: 'page_copies', pageId: c.id, detail: `${c.copies} rows hold this page id`, repaired: repair && store.removePageCopies !== undefined });
  }
  return { ok: problems.every((p) => p.repaired), scopes: scopes.length, turns, pages, problems };
}

/** What is wrong with one page's image or geometry, if anything. */
async function pageProblem(store: MemoryStore, s: Scope, id: string, geometry: string): Promise<Pick<CheckProblem, 'kind' | 'detail'> | undefined> {
  try {
    const page = await store.getPage(s, id);
    if (!page) return { kind: 'page_unreadable', detail: 'listed but cannot be read back' };
    readPngInfo(page.png, 'png');
  } catch (error) {
    return { kind: 'page_unreadable', detail: OpticMemError.isInstance(error) ? error.message : String((error as Error)?.message ?? error) };
  }
  if (!parseStoredGeometry(geometry)) return { kind: 'page_geometry', detail: 'its geometry is not a page layout: the reader falls back to text detection' };
  return undefined;
}
