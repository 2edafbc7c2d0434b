#!/usr/bin/env node
/**
 * Builds the inspector page: compiles src/inspector/assets/*.ts for the browser (its own
 * tsconfig, DOM types) and copies the HTML and CSS beside the result.
 *
 *   node scripts/build-inspector-assets.mjs [--out DIR]   (default dist/src/inspector/assets)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'inspector', 'assets');
const at = process.argv.indexOf('--out');
const out = at === -1 ? join(root, 'dist', 'src', 'inspector', 'assets') : resolve(process.argv[at + 1] ?? '');
if (at !== -1 && !process.argv[at + 1]) {
  process.stderr.write('build-inspector-assets: --out needs a folder\n');
  process.exit(2);
}

mkdirSync(out, { recursive: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(source, 'tsconfig.json'), '--outDir', out], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
for (const name of readdirSync(source)) {
  if (['.html', '.css', '.svg'].includes(extname(name))) copyFileSync(join(source, name), join(out, name));
}
