/** Small LanceDB helpers the store shares: retrying commits that conflict with another writer, deleting by filter, and telling a URI from a folder. */
import { createRequire } from 'node:module';
import type { Table } from '@lancedb/lancedb';
import { OpticMemError, StoreError } from '../../src/errors.js';

/** Rethrows anything but a commit conflict with another writer. */
export function ignoreConflict(error: unknown): void {
  if (!/conflict|preempted/i.test(String((error as Error)?.message ?? error))) throw error;
}

export function isUri(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
}

export async function retry<T>(what: string, fn: () => Promise<T>, table?: Table): Promise<T> {
  // Concurrent writers from other processes can make a commit conflict; Lance rebases most
  // appends itself, and we retry the rest a few times with backoff from the latest version.
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (cause) {
      // Our own typed errors (bad input, a wrong vector length) are not LanceDB failures.
      if (OpticMemError.isInstance(cause)) throw cause;
      const msg = String((cause as Error)?.message ?? cause);
      if (attempt < 8 && /conflict|retryable|commit|concurrent/i.test(msg)) {
        await new Promise((r) => setTimeout(r, 20 * 2 ** attempt + Math.random() * 20));
        await table?.checkoutLatest().catch(() => undefined);
        continue;
      }
      throw new StoreError(`LanceDB ${what} failed: ${msg}. Check that the store location is writable and not corrupted.`, { cause });
    }
  }
}

/**
 * LanceDB's CommonJS build tells an Arrow Field from SQL column definitions with `instanceof`
 * against its own CommonJS copy of apache-arrow, which the ESM import is not.
 */
export function cjsArrow(): typeof import('apache-arrow') {
  return createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');
}

export async function deleteWhere(table: Table, where: string, what: string): Promise<number> {
  const n = await retry(`counting ${what}`, () => table.countRows(where));
  if (n > 0) await retry(`deleting ${what}`, () => table.delete(where), table);
  return n;
}
