/**
 * The inspector page's files: read once at start from the built assets folder and served from
 * memory by exact name, so no request path ever reaches the file system.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpticMemError } from '../errors.js';
import { packageRoot } from '../internal/package-root.js';

export interface StaticAsset {
  readonly body: Buffer;
  readonly type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Names an asset may have: one plain file name, no folders, no dot files. */
export const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/**
 * Where the built page lives: beside this module when running from dist/, else under dist/
 * of the package (running from source, e.g. in tests, after `npm run build`).
 */
export function defaultAssetsDir(): string {
  const beside = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(join(beside, 'inspector.js'))) return beside;
  return join(packageRoot(), 'dist', 'src', 'inspector', 'assets');
}

/** Every servable file of `dir` by name. Fails when the page has not been built. */
export function loadAssets(dir: string): Map<string, StaticAsset> {
  if (!existsSync(join(dir, 'index.html')) || !existsSync(join(dir, 'inspector.js'))) {
    throw new OpticMemError(
      'inspector_assets_missing',
      `The inspector page is not built: '${dir}' lacks index.html or inspector.js. Run 'npm run build' (or pass 'assetsDir' pointing at a built copy).`,
      { field: 'assetsDir' },
    );
  }
  const assets = new Map<string, StaticAsset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const file = join(dir, name);
    if (!type || !ASSET_NAME.test(name) || !statSync(file).isFile()) continue;
    assets.set(name, { body: readFileSync(file), type });
  }
  return assets;
}
