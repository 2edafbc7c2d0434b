/**
 * One holder at a time per named lock on a local store, across processes: a lock file created
 * with O_EXCL holding the owner's pid. A lock whose process is gone is stale and taken over, and
 * so is one left without a pid (a crash between creating the file and writing it) once it is
 * older than a few seconds: the pid is written right after the file is made.
 * Used to serialise compaction and store set-up. Stores on object storage have no shared file
 * system; there, callers must compact from one worker.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../src/errors.js';
import { ensureDir } from './ensure-dir.js';

const inProcess = new Map<string, Promise<unknown>>();

/** A lock file without a readable pid this old was left by a crash, not by a holder still writing it. */
const NO_PID_GRACE_MS = 5_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquire(file: string, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError(`Cannot create the ${what} lock '${file}'. Check that the store folder is writable.`, { cause: e });
    }
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released meanwhile
    const owner = /^\s*\d+\s*$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
    const stale = Number.isFinite(owner)
      ? owner !== process.pid && !alive(owner)
      : Date.now() - ((await stat(file).catch(() => undefined))?.mtimeMs ?? Date.now()) > NO_PID_GRACE_MS;
    if (stale) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      const holder = Number.isFinite(owner) ? `Another process (pid ${owner})` : 'A process that has not written its pid yet';
      throw new StoreError(`${holder} has held the ${what} lock '${file}' for over ${timeoutMs / 1000}s. Retry later, or delete the lock file if that process is gone.`);
    }
    await sleep(wait);
  }
}

/** 'compaction' spans the store (ageing, deleting); 'compaction-<hash>' one scope's compaction. */
export type LockName = 'compaction' | `compaction-${string}` | 'setup';

export async function withFileLock<T>(dir: string | undefined, name: LockName, fn: () => Promise<T>, timeoutMs = 10 * 60_000): Promise<T> {
  if (!dir) return fn();
  const key = `${resolve(dir)}#${name}`;
  const previous = inProcess.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(async () => {
    await ensureDir(dir);
    const file = join(dir, `.${name}.lock`);
    await acquire(file, name, timeoutMs);
    try {
      return await fn();
    } finally {
      await rm(file, { force: true });
    }
  });
  inProcess.set(key, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(key) === run) inProcess.delete(key);
  }
}
