/**
 * Does this object store make concurrent LanceDB commits safe? LanceDB commits a table version
 * by writing its manifest only if absent (a conditional write); a store that ignores the
 * condition lets two writers take the same version, and one commit is silently lost. The probe
 * makes a scratch table, appends one row from several connections at once a few times, and
 * counts: fewer rows than appends proves the store unsafe. (All rows present does not prove it
 * safe, but a store without conditional writes rarely survives it.) The table is dropped after.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@lancedb/lancedb';

export interface CommitProbe {
  readonly appended: number;
  readonly found: number;
  /** False when commits were lost: concurrent writers to this store lose data. */
  readonly safe: boolean;
}

export async function probeConcurrentCommits(connect: () => Promise<Connection>, writers = 6, rounds = 3): Promise<CommitProbe> {
  const name = `opticmem_commit_probe_${randomUUID().replace(/-/g, '')}`;
  const main = await connect();
  const others = await Promise.all(Array.from({ length: writers }, () => connect()));
  try {
    const table = await main.createTable(name, [{ writer: -1, round: -1 }]);
    await table.delete('writer = -1');
    const handles = await Promise.all(others.map((c) => c.openTable(name)));
    for (let round = 0; round < rounds; round++) {
      await Promise.all(handles.map((h, writer) => h.add([{ writer, round }])));
    }
    await table.checkoutLatest();
    const found = await table.countRows();
    const appended = writers * rounds;
    return { appended, found, safe: found >= appended };
  } finally {
    await main.dropTable(name).catch(() => undefined);
    for (const c of [main, ...others]) c.close();
  }
}
