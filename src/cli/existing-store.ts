/** Commands that work on what a store holds refuse a --db that holds none, instead of creating an empty one. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';

const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/**
 * Throws when the local folder `db` does not exist or holds no opticmem tables. A remote URI is
 * not checked here (opening it says what is wrong); a path that is a file is left to the store,
 * which cannot open it and says so.
 */
export function requireExistingStore(db: string): void {
  if (isUri(db)) return;
  const fix = "Pass the folder given to 'opticmem compress --db' or Memory.open({ path }); this command works on an existing store and does not create one.";
  if (!existsSync(db)) throw new InvalidInputError('db', `No store at '${db}'. ${fix}`);
  if (statSync(db).isDirectory() && !existsSync(join(db, 'turns.lance'))) throw new InvalidInputError('db', `'${db}' holds no opticmem store (no turns table). ${fix}`);
}
