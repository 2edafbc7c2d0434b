#!/usr/bin/env node
/**
 * Makes sure a Chromium for the inspector's browser test is on this machine, the Debian way:
 * if `chromium` is on PATH, nothing happens; else Debian's `chromium` package is installed with
 * apt-get, as root or, for another user, through `sudo -n` (never prompting for a password);
 * else we say why it cannot be, and the browser test skips with that reason.
 *
 * Run it directly (`node scripts/ensure-chromium.mjs [--strict]`) or as a vitest globalSetup,
 * which hands the result to tests through `inject('chromium')`.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAMES = ['chromium', 'chromium-browser'];

/** The first Chromium executable on PATH, or undefined. */
export function findChromium(path = process.env.PATH ?? '') {
  for (const name of NAMES) {
    const file = findExecutable(name, path);
    if (file) return file;
  }
  return undefined;
}

function run(cmd, args, log) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15 * 60_000,
  });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function tail(text, lines = 6) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Find or install Chromium. Never throws: returns `{ path }` when Chromium is available and
 * `{ reason }` when it is not and cannot be installed here.
 */
export function ensureChromium({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const found = findChromium();
  if (found) return { path: found };
  if (process.platform !== 'linux') return { reason: `Chromium is not on PATH and ${process.platform} has no Debian packages; install Chromium and put it on PATH.` };
  const aptGet = findExecutable('apt-get');
  if (!aptGet) return { reason: "Chromium is not on PATH and apt-get is missing, so Debian's 'chromium' package cannot be installed here." };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  let apt = (args) => run(aptGet, args, log);
  if (!root) {
    // Not root: only a sudo that needs no password (-n never prompts, so a test run never hangs).
    const sudo = findExecutable('sudo');
    if (!sudo) return { reason: "Chromium is not on PATH, installing Debian's 'chromium' package needs root, and sudo is missing; run 'apt-get install chromium' as root." };
    const probe = run(sudo, ['-n', 'true'], log);
    if (!probe.ok) return { reason: `Chromium is not on PATH and installing Debian's 'chromium' package needs root, but 'sudo -n' cannot run without a password here (${tail(probe.output, 1) || 'refused'}); run 'sudo apt-get install chromium'.` };
    apt = (args) => run(sudo, ['-n', aptGet, ...args], log);
  }
  // Another apt run may hold the lock; wait for it rather than failing.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  if (!hasPackageLists()) {
    const update = apt([...lock, 'update']);
    if (!update.ok) return { reason: `'apt-get update' failed, so Chromium cannot be installed:\n${tail(update.output)}` };
  }
  let install = apt([...lock, 'install', '-y', '--no-install-recommends', 'chromium']);
  if (!install.ok) {
    // Stale package lists name versions the mirror no longer has: refresh once and retry.
    const update = apt([...lock, 'update']);
    if (update.ok) install = apt([...lock, 'install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (!install.ok) return { reason: `'apt-get install chromium' failed:\n${tail(install.output)}` };
  const path = findChromium();
  return path ? { path } : { reason: "Debian's 'chromium' package installed, but no 'chromium' executable is on PATH." };
}

/** The first file called `name` on `path` that this user may execute (a directory or a file without x does not count). */
export function findExecutable(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here, or not executable
    }
  }
  return undefined;
}

function hasPackageLists() {
  try {
    return readdirSync('/var/lib/apt/lists').some((f) => f.includes('_Packages'));
  } catch {
    return false;
  }
}

/** vitest globalSetup: tests read `{ path } | { reason }` with `inject('chromium')`. */
export default function setup(project) {
  const result = ensureChromium();
  project?.provide?.('chromium', result);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = ensureChromium();
  if (result.path) {
    process.stdout.write(`chromium: ${result.path}\n`);
  } else {
    process.stderr.write(`chromium: unavailable: ${result.reason}\n`);
    // Plain runs only report (the browser test then skips with the reason); --strict fails.
    if (process.argv.includes('--strict')) process.exitCode = 1;
  }
}
