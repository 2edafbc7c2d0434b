/**
 * Page images carry a SHA-256 of their bytes, written with them (schema 5), so damaged data
 * files are caught when a page is read instead of handing back an altered PNG.
 */
import { createHash } from 'node:crypto';
import type { Table } from '@lancedb/lancedb';
import { CorruptPageError } from '../../src/errors.js';
import { and, idInList, sqlString, valuesById } from './sql.js';

/** The column of the pages table that holds the digest (lowercase hex). */
export const DIGEST_COLUMN = 'png_sha256';

export function pngDigest(png: Uint8Array): string {
  return createHash('sha256').update(png).digest('hex');
}

/** The image bytes of page `id`, once they match the digest stored with them; CorruptPageError otherwise. */
export function verifiedPng(id: string, png: Uint8Array, digest: unknown): Uint8Array {
  if (typeof digest !== 'string' || pngDigest(png) !== digest) throw new CorruptPageError(id);
  return png;
}

type Retry = <T>(what: string, fn: () => Promise<T>, table?: Table) => Promise<T>;

/**
 * Schema 4 -> 5: digests for the pages that have none yet (the added column starts as ''),
 * `batch` pages per read and per UPDATE, so a crash part-way is finished on the next open.
 */
export async function addMissingDigests(pages: Table, retry: Retry, batch: number): Promise<void> {
  const missing = await retry('finding pages without a checksum', () => pages.query().where(`${DIGEST_COLUMN} = ''`).select(['id']).toArray());
  const ids = [...new Set(missing.map((r) => String(r.id)))];
  for (let i = 0; i < ids.length; i += batch) {
    const where = and(`${DIGEST_COLUMN} = ''`, idInList('id', ids.slice(i, i + batch)));
    const rows = await retry('reading page images', () => pages.query().where(where).select(['id', 'user_id', 'agent_id', 'session_id', 'png']).toArray());
    const byId = new Map<string, Record<string, unknown>[]>();
    for (const r of rows) byId.set(String(r.id), [...(byId.get(String(r.id)) ?? []), r]);
    const single = [...byId].filter(([, same]) => same.length === 1).map(([id, [r]]) => [id, { [DIGEST_COLUMN]: pngDigest(r!.png as Uint8Array) }] as const);
    if (single.length) {
      const update = and(where, idInList('id', single.map(([id]) => id)));
      await retry('writing page checksums', () => pages.update({ where: update, valuesSql: valuesById(single, [DIGEST_COLUMN]) }), pages);
    }
    // An id used in more than one scope (ids are unique within a scope) is written row by row.
    for (const r of [...byId.values()].filter((same) => same.length > 1).flat()) {
      const one = ['id', 'user_id', 'agent_id', 'session_id'].map((c) => `${c} = ${sqlString(String(r[c]))}`).join(' AND ');
      await retry('writing page checksums', () => pages.update({ where: one, values: { [DIGEST_COLUMN]: pngDigest(r.png as Uint8Array) } }), pages);
    }
  }
}
