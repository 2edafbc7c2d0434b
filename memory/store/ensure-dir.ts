/**
 * Create a folder and its missing parents one level at a time. Node's recursive mkdir can loop
 * forever under some pseudo file systems (`/proc/1/nope` never returns), so each level is made
 * with a plain mkdir, whose error then reaches the caller.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export async function ensureDir(path: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const found = await stat(at).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    if (found) {
      if (!found.isDirectory()) throw Object.assign(new Error(`'${at}' is not a folder`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const dir of missing.reverse()) {
    await mkdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  }
}
