/**
 * Insert-if-absent for pages across workers. LanceDB appends never conflict with each other, so
 * two workers that compacted the same turns (the same page id) can both commit the page. Each
 * written row carries a random `write_id`; right after committing, a writer deletes every copy
 * of its pages except the one with the smallest write id. Every writer keeps the same copy
 * (the smallest is never deleted: nobody sees a smaller one), the last writer to commit sees all
 * copies, and deletes name data values, never row positions that compaction of the table could
 * move. Readers meanwhile see each id once (`uniqueById`).
 */
import { randomUUID } from 'node:crypto';
import type { Table } from '@lancedb/lancedb';
import { and, idInList, sqlString } from './sql.js';

export const WRITE_ID_COLUMN = 'write_id';

type Retry = <T>(what: string, fn: () => Promise<T>, table?: Table) => Promise<T>;

/** A fresh write id; ids sort in no particular order, which is all the rule needs. */
export function newWriteId(): string {
  return randomUUID();
}

/**
 * Delete every copy of these pages but the one with the smallest write id. Returns the ids
 * whose kept copy is the one written with `mine` (the caller then writes what goes with it).
 */
export async function keepOneCopy(pages: Table, ids: readonly string[], mine: string, retry: Retry): Promise<Set<string>> {
  const kept = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = await retry('reading page copies', () => pages.query().where(idInList('id', chunk)).select(['id', WRITE_ID_COLUMN]).toArray());
    const least = new Map<string, string>();
    const copies = new Map<string, number>();
    for (const r of rows) {
      const id = String(r.id);
      const w = String(r[WRITE_ID_COLUMN] ?? '');
      copies.set(id, (copies.get(id) ?? 0) + 1);
      if (!least.has(id) || w < least.get(id)!) least.set(id, w);
    }
    for (const [id, w] of least) {
      if (w === mine) kept.add(id);
      if (copies.get(id)! > 1) {
        const where = and(idInList('id', [id]), `${WRITE_ID_COLUMN} > ${sqlString(w)}`);
        await retry('removing a duplicate page', () => pages.delete(where), pages);
      }
    }
  }
  return kept;
}

/** Rows with their first copy of each id (a duplicate another writer has not removed yet). */
export function uniqueById<T extends { id: string }>(rows: readonly T[]): T[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.id) && seen.add(r.id) !== undefined);
}
