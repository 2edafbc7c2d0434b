/**
 * The compaction and set-up locks: one holder at a time, stale locks taken over whether their
 * process is gone or they never got a pid written (a crash right after creating the file).
 */
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from '../memory/store/file-lock.js';
import { StoreError } from '../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opticmem-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const old = new Date(Date.now() - 60_000);

describe('file locks', () => {
  it('an empty lock file left by a crash is taken over once it is older than a few seconds', async () => {
    const file = join(dir, '.compaction.lock');
    await writeFile(file, '');
    await utimes(file, old, old);
    const t0 = performance.now();
    const held = await withFileLock(dir, 'compaction', async () => readFile(file, 'utf8'), 2_000);
    expect(held).toBe(String(process.pid));
    expect(performance.now() - t0).toBeLessThan(1_500);
  });

  it('a lock file with garbage instead of a pid is taken over the same way', async () => {
    const file = join(dir, '.compaction.lock');
    await writeFile(file, 'not a pid\n');
    await utimes(file, old, old);
    await expect(withFileLock(dir, 'compaction', async () => 'ran', 2_000)).resolves.toBe('ran');
  });

  it('a fresh empty lock is left to its holder, which is still writing its pid', async () => {
    await writeFile(join(dir, '.compaction.lock'), '');
    const error = await withFileLock(dir, 'compaction', async () => 'ran', 300).catch((e: unknown) => e);
    expect(StoreError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/not written its pid/);
  });

  it('a lock whose process is gone is taken over; a live one is waited for', async () => {
    const file = join(dir, '.setup.lock');
    await writeFile(file, '999999999');
    await expect(withFileLock(dir, 'setup', async () => 'ran', 2_000)).resolves.toBe('ran');
    await writeFile(file, String(process.ppid));
    const error = await withFileLock(dir, 'setup', async () => 'ran', 300).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`pid ${process.ppid}`));
  });

  it('the lock file is removed when the holder is done, even when it throws', async () => {
    await expect(withFileLock(dir, 'compaction', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(readFile(join(dir, '.compaction.lock'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
