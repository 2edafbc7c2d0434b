import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding opticmem's package.json, whether running from source or from dist/. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const name = (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name;
      if (name === 'opticmem') return (cached = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('opticmem package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let version: string | undefined;

/** opticmem's version, from its package.json: the one place it is written. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
