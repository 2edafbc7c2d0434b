/**
 * A damaged store file gives a typed StoreError, never a raw error from the native layer.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { StoreError } from '../src/errors.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('damaged store files', () => {
  it("flipped bytes at the end of meta.lance's data file: opening the store is a StoreError", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-damage-'));
    dirs.push(dir);
    const memory = await Memory.open({ path: dir, autoCompact: false });
    await memory.add([{ role: 'user', content: 'the ferry leaves at nine' }], { userId: 'u' });
    await memory.close();
    const data = join(dir, 'meta.lance', 'data');
    const files = await readdir(data);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = await readFile(join(data, f));
      for (let i = Math.max(0, bytes.length - 64); i < bytes.length; i++) bytes[i]! ^= 0xff;
      await writeFile(join(data, f), bytes);
    }
    const error = await Memory.open({ path: dir, autoCompact: false }).then(
      async (m) => {
        await m.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(StoreError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/LanceDB reading meta failed/);
  });
});
